"""Progress on stderr for what takes more than a moment (download, unpacking, validation, upload):
a rich bar when stderr is a terminal, nothing when it is not or with --quiet. The library only
calls `progress(label, total bytes or None, bytes just moved)`."""

from __future__ import annotations

import contextlib
import sys


def wanted(quiet: bool) -> bool:
    return not quiet and sys.stderr.isatty()


@contextlib.contextmanager
def progress_bar(enabled: bool):
    """Yield a progress callback (None when disabled) drawing one task per label."""
    if not enabled:
        yield None
        return
    from rich.console import Console
    from rich.progress import (
        BarColumn,
        DownloadColumn,
        Progress,
        SpinnerColumn,
        TextColumn,
        TimeRemainingColumn,
        TransferSpeedColumn,
    )

    tasks: dict[str, int] = {}
    with Progress(SpinnerColumn(), TextColumn("{task.description}"), BarColumn(), DownloadColumn(),
                  TransferSpeedColumn(), TimeRemainingColumn(), console=Console(stderr=True),
                  transient=True) as bar:
        def advance(label: str, total: int | None, moved: int) -> None:
            from rich.markup import escape

            if label not in tasks:
                for task in tasks.values():  # a new step means the earlier ones are done
                    bar.update(task, visible=False)
                tasks[label] = bar.add_task(escape(label), total=total)
            elif total is not None:
                bar.update(tasks[label], total=total)
            if moved:
                bar.advance(tasks[label], moved)

        yield advance
