"""Progress of a long command: its phases (reading, checking N rows, writing) and a bar.

* On a terminal (stderr is a TTY) a phase shows as one line with a bar (``tqdm``), redrawn in
  place and cleared when the command ends. Nothing shows for a command that is over within
  ``delay`` (half a second): short commands print exactly what they always printed. A phase
  that blocks (a read of a big workbook) still shows its line by then, from a timer, and its
  clock keeps moving.
* In a log (``sheetsync schedule``) each phase is one plain INFO line.
* Piped (stderr not a terminal) nothing extra is written at all.

The words are the edge's (``cli.progress.*`` in ``messages/cli.toml``). The engine only calls
``phase`` and ``step``; it never knows whether anyone is watching.
"""

from __future__ import annotations

import logging
import threading
import time
from typing import Any, TextIO

from tqdm import tqdm

from .i18n import t

log = logging.getLogger(__name__)

_COUNTED = "{desc}: {percentage:3.0f}%|{bar}| {n_fmt}/{total_fmt} [{elapsed}]"
_OPEN = "{desc} [{elapsed}]"


class Progress:
    """Phases and a bar for one command. ``stream`` defaults to stderr; ``terminal`` to whether
    it is a TTY. ``delay``: how long a command may take before anything is drawn."""

    def __init__(self, stream: TextIO | None = None, *, terminal: bool | None = None, delay: float = 0.5,
                 tick: float = 0.5, log_phases: bool = True) -> None:
        import sys

        self.stream = stream if stream is not None else sys.stderr
        self.terminal = _is_tty(self.stream) if terminal is None else terminal
        self.delay = delay
        self.tick = tick
        self.log_phases = log_phases
        self.phases: list[str] = []  # the words of each phase, in order (what a log shows)
        self._started = time.monotonic()
        self._lock = threading.RLock()
        self._bar: Any = None
        self._current: tuple[str, int | None, int] | None = None  # (words, total, done)
        self._timer: threading.Timer | None = None
        self._stop = threading.Event()
        self._ticker: threading.Thread | None = None

    # -- what the engine calls ---------------------------------------------------------------

    def phase(self, key: str, total: int | None = None, **params: Any) -> None:
        words = t(f"cli.progress.{key}", **params)
        self.phases.append(words)
        if self.log_phases:
            log.info("%s", words)
        if not self.terminal:
            return
        with self._lock:
            self._hide()
            self._current = (words, total, 0)
            wait = self.delay - (time.monotonic() - self._started)
            if wait <= 0:
                self._show()
            else:
                self._timer = threading.Timer(wait, self._show_if_still, args=(self._current,))
                self._timer.daemon = True
                self._timer.start()

    def step(self, n: int = 1) -> None:
        with self._lock:
            if self._current is None:
                return
            words, total, done = self._current
            self._current = (words, total, done + n)
            if self._bar is not None:
                self._bar.update(n)

    def close(self) -> None:
        with self._lock:
            self._hide()
            self._current = None
        self._stop.set()

    def __enter__(self) -> "Progress":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    # -- drawing -------------------------------------------------------------------------------

    def _show_if_still(self, current: tuple[str, int | None, int]) -> None:
        with self._lock:
            if self._current is not None and self._current[0] == current[0] and self._bar is None:
                self._show()

    def _show(self) -> None:
        assert self._current is not None
        words, total, done = self._current
        self._timer = None
        self._bar = tqdm(total=total, initial=done, desc=words, file=self.stream, leave=False, dynamic_ncols=True,
                         bar_format=_COUNTED if total else _OPEN, mininterval=0.1)
        self._bar.refresh()
        if self._ticker is None:  # keeps a blocked phase's clock moving
            self._ticker = threading.Thread(target=self._tick, name="sheetsync-progress", daemon=True)
            self._ticker.start()

    def _hide(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        if self._bar is not None:
            self._bar.close()
            self._bar = None

    def _tick(self) -> None:
        while not self._stop.wait(self.tick):
            with self._lock:
                if self._bar is not None:
                    self._bar.refresh()


class Quiet:
    """No progress at all (library use, tests)."""

    def phase(self, key: str, total: int | None = None, **params: Any) -> None:
        pass

    def step(self, n: int = 1) -> None:
        pass

    def close(self) -> None:
        pass


def _is_tty(stream: Any) -> bool:
    try:
        return bool(stream.isatty())
    except (AttributeError, ValueError):  # no isatty, or a closed stream
        return False
