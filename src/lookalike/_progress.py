"""The progress bar every long task shows: on stderr, and only when stderr is a terminal."""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
)


@contextlib.contextmanager
def progress_bar(enabled: bool) -> Iterator[Progress]:
    """A rich ``Progress`` that draws nothing unless ``enabled`` and stderr is a terminal.

    Pipes and log files then get no control codes, and callers need no second code path.
    """
    console = Console(stderr=True)
    bar = Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        transient=True,
        console=console,
        disable=not (enabled and console.is_terminal),
    )
    with bar:
        yield bar


def stage(bar: Progress, description: str, total: int, visible: bool = True) -> Callable[..., None]:
    """A task shown from the start, whose clock starts at its first step: the callback that
    advances it by one (it ignores its arguments, as per-column callbacks pass one)."""
    task: TaskID = bar.add_task(description, total=total, visible=visible, start=False)

    def step(*_: object) -> None:
        bar.start_task(task)  # no-op once started
        bar.advance(task)

    return step
