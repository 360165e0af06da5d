"""DAgger with a person as the expert: takeover, review and rewind on the real ROM, in a real pygame
window (dummy video driver), with real key events posted to pygame's queue and a real (untrained,
seeded) policy acting through `agent.actor.PolicyActor`."""

from __future__ import annotations

import itertools
from pathlib import Path

import numpy as np
import pytest
import torch

from agent.actor import PolicyActor
from agent.dagger import LabellingStopped, finished_rollouts, labelled_decisions
from agent.dagger.human import HumanConfig
from agent.dagger.review import ReviewCollector
from agent.dagger.rewind import RewindCollector
from agent.dagger.takeover import TakeoverCollector
from agent.obs import ObsConfig, decision_labels
from agent.policy import Policy, PolicyConfig, load_checkpoint, save_checkpoint
from recorder.games import make_env, resolve_game
from recorder.recording import verify_episode
from recorder.store import NO_LABEL, load_episode
from recorder.window import pygame
from tests.events import down, ticks, up

PACMAN = resolve_game("pacman")
A = {name: i for i, name in enumerate(PACMAN.action_names)}


@pytest.fixture(autouse=True)
def dummy_video(monkeypatch):
    monkeypatch.setenv("SDL_VIDEODRIVER", "dummy")
    yield
    pygame.quit()


