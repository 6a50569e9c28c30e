"""The progress bar every long task shows: on stderr, and only when stderr is a terminal."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn


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
