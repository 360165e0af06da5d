"""`mimic`: record human play of Atari games, train agents on it, and watch them play.

The Typer app: each command parses its options into a config, calls one function of `recorder` or `agent` and
prints what it returns with Rich; tables and progress reports are built next to the code they report on. Heavy
imports (the emulator, torch) happen inside commands so that `mimic --help` answers at once.
"""

from __future__ import annotations

import datetime as dt
import inspect
import secrets
import signal
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Literal, NoReturn

import typer
import typer.core
from rich.console import Console

from recorder.store import GameStore, episode_words, episodes_table, games_with_data

if TYPE_CHECKING:
    from recorder.games import Game

COMMAND_ORDER = ("play", "data", "train", "watch", "eval", "dagger", "expert", "demo", "games")


class _UserOrder(typer.core.TyperGroup):
    """Lists the commands in the order a user meets them (any other comes last); a command stopped by Ctrl-C,
    SIGTERM or SIGHUP, or by data it cannot write, ends with one line and no traceback."""

    def list_commands(self, ctx) -> list[str]:
        names = super().list_commands(ctx)
        last = len(COMMAND_ORDER)
        return sorted(names, key=lambda name: COMMAND_ORDER.index(name) if name in COMMAND_ORDER else last)

    def invoke(self, ctx):
        from recorder.store import StoreError

        for signum in (signal.SIGTERM, signal.SIGHUP):  # as Ctrl-C: the same cleanup runs; ignored (nohup) stays so
            if signal.getsignal(signum) is not signal.SIG_IGN:
                signal.signal(signum, signal.default_int_handler)
        try:
            return super().invoke(ctx)
        except KeyboardInterrupt as exc:  # a command that knows what it kept says so in the message
            fail(f"stopped: {exc}" if exc.args else "stopped: what had finished is kept (episodes, checkpoints, "
                 "rounds); run the same command to go on", code=130)
        except StoreError as exc:
            fail(str(exc), code=1)


app = typer.Typer(cls=_UserOrder, no_args_is_help=True, rich_markup_mode="rich", pretty_exceptions_enable=False,
                  help=__doc__.split("\n\n")[0] + "\n\nStart with `mimic play --record --game pacman`, "
                  "then `mimic train`.")
data_app = typer.Typer(help="The recorded episodes: list, verify, delete.", no_args_is_help=True)
app.add_typer(data_app, name="data")


# Off a terminal, tables widen instead of cutting cells, and progress bars (disable=not is_terminal) are silent.
console = Console()
err_console = Console(stderr=True)
for _out in (console, err_console):
    if not _out.is_terminal:
        _out.width = 10_000

DataOpt = Annotated[Path, typer.Option("--data", envvar="MIMIC_DATA", show_default=True, help="Data root: one folder "
                                       "per game (demos/, dagger/, models/, reports/, videos/).")]
GameOpt = Annotated[str, typer.Option("--game", "-g", help="ROM name as ale-py ships it: pacman, mspacman, breakout, "
                                      "... (`mimic games`).")]
OneGameOpt = Annotated[str | None, typer.Option("--game", "-g", help="Only this game (default: every game).")]
GreedyOpt = Annotated[bool, typer.Option("--greedy", help="Take the most probable action instead of sampling.")]
TemperatureOpt = Annotated[float, typer.Option(help="Sampling temperature: below 1 sharper, above 1 flatter.")]


def fail(message: str, code: int = 2) -> NoReturn:
    """One clear line on stderr, no traceback: what was wrong, what was expected, what to do."""
    err_console.print(f"[bold red]error:[/] {message}", highlight=False, soft_wrap=True)
    raise typer.Exit(code)


def warn(message: str) -> None:
    err_console.print(f"[yellow]warning:[/] {message}", highlight=False, soft_wrap=True)


@contextmanager
def _failing(*errors: type[Exception]) -> Iterator[None]:
    """Any of `errors` raised inside ends the command with its message as one clear line (`fail`)."""
    try:
        yield
    except errors as exc:
        fail(str(exc))


@contextmanager
def _status(out: Console, first: str = "starting") -> Iterator[Callable[[str], None]]:
    """A spinner, a line of status and the time elapsed (on a terminal only, gone when done); yields its setter."""
    from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

    columns = (SpinnerColumn(), TextColumn("{task.description}"), TimeElapsedColumn())
    with Progress(*columns, console=out, transient=True, disable=not out.is_terminal) as progress:
        task = progress.add_task(first)
        yield lambda text: progress.update(task, description=text)


