"""`mimic`: record human play of Atari games, train agents on it, and watch them play.

The Typer app: it parses options, prints with Rich and calls the `recorder` and `agent`
packages; no logic of its own. Heavy imports (the emulator, torch) happen inside commands so
that `mimic --help` answers at once.
"""

from __future__ import annotations

from enum import Enum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, NoReturn

import typer
import typer.core
from rich import box
from rich.console import Console
from rich.table import Table

if TYPE_CHECKING:
    from recorder.games import Game
    from recorder.store import GameStore

COMMAND_ORDER = ("play", "data", "train", "watch", "eval", "dagger", "expert", "demo", "games")


class _UserOrder(typer.core.TyperGroup):
    """Lists the commands in the order a user meets them; any other command comes last."""

    def list_commands(self, ctx) -> list[str]:
        names = super().list_commands(ctx)
        return sorted(names, key=lambda name: COMMAND_ORDER.index(name) if name in COMMAND_ORDER else len(COMMAND_ORDER))


app = typer.Typer(
    cls=_UserOrder,
    help=__doc__.split("\n\n")[0] + "\n\nStart with `mimic play --record --game pacman`, then `mimic train`.",
    no_args_is_help=True,
    rich_markup_mode="rich",
    pretty_exceptions_enable=False,
)
data_app = typer.Typer(help="The recorded episodes: list, verify, delete.", no_args_is_help=True)
app.add_typer(data_app, name="data")


def _console(stderr: bool = False) -> Console:
    """A Rich console; written to a file or a pipe it is wide, so tables widen instead of cutting
    cells. There Rich's progress bars do not redraw: a finished one prints once, a transient one
    a blank line (`disable=not console.is_terminal` prints nothing)."""
    out = Console(stderr=stderr)
    if not out.is_terminal:
        out.width = 10_000
    return out


console = _console()
err_console = _console(stderr=True)

DataOpt = Annotated[
    Path,
    typer.Option(
        "--data",
        envvar="MIMIC_DATA",
        help="Data root: one folder per game (demos/, dagger/, models/, reports/, videos/).",
        show_default=True,
    ),
]
GameOpt = Annotated[
    str,
    typer.Option("--game", "-g", help="ROM name as ale-py ships it: pacman, mspacman, breakout, ... (`mimic games`)."),
]


def fail(message: str, code: int = 2) -> NoReturn:
    """One clear line on stderr, no traceback: what was wrong, what was expected, what to do."""
    err_console.print(f"[bold red]error:[/] {message}", highlight=False, soft_wrap=True)
    raise typer.Exit(code)


def warn(message: str) -> None:
    err_console.print(f"[yellow]warning:[/] {message}", highlight=False, soft_wrap=True)


def resolve(name: str) -> Game:
    from recorder.games import UnknownGameError, resolve_game

    try:
        return resolve_game(name)
    except UnknownGameError as exc:
        fail(str(exc))


def checkpoint_for(store: GameStore, game: Game, checkpoint: Path | None) -> Path:
    """`--checkpoint`, else the game's averaged weights (models/avg.pt; models/best.pt from a training that
    kept none); one line saying what to do when it is missing."""
    path = checkpoint
    if path is None:
        path = next((p for p in (store.models / "avg.pt", store.models / "best.pt") if p.is_file()), store.models / "avg.pt")
    if not path.is_file():
        hint = f"train one with `mimic train --game {game.name}`" if checkpoint is None else "check the path"
        fail(f"no checkpoint at {path}: {hint}")
    return path


def store_for(data: Path, game: str) -> GameStore:
    from recorder.store import GameStore

    return GameStore(Path(data), resolve(game).name)


@app.command()
def games() -> None:
    """List every game `--game` accepts (the ROMs ale-py ships)."""
    from recorder.games import game_names

    names = game_names()
    console.print(", ".join(names), highlight=False)
    console.print(f"[dim]{len(names)} games; pacman is Atari 2600 Pac-Man, mspacman is Ms. Pac-Man.[/]")


# ---------------------------------------------------------------------------------------------
# mimic data


@data_app.command("ls")
def data_ls(
    game: Annotated[str | None, typer.Option("--game", "-g", help="Only this game (default: every game).")] = None,
    data: DataOpt = Path("data"),
) -> None:
    """A table of the recorded episodes, totals and the action histogram."""
    from recorder.store import episodes_table

    names = _games_in(data, game)
    if not names:
        console.print(f"No recordings under {data}/ yet. Record some with `mimic play --record --game pacman`.")
    for name in names:
        store = store_for(data, name)
        tables, skipped = episodes_table(store)
        for message in skipped:
            warn(f"skipped {message}")
        if tables is None:
            console.print(f"{name}: no episodes under {store.path}/. Record with `mimic play --record --game {name}`.")
        else:
            console.print(tables)


def _games_in(data: Path, game: str | None) -> list[str]:
    """`--game` alone, else every game with episodes under the data root."""
    from recorder.store import games_with_data

    return [resolve(game).name] if game else games_with_data(Path(data))


