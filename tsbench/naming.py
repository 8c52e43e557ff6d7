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


def _parse_value(text: str) -> Any:
    text = text.strip()
    if text.startswith("[") and text.endswith("]"):  # a sweep: items parsed one by one (bare strings allowed)
        return [_parse_value(item) for item in _split_params(text[1:-1])]
    if text in ("true", "false"):
        return text == "true"
    if text in ("none", "null"):
        return None
    try:
        return ast.literal_eval(text)
    except (ValueError, SyntaxError):
        return text


def _split_params(body: str) -> list[str]:
    """Split on commas that are not inside quotes or brackets."""
    parts, depth, quote, current = [], 0, None, []
    for char in body:
        if quote:
            quote = None if char == quote else quote
        elif char in "'\"":
            quote = char
        elif char in "([{":
            depth += 1
        elif char in ")]}":
            depth -= 1
        elif char == "," and depth == 0:
            parts.append("".join(current))
            current = []
            continue
        current.append(char)
    parts.append("".join(current))
    return [p for p in (part.strip() for part in parts) if p]


def parse_display_name(text: str) -> tuple[str, dict[str, Any]]:
    """Parse ``name[key=value,...]`` into ``(name, params)``; raises :class:`InputError` when malformed."""
    match = _FULL.match(text or "")
    if not match or text.count("[") != text.count("]"):
        raise InputError("malformed name", expected="name or name[key=value,...]", got=repr(text), fix=_FIX)
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
    if isinstance(value, str):
        return value if _KEY.match(value) else repr(value)
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