def resolve(name: str) -> Game:
    from recorder.games import UnknownGameError, resolve_game

    with _failing(UnknownGameError):
        return resolve_game(name)


def game_store(data: Path, name: str) -> tuple[Game, GameStore]:
    """The game called `name` (one line when there is none) and its folder, made whole after a kill (one line each)."""
    for recovered in (store := GameStore(Path(data), (game := resolve(name)).name)).tidy():
        err_console.print(recovered.line, highlight=False, soft_wrap=True)
    return game, store


def policy_for(data: Path, name: str, checkpoint: Path | None) -> tuple[Game, GameStore, Path]:
    """The game, its folder and the policy to load: `--checkpoint`, else the game's averaged weights
    (models/avg.pt; models/best.pt from a training that kept none); one line saying what to do when it is missing."""
    game, store = game_store(data, name)
    kept = (p for p in (store.models / "avg.pt", store.models / "best.pt") if p.is_file())
    path = checkpoint or next(kept, store.models / "avg.pt")
    if not path.is_file():
        hint = f"train one with `mimic train --game {game.name}`" if checkpoint is None else "check the path"
        fail(f"no checkpoint at {path}: {hint}")
    return game, store, path


# mimic play: a person plays in a window (recorder/play.py); with --record every episode is saved under demos/
@app.command()
def play(
    game: Annotated[str, typer.Option("--game", "-g", help="ROM name as ale-py ships it (`mimic games`).")] = "pacman",
    record: Annotated[bool, typer.Option("--record", help="Save every episode under DATA/GAME/demos/.")] = False,
    player: Annotated[str | None, typer.Option("--player", help="Your name, stored with each episode "
                                               "(default: your login).")] = None,
    scale: Annotated[int, typer.Option("--scale", help="Window scale: 1 to 8 screen pixels per game pixel "
                                       "(less if it would not fit the screen).")] = 4,
    seed: Annotated[int | None, typer.Option("--seed", help="Emulator seed of the first episode (then +1 each); "
                                             "default random.")] = None,
    speed: Annotated[float, typer.Option("--speed", help="Starting speed: 1.0 is real time (60 frames/s), "
                                         "0.5 half.")] = 1.0,
    step: Annotated[bool, typer.Option("--step", help="Start in step mode: the game advances only while you hold "
                                       "a key.")] = False,
    episodes: Annotated[int | None, typer.Option("--episodes", help="Stop after this many finished episodes.")] = None,
    max_frames: Annotated[int | None, typer.Option("--max-frames", help="Cap each episode at this many frames "
                                                   "(saved as frame_cap).")] = None,
    keys: Annotated[bool, typer.Option("--keys", help="Print the keys for GAME and the control keys, "
                                       "then exit.")] = False,
    data: DataOpt = Path("data"),
) -> None:
    """Play a game in a window; with --record every episode is saved for training."""
    the_game, store = game_store(data, game)
    from recorder.play import PlayConfig, keys_help, login_name, play_session
    from recorder.window import NoDisplayError, check_display

    if keys:
        console.print(keys_help(the_game))
        return
    with _failing(ValueError, NoDisplayError):
        config = PlayConfig(the_game, player=login_name() if player is None else player, scale=scale, speed=speed,
                            step_mode=step, seed=secrets.randbelow(2**31) if seed is None else seed, episodes=episodes,
                            record=record, directory=store.demos if record else None, max_frames=max_frames)
        check_display()
    with _failing(NoDisplayError):
        play_session(config, console)


# mimic data: the recorded episodes (recorder/store.py, recorder/recording.py)
@data_app.command("ls")
def data_ls(game: OneGameOpt = None, data: DataOpt = Path("data")) -> None:
    """A table of the recorded episodes, totals and the action histogram."""
    names = [resolve(game).name] if game else games_with_data(Path(data))
    if not names:
        console.print(f"No recordings under {data}/ yet. Record some with `mimic play --record --game pacman`.")
    for name in names:
        _, store = game_store(data, name)
        tables, skipped = episodes_table(store)
        for message in skipped:
            warn(f"skipped {message}")
        empty = f"{name}: no episodes under {store.path}/. Record with `mimic play --record --game {name}`."
        console.print(empty if tables is None else tables)