@data_app.command("verify")
def data_verify(
    game: Annotated[str | None, typer.Option("--game", "-g", help="Only this game (default: every game).")] = None,
    data: DataOpt = Path("data"),
) -> None:
    """Replay every episode in a fresh emulator and check every frame bit for bit."""
    from rich.progress import track

    from recorder.recording import verify_episode
    from recorder.store import DamagedEpisodeError

    paths = [p for name in _games_in(data, game) for p in store_for(data, name).episode_paths()]
    if not paths:
        console.print(f"No recordings under {data}/ to verify.")
        return
    failures = 0
    for path in track(paths, "replaying", console=console, transient=True, disable=not console.is_terminal):
        try:
            result = verify_episode(path)
            mark = "[green]ok[/]" if result.ok else "[red]FAILED[/]"
            console.print(f"{mark}  {path.parent.parent.name}/{path.parent.name}/{path.name}: {result.message}")
            failures += not result.ok
        except DamagedEpisodeError as exc:
            console.print(f"[red]DAMAGED[/]  {exc}")
            failures += 1
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
    from recorder.store import DamagedEpisodeError, read_info

    store = store_for(data, game)
    path = store.find(episode.removesuffix(".npz"))
    if path is None:
        fail(f"no episode {episode!r} for {store.game} under {store.path}; `mimic data ls --game {store.game}` lists them")
    try:
        info = read_info(path)
        what = f"{path.name} ({info.player}, {info.length:,} frames, score {info.score:,.0f})"
    except DamagedEpisodeError:
        what = f"{path.name} (damaged)"
    if not yes and not typer.confirm(f"Delete {what}?", default=False):
        console.print("Kept it.")
        return
    path.unlink()
    console.print(f"Deleted {what}.")


# ---------------------------------------------------------------------------------------------
# mimic expert: the planning expert plays and records (agent/planner.py)


@app.command()
def expert(
    game: GameOpt,
    episodes: Annotated[int, typer.Option("--episodes", "-n", help="Episodes to record.", min=1)] = 5,
    budget: Annotated[int, typer.Option(help="Look-ahead per decision, in emulator frames.", min=1)] = 2000,
    depth: Annotated[int, typer.Option(help="Decisions per rollout (pacman wants 50: its death shows 130 frames late).", min=1)] = 40,
    frameskip: Annotated[int, typer.Option(help="Frames each decision is held.", min=1)] = 4,
    seed: Annotated[int, typer.Option(help="Seed of the first episode; episode i uses seed + i.", min=0)] = 0,
    workers: Annotated[int | None, typer.Option(help="Episodes played at once, one process each (default: one per core).",
                                                min=1)] = None,
    max_frames: Annotated[int | None, typer.Option("--max-frames", help="Cut each episode after this many frames.",
                                                   min=1)] = None,
    data: DataOpt = Path("data"),
) -> None:
    """The planning expert plays and records into data/<game>/demos/ (player `expert`), like a person."""
    from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

    from agent.planner import ExpertConfig, default_workers, episodes_table, play_episodes

    store = store_for(data, game)
    chosen = resolve(game)
    try:
        config = ExpertConfig(budget=budget, depth=depth, frameskip=frameskip)
    except ValueError as exc:
        fail(f"{exc}; pass a --budget of at least --frameskip frames")
    workers = min(workers or default_workers(), episodes)
    seeds = [seed + i for i in range(episodes)]
    console.print(
        f"Expert on {chosen.name}: {episodes} episode(s), budget {budget:,} frames a decision "
        f"(rollouts of {depth} decisions x {frameskip} frames), {workers} worker(s), into {store.demos}/",
        highlight=False,
    )
    columns = (TextColumn("{task.description}"), BarColumn(), TextColumn("{task.fields[status]}"), TimeElapsedColumn())
    with Progress(*columns, console=console) as progress:
        tasks = {
            i: progress.add_task(f"episode {i + 1} (seed {s})", total=max_frames, status="waiting")
            for i, s in enumerate(seeds)
        }

        def show(p) -> None:
            status = f"score {p.score:>7,.0f}  lives {p.lives}  {p.frames:>7,} frames  {p.decisions_per_s:5.1f} decisions/s"
            if p.done:  # the bar ends full, whether the game or the frame cap ended it
                progress.update(tasks[p.index], total=p.frames, completed=p.frames, status=f"{status}  {p.ended}")
            else:
                progress.update(tasks[p.index], completed=p.frames, status=status)

        results = play_episodes(chosen, config, seeds, directory=store.demos, max_frames=max_frames,
                                workers=workers, report=show)
    console.print(episodes_table(chosen, results))
    console.print(f"Saved {len(results)} episode(s) to {store.demos}/; `mimic data ls --game {chosen.name}` lists them.")


# ---------------------------------------------------------------------------------------------
# mimic dagger: the agent plays, the expert labels, aggregate, retrain (agent/dagger/__init__.py)


class ExpertKind(str, Enum):
    planner = "planner"
    human = "human"


class HumanMode(str, Enum):
    takeover = "takeover"
    review = "review"
    rewind = "rewind"


