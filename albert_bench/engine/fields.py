"""`--set KEY=VALUE` values checked against the type of the field they set (a Recipe's, an
AlbertConfig's, a loop option's) before anything large loads: a wrong one is one line naming the
key, the value and the type wanted, not a TypeError from inside the optimizer.

    from albert_bench.engine.fields import check_values, field_types
    check_values({"batch_size": "abc"}, field_types(Recipe), examples={"batch_size": 32})
    # ValueError: --set batch_size=abc: batch_size takes an int (e.g. --set batch_size=32)

The CLI decodes each value as JSON first and keeps the text otherwise (cli/commands.py), so
"abc" arrives as the string "abc", "32" as 32 and "[0.9,0.98]" as a list.
"""
from __future__ import annotations

import dataclasses
import difflib
import json
import types
import typing
from typing import Any, Mapping

# A value to show in "(e.g. --set KEY=...)" when the field has none of its own.
_STOCK_EXAMPLES = {int: 8, float: 0.1, bool: True, str: "text"}


class _Wrong(Exception):
    """The value does not fit the type (internal: check_values turns it into one ValueError)."""


def field_types(cls: type) -> dict[str, Any]:
    """{field name: resolved type} of a dataclass (the annotations are strings under
    `from __future__ import annotations`)."""
    hints = typing.get_type_hints(cls)
    return {f.name: hints[f.name] for f in dataclasses.fields(cls)}


def coerce(value: Any, kind: Any) -> Any:
    """`value` as `kind` (an int's 32.0 -> 32, a float's 1 -> 1.0, a tuple's list or "a,b" -> a
    tuple), or _Wrong. Types this check does not know (Any, classes) pass as given."""
    origin, args = typing.get_origin(kind), typing.get_args(kind)
    if kind is Any:
        return value
    if origin in (typing.Union, types.UnionType):
        if value is None and type(None) in args:
            return None
        for option in (a for a in args if a is not type(None)):
            try:
                return coerce(value, option)
            except _Wrong:
                pass
        raise _Wrong
    if kind is bool:
        if isinstance(value, bool):
            return value
        raise _Wrong
    if kind is int:
        if isinstance(value, int) and not isinstance(value, bool):
            return value
        if isinstance(value, float) and value.is_integer():    # 1e3 reads as a float
            return int(value)
        raise _Wrong
    if kind is float:
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return float(value)
        raise _Wrong
    if kind is str:
        if isinstance(value, str):
            return value
        raise _Wrong
    if origin is tuple:
        if isinstance(value, str):                              # --set adam_betas=0.9,0.98
            value = [_json_or_text(part) for part in value.split(",")]
        if not isinstance(value, (list, tuple)):
            raise _Wrong
        if len(args) == 2 and args[1] is Ellipsis:
            return tuple(coerce(v, args[0]) for v in value)
        if len(value) != len(args):
            raise _Wrong
        return tuple(coerce(v, a) for v, a in zip(value, args))
    if origin in (list, dict) or kind in (list, dict):
        if isinstance(value, origin or kind):
            return value
        raise _Wrong
    return value


def describe(kind: Any) -> str:
    """What `kind` is, in words: "an int", "a float or null", "2 floats (a,b)"."""
    origin, args = typing.get_origin(kind), typing.get_args(kind)
    if origin in (typing.Union, types.UnionType):
        return " or ".join([describe(a) for a in args if a is not type(None)]
                           + (["null"] if type(None) in args else []))
    if origin is tuple:
        if len(args) == 2 and args[1] is Ellipsis:
            return f"a comma list of {describe(args[0]).split(' ', 1)[-1]}s"
        return f"{len(args)} {describe(args[0]).split(' ', 1)[-1]}s, comma-separated"
    names = {int: "an int", float: "a float", bool: "true or false", str: "a string", dict: "a JSON object",
             list: "a JSON list"}
    return names.get(origin or kind, getattr(kind, "__name__", str(kind)))


def as_text(value: Any) -> str:
    """A value as one would type it after `--set KEY=` (a tuple as a,b; text as is)."""
    if isinstance(value, str):
        return value
    if isinstance(value, (tuple, list)) and all(isinstance(v, (int, float)) for v in value):
        return ",".join(json.dumps(v) for v in value)
    return json.dumps(value)


def check_values(values: Mapping[str, Any], kinds: Mapping[str, Any], examples: Mapping[str, Any] | None = None,
                 flag: str = "--set", what: str = "field") -> dict:
    """`values` with each one coerced to its field's type; a key without a field, or a value of the
    wrong type, raises ValueError naming the key, the value and what it takes (or the known keys)."""
    out = {}
    for key, value in values.items():
        if key not in kinds:
            close = difflib.get_close_matches(key, list(kinds), n=1)
            raise ValueError(f"{flag} {key}={as_text(value)}: unknown {what} {key!r}"
                             + (f" (did you mean {close[0]}?)" if close else "") + f"; known: {', '.join(kinds)}")
        if value is None:          # "not set" (a flag left at its default): nothing to check
            out[key] = None
            continue
        try:
            out[key] = coerce(value, kinds[key])
        except _Wrong:
            example = (examples or {}).get(key)
            if example is None:
                base = typing.get_args(kinds[key])[0] if typing.get_origin(kinds[key]) else kinds[key]
                example = _STOCK_EXAMPLES.get(base, "...")
            raise ValueError(f"{flag} {key}={as_text(value)}: {key} takes {describe(kinds[key])} "
                             f"(e.g. {flag} {key}={as_text(example)})") from None
    return out


def _json_or_text(text: str) -> Any:
    try:
        return json.loads(text)
    except json.JSONDecodeError:
        return text.strip()
