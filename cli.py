"""`mimic`: record human play of Atari games, train agents on it, and watch them play.

The Typer app: it parses options, prints with Rich and calls the `recorder` and `agent`
packages; no logic of its own. Heavy imports (the emulator, torch) happen inside commands so
that `mimic --help` answers at once.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated, NoReturn

import typer
from rich import box
from rich.console import Console
from rich.table import Table

if TYPE_CHECKING:
    from recorder.games import Game
    from recorder.store import GameStore

app = typer.Typer(
    help=__doc__.split("\n\n")[0] + "\n\nStart with `mimic play --record --game pacman`, then `mimic train`.",
    no_args_is_help=True,
    rich_markup_mode="rich",
    pretty_exceptions_enable=False,
)
data_app = typer.Typer(help="The recorded episodes: list, verify, delete.", no_args_is_help=True)
app.add_typer(data_app, name="data")

console = Console()
err_console = Console(stderr=True)

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
    from recorder.store import games_with_data

    names = [resolve(game).name] if game else games_with_data(Path(data))
    if not names:
        console.print(f"No recordings under {data}/ yet. Record some with `mimic play --record --game pacman`.")
        return
    for name in names:
        _print_game_episodes(store_for(data, name))


def _print_game_episodes(store: GameStore) -> None:
    from collections import Counter

    import numpy as np

    from recorder.store import load_episode

    episodes, damaged = store.scan()
    for message in damaged:
        warn(f"skipped {message}")
    if not episodes:
        console.print(f"{store.game}: no episodes under {store.path}/. Record with `mimic play --record --game {store.game}`.")
        return
    table = Table(
        title=f"{store.game}: {len(episodes)} episodes in {store.path}", title_justify="left", box=box.SIMPLE_HEAD
    )
    for column in ("episode", "player", "frames", "time", "score", "speed", "ended"):
        numeric = column in ("frames", "time", "score", "speed")
        table.add_column(column, justify="right" if numeric else "left", no_wrap=True)
    histogram: Counter[int] = Counter()
    action_names: tuple[str, ...] = ()
    for path, info in episodes:
        name = path.stem if path.parent == store.demos else f"{path.parent.name}/{path.stem}"
        speed = "step" if info.speed == 0 else f"{info.speed:.0%}"
        table.add_row(
            name, info.player, f"{info.length:,}", _duration(info.duration_s),
            f"{info.score:,.0f}", speed, info.ended,
        )
        action_names = info.action_names
        try:
            actions = load_episode(path, frames=False).actions
            histogram.update(dict(enumerate(np.bincount(actions, minlength=len(action_names)).tolist())))
        except Exception as exc:  # damaged after the metadata read: report, keep going
            warn(f"skipped {exc}")
    frames = sum(info.length for _, info in episodes)
    scores = [info.score for _, info in episodes]
    table.add_section()
    players = len({info.player for _, info in episodes})
    table.add_row(
        "total (mean score)", f"{players} player" + "s" * (players > 1), f"{frames:,}",
        _duration(frames / 60), f"{sum(scores) / len(scores):,.0f}", "", "",
    )
    console.print(table)
    total = sum(histogram.values()) or 1
    bars = Table(title="actions held", title_justify="left", show_header=False, box=None)
    for index, name in enumerate(action_names):
        share = histogram[index] / total
        bars.add_row(name, f"{share:6.1%}", "[cyan]" + "█" * round(share * 40) + "[/]")
    console.print(bars)


def _duration(seconds: float) -> str:
    minutes, secs = divmod(int(round(seconds)), 60)
    return f"{minutes}:{secs:02d}"


@data_app.command("verify")
def data_verify(
    game: Annotated[str | None, typer.Option("--game", "-g", help="Only this game (default: every game).")] = None,
    data: DataOpt = Path("data"),
) -> None:
    """Replay every episode in a fresh emulator and check every frame bit for bit."""
    from rich.progress import Progress

    from recorder.recording import verify_episode
    from recorder.store import DamagedEpisodeError, games_with_data

    names = [resolve(game).name] if game else games_with_data(Path(data))
    paths = [p for name in names for p in store_for(data, name).episode_paths()]
    if not paths:
        console.print(f"No recordings under {data}/ to verify.")
        return
    failures = 0
    with Progress(console=console, transient=True) as progress:
        task = progress.add_task("replaying", total=len(paths))
        for path in paths:
            try:
                result = verify_episode(path)
                mark = "[green]ok[/]" if result.ok else "[red]FAILED[/]"
                console.print(f"{mark}  {path.parent.parent.name}/{path.parent.name}/{path.name}: {result.message}")
                failures += not result.ok
            except DamagedEpisodeError as exc:
                console.print(f"[red]DAMAGED[/]  {exc}")
                failures += 1
            progress.advance(task)
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
# mimic expert: the planning expert plays and records (agent/expert.py)


@app.command()
def expert(
    game: GameOpt,
    episodes: Annotated[int, typer.Option("--episodes", "-n", help="Episodes to record.", min=1)] = 5,
    budget: Annotated[int, typer.Option(help="Look-ahead per decision, in emulator frames.", min=1)] = 2000,
    depth: Annotated[int, typer.Option(help="Decisions per rollout (pacman wants 50: its death shows 130 frames late).", min=1)] = 40,
    frameskip: Annotated[int, typer.Option(help="Frames each decision is held.", min=1)] = 4,
    seed: Annotated[int, typer.Option(help="Seed of the first episode; episode i uses seed + i.", min=0)] = 0,
    workers: Annotated[int | None, typer.Option(help="Episodes played at once, one process each [default: one per core].",
                                                min=1)] = None,
    max_frames: Annotated[int | None, typer.Option("--max-frames", help="Cut each episode after this many frames.",
                                                   min=1)] = None,
    data: DataOpt = Path("data"),
) -> None:
    """The planning expert plays and records into data/<game>/demos/ (player `expert`), like a person."""
    from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

    from agent.expert import ExpertConfig, default_workers, play_episodes

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
    table = Table(title=f"{chosen.name}: expert episodes", title_justify="left", box=box.SIMPLE_HEAD)
    for column in ("episode", "seed", "frames", "decisions", "decisions/s", "score", "ended"):
        table.add_column(column, justify="left" if column in ("episode", "ended") else "right", no_wrap=True)
    for r in results:
        table.add_row(Path(r.path).stem, str(r.seed), f"{r.frames:,}", f"{r.decisions:,}",
                      f"{r.decisions_per_s:.1f}", f"{r.score:,.0f}", r.ended or "")
    scores = [r.score for r in results]
    table.add_section()
    table.add_row("mean", "", f"{sum(r.frames for r in results) / len(results):,.0f}", "", "",
                  f"{sum(scores) / len(scores):,.0f}", "")
    console.print(table)
    console.print(f"Saved {len(results)} episode(s) to {store.demos}/; `mimic data ls --game {chosen.name}` lists them.")


def main() -> None:  # pragma: no cover - the console script calls `app`
    app()


if __name__ == "__main__":  # pragma: no cover
    main()