@data_app.command("verify")
def data_verify(game: OneGameOpt = None, data: DataOpt = Path("data")) -> None:
    """Replay every episode in a fresh emulator and check every frame bit for bit."""
    from rich.progress import track

    from recorder.recording import verify_line

    names = [resolve(game).name] if game else games_with_data(Path(data))
    paths = [p for name in names for p in game_store(data, name)[1].episode_paths()]
    if not paths:
        console.print(f"No recordings under {data}/ to verify.")
        return
    failures = 0
    for path in track(paths, "replaying", console=console, transient=True, disable=not console.is_terminal):
        ok, line = verify_line(path)
        console.print(line)
        failures += not ok
    if failures:
        fail(f"{failures} of {len(paths)} episodes did not verify", code=1)
    console.print(f"[green]All {len(paths)} episodes replay exactly.[/]")


@data_app.command("rm")
def data_rm(
    episode: Annotated[str, typer.Argument(help="Episode id, as `mimic data ls` shows it.")],
    game: GameOpt,
    data: DataOpt = Path("data"),
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Delete without asking.")] = False,
) -> None:
    """Delete one recorded episode (asks first)."""
    _, store = game_store(data, game)
    path = store.find(episode.removesuffix(".npz"))
    if path is None:
        fail(f"no episode {episode!r} for {store.game} under {store.path}; "
             f"`mimic data ls --game {store.game}` lists them")
    what = episode_words(path)
    if not yes and not typer.confirm(f"Delete {what}?", default=False):
        console.print("Kept it.")
        return
    store.remove(path)
    console.print(f"Deleted {what}.")


# mimic train, watch, eval: behavioural cloning, the agent playing, its scores (agent/train.py, watch.py, evaluate.py)
@app.command()
def train(
    ctx: typer.Context,
    game: GameOpt,
    data: DataOpt = Path("data"),
    epochs: Annotated[int, typer.Option(help="Passes over the training decisions.")] = 20,
    lr: Annotated[float, typer.Option("--lr", help="Adam learning rate.")] = 2.5e-4,
    batch_size: Annotated[int, typer.Option("--batch-size", help="Decisions per gradient step.")] = 64,
    val_fraction: Annotated[float, typer.Option("--val-fraction",
                                                help="Share of episodes held out for validation.")] = 0.1,
    networks: Annotated[int | None, typer.Option(help="Networks trained side by side, acting on their vote (default: "
                                                 "chosen from the data's size).", min=1, max=16)] = None,
    seed: Annotated[int, typer.Option(help="Seed: the same seed repeats a CPU run exactly.")] = 0,
    device: Annotated[str, typer.Option(help="auto (CUDA when present), cpu or cuda.")] = "auto",
    threads: Annotated[int | None, typer.Option(help="CPU threads for torch (default: torch's choice).")] = None,
    resume: Annotated[bool, typer.Option("--resume", help="Continue the run in models/last.pt with its settings; "
                                         "only --epochs, --device and --threads may differ.")] = False,
) -> None:
    """Behavioural cloning on every episode recorded for the game (demos and DAgger rounds).

    Trains the recipe and says what it chose: an ensemble of networks when the data is large, decisions also seen
    mirrored when the game's screen is symmetric, and the averaged weights kept as models/avg.pt, which eval,
    watch and dagger use by default."""
    the_game, store = game_store(data, game)
    from agent.policy import CheckpointError
    from agent.train import NoDataError, TrainConfig, resumed_config, train_game, train_progress, train_summary

    with _failing(ValueError, CheckpointError):
        config = TrainConfig(epochs=epochs, batch_size=batch_size, lr=lr, val_fraction=val_fraction, networks=networks,
                             seed=seed, device=device, threads=threads)
        if resume:  # what the command line leaves out, the run being resumed says
            given = [name for name in ctx.params
                     if ctx.get_parameter_source(name).name not in ("DEFAULT", "DEFAULT_MAP")]
            config = resumed_config(store.models, config, given)
    with train_progress(console, the_game.name, warn) as hooks, _failing(NoDataError, CheckpointError, ValueError):
        result = train_game(store, the_game, config, resume=resume, hooks=hooks)
    console.print(train_summary(result, the_game.action_names))


