"""The one progress bar of the package: long loops show one on stderr when asked, nothing otherwise.

A bar is progress news, so it follows the ``attnwav2lip`` logger: one set above INFO (the CLI's
``--quiet``, or a user's ``logging.getLogger("attnwav2lip").setLevel(logging.WARNING)``) hides every
bar too. tqdm is imported only when a bar is shown, so quiet library calls and ``import
attnwav2lip`` never load it.
"""

from __future__ import annotations

import logging
from typing import Any, Iterable, Iterator, TypeVar

T = TypeVar("T")


def shows_progress(show: bool = True) -> bool:
    """Whether a bar asked for with ``show`` appears: not when the package's logger is set above INFO."""
    return show and logging.getLogger("attnwav2lip").level <= logging.INFO


def progress_of(items: Iterable[T], *, show: bool = True, total: int | None = None, desc: str | None = None,
             unit: str = "it", initial: int = 0) -> Iterator[T]:
    """``items``, with a progress bar while they are consumed when ``show``."""
    if not shows_progress(show):
        return iter(items)
    from tqdm.auto import tqdm

    return iter(tqdm(items, total=total, desc=desc, unit=unit, initial=initial, dynamic_ncols=True))


def progress_bar(*, show: bool = True, total: int | None = None, desc: str | None = None, unit: str = "it",
                 initial: int = 0) -> Any:
    """A bar advanced by hand (``bar.update(n)``, ``bar.set_postfix(...)``, ``bar.close()``); disabled unless ``show``."""
    from tqdm.auto import tqdm

    return tqdm(total=total, desc=desc, unit=unit, initial=initial, dynamic_ncols=True,
                disable=not shows_progress(show))