PLANNER = "Planning expert"
PERSON = "A person labels (--expert human)"


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
    expert: Annotated[ExpertKind, typer.Option(help="Who labels: the planning expert, or you.")] = ExpertKind.planner,
    beta0: Annotated[float, typer.Option("--beta0", help="Share of decisions the expert takes in round 1; halves each round.",
                                         min=0.0, max=1.0, rich_help_panel=PLANNER)] = 0.5,
    budget: Annotated[int, typer.Option(help="Planner look-ahead per decision, in emulator frames.", min=1,
                                        rich_help_panel=PLANNER)] = 2000,
    workers: Annotated[int | None, typer.Option(help="Processes labelling (default: one per core).", min=1,
                                                rich_help_panel=PLANNER)] = None,
    mode: Annotated[HumanMode, typer.Option(help="How you label: take over, answer questions, or replay a lost life.",
                                            rich_help_panel=PERSON)] = HumanMode.takeover,
    queries: Annotated[int, typer.Option(help="--mode review: questions per round at most.", min=1,
                                         rich_help_panel=PERSON)] = 20,
    rewind_seconds: Annotated[float, typer.Option("--rewind-seconds", help="--mode rewind: seconds a lost life takes "
                                                  "the game back before the last moment an action still mattered.",
                                                  min=0.25, max=60.0, rich_help_panel=PERSON)] = 4.0,
    speed: Annotated[float, typer.Option(help="Game speed in the window, 1.0 is real time.", min=0.05, max=4.0,
                                         rich_help_panel=PERSON)] = 1.0,
    scale: Annotated[int, typer.Option(help="Window scale (1-8).", min=1, max=8, rich_help_panel=PERSON)] = 4,
    show_rollouts: Annotated[bool, typer.Option("--show-rollouts/--hide-rollouts",
                                                help="--mode review: show the agent's rollouts fast-forward.",
                                                rich_help_panel=PERSON)] = True,
    player: Annotated[str, typer.Option(help="Your name, stored with your labels.", rich_help_panel=PERSON)] = "human",
    data: DataOpt = Path("data"),
) -> None:
    """DAgger: the policy plays, the expert says what it should have done, the labels join the data, retrain.

    Rounds land in data/<game>/dagger/round-NNN/; a table grows as they finish, and a plot of score against labels is written to data/<game>/reports/dagger.png. With --expert human you label in a window: --mode takeover (hold keys to take over), review (answer questions after each rollout) or rewind (a lost life rewinds the game and you play from there)."""
    store = store_for(data, game)
    chosen = resolve(game)
    start = checkpoint_for(store, chosen, checkpoint)
    from agent.dagger import DaggerConfig, DaggerRunner, expert_demo_score, write_plot
    from agent.dagger.planner import PlannerCollector
    from agent.dagger.rounds import finished_rounds
    from agent.planner import Expert, ExpertConfig, ExpertPool
    from agent.policy import CheckpointError

    human = expert is ExpertKind.human
    try:
        config = DaggerConfig(rounds=rounds, episodes=episodes, max_frames=max_frames, beta0=0.0 if human else beta0,
                              epochs=epochs, eval_episodes=eval_episodes, eval_max_frames=eval_max_frames,
                              temperature=temperature, seed=seed)
        expert_config = ExpertConfig(budget=budget)
        human_config = _human_config(chosen, max_frames=max_frames, seed=seed, scale=scale, speed=speed,
                                     queries=queries, rewind_seconds=rewind_seconds, show_rollouts=show_rollouts,
                                     player=player) if human else None
    except ValueError as exc:
        fail(str(exc))
    done = finished_rounds(store.dagger)
    if len(done) >= rounds:
        console.print(f"{len(done)} rounds already finished under {store.dagger}/; ask for more with --rounds.")
        _print_rounds(done, chosen.name)
        return
    if human:
        _print_human_task(chosen, mode.value, rounds=range(len(done) + 1, rounds + 1), episodes=episodes,
                          config=human_config)
    from contextlib import nullcontext

    from agent.dagger.human import LabellingStopped
    from recorder.window import NoDisplayError

    try:
        with nullcontext() if human else ExpertPool(chosen, expert_config, seed=seed, workers=workers) as pool:
            if human:
                collector = _human_collector(chosen, mode.value, human_config, seed=seed, temperature=temperature)
            else:
                collector = PlannerCollector(chosen, Expert(chosen, expert_config, seed=seed), max_frames,
                                             relabel=pool, temperature=temperature, seed=seed)
            runner = DaggerRunner(chosen, store, start, collector, config, on_event=_dagger_printer(chosen.name),
                                  warn=warn)
            if not human:
                console.print(
                    f"DAgger on {chosen.name}: rounds {len(done) + 1}..{rounds}, {episodes} rollout(s) of at most "
                    f"{max_frames:,} frames each, beta "
                    + ", ".join(f"{config.beta(r):.3g}" for r in range(len(done) + 1, rounds + 1))
                    + f" (the share of decisions the expert takes); planner budget {budget:,} frames a decision; "
                    + f"each round trains {config.epochs} more epochs from the last round's weights and keeps their average.",
                    highlight=False,
                )
            bc_score = runner.start_score()
            console.print(f"starting policy {start}: score {bc_score:,.1f} (before any DAgger round)", highlight=False)
            results = runner.run()

            plot = write_plot(results, store, expert_score=expert_demo_score(store), bc_score=bc_score)
    except (CheckpointError, ValueError, NoDisplayError) as exc:
        fail(str(exc))
    except LabellingStopped as exc:
        warn(f"{exc}; run the same command again to continue from there.")
        return
    _print_rounds(results, chosen.name)
    console.print(f"plot: {plot}", highlight=False)
    console.print(f"final policy: {results[-1].checkpoint}", highlight=False)


