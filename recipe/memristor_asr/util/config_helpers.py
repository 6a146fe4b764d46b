"""What every versioned config of the project does the same way, written once: the Sisyphus hash
state that leaves out fields added later while they hold their default, and per-layer overrides
by ``fnmatch`` pattern on qualified module names (``"*.linear_pos"``), the last match winning."""
import dataclasses
import difflib
import fnmatch
import re
from typing import Any, Dict, Iterable, Mapping, Sequence, Tuple, Type

__all__ = ["hash_state", "last_match", "check_patterns_match", "layer_kinds"]


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
