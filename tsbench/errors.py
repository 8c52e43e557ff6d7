"""Errors shown to users.

Every user-facing error states what was expected, what was got and how to fix it. The CLI prints
``str(error)`` on one line and exits with :attr:`TsbenchError.exit_code` (2 for usage and input
errors), never a traceback unless ``--debug`` is given.
"""
from __future__ import annotations

from sklearn.exceptions import NotFittedError  # re-exported: the scikit-learn contract

__all__ = ["TsbenchError", "InputError", "UnknownNameError", "NotFittedError", "CellFailure", "describe", "one_line"]

#: what ``str.splitlines`` breaks a line at (a user's name or path may hold any of them)
_LINE_BREAKS = {ord(c): c.encode("unicode_escape").decode("ascii")
                for c in "\n\r\x0b\x0c\x1c\x1d\x1e\x85\u2028\u2029"}


def one_line(text: str) -> str:
    """``text`` with every line break escaped (``\\n``, ``\\x1e``…): what the CLI prints is one line."""
    return str(text).translate(_LINE_BREAKS)


def describe(expected: str, got: str, fix: str | None = None) -> str:
    """Format the standard 'expected … got … fix' message."""
    message = f"expected {expected}, got {got}"
    return f"{message}. {fix}" if fix else message


class TsbenchError(Exception):
    """Base class of errors meant for users (printed as one line by the CLI)."""

    exit_code = 2

    def __str__(self) -> str:  # one line, whatever a name or path in the message holds
        return one_line(super().__str__())

    def __reduce__(self):
        """Picklable whatever a subclass's ``__init__`` takes, so errors cross process boundaries intact."""
        return _rebuild, (type(self), self.args, self.__dict__)


def _rebuild(cls, args, state):
    error = cls.__new__(cls)
    Exception.__init__(error, *args)
    error.__dict__.update(state)
    return error


class InputError(TsbenchError, ValueError):
    """Bad data, parameters or command-line input."""

    def __init__(self, what: str, *, expected: str, got: str, fix: str | None = None):
        self.what = what
        super().__init__(f"{what}: {describe(expected, got, fix)}")


class UnknownNameError(TsbenchError, KeyError):
    """A name that is not registered; carries close matches."""

    def __init__(self, kind: str, name: str, suggestions: list[str], available: list[str]):
        self.kind, self.name, self.suggestions = kind, name, suggestions
        hint = f" Did you mean: {', '.join(suggestions)}?" if suggestions else ""
        shown = ", ".join(available[:20]) + (" …" if len(available) > 20 else "")
        super().__init__(f"unknown {kind} '{name}'.{hint} Available: {shown or 'none'}"
                         f" (see `tsbench list {kind}s`)")

    def __str__(self) -> str:  # KeyError would quote the message
        return one_line(self.args[0])


class CellFailure(TsbenchError):
    """A benchmark cell failed (e.g. non-finite training loss); recorded, never cached as done."""

    exit_code = 1