def _human_config(game, **options):
    from agent.dagger.human import HumanConfig
    from recorder.window import NoDisplayError, check_display

    try:
        check_display()
    except NoDisplayError as exc:
        fail(f"--expert human labels in a window: {exc}")
    show = options.pop("show_rollouts")
    return HumanConfig(game, max_frames=options.pop("max_frames"), show_rollout=show, **options)


def _human_collector(game, mode: str, config, *, seed: int, temperature: float = 1.0):
    """The window collector of `mode`; it makes the policy's actor from each round's checkpoint."""
    import numpy as np

    from agent.actor import PolicyActor
    from agent.policy import load_checkpoint
    from agent.dagger.human import make_collector

    def make_actor(path: Path) -> PolicyActor:
        return PolicyActor(load_checkpoint(path, game), temperature=temperature, rng=np.random.default_rng(seed))

    return make_collector(mode, config, make_actor)


def _print_human_task(game, mode: str, *, rounds: range, episodes: int, config) -> None:
    from agent.dagger.human import human_mode

    labelling = human_mode(mode)
    console.print(
        f"DAgger on {game.name} with you as the expert, mode [bold]{mode}[/]: rounds {rounds.start}..{rounds.stop - 1}, "
        f"{episodes} rollout(s) of at most {config.max_frames:,} frames a round{labelling.terms(config)}. The starting policy is "
        "evaluated first; then the window opens.", highlight=False, soft_wrap=True)
    console.print(labelling.task, highlight=False, soft_wrap=True)
    table = Table(title="keys", title_justify="left", box=box.SIMPLE_HEAD)
    table.add_column("key")
    table.add_column("does")
    for key, does in labelling.keys:
        table.add_row(key, does)
    console.print(table)
    console.print("Only what you say becomes a label; frames the agent plays on its own stay unlabelled (-1).",
                  highlight=False, soft_wrap=True)


def _dagger_printer(game: str):
    from agent.train import describe

    def on_event(event) -> None:
        if event.kind == "plan":
            console.print(f"round {event.round}: training {describe(event.detail)}", highlight=False, soft_wrap=True)
        elif event.kind == "rollout":
            r = event.detail
            console.print(
                f"round {event.round}: rollout {Path(r.path).name}: {r.frames:,} frames, score {r.score:,.0f}, "
                + (f"{r.expert_decisions:,} of {r.decisions:,} decisions labelled by you"
                   + (f" ({len(r.paths)} files)" if len(getattr(r, 'paths', ())) > 1 else "")
                   if hasattr(r, "paths") else
                   f"{r.decisions:,} decisions labelled ({r.expert_decisions:,} taken by the expert)"),
                highlight=False)
        elif event.kind == "round":
            r = event.detail
            console.print(
                f"[bold]round {r.round}[/]: +{r.new_labels:,} labels (total {r.total_labels:,}), val acc "
                f"{r.val_accuracy:.1%}, score {_plus_minus(r.score_mean, r.score_ci95)} over {r.episodes} episodes, "
                f"{r.seconds:.0f} s", highlight=False)

    return on_event


def _print_rounds(results, game: str) -> None:
    from agent.dagger.rounds import rounds_table

    console.print(rounds_table(results, game=game))


def _plus_minus(mean: float, ci95: float | None) -> str:
    return f"{mean:,.1f}" if ci95 is None else f"{mean:,.1f} ± {ci95:,.1f}"


# ---------------------------------------------------------------------------------------------
# mimic train, mimic eval: behavioural cloning and scores (agent/train.py, agent/evaluate.py)


