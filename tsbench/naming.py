"""Display names: the one identity used by the CLI, records, cache and tables.

A display name is ``name`` or ``name[key=value,key=value]``, e.g. ``timegan[hidden_dim=48,iterations=2000]``.
Values are parsed as Python literals (int, float, bool, None, quoted strings) and fall back to bare strings.
Formatting sorts keys, so the same parameters always give the same name. A list value is a *sweep*: one
display name per value (per combination for several lists); a parameter whose value is a sequence is
written as a tuple, ``(1, 2)``.

>>> parse_display_name("timegan[hidden_dim=48, lr=1e-3]")
('timegan', {'hidden_dim': 48, 'lr': 0.001})
>>> format_display_name("timegan", {"lr": 0.001, "hidden_dim": 48})
'timegan[hidden_dim=48,lr=0.001]'
>>> expand_sweeps("gan[lr=[1e-3,1e-4]]")
['gan[lr=0.001]', 'gan[lr=0.0001]']
"""
from __future__ import annotations

import ast
import itertools
import re
from typing import Any

from .errors import InputError

_NAME = r"[A-Za-z_][A-Za-z0-9_.\-]*"
_FULL = re.compile(rf"^\s*({_NAME}|[^\[\]]*[*?][^\[\]]*)\s*(?:\[(.*)\])?\s*$")
_KEY = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_FIX = "Write parameters as name[key=value,key=value], e.g. timegan[hidden_dim=48,iterations=2000]."


#: the Python literal types a parameter value may have (plus tuples of them); lists are sweeps
_SCALAR_TYPES = (bool, int, float, str, type(None))


def _literal(text: str) -> Any:
    """``text`` as a Python literal, or ``text`` itself (a bare string) when it is not one."""
    if text in ("true", "false"):
        return text == "true"
    if text in ("none", "null"):
        return None
    try:
        return ast.literal_eval(text)
    except (ValueError, TypeError, SyntaxError, MemoryError, RecursionError):  # e.g. -----1 exhausts the parser
        return text


def _as_value(value: Any, item: str) -> Any:
    """A parsed literal as a parameter value: lists become tuples (a list inside a sweep is one value, not
    another sweep); dicts, sets, bytes, complex numbers and ``...`` are refused (not a parameter value, and not
    canonical in a display name)."""
    if isinstance(value, (list, tuple)):
        return tuple(_as_value(v, item) for v in value)
    if not isinstance(value, _SCALAR_TYPES):
        raise InputError(f"parameter value {item!r}", expected="a number, true/false, none, a string or a tuple",
                         got=f"a {type(value).__name__}", fix="quote it to pass a string, e.g. key='text'")
    return value


def _parse_value(text: str) -> Any:
    text = text.strip()
    if text.startswith("[") and text.endswith("]"):  # a sweep: items parsed one by one (bare strings allowed)
        return [_as_value(_literal(item.strip()), item) for item in _split_params(text[1:-1])]
    return _as_value(_literal(text), text)


def _scan(body: str):
    """``(char, depth, quoted)`` for each character of ``body``: the bracket depth outside quotes and whether
    the character lies inside a quoted string (backslash escapes honoured). Raises ValueError when a closing
    bracket has no opening one; the last item's depth / quote tell whether ``body`` is balanced."""
    depth, quote, escaped = 0, None, False
    for char in body:
        if quote:
            if escaped:
                escaped = False
            elif char == "\\":
                escaped = True
            elif char == quote:
                quote = None
                yield char, depth, True
                continue
            yield char, depth, True
            continue
        if char in "'\"":
            quote = char
            yield char, depth, True
            continue
        if char in "([{":
            depth += 1
        elif char in ")]}":
            depth -= 1
            if depth < 0:
                raise ValueError("unbalanced")
        yield char, depth, False
    if quote or depth:
        raise ValueError("unbalanced")


def _balanced(body: str) -> bool:
    try:
        for _ in _scan(body):
            pass
    except ValueError:
        return False
    return True


def _split_params(body: str) -> list[str]:
    """Split on commas that are not inside quotes or brackets (``body`` is balanced: see :func:`_balanced`)."""
    parts, current = [], []
    try:
        for char, depth, quoted in _scan(body):
            if char == "," and depth == 0 and not quoted:
                parts.append("".join(current))
                current = []
                continue
            current.append(char)
    except ValueError:
        pass  # callers check balance first; a sweep's items were checked with the whole body
    parts.append("".join(current))
    return [p for p in (part.strip() for part in parts) if p]


def parse_display_name(text: str) -> tuple[str, dict[str, Any]]:
    """Parse ``name[key=value,...]`` into ``(name, params)``; raises :class:`InputError` when malformed."""
    match = _FULL.match(text) if isinstance(text, str) else None
    if not match or not _balanced(match.group(2) or ""):
        raise InputError("malformed name", expected="name or name[key=value,...] with balanced brackets and "
                         "quotes", got=repr(text), fix=_FIX)
    name, body = match.group(1), match.group(2)
    params: dict[str, Any] = {}
    for item in _split_params(body or ""):
        key, sep, value = item.partition("=")
        key = key.strip()
        if not sep or not _KEY.match(key) or not value.strip():
            raise InputError(f"malformed parameter in {text!r}", expected="key=value",
                             got=repr(item), fix=_FIX)
        if key in params:
            raise InputError(f"parameter given twice in {text!r}", expected="each key once",
                             got=f"{key!r} twice", fix=_FIX)
        params[key] = _parse_value(value)
    return name, params


def format_value(value: Any) -> str:
    if isinstance(value, bool) or value is None:
        return repr(value).lower() if value is not None else "none"
    if isinstance(value, str):  # bare only when it reads back as this very string
        return value if _KEY.match(value) and _literal(value) == value else repr(value)
    if isinstance(value, float):
        return repr(value)
    return repr(value)


def format_display_name(name: str, params: dict[str, Any] | None = None) -> str:
    """Canonical display name: parameters sorted by key; no brackets when there are none."""
    if not params:
        return name
    body = ",".join(f"{key}={format_value(params[key])}" for key in sorted(params))
    return f"{name}[{body}]"


def expand_sweeps(text: str) -> list[str]:
    """``name[key=[a,b],...]`` → one canonical display name per value (the product over several lists, in the
    order given); a name without a list value is returned unchanged. An empty list is an :class:`InputError`."""
    name, params = parse_display_name(text)
    swept = {key: value for key, value in params.items() if isinstance(value, list)}
    if not swept:
        return [text]
    for key, values in swept.items():
        if not values:
            raise InputError(f"sweep {key}=[] in {text!r}", expected="at least one value",
                             got="an empty list", fix=f"e.g. {name}[{key}=[1e-3,1e-4]], or drop {key}")
    names = [format_display_name(name, {**params, **dict(zip(swept, combination))})
             for combination in itertools.product(*swept.values())]
    return list(dict.fromkeys(names))