@pytest.fixture(scope="module", autouse=True)
def one_torch_thread():
    """Acting is one small forward pass a decision: one thread is fastest, and on a shared 2-core
    machine a second thread spinning for a busy core makes each pass 50x slower."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture(scope="module")
def checkpoint(tmp_path_factory) -> Path:
    """An untrained policy for pacman (seeded weights), saved as a real checkpoint."""
    torch.manual_seed(0)
    obs = ObsConfig()
    policy = Policy(PolicyConfig(n_actions=PACMAN.n_actions, stack=obs.stack))
    return save_checkpoint(tmp_path_factory.mktemp("model") / "untrained.pt", policy, PACMAN, obs)


def make_actor(path: Path) -> PolicyActor:
    return PolicyActor(load_checkpoint(path, PACMAN), rng=np.random.default_rng(0))


def config(**overrides) -> HumanConfig:
    return HumanConfig(PACMAN, **{"max_frames": 60, "seed": 3, "scale": 1, "realtime": False, **overrides})




def runs(values) -> list[tuple[int, int]]:
    return [(k, len(list(g))) for k, g in itertools.groupby(values)]


def files(folder: Path) -> list[Path]:
    return sorted(folder.glob("*.npz"))


# ---------------------------------------------------------------------------------------------
# takeover


def test_takeover_labels_are_the_keys_held_in_the_frames_they_were_held(checkpoint, tmp_path):
    folder = tmp_path / "round-001"
    loop = TakeoverCollector(config(max_frames=60), make_actor).make_loop(
        checkpoint, round_index=1, folder=folder, first=0, episodes=1)
    loop.start()
    try:
        ticks(loop, 8)
        assert loop.hud()["control"] == "agent"
        down(pygame.K_RIGHT)
        ticks(loop, 12)
        assert loop.hud()["control"] == "YOU"
        up(pygame.K_RIGHT)
        ticks(loop, 10)
        down(pygame.K_w)
        ticks(loop, 5)
        up(pygame.K_w)
        ticks(loop, 40)  # the rollout ends at 60 frames
    finally:
        loop.close()
    assert not loop.running
    [path] = files(folder)
    episode = load_episode(path)
    expected = [NO_LABEL] * 8 + [A["RIGHT"]] * 12 + [NO_LABEL] * 10 + [A["UP"]] * 5 + [NO_LABEL] * 25
    assert episode.labels.tolist() == expected
    held = episode.labels >= 0
    assert episode.actions[held].tolist() == episode.labels[held].tolist()  # the person's action drove the game
    assert episode.info.source == "dagger" and episode.info.extra["mode"] == "takeover"
    assert episode.info.ended == "frame_cap" and len(episode) == 60
    assert verify_episode(path).ok
    # The trainer sees exactly the decisions the person touched (steps 8..19 and 30..34, frameskip 4).
    assert np.flatnonzero(decision_labels(episode.labels, 4) >= 0).tolist() == [2, 3, 4, 7, 8]
    assert finished_rollouts(folder) == 1


def test_takeover_collect_stores_each_rollout_and_esc_stops_the_run(checkpoint, tmp_path):
    folder = tmp_path / "round-002"
    pygame.display.init()
    down(pygame.K_LEFT)  # held from the first frame of the first rollout to the end of the second
    seen = []
    TakeoverCollector(config(max_frames=30), make_actor).collect(
        checkpoint, round_index=2, beta=0.0, folder=folder, episodes=2, first=1, on_rollout=seen.append)
    assert [r.frames for r in seen] == [30, 30] and [r.expert_decisions for r in seen] == [8, 8]
    assert sorted(r.path for r in seen) == files(folder)
    seeds = sorted(load_episode(p, frames=False).info.seed for p in files(folder))
    assert seeds == [3 * 1_000_003 + 2 * 1_000 + 1, 3 * 1_000_003 + 2 * 1_000 + 2]  # rollouts 1 and 2 of round 2
    for path in files(folder):
        assert load_episode(path, frames=False).labels.tolist() == [A["LEFT"]] * 30
    assert finished_rollouts(folder) == 2

    pygame.display.init()
    down(pygame.K_ESCAPE)
    with pytest.raises(LabellingStopped, match="stopped in round 3"):
        TakeoverCollector(config(), make_actor).collect(
            checkpoint, round_index=3, beta=0.0, folder=tmp_path / "round-003", episodes=1, first=0,
            on_rollout=seen.append)
    assert files(tmp_path / "round-003") == []


# ---------------------------------------------------------------------------------------------
# review


def test_review_answers_label_their_decisions_and_skipped_ones_stay_unlabelled(checkpoint, tmp_path):
    collector = ReviewCollector(config(max_frames=240, queries=4), make_actor)
    played = collector.play_rollout(make_actor(checkpoint), seed=11, round_index=1)
    queries = collector.choose_queries(played, 4)
    assert len(queries) == 4 and all(q.why == "unsure" for q in queries)  # no life lost in 4 s
    decisions = [q.decision for q in queries]
    assert decisions == sorted(decisions) and min(np.diff(decisions)) >= 3
    entropy = played.entropies()
    assert min(entropy[decisions]) >= np.sort(entropy)[-4 * 5]  # among the least sure

    agent_third = played.actions[decisions[2]]
    down(pygame.K_RIGHT), up(pygame.K_RIGHT)  # 1: RIGHT
    down(pygame.K_TAB)  # 2: skipped
    down(pygame.K_DOWN), up(pygame.K_DOWN)  # 3: DOWN ... then back and accept the agent's choice instead
    down(pygame.K_BACKSPACE)
    down(pygame.K_RETURN)
    down(pygame.K_w), down(pygame.K_a), up(pygame.K_a), up(pygame.K_w)  # 4: UP+LEFT held: LEFT, the latest
    answers, stopped = collector.ask(played, queries)
    assert not stopped and answers == [A["RIGHT"], None, agent_third, A["LEFT"]]
    rollout = collector.store(played, queries, answers, tmp_path)
    collector.close()

    episode = load_episode(rollout.path)
    per_decision = decision_labels(episode.labels, 4)
    assert np.flatnonzero(per_decision >= 0).tolist() == [decisions[0], decisions[2], decisions[3]]
    assert per_decision[[decisions[0], decisions[2], decisions[3]]].tolist() == [A["RIGHT"], agent_third, A["LEFT"]]
    for d in (decisions[0], decisions[2], decisions[3]):  # every step of an answered decision
        assert (episode.labels[d * 4: d * 4 + 4] == per_decision[d]).all()
    assert (episode.labels >= 0).sum() == 12
    assert rollout.expert_decisions == 3 and rollout.asked == 4 and rollout.frames == len(episode) == 240
    assert [q["answer"] for q in episode.info.extra["questions"]] == answers
    assert verify_episode(rollout.path).ok  # the agent's actions, as played


def test_review_asks_about_the_last_moment_that_mattered_before_a_lost_life(checkpoint, tmp_path):
    collector = ReviewCollector(config(max_frames=700, queries=3), make_actor)
    played = collector.play_rollout(make_actor(checkpoint), seed=3, round_index=1)
    losses = played.loss_steps()
    assert losses, "the untrained agent was expected to lose a life within 700 frames"
    queries = collector.choose_queries(played, 3)
    assert [q.why for q in queries] == ["life lost"] * 3
    # With two lives lost and 3 questions: the last decision that mattered before each, then one
    # 3 decisions earlier than the first of them.
    first, second = [collector.last_decision_that_mattered(played, loss) for loss in losses[:2]]
    assert len(losses) == 2 and [q.decision for q in queries] == [first - 3, first, second]
    last = first
    answers = [None] * len(queries)
    path = collector.store(played, queries, answers, tmp_path).path
    collector.close()

    # Replay the stored rollout: from the asked decision some held action changes the game by the
    # loss; from the next decision on, nothing does (the death animation plays whatever is pressed).
    episode = load_episode(path, frames=False)
    loss = losses[0]
    assert len(outcomes_by_loss(episode, last * 4, loss + 1)) > 1
    assert len(outcomes_by_loss(episode, last * 4 + 4, loss + 1)) == 1
    assert (loss // 4) - last > 10  # Pac-Man's death animation: many decisions that could change nothing
    assert (episode.labels == NO_LABEL).all()  # nothing answered, nothing labelled


def test_review_budget_is_shared_by_the_rounds_rollouts(checkpoint, tmp_path):
    pygame.display.init()
    for _ in range(3):
        down(pygame.K_TAB)  # skip every question
    seen = []
    ReviewCollector(config(max_frames=120, queries=3, show_rollout=False), make_actor).collect(
        checkpoint, round_index=1, beta=0.0, folder=tmp_path, episodes=2, first=0, on_rollout=seen.append)
    assert [r.asked for r in seen] == [2, 1] and [r.expert_decisions for r in seen] == [0, 0]
    for path in files(tmp_path):
        assert (load_episode(path, frames=False).labels == NO_LABEL).all()
    assert finished_rollouts(tmp_path) == 2


# ---------------------------------------------------------------------------------------------
# rewind


def play_until_prompt(loop, limit: int = 3000) -> None:
    for _ in range(limit):
        loop.tick()
        if loop.controller.phase == "prompt":
            return
    raise AssertionError(f"the agent did not lose a life in {limit} frames")


def outcomes_by_loss(episode, start: int, end: int) -> set[bytes]:
    """Replay `episode` to step `start`, then hold each action until step `end`: the games reached."""
    env = make_env(PACMAN)
    env.reset(seed=episode.info.seed)
    ale = env.unwrapped.ale
    for a in episode.actions[:start].tolist():
        env.step(a)
    state = ale.cloneState()
    seen = set()
    for action in range(PACMAN.n_actions):
        ale.restoreState(state)
        for _ in range(end - start):
            env.step(action)
        seen.add(ale.getRAM().tobytes() + bytes([ale.lives()]))
    env.close()
    return seen


def test_rewind_hands_the_game_back_seconds_before_the_lost_life(checkpoint, tmp_path):
    loop = RewindCollector(config(max_frames=5000, rewind_seconds=1.0), make_actor).make_loop(
        checkpoint, round_index=1, folder=tmp_path, first=0, episodes=1)
    loop.start()
    try:
        rewind = loop.controller
        play_until_prompt(loop)
        lost_at = rewind.pending.length
        span = rewind.span
        to, mattered, loss = rewind.last_rewind
        assert loss == lost_at and span == lost_at - to
        assert mattered - to == 60  # one second before the last moment that mattered
        assert loss - mattered > 100  # Pac-Man's death animation (~2.2 s) is not counted
        ticks(loop, 20)
        assert loop.recorder.length == 0  # waiting for the person
        down(pygame.K_LEFT)
        ticks(loop, 25)
        up(pygame.K_LEFT)
        ticks(loop, 10)
        down(pygame.K_s)
        ticks(loop, 5)
        assert rewind.phase == "human" and loop.hud()["control"] == "YOU"
        ticks(loop, span - 40)  # the rewound span is played: the agent takes over
        assert rewind.phase == "agent"
        ticks(loop, 30)
        down(pygame.K_ESCAPE)
        loop.tick()
    finally:
        loop.close()
    assert loop.stopped and not loop.running
    pieces = sorted((load_episode(p) for p in files(tmp_path)), key=lambda e: e.info.extra["part"])
    agent, person, after = pieces
    assert [e.info.player for e in pieces] == ["agent", "human", "agent"]
    assert [e.info.extra["rollout_end"] for e in pieces] == [False, False, True]
    assert [e.info.ended for e in pieces] == ["life_lost", "played_back", "quit"]
    assert len(agent) == lost_at and (agent.labels == NO_LABEL).all() and (after.labels == NO_LABEL).all()

    # "The last moment that mattered", checked on the stored stretch: from there some held action
    # changes the game by the loss; 4 frames later nothing does.
    assert len(outcomes_by_loss(agent, mattered, lost_at)) > 1
    assert len(outcomes_by_loss(agent, mattered + 4, lost_at)) == 1

    # The person's segment starts from the agent's state `span` frames before the life was lost.
    start = lost_at - span
    assert np.array_equal(person.frames[0], agent.frames[start])
    env = make_env(PACMAN)
    env.reset(seed=agent.info.seed)
    for a in agent.actions[:start].tolist():
        env.step(a)
    assert env.unwrapped.ale.cloneState().serialize() == person.states[0]
    # Everything the person played is labelled with what they held, nothing held included.
    assert len(person) == span
    assert runs(person.labels.tolist()) == [(A["LEFT"], 25), (A["NOOP"], 10), (A["DOWN"], span - 35)]
    assert person.labels.tolist() == person.actions.tolist()
    assert person.info.extra["start"] == "state" and person.info.extra["rewound_frames"] == span
    for path in files(tmp_path):
        result = verify_episode(path)
        assert result.ok, result.message
    assert np.array_equal(after.frames[0], person.frames[-1])  # the agent goes on from where the person left it
    assert finished_rollouts(tmp_path) == 1
    [rollout] = rewind.rollouts
    assert rollout.expert_decisions == labelled_decisions(person.labels, 4)[1] == -(-span // 4)


def test_rewind_enter_gives_control_back(checkpoint, tmp_path):
    loop = RewindCollector(config(max_frames=5000, rewind_seconds=1.0), make_actor).make_loop(
        checkpoint, round_index=1, folder=tmp_path, first=0, episodes=1)
    loop.start()
    try:
        play_until_prompt(loop)
        down(pygame.K_LEFT)
        ticks(loop, 12)
        down(pygame.K_RETURN)  # hand back early
        loop.tick()
        assert loop.controller.phase == "agent"
        play_until_prompt(loop)
        down(pygame.K_RETURN)  # at the prompt: skip this rewind, the agent goes on after the lost life
        loop.tick()
        assert loop.controller.phase == "agent"
        down(pygame.K_ESCAPE)
        loop.tick()
    finally:
        loop.close()
    infos = [load_episode(p, frames=False) for p in files(tmp_path)]
    people = [e for e in infos if e.info.player == "human"]
    assert len(people) == 1 and people[0].info.ended == "handed_back" and len(people[0]) == 12
    assert people[0].labels.tolist() == [A["LEFT"]] * 12
    assert sum(e.info.extra["rollout_end"] for e in infos) == 1 and finished_rollouts(tmp_path) == 1
    for path in files(tmp_path):
        assert verify_episode(path).ok


def test_bad_settings_are_refused_with_what_was_expected():
    with pytest.raises(ValueError, match="rewind seconds must be between"):
        HumanConfig(PACMAN, rewind_seconds=0.0)
    with pytest.raises(ValueError, match="queries per round must be at least 1"):
        HumanConfig(PACMAN, queries=0)


def test_without_takeover_keys_do_not_drive_the_agent_and_the_frame_cap_holds(checkpoint, tmp_path):
    from recorder.play import AgentControls, PlayConfig, PlayLoop

    config = PlayConfig(PACMAN, player="agent", seed=2, scale=1, episodes=1, directory=tmp_path, max_frames=20,
                        realtime=False, title="mimic watch")
    agent = AgentControls(make_actor(checkpoint))
    loop = PlayLoop(config, agent)
    loop.start()
    try:
        down(pygame.K_RIGHT)
        ticks(loop, 5)
        assert "control" not in loop.hud() and loop.hud()["action"] == PACMAN.action_names[agent.action]
        ticks(loop, 25)
    finally:
        loop.close()
    assert not loop.running
    [path] = files(tmp_path)
    episode = load_episode(path, frames=False)
    assert len(episode) == 20 and episode.info.ended == "frame_cap"
    assert (episode.labels == NO_LABEL).all() and episode.actions.tolist() != [A["RIGHT"]] * 20


def test_cli_human_expert_without_a_display_is_one_clear_line(checkpoint, tmp_path, monkeypatch):
    import shutil

    from typer.testing import CliRunner

    from cli import app
    from recorder.store import GameStore

    store = GameStore(tmp_path / "data", "pacman")
    store.models.mkdir(parents=True)
    shutil.copy(checkpoint, store.models / "best.pt")
    for name in ("SDL_VIDEODRIVER", "DISPLAY", "WAYLAND_DISPLAY"):
        monkeypatch.delenv(name, raising=False)
    result = CliRunner().invoke(app, ["dagger", "--game", "pacman", "--expert", "human", "--mode", "review",
                                      "--data", str(tmp_path / "data")])
    assert result.exit_code == 2
    assert "--expert human labels in a window" in result.output and "xvfb-run" in result.output
    assert "Traceback" not in result.output


def test_cli_esc_in_the_window_stops_dagger_with_how_to_continue(checkpoint, tmp_path):
    import shutil

    from typer.testing import CliRunner

    from cli import app
    from recorder.store import GameStore

    store = GameStore(tmp_path / "data", "pacman")
    store.models.mkdir(parents=True)
    shutil.copy(checkpoint, store.models / "best.pt")
    pygame.display.init()
    down(pygame.K_ESCAPE)  # waits in the queue until the window's loop reads it
    result = CliRunner().invoke(app, ["dagger", "--game", "pacman", "--expert", "human", "--mode", "rewind",
                                      "--eval-episodes", "1", "--eval-max-frames", "60", "--scale", "1",
                                      "--data", str(tmp_path / "data")])
    assert result.exit_code == 0, result.output
    assert "mode rewind" in result.output and "Enter" in result.output  # told before the window opened
    assert "stopped in round 1" in result.output and "run the same command again" in result.output
    assert not (store.dagger / "round-001" / "round.json").exists()


def test_cli_watch_plays_the_episodes_asked_in_the_window(checkpoint, tmp_path):
    import shutil

    from typer.testing import CliRunner

    from cli import app
    from recorder.store import GameStore

    store = GameStore(tmp_path / "data", "pacman")
    store.models.mkdir(parents=True)
    shutil.copy(checkpoint, store.models / "best.pt")
    result = CliRunner().invoke(app, ["watch", "--game", "pacman", "--episodes", "2", "--max-frames", "30",
                                      "--scale", "1", "--data", str(tmp_path / "data")])
    assert result.exit_code == 0, result.output
    assert "episode 1: score" in result.output and "episode 2: score" in result.output
    assert result.output.count("30 frames (frame_cap)") == 2
    assert list(tmp_path.rglob("*.npz")) == []  # watching records nothing


def test_the_human_modes_never_import_pygame_themselves():
    import ast

    for mode in ("human", "takeover", "review", "rewind"):
        source = (Path(__file__).resolve().parent.parent / "agent" / "dagger" / f"{mode}.py").read_text()
        imported = {alias.name.split(".")[0] for node in ast.walk(ast.parse(source))
                    if isinstance(node, ast.Import) for alias in node.names}
        imported |= {node.module.split(".")[0] for node in ast.walk(ast.parse(source))
                     if isinstance(node, ast.ImportFrom) and node.module}
        assert "pygame" not in imported and "torch" not in imported, mode