@app.command()
def train(
    ctx: typer.Context,
    game: GameOpt,
    data: DataOpt = Path("data"),
    epochs: Annotated[int, typer.Option(help="Passes over the training decisions.")] = 20,
    lr: Annotated[float, typer.Option("--lr", help="Adam learning rate.")] = 2.5e-4,
    batch_size: Annotated[int, typer.Option("--batch-size", help="Decisions per gradient step.")] = 64,
    val_fraction: Annotated[float, typer.Option("--val-fraction", help="Share of episodes held out for validation.")] = 0.1,
    networks: Annotated[int | None, typer.Option(
        help="Networks trained side by side, acting on their vote (default: chosen from the data's size).",
        min=1, max=16)] = None,
    seed: Annotated[int, typer.Option(help="Seed: the same seed repeats a CPU run exactly.")] = 0,
    device: Annotated[str, typer.Option(help="auto (CUDA when present), cpu or cuda.")] = "auto",
    threads: Annotated[int | None, typer.Option(help="CPU threads for torch (default: torch's choice).")] = None,
    resume: Annotated[bool, typer.Option(
        "--resume", help="Continue the run in models/last.pt with its settings; only --epochs, --device and "
                         "--threads may differ.")] = False,
) -> None:
    """Behavioural cloning on every episode recorded for the game (demos and DAgger rounds).

    Trains the recipe and says what it chose: an ensemble of networks when the data is large, decisions also seen mirrored when the game's screen is symmetric, and the averaged weights kept as models/avg.pt, which eval, watch and dagger use by default."""
    store = store_for(data, game)
    the_game = resolve(game)
    if not store.episode_paths():
        fail(f"no recordings for {the_game.name} under {store.path}/: record some with `mimic play --record --game {the_game.name}`")
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    from agent.policy import CheckpointError
    from agent.train import NoDataError, TrainConfig, describe, epochs_table, recall_table, resumed_config, train_game

    try:
        config = TrainConfig(epochs=epochs, batch_size=batch_size, lr=lr, val_fraction=val_fraction, networks=networks,
                             seed=seed, device=device, threads=threads)
        if resume:  # what the command line leaves out, the run being resumed says
            given = [name for name in ctx.params if ctx.get_parameter_source(name).name not in ("DEFAULT", "DEFAULT_MAP")]
            config = resumed_config(store.models, config, given)
    except (ValueError, CheckpointError) as exc:
        fail(str(exc))
    columns = (
        TextColumn("epoch {task.fields[epoch]}"), BarColumn(), MofNCompleteColumn(),
        TextColumn("loss {task.fields[loss]:.3f}  acc {task.fields[acc]:.1%}  {task.fields[rate]:,.0f} samples/s"),
        TimeElapsedColumn(),
    )
    with Progress(*columns, console=console, transient=True) as progress:
        loading = progress.add_task("pooling", total=None, epoch="pooling episodes:", loss=0.0, acc=0.0, rate=0.0)
        task = progress.add_task("train", total=None, epoch="-", loss=0.0, acc=0.0, rate=0.0, visible=False)

        def on_plan(plan) -> None:
            progress.update(loading, visible=False)
            progress.update(task, visible=True)
            console.print(f"[bold]Training[/] {the_game.name} on {plan.episodes} episode{'s' * (plan.episodes != 1)}: "
                          f"{describe(plan)}",
                          highlight=False, soft_wrap=True)

        def on_epoch(m) -> None:
            val = f"val loss {m.val_loss:.3f} acc {m.val_accuracy:.1%}" if m.val_loss is not None else "no validation episodes"
            if m.avg_val_loss is not None:
                val += f" (averaged weights: loss {m.avg_val_loss:.3f} acc {m.avg_val_accuracy:.1%})"
            console.print(f"epoch {m.epoch}: train loss {m.train_loss:.3f} acc {m.train_accuracy:.1%}, {val}",
                          highlight=False, soft_wrap=True)

        try:
            result = train_game(
                store, the_game, config, resume=resume, on_plan=on_plan, on_epoch=on_epoch, warn=warn,
                on_load=lambda done, total: progress.update(loading, total=total, completed=done),
                on_progress=lambda p: progress.update(task, total=p.batches, completed=p.batch, epoch=f"{p.epoch}/{p.epochs}",
                                                      loss=p.loss, acc=p.accuracy, rate=p.samples_per_s))
        except (NoDataError, CheckpointError, ValueError) as exc:
            fail(str(exc))
    console.print(epochs_table(result))
    console.print(recall_table(result, the_game.action_names))
    moot = f"; {result.moot_samples:,} moot ones left out (every action as good)" if result.moot_samples else ""
    console.print(
        f"{result.train_samples:,} training decisions from {len(result.train_episodes)} episodes, "
        f"{result.val_samples:,} validation decisions from {len(result.val_episodes)}{moot}; "
        f"{sum(m.samples_per_s for m in result.history) / len(result.history):,.0f} decisions a second of training.",
        highlight=False, soft_wrap=True,
    )
    console.print(f"averaged (used by default): {result.avg_checkpoint}; best: {result.best_checkpoint} "
                  f"(epoch {result.best.epoch}); last: {result.last_checkpoint}", highlight=False, soft_wrap=True)