@app.command()
def watch(
    game: GameOpt,
    checkpoint: Annotated[Path | None, typer.Option(help="Policy to watch (default: models/avg.pt).")] = None,
    video: Annotated[Path | None, typer.Option(help="Render headless to this .mp4 instead of opening "
                                               "a window.")] = None,
    episodes: Annotated[int | None, typer.Option(help="Episodes to play (default: until Esc; 1 with --video).",
                                                 min=1)] = None,
    greedy: GreedyOpt = False,
    temperature: TemperatureOpt = 0.25,
    scale: Annotated[int | None, typer.Option(help="Pixels per Atari pixel, 1-8 [window: 4, video: 3].",
                                              min=1, max=8)] = None,
    speed: Annotated[float, typer.Option(help="Window speed; 1.0 is real time (60 frames a second).")] = 1.0,
    max_frames: Annotated[int, typer.Option("--max-frames", help="Frames per episode at most.", min=1)] = 108_000,
    seed: Annotated[int, typer.Option(help="Seed of the game and of the sampling.")] = 0,
    data: DataOpt = Path("data"),
) -> None:
    """Watch the trained agent play: score, the action taken and the policy's probabilities as bars.

    Keys in the window: 1/2/3 or -/+ for the speed, P to pause, Esc to quit. With --video the agent plays under
    the eval protocol (sticky actions, no-op starts) and every emulator frame is rendered, without a display,
    into a real-speed mp4."""
    chosen, store, path = policy_for(data, game, checkpoint)
    if temperature <= 0:
        fail(f"--temperature must be > 0, got {temperature}; use --greedy for the most probable action")
    from agent.policy import CheckpointError, load_checkpoint

    with _failing(CheckpointError):
        loaded = load_checkpoint(path, chosen)
    from agent.watch import episodes_lines, play_in_window, render_video, video_line

    if video is not None:
        with _status(console, "rendering") as say, _failing(ValueError):
            count = render_video(loaded, chosen, video, episodes=episodes or 1, greedy=greedy, temperature=temperature,
                                 seed=seed, max_frames=max_frames, scale=scale or 3, say=say)
        console.print(video_line(video, count, episodes or 1, chosen.name), highlight=False, soft_wrap=True)
        return
    from recorder.window import NoDisplayError

    try:
        with _failing(ValueError):
            summary = play_in_window(loaded, chosen, episodes=episodes, greedy=greedy, temperature=temperature,
                                     seed=seed, scale=scale or 4, speed=speed, max_frames=max_frames)
    except NoDisplayError as exc:
        fail(f"{exc}; or render a video: mimic watch --game {chosen.name} --video out.mp4")
    console.print("\n".join(episodes_lines(summary)), highlight=False)


@app.command("eval")
def eval_(
    game: GameOpt,
    data: DataOpt = Path("data"),
    episodes: Annotated[int, typer.Option(help="Full episodes for the agent, and as many for the random agent.")] = 30,
    envs: Annotated[int, typer.Option(help="Environments stepped together (batched inference).")] = 8,
    checkpoint: Annotated[Path | None, typer.Option(help="Checkpoint to score (default: models/avg.pt).")] = None,
    greedy: GreedyOpt = False,
    temperature: TemperatureOpt = 0.25,
    max_frames: Annotated[int, typer.Option("--max-frames", help="Frame cap per episode; the standard is 108,000 "
                                            "(reports say when not).")] = 108_000,
    seed: Annotated[int, typer.Option(help="Seed of the environments and the sampling.")] = 0,
    random_baseline: Annotated[bool, typer.Option("--random/--no-random", help="Also score a random agent.")] = True,
    json_out: Annotated[bool, typer.Option("--json", help="Print the report as JSON (for scripts).")] = False,
    device: Annotated[str, typer.Option(help="auto, cpu or cuda.")] = "cpu",
) -> None:
    """Score the trained policy under the standard protocol, next to a random agent and your own play."""
    the_game, store, path = policy_for(data, game, checkpoint)
    from agent.evaluate import EvalConfig, evaluate_checkpoint, report_table
    from agent.policy import CheckpointError

    with _failing(ValueError):
        config = EvalConfig(episodes=episodes, envs=envs, max_frames=max_frames, greedy=greedy,
                            temperature=temperature, seed=seed, random_baseline=random_baseline)
    with (_status(err_console if json_out else console, f"agent: 0/{episodes} episodes") as say,
          _failing(CheckpointError, ValueError)):
        report, saved = evaluate_checkpoint(
            path, the_game, config, store=store, device=device,
            on_episode=lambda who, done, score: say(f"{who}: {done}/{episodes} episodes (last score {score:,.0f})"))
    if json_out:
        print(report.to_json())
        return
    console.print(report_table(report), highlight=False)
    console.print(f"[dim]report saved to {saved}[/]", highlight=False, soft_wrap=True)


# mimic dagger: the agent plays, the expert labels, aggregate, retrain (agent/dagger/); two panels of options in --help
PlannerOption = partial(typer.Option, rich_help_panel="Planning expert")
PersonOption = partial(typer.Option, rich_help_panel="A person labels (--expert human)")


