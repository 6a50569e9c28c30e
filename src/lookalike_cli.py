"""The ``lookalike`` console script's entry point.

It lives outside the package so that it runs before the package loads: loading takes about two
seconds (pandas, scikit-learn), and a Ctrl-C or SIGTERM then printed a traceback (or "ImportError:
initialization failed") where every other stop gives one line and an exit code.
"""

from __future__ import annotations

import signal
import sys
from types import FrameType

#: Exit codes of a stop, as the shell gives them: 128 + the signal's number.
_EXIT = {signal.SIGINT: 130, signal.SIGTERM: 143}


class _Stopped(BaseException):
    def __init__(self, signum: int) -> None:
        super().__init__(signum)
        self.signum = signum


#: The signal that stopped the start, if one did (an extension module that a stop interrupts
#: while it initialises raises ImportError, not the handler's exception).
_received: list[int] = []


def _stop(signum: int, frame: FrameType | None) -> None:
    _received.append(signum)
    raise _Stopped(signum)


def main() -> None:
    """Load the command line, then run it; a stop while loading is one line on stderr."""
    previous = {s: signal.signal(s, _stop) for s in _EXIT}
    try:
        from lookalike.cli import main as run
    except (_Stopped, ImportError):
        if not _received:
            raise
        sys.stderr.write("error: stopped while starting; no output was written.\n")
        raise SystemExit(_EXIT[signal.Signals(_received[0])]) from None
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)
    run()