@app.command("eval")
def eval_(
    game: GameOpt,
    data: DataOpt = Path("data"),
    episodes: Annotated[int, typer.Option(help="Full episodes for the agent, and as many for the random agent.")] = 30,
    envs: Annotated[int, typer.Option(help="Environments stepped together (batched inference).")] = 8,
    checkpoint: Annotated[Path | None, typer.Option(help="Checkpoint to score (default: models/avg.pt).")] = None,
    greedy: Annotated[bool, typer.Option("--greedy", help="Take the most probable action instead of sampling.")] = False,
    temperature: Annotated[float, typer.Option(help="Sampling temperature: below 1 sharper, above 1 flatter.")] = 0.25,
    max_frames: Annotated[
        int, typer.Option("--max-frames", help="Frame cap per episode; the standard is 108,000 (reports say when not).")
    ] = 108_000,
    seed: Annotated[int, typer.Option(help="Seed of the environments and the sampling.")] = 0,
    random_baseline: Annotated[bool, typer.Option("--random/--no-random", help="Also score a random agent.")] = True,
    json_out: Annotated[bool, typer.Option("--json", help="Print the report as JSON (for scripts).")] = False,
    device: Annotated[str, typer.Option(help="auto, cpu or cuda.")] = "cpu",
) -> None:
    """Score the trained policy under the standard protocol, next to a random agent and your own play."""
    store = store_for(data, game)
    the_game = resolve(game)
    path = checkpoint_for(store, the_game, checkpoint)
    from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

    from agent.evaluate import EvalConfig, evaluate_checkpoint
    from agent.policy import CheckpointError

    try:
        config = EvalConfig(episodes=episodes, envs=envs, max_frames=max_frames, greedy=greedy,
                            temperature=temperature, seed=seed, random_baseline=random_baseline)
    except ValueError as exc:
        fail(str(exc))
    out = err_console if json_out else console
    with Progress(SpinnerColumn(), TextColumn("{task.description}"), TimeElapsedColumn(), console=out, transient=True) as progress:
        task = progress.add_task(f"agent: 0/{episodes} episodes")

        def on_episode(who: str, done: int, score: float) -> None:
            progress.update(task, description=f"{who}: {done}/{episodes} episodes (last score {score:,.0f})")

        try:
            report, saved = evaluate_checkpoint(path, the_game, config, store=store, device=device, on_episode=on_episode)
        except (CheckpointError, ValueError) as exc:
            fail(str(exc))
    if json_out:
        print(report.to_json())
        return
    _print_report(report)
    console.print(f"[dim]report saved to {saved}[/]", highlight=False, soft_wrap=True)


def _print_report(report) -> None:
    from agent.evaluate import report_table

    console.print(report_table(report), highlight=False)


# ---------------------------------------------------------------------------------------------
# mimic play: a person plays in a window; with --record every episode is saved under demos/


@app.command()
def play(
    game: Annotated[str, typer.Option("--game", "-g", help="ROM name as ale-py ships it (`mimic games`).")] = "pacman",
    record: Annotated[bool, typer.Option("--record", help="Save every episode under DATA/GAME/demos/.")] = False,
    player: Annotated[
        str | None, typer.Option("--player", help="Your name, stored with each episode (default: your login).")
    ] = None,
    scale: Annotated[int, typer.Option("--scale", help="Window scale: 1 to 8 screen pixels per game pixel (less if it would not fit the screen).")] = 4,
    seed: Annotated[
        int | None, typer.Option("--seed", help="Emulator seed of the first episode (then +1 each); default random.")
    ] = None,
    speed: Annotated[float, typer.Option("--speed", help="Starting speed: 1.0 is real time (60 frames/s), 0.5 half.")] = 1.0,
    step: Annotated[bool, typer.Option("--step", help="Start in step mode: the game advances only while you hold a key.")] = False,
    episodes: Annotated[int | None, typer.Option("--episodes", help="Stop after this many finished episodes.")] = None,
    max_frames: Annotated[
        int | None, typer.Option("--max-frames", help="Cap each episode at this many frames (saved as frame_cap).")
    ] = None,
    keys: Annotated[bool, typer.Option("--keys", help="Print the keys for GAME and the control keys, then exit.")] = False,
    data: DataOpt = Path("data"),
) -> None:
    """Play a game in a window; with --record every episode is saved for training."""
    the_game = resolve(game)
    if keys:
        _print_keys(the_game)
        return
    import getpass
    import secrets

    from recorder.play import PlayConfig, PlayLoop
    from recorder.window import NoDisplayError, check_display

    if player is None:
        try:
            player = getpass.getuser()
        except Exception:  # no login name (some containers)
            player = "anon"
    store = store_for(data, the_game.name)
    try:
        config = PlayConfig(
            the_game, player=player, seed=secrets.randbelow(2**31) if seed is None else seed, scale=scale,
            speed=speed, step_mode=step, episodes=episodes, record=record,
            directory=store.demos if record else None, max_frames=max_frames,
            title=f"mimic play {the_game.name}" + (" [REC]" if record else ""),
        )
        check_display()
    except (ValueError, NoDisplayError) as exc:
        fail(str(exc))
    what = f"recording into {store.demos}/" if record else "not recording (add --record to save episodes)"
    console.print(f"Playing {the_game.name} as {config.player}, {what}. Esc quits; `mimic play --keys` lists the keys.")
    try:
        summary = PlayLoop(config).run()
    except NoDisplayError as exc:
        fail(str(exc))
    _print_play_summary(summary, record)


def _print_keys(game: Game) -> None:
    from recorder.keys import keys_table
    from recorder.play import CONTROL_KEYS

    table = Table(title=f"{game.name}: {game.n_actions} actions", title_justify="left", box=box.SIMPLE_HEAD)
    table.add_column("hold")
    table.add_column("action")
    for held, action in keys_table(game):
        table.add_row(held, action)
    console.print(table)
    controls = Table(title="while playing", title_justify="left", box=box.SIMPLE_HEAD)
    controls.add_column("key")
    controls.add_column("does")
    for key, does in CONTROL_KEYS:
        controls.add_row(key, does)
    console.print(controls)


