"""JSON-schema validation with messages that name the key and what is allowed.

Used for the workflow config and for molecule descriptions. Defaults declared in the
schema are filled in, so that downstream code can rely on every key being present.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterator
from typing import Any

import jsonschema
import yaml
from jsonschema import Draft7Validator, validators

from scoredyn.errors import ScoredynError


def _extend_with_default(base: type) -> type:
    set_properties = base.VALIDATORS["properties"]

    def fill(validator: Any, properties: dict, instance: Any, schema: dict) -> Iterator:
        if isinstance(instance, dict):
            for key, sub in properties.items():
                if "default" in sub and key not in instance:
                    instance[key] = _copy(sub["default"])
        yield from set_properties(validator, properties, instance, schema)

    return validators.extend(base, {"properties": fill})


def _copy(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _copy(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_copy(v) for v in value]
    return value


_DefaultingValidator = _extend_with_default(Draft7Validator)


def key_path(error: jsonschema.ValidationError) -> str:
    """Dotted path of the offending key, e.g. ``md.water.n_waters`` or ``molecules.train[0]``."""
    out = ""
    for part in error.absolute_path:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out or "<top level>"


def describe(error: jsonschema.ValidationError) -> str:
    """One sentence: the key, the problem and what is allowed."""
    path = key_path(error)
    v, s = error.validator, error.schema
    if v == "additionalProperties":
        allowed = sorted(s.get("properties", {}))
        extra = sorted(set(error.instance) - set(allowed))
        hints = []
        for key in extra:
            close = difflib.get_close_matches(key, allowed, n=1)
            hints.append(f"{key!r}" + (f" (did you mean {close[0]!r}?)" if close else ""))
        where = "at the top level" if path == "<top level>" else f"under {path!r}"
        return f"unknown key {', '.join(hints)} {where}; allowed keys: {', '.join(allowed)}"
    if v == "required":
        return f"{path}: {error.message}"
    if v in ("minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum"):
        op = {"minimum": ">=", "maximum": "<=", "exclusiveMinimum": ">", "exclusiveMaximum": "<"}[v]
        return f"{path} = {error.instance!r} is out of range; it must be {op} {error.validator_value}"
    if v == "enum":
        return f"{path} = {error.instance!r} is not allowed; choose one of {error.validator_value}"
    if v == "type":
        return f"{path} = {error.instance!r} has the wrong type; expected {error.validator_value}"
    if v in ("minItems", "maxItems", "minLength", "pattern", "uniqueItems"):
        return f"{path} = {error.instance!r}: {error.message}"
    return f"{path}: {error.message}"


_PARSED_TYPES = {"integer": (int,), "number": (int, float), "boolean": (bool,), "null": (type(None),)}


def coerce_scalars(instance: Any, schema: dict) -> Any:
    """A copy of ``instance`` whose strings that the schema types as a number, a boolean or null
    are read as YAML scalars, where the string reads as one of those types.

    Snakemake hands a nested ``--config`` value over as strings (``--config 'dff={enabled: true}'``
    gives ``{"enabled": "true"}``); read this way it means what it says. A string that does not
    read as the schema's type stays a string, for the validation to name.
    """
    if isinstance(instance, dict):
        props = schema.get("properties", {})
        extra = schema.get("additionalProperties")
        out = {}
        for k, v in instance.items():
            sub = props.get(k, extra if isinstance(extra, dict) else None)
            out[k] = coerce_scalars(v, sub) if sub else v
        return out
    if isinstance(instance, list) and isinstance(schema.get("items"), dict):
        return [coerce_scalars(v, schema["items"]) for v in instance]
    if isinstance(instance, str):
        types = schema.get("type", [])
        types = [types] if isinstance(types, str) else types
        if "string" in types or not any(t in _PARSED_TYPES for t in types):
            return instance
        try:
            value = yaml.safe_load(instance)
        except yaml.YAMLError:
            return instance
        wanted = tuple(c for t in types for c in _PARSED_TYPES.get(t, ()))
        if isinstance(value, bool) and bool not in wanted:
            return instance
        return value if isinstance(value, wanted) else instance
    return instance


def validate(instance: Any, schema: dict, where: str, error_class: type[ScoredynError]) -> Any:
    """Validate ``instance`` in place (filling defaults) or raise ``error_class``.

    Parameters
    ----------
    where : the file the instance came from, named in the message.
    """
    validator = _DefaultingValidator(schema)
    errors = sorted(validator.iter_errors(instance), key=lambda e: (len(e.absolute_path), str(e.path)))
    if errors:
        lines = [describe(e) for e in errors[:5]]
        more = f" (and {len(errors) - 5} more)" if len(errors) > 5 else ""
        raise error_class(f"{where}: " + "; ".join(lines) + more)
    return instance