@app.command()
def dagger(
    game: GameOpt,
    rounds: Annotated[int, typer.Option(help="Rounds to have finished; a re-run continues after the last.", min=1)] = 5,
    episodes: Annotated[int, typer.Option(help="Rollouts of the current policy per round.", min=1)] = 2,
    max_frames: Annotated[int, typer.Option("--max-frames", help="Emulator frames per rollout at most.", min=1)] = 3000,
    epochs: Annotated[int, typer.Option(help="Training epochs per round, from the last round's weights.", min=1)] = 5,
    eval_episodes: Annotated[int, typer.Option("--eval-episodes", help="Evaluation episodes per round.", min=1)] = 10,
    eval_max_frames: Annotated[int, typer.Option("--eval-max-frames", help="Frame cap of evaluation episodes; "
                                                 "the standard is 108,000 (reports say when not).", min=1)] = 108_000,
    checkpoint: Annotated[Path | None, typer.Option(help="Policy to start from (default: models/avg.pt).")] = None,
    temperature: Annotated[float, typer.Option(help="Sampling temperature of the policy in rollouts and evaluations "
                                               "(<1 sharper).")] = 0.25,
    seed: Annotated[int, typer.Option(help="Seed of rollouts, beta draws, training and evaluation.")] = 0,
    expert: Annotated[Literal["planner", "human"], typer.Option(help="Who labels: the planning expert, "
                                                                "or you.")] = "planner",
    beta0: Annotated[float, PlannerOption("--beta0", help="Share of decisions the expert takes in round 1; halves "
                                          "each round.", min=0.0, max=1.0)] = 0.5,
    budget: Annotated[int, PlannerOption(help="Planner look-ahead per decision, in emulator frames.", min=1)] = 2000,
    workers: Annotated[int | None, PlannerOption(help="Processes labelling (default: one per core).", min=1)] = None,
    mode: Annotated[Literal["takeover", "review", "rewind"], PersonOption(
        help="How you label: take over, answer questions, or replay a lost life.")] = "takeover",
    queries: Annotated[int, PersonOption(help="--mode review: questions per round at most.", min=1)] = 20,
    rewind_seconds: Annotated[float, PersonOption("--rewind-seconds", help="--mode rewind: seconds a lost life takes "
                                                  "the game back before the last moment an action still mattered.",
                                                  min=0.25, max=60.0)] = 4.0,
    speed: Annotated[float, PersonOption(help="Game speed in the window, 1.0 is real time.", min=0.05, max=4.0)] = 1.0,
    scale: Annotated[int, PersonOption(help="Window scale (1-8).", min=1, max=8)] = 4,
    show_rollouts: Annotated[bool, PersonOption("--show-rollouts/--hide-rollouts", help="--mode review: show the "
                                                "agent's rollouts fast-forward.")] = True,
    player: Annotated[str, PersonOption(help="Your name, stored with your labels.")] = "human",
    data: DataOpt = Path("data"),
) -> None:
    """DAgger: the policy plays, the expert says what it should have done, the labels join the data, retrain.

    Rounds land in data/<game>/dagger/round-NNN/; a table grows as they finish, and a plot of score against
    labels is written to data/<game>/reports/dagger.png. With --expert human you label in a window: --mode
    takeover (hold keys to take over), review (answer questions after each rollout) or rewind (a lost life
    rewinds the game and you play from there)."""
    chosen, store, start = policy_for(data, game, checkpoint)
    from agent.dagger import DaggerConfig, run_dagger
    from agent.dagger.human import HumanConfig, HumanLabelling
    from agent.dagger.planner import PlannerLabelling
    from agent.planner import ExpertConfig
    from agent.policy import CheckpointError
    from recorder.window import NoDisplayError, check_display

    human = expert == "human"
    try:
        with _failing(ValueError):
            config = DaggerConfig(rounds=rounds, episodes=episodes, max_frames=max_frames, beta0=0.0 if human else
                                  beta0, epochs=epochs, eval_episodes=eval_episodes, eval_max_frames=eval_max_frames,
                                  temperature=temperature, seed=seed)
            labelling = PlannerLabelling(ExpertConfig(budget=budget), workers=workers)
            if human:
                check_display()
                labelling = HumanLabelling(mode, HumanConfig(
                    chosen, max_frames=max_frames, seed=seed, scale=scale, speed=speed, queries=queries,
                    rewind_seconds=rewind_seconds, show_rollout=show_rollouts, player=player))
    except NoDisplayError as exc:
        fail(f"--expert human labels in a window: {exc}")
    with _failing(CheckpointError, ValueError, NoDisplayError):
        run_dagger(chosen, store, start, config, labelling, console=console, warn=warn)