def _print_play_summary(summary, record: bool) -> None:
    stats = summary.stats
    mean_ms, p99_ms = stats.work_ms()
    if summary.episodes:
        folder = summary.saved[0].path.parent if summary.saved else None
        title = f"episodes saved in {folder}/" if folder else "episodes (not saved)"
        table = Table(title=title, title_justify="left", box=box.SIMPLE_HEAD)
        for column in ("#", "frames", "score", "ended", "file" if record else "seed"):
            table.add_column(column, justify="right" if column in ("#", "frames", "score") else "left",
                             overflow="fold")
        for e in summary.episodes:
            where = e.path.name if e.path is not None else str(e.seed)
            table.add_row(str(e.number), f"{e.length:,}", f"{e.score:,.0f}", e.ended, where)
        console.print(table)
    saved = len(summary.saved)
    head = f"{saved} episode{'s' * (saved != 1)} saved" if record else f"{len(summary.episodes)} episode{'s' * (len(summary.episodes) != 1)} played, none saved"
    console.print(
        f"{head}; {stats.discarded} discarded; {stats.frames:,} frames played, {stats.dropped} dropped "
        f"(work per frame {mean_ms:.1f} ms mean, {p99_ms:.1f} ms p99).",
        highlight=False,
    )


# ---------------------------------------------------------------------------------------------
# mimic watch: the agent plays in a window (recorder/play.py), or into an mp4 (agent/watch.py, recorder/video.py)


@app.command()
def watch(
    game: GameOpt,
    checkpoint: Annotated[Path | None, typer.Option(help="Policy to watch (default: models/avg.pt).")] = None,
    video: Annotated[Path | None, typer.Option(help="Render headless to this .mp4 instead of opening a window.")] = None,
    episodes: Annotated[int | None, typer.Option(help="Episodes to play (default: until Esc; 1 with --video).",
                                                 min=1)] = None,
    greedy: Annotated[bool, typer.Option("--greedy", help="Take the most probable action instead of sampling.")] = False,
    temperature: Annotated[float, typer.Option(help="Sampling temperature: below 1 sharper, above 1 flatter.")] = 0.25,
    scale: Annotated[int | None, typer.Option(help="Pixels per Atari pixel, 1-8 [window: 4, video: 3].",
                                              min=1, max=8)] = None,
    speed: Annotated[float, typer.Option(help="Window speed; 1.0 is real time (60 frames a second).")] = 1.0,
    max_frames: Annotated[int, typer.Option("--max-frames", help="Frames per episode at most.", min=1)] = 108_000,
    seed: Annotated[int, typer.Option(help="Seed of the game and of the sampling.")] = 0,
    data: DataOpt = Path("data"),
) -> None:
    """Watch the trained agent play: score, the action taken and the policy's probabilities as bars.

    Keys in the window: 1/2/3 or -/+ for the speed, P to pause, Esc to quit. With --video the agent plays under the eval protocol (sticky actions, no-op starts) and every emulator frame is rendered, without a display, into a real-speed mp4."""
    import numpy as np

    chosen = resolve(game)
    store = store_for(data, game)
    path = checkpoint_for(store, chosen, checkpoint)
    if temperature <= 0:
        fail(f"--temperature must be > 0, got {temperature}; use --greedy for the most probable action")
    from agent.policy import CheckpointError, load_checkpoint

    try:
        loaded = load_checkpoint(path, chosen)
    except CheckpointError as exc:
        fail(str(exc))
    if video is not None:
        _render(chosen, loaded, video, episodes=episodes or 1, greedy=greedy, temperature=temperature, seed=seed,
                max_frames=max_frames, scale=scale or 3)
        return
    from agent.actor import PolicyActor
    from recorder.play import AgentControls, PlayConfig, PlayLoop
    from recorder.store import AGENT_PLAYER
    from recorder.window import NoDisplayError

    actor = PolicyActor(loaded, greedy=greedy, temperature=temperature, rng=np.random.default_rng(seed))
    try:
        config = PlayConfig(chosen, player=AGENT_PLAYER, seed=seed, scale=scale or 4, speed=speed, episodes=episodes,
                            record=False, title="mimic watch", max_frames=max_frames)
        summary = PlayLoop(config, AgentControls(actor)).run()
    except NoDisplayError as exc:
        fail(f"{exc}; or render a video: mimic watch --game {chosen.name} --video out.mp4")
    except ValueError as exc:
        fail(str(exc))
    for result in summary.episodes:
        console.print(f"episode {result.number}: score {result.score:,.0f}, {result.length:,} frames ({result.ended})",
                      highlight=False)


