"""What every versioned config of the project does the same way, written once: the Sisyphus hash
state that leaves out fields added later while they hold their default, per-layer overrides
by ``fnmatch`` pattern on qualified module names (``"*.linear_pos"``), the last match winning,
and the type check of every field against its annotation (:func:`check_field_types`), so a
config's annotations say exactly what it accepts and ``__post_init__`` keeps only value checks."""
import contextvars
import dataclasses
import difflib
import fnmatch
import functools
import re
import types
import typing
from typing import Any, Dict, Iterable, Literal, Mapping, Optional, Sequence, Tuple, Type, Union

import typeguard

__all__ = ["hash_state", "last_match", "check_patterns_match", "layer_kinds", "check_field_types", "check_value_type",
           "check_min", "type_name"]


def hash_state(cfg, later_defaults: Mapping[str, Any]) -> Dict[str, Any]:
    """The fields of dataclass ``cfg`` for its ``__sis_state__``, without those in
    ``later_defaults`` that hold the default given there (so adding a field keeps job ids)."""
    state = {f.name: getattr(cfg, f.name) for f in dataclasses.fields(cfg)}
    for name, default in later_defaults.items():
        if name in state and state[name] == default:
            del state[name]
    return state


def last_match(overrides: Sequence[Tuple[str, Any]], name: str, default: Any) -> Any:
    """The value of the last ``(pattern, value)`` whose pattern matches ``name``, else ``default``."""
    value = default
    for pattern, v in overrides:
        if fnmatch.fnmatchcase(name, pattern):
            value = v
    return value


def layer_kinds(names: Iterable[str]) -> list:
    """Layer names with block indices replaced by ``*`` (``blocks.3.ff1`` -> ``blocks.*.ff1``)."""
    return sorted({re.sub(r"\.\d+(\.|$)", r".*\1", n) for n in names})


def check_patterns_match(owner: str, patterns: Iterable[str], layer_names: Iterable[str],
                         error: Type[Exception] = ValueError) -> None:
    """Raise ``error`` if a pattern matches none of ``layer_names`` (a typo would otherwise be
    silent); the message names ``owner`` (the config field), the pattern and the nearest layer kinds."""
    names = list(layer_names)
    kinds = layer_kinds(names)
    for pattern in patterns:
        if not any(fnmatch.fnmatchcase(n, pattern) for n in names):
            near = difflib.get_close_matches(pattern, kinds, n=3, cutoff=0.0) if kinds else []
            raise error(f"{owner}: pattern {pattern!r} matches no crossbar layer; nearest: "
                        f"{', '.join(near) or '(the model has no such layers)'} (of {len(names)} layers)")


# ------------------------------------------------------------------------------------ type checks
#: set only while :func:`check_value_type` runs, so the project's stricter numbers leave every
#: other user of typeguard in the process untouched
_CONFIG_CHECK = contextvars.ContextVar("memristor_asr_config_check", default=False)


def _check_number_not_bool(value, origin_type, args, memo) -> None:
    # bool subclasses int, so typeguard (like isinstance) takes True for an int or float field;
    # a config that says ``tile_rows: int`` means a count, and True there is always a mistake
    if isinstance(value, bool):
        raise typeguard.TypeCheckError("is a bool")
    if not isinstance(value, (int, float) if origin_type is float else int):
        raise typeguard.TypeCheckError(f"is not an instance of {origin_type.__name__}")


def _config_number_lookup(origin_type, args, extras):
    if origin_type in (int, float) and _CONFIG_CHECK.get():
        return _check_number_not_bool
    return None


if _config_number_lookup not in typeguard.checker_lookup_functions:
    typeguard.checker_lookup_functions.insert(0, _config_number_lookup)

_INNER_PATH = re.compile(r"^(item |key |value of key |attribute )")


def type_name(annotation, nested: bool = False) -> str:
    """A type annotation as people write it: ``int or None``, ``one of A, B``,
    ``Tuple[str, Optional[int]]`` (inside brackets a union keeps its ``typing`` spelling)."""
    if annotation is type(None) or annotation is None:
        return "None"
    if annotation is Ellipsis:
        return "..."
    if annotation is Any:
        return "Any"
    if isinstance(annotation, (list, tuple)):  # Callable's argument list
        return "[" + ", ".join(type_name(a, True) for a in annotation) + "]"
    origin, args = typing.get_origin(annotation), typing.get_args(annotation)
    if origin in (Union, types.UnionType):
        names = [type_name(a, True) for a in args if a is not type(None)]
        optional = type(None) in args
        if nested:
            inner = names[0] if len(names) == 1 else f"Union[{', '.join(names)}]"
            return f"Optional[{inner}]" if optional else inner
        text = names[0] if len(names) == 1 else "one of " + ", ".join(names)
        return text + " or None" if optional else text
    if origin is Literal:
        return ("Literal[{}]" if nested else "one of {}").format(", ".join(repr(a) for a in args))
    if origin is not None:
        base = getattr(annotation, "_name", None) or getattr(origin, "__name__", repr(origin))
        return f"{base}[{', '.join(type_name(a, True) for a in args)}]" if args else base
    if isinstance(annotation, type):
        return annotation.__name__
    return repr(annotation)


def _short_repr(value, limit: int = 80) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[:limit - 3] + "..."


def check_value_type(where: str, value: Any, annotation: Any, error: Type[Exception] = TypeError) -> None:
    """Raise ``error`` ("``where`` must be <type>, got <value> (<its type>)") unless ``value``
    matches ``annotation`` under ``typeguard.check_type``, every item of a collection checked,
    a bool never taken for an int or float."""
    token = _CONFIG_CHECK.set(True)
    try:
        typeguard.check_type(value, annotation, collection_check_strategy=typeguard.CollectionCheckStrategy.ALL_ITEMS)
    except typeguard.TypeCheckError as e:
        inner = str(e).splitlines()[0].rstrip(":")
        detail = f": {inner}" if _INNER_PATH.match(inner) else ""
        raise error(f"{where} must be {type_name(annotation)}, got {_short_repr(value)} "
                    f"({type(value).__name__}){detail}") from None
    finally:
        _CONFIG_CHECK.reset(token)


@functools.lru_cache(maxsize=None)
def _field_annotations(cls) -> Tuple[Tuple[str, Any], ...]:
    hints = typing.get_type_hints(cls)
    return tuple((f.name, hints[f.name]) for f in dataclasses.fields(cls))


def check_field_types(cfg, error: Type[Exception] = TypeError, where: Optional[str] = None) -> None:
    """Check every field of dataclass ``cfg`` against its annotation (:func:`check_value_type`);
    the first mismatch raises ``error`` naming ``ClassName.field`` (or ``where.field``)."""
    owner = where or type(cfg).__name__
    for name, annotation in _field_annotations(type(cfg)):
        check_value_type(f"{owner}.{name}", getattr(cfg, name), annotation, error)


def check_min(cfg, name: str, minimum, error: Type[Exception] = ValueError, where: Optional[str] = None) -> None:
    """Raise ``error`` if field ``name`` of ``cfg`` (type-checked before; None passes) is below ``minimum``."""
    value = getattr(cfg, name)
    if value is not None and value < minimum:
        raise error(f"{where or type(cfg).__name__}.{name} must be >= {minimum}, got {value!r}")