# mimic expert: the planning expert plays and records (agent/planner.py)
@app.command()
def expert(
    game: GameOpt,
    episodes: Annotated[int, typer.Option("--episodes", "-n", help="Episodes to record.", min=1)] = 5,
    budget: Annotated[int, typer.Option(help="Look-ahead per decision, in emulator frames.", min=1)] = 2000,
    depth: Annotated[int, typer.Option(help="Decisions per rollout (pacman wants 50: its death shows 130 frames late).",
                                       min=1)] = 40,
    frameskip: Annotated[int, typer.Option(help="Frames each decision is held.", min=1)] = 4,
    seed: Annotated[int | None, typer.Option(help="Seed of episode 1, +1 each (default: next unused).", min=0)] = None,
    workers: Annotated[int | None, typer.Option(help="Episodes played at once, one process each (default: one per "
                                                "core).", min=1)] = None,
    max_frames: Annotated[int | None, typer.Option("--max-frames", help="Cut each episode after this many frames.",
                                                   min=1)] = None,
    data: DataOpt = Path("data"),
) -> None:
    """The planning expert plays and records into data/<game>/demos/ (player `expert`), like a person."""
    from agent.planner import ExpertConfig, default_workers, record_episodes

    chosen, store = game_store(data, game)
    try:
        config = ExpertConfig(budget=budget, depth=depth, frameskip=frameskip)
    except ValueError as exc:
        fail(f"{exc}; pass a --budget of at least --frameskip frames")
    record_episodes(chosen, config, store, episodes, seed=seed, max_frames=max_frames,
                    workers=min(workers or default_workers(), episodes), console=console)


# mimic demo: the whole pipeline headless, the planning expert standing in for the human (agent/demo.py)
@app.command()
def demo(
    game: Annotated[str, typer.Option("--game", "-g", help="Game to run the pipeline on.")] = "pacman",
    data: Annotated[Path | None, typer.Option("--data", help="A new folder for this run, or an earlier demo's to "
                                              "continue it; never your data (default: data/demo-<time>/).")] = None,
    quick: Annotated[bool, typer.Option("--quick", help="Tiny sizes: a smoke run of every step in about "
                                        "a minute.")] = False,
    video_frames: Annotated[int, typer.Option("--video-frames", help="Length of the final agent's video, in frames.",
                                              min=1)] = 3600,
    seed: Annotated[int, typer.Option(help="Seed of the whole run.")] = 0,
) -> None:
    """Everything with no one at the keyboard: expert demonstrations, BC, two DAgger rounds, scores, a video.

    The planning expert records a few episodes, behavioural cloning trains on them, two DAgger rounds run with the
    planner as labeller, the final agent is scored against a random one with the eval protocol, and a report, a
    plot and an mp4 of the agent are written."""
    from agent.demo import DemoConfig, demo_intro, demo_report, demo_reporter, run_demo

    root = data if data is not None else Path("data") / f"demo-{dt.datetime.now():%Y%m%d-%H%M%S}"
    chosen, store = game_store(root, game)
    config = (DemoConfig.quick if quick else DemoConfig)(seed=seed, video_frames=video_frames)
    console.print(demo_intro(chosen, root, config), highlight=False)
    with _status(console) as say:
        reporter = demo_reporter(say, lambda line: console.print(line, highlight=False))
        result = run_demo(chosen, store, config, on_event=reporter, warn=warn)
    console.print(demo_report(result, config), highlight=False)


@app.command()
def games() -> None:
    """List every game `--game` accepts (the ROMs ale-py ships)."""
    from recorder.games import game_names

    console.print(", ".join(names := game_names()), highlight=False)
    console.print(f"[dim]{len(names)} games; pacman is Atari 2600 Pac-Man, mspacman is Ms. Pac-Man.[/]")


# A command's help is its docstring; Rich wraps each paragraph to the screen, so the source's line breaks go.
for _command in (*app.registered_commands, *data_app.registered_commands):
    _command.help = "\n\n".join(" ".join(paragraph.split()) for paragraph in
                                  inspect.cleandoc(_command.callback.__doc__).split("\n\n"))


if __name__ == "__main__":  # pragma: no cover - the console script calls `app`
    app()