def _render(game, loaded, video: Path, *, episodes: int, greedy: bool, temperature: float, seed: int,
            max_frames: int, scale: int) -> Path:
    from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

    from agent.watch import agent_frames
    from recorder.video import write_video

    if video.suffix.lower() != ".mp4":
        fail(f"the video file must end in .mp4, got {video.name}")
    frames = agent_frames(loaded.policy, game, loaded.obs, episodes=episodes, greedy=greedy,
                          temperature=temperature, seed=seed, max_frames=max_frames)
    with Progress(SpinnerColumn(), TextColumn("{task.description}"), TimeElapsedColumn(), console=console,
                  transient=True) as progress:
        task = progress.add_task("rendering")

        def on_frame(count: int) -> None:
            if count % 60 == 0:
                progress.update(task, description=f"rendering: {count / 60:,.0f} s of play")

        count = write_video(frames, video, game.action_names, scale=scale, on_frame=on_frame)
    console.print(f"{video}: {count:,} frames, {count / 60:,.1f} s at 60 fps, {episodes} episode"
                  f"{'s' * (episodes > 1)} of {game.name}", highlight=False, soft_wrap=True)
    return video

# ---------------------------------------------------------------------------------------------
# mimic demo: the whole pipeline headless, the planning expert standing in for the human (agent/demo.py)


@app.command()
def demo(
    game: Annotated[str, typer.Option("--game", "-g", help="Game to run the pipeline on.")] = "pacman",
    data: Annotated[Path | None, typer.Option(
        "--data", help="Where to put this run (default: a new folder data/demo-<time>/, so nothing of yours is touched).",
    )] = None,
    quick: Annotated[bool, typer.Option("--quick", help="Tiny sizes: a smoke run of every step in about a minute.")] = False,
    video_frames: Annotated[int, typer.Option("--video-frames", help="Length of the final agent's video, in frames.",
                                              min=1)] = 3600,
    seed: Annotated[int, typer.Option(help="Seed of the whole run.")] = 0,
) -> None:
    """Everything with no one at the keyboard: expert demonstrations, BC, two DAgger rounds, scores, a video.

    The planning expert records a few episodes, behavioural cloning trains on them, two DAgger rounds run with the planner as labeller, the final agent is scored against a random one with the eval protocol, and a report, a plot and an mp4 of the agent are written."""
    import datetime as dt
    import time

    from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

    from agent.demo import DemoConfig, run_demo
    from agent.policy import load_checkpoint
    from recorder.store import GameStore

    chosen = resolve(game)
    root = data if data is not None else Path("data") / f"demo-{dt.datetime.now():%Y%m%d-%H%M%S}"
    store = GameStore(root, chosen.name)
    config = DemoConfig(seed=seed)
    if quick:
        config = DemoConfig(expert_episodes=2, expert_frames=300, budget=120, bc_epochs=2, rounds=2, rollout_frames=300,
                            round_epochs=1, round_eval_episodes=1, eval_episodes=2, eval_max_frames=2000, seed=seed)
    console.print(
        f"[bold]mimic demo[/] on {chosen.name} in {root}/: the planning expert (budget {config.budget} frames a "
        f"decision) stands in for a person.", highlight=False)
    started = time.perf_counter()
    with Progress(SpinnerColumn(), TextColumn("{task.description}"), TimeElapsedColumn(), console=console,
                  transient=True) as progress:
        task = progress.add_task("starting")
        steps = {"expert": "1/5 expert demonstrations", "train": "2/5 behavioural cloning",
                 "dagger": "3/5 DAgger", "eval": "4/5 evaluation"}

        def on_event(event) -> None:
            detail = event.detail
            text = steps[event.step]
            if event.step == "expert":
                text += f": episode {detail.index + 1}, {detail.frames:,} frames, score {detail.score:,.0f}"
            elif event.step == "train":
                text += f": epoch {detail.epoch}/{detail.epochs}, loss {detail.loss:.3f}, acc {detail.accuracy:.1%}"
            elif event.step == "dagger":
                text += f" round {detail.round}: {detail.kind}"
                if detail.kind == "round":
                    r = detail.detail
                    console.print(f"DAgger round {r.round}: +{r.new_labels:,} labels, score {_plus_minus(r.score_mean, r.score_ci95)}",
                                  highlight=False)
            elif event.step == "eval":
                who, i, score = detail
                text += f": {who} episode {i}, score {score:,.0f}"
            progress.update(task, description=text)

        result = run_demo(chosen, store, config, on_event=on_event, warn=warn)
    t0 = time.perf_counter()
    video = _render(chosen, load_checkpoint(result.final_checkpoint, chosen), store.videos / "demo.mp4", episodes=1,
                    greedy=False, temperature=config.temperature, seed=seed, max_frames=video_frames, scale=3)
    result.seconds["video"] = time.perf_counter() - t0
    console.print(f"expert demonstrations: mean score {result.expert_score:,.0f} "
                  f"(capped at {config.expert_frames:,} frames); BC policy before DAgger: {result.bc_score:,.1f}",
                  highlight=False)
    _print_rounds(result.rounds, chosen.name)
    _print_report(result.report)
    times = ", ".join(f"{name} {s:.0f} s" for name, s in result.seconds.items())
    console.print(f"time: {times}; total {time.perf_counter() - started:.0f} s", highlight=False)
    console.print(f"report: {result.report_path}\nplot:   {result.plot}\nvideo:  {video}\n"
                  f"policy: {result.final_checkpoint}", highlight=False)


def main() -> None:  # pragma: no cover - the console script calls `app`
    app()


if __name__ == "__main__":  # pragma: no cover
    main()
