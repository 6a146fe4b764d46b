"""Job hashing, byte-compatible with upstream Sisyphus.

A job id embeds ``short_hash`` of its hashed arguments. ``sis_hash_helper`` turns any argument
into a canonical byte string: ``b"(" + type qualname + b", " + parts + b")"``, with rules per
kind of object (see the spec); strings longer than 4096 bytes are replaced by their sha256 digest.
"""
import enum
import hashlib
import inspect
import pathlib
import types

__all__ = ["HashError", "sis_hash_helper", "short_hash", "int_hash", "get_object_state"]

BASE62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
_SCALARS = (int, float, bool, str, complex)
_SEQUENCES = (list, tuple)
_SETS = (set, frozenset)
_MAX_INLINE = 4096


class HashError(TypeError):
    """An object that cannot be part of a job's hash (a lambda, something from ``__main__``...)."""


def int_hash(obj) -> int:
    """sha256 of the canonical bytes, as a big-endian unsigned integer."""
    return int.from_bytes(hashlib.sha256(sis_hash_helper(obj)).digest(), "big", signed=False)


def short_hash(obj, length: int = 12, chars: str = BASE62) -> str:
    """``length`` base-62 digits of :func:`int_hash`, least significant digit first."""
    value = int_hash(obj)
    digits = []
    for _ in range(length):
        value, rest = divmod(value, len(chars))
        digits.append(chars[rest])
    return "".join(digits)


def _type_name(obj) -> bytes:
    # EnumMeta was renamed EnumType in Python 3.11; hashes keep the old name
    if type(obj) is enum.EnumMeta:
        return b"EnumMeta"
    return type(obj).__qualname__.encode()


def sis_hash_helper(obj) -> bytes:
    """Canonical byte representation of ``obj`` for hashing."""
    parts = [_type_name(obj)]
    kind = type(obj)
    if isinstance(obj, bytes):
        parts.append(obj)
    elif obj is None:
        pass
    elif kind in _SCALARS:
        parts.append(repr(obj).encode())
    elif kind in _SEQUENCES:
        parts.extend(sis_hash_helper(x) for x in obj)
    elif kind in _SETS:
        parts.extend(sorted(sis_hash_helper(x) for x in obj))
    elif isinstance(obj, dict):
        parts.extend(sorted(sis_hash_helper(item) for item in obj.items()))
    elif inspect.isfunction(obj):
        if obj.__name__ == "<lambda>":
            raise HashError("lambda functions cannot be hashed; use a named module-level function")
        if obj.__module__ == "__main__":
            raise HashError(f"function {obj.__qualname__!r} is defined in __main__ and cannot be hashed; "
                            "move it into a module")
        parts.append(sis_hash_helper((obj.__module__, obj.__qualname__)))
    elif inspect.isclass(obj):
        if obj.__module__ == "__main__":
            raise HashError(f"class {obj.__qualname__!r} is defined in __main__ and cannot be hashed; "
                            "move it into a module")
        parts.append(sis_hash_helper((obj.__module__, obj.__qualname__)))
    elif hasattr(obj, "_sis_hash"):
        return obj._sis_hash()  # jobs and paths define their own bytes
    else:
        if type(obj).__module__ == "__main__":
            raise HashError(f"object of class {type(obj).__qualname__!r} from __main__ cannot be hashed; "
                            "move the class into a module")
        parts.append(sis_hash_helper(get_object_state(obj)))
    out = b"(" + b", ".join(parts) + b")"
    if len(out) > _MAX_INLINE:
        return hashlib.sha256(out).digest()
    return out


def get_object_state(obj):
    """The state that represents a general object in its hash."""
    if obj is None:
        return None
    for base in _SCALARS + _SEQUENCES + _SETS + (dict,):
        if isinstance(obj, base):
            if type(obj) is base:
                return obj
            if hasattr(obj, "__getnewargs_ex__") or hasattr(obj, "__getnewargs__"):
                break  # e.g. a namedtuple: new-args + state below
            raise HashError(f"subclass {type(obj).__qualname__!r} of {base.__name__} cannot be hashed")
    if isinstance(obj, (types.MethodDescriptorType, types.WrapperDescriptorType)):
        return obj.__qualname__
    if isinstance(obj, types.ModuleType):
        return obj.__name__
    if inspect.isfunction(obj) or inspect.isclass(obj):
        return obj.__module__, obj.__qualname__
    if isinstance(obj, pathlib.PurePath):
        return str(obj)

    if hasattr(obj, "__getnewargs_ex__"):
        newargs = obj.__getnewargs_ex__()
    elif hasattr(obj, "__getnewargs__"):
        newargs = obj.__getnewargs__()
    else:
        newargs = None

    if hasattr(obj, "__sis_state__"):
        state = obj.__sis_state__()
    elif hasattr(obj, "__getstate__") and type(obj).__getstate__ is not getattr(object, "__getstate__", None):
        state = obj.__getstate__()
    else:
        state = _instance_members(obj)
        if not state and not hasattr(obj, "__dict__") and not hasattr(obj, "__slots__"):
            if newargs is None:
                raise HashError(f"cannot determine the state of {obj!r} for hashing")
            state = None
    if isinstance(obj, enum.Enum) and isinstance(state, dict):
        state.pop("_sort_order_", None)
    return state if newargs is None else (newargs, state)


def _instance_members(obj) -> dict:
    """Instance attributes (``__dict__``, ``__slots__``, and data members visible through ``dir``)."""
    if isinstance(obj, (types.MethodWrapperType, types.BuiltinMethodType)):
        return {"__self__": obj.__self__, "__name__": obj.__name__}
    members = dict(getattr(obj, "__dict__", {}))
    for name in getattr(obj, "__slots__", ()):
        if hasattr(obj, name):
            members[name] = getattr(obj, name)
    class_attrs = {}
    for cls in reversed(type(obj).__mro__):
        class_attrs.update(getattr(cls, "__dict__", {}))
    for name in dir(obj):
        if (name.startswith("__") and name not in ("__self__", "__func__")) or name in members:
            continue
        if name in class_attrs:
            attr = class_attrs[name]
            if hasattr(attr, "__get__") and not inspect.ismemberdescriptor(attr):
                continue  # properties, methods
        try:
            value = getattr(obj, name)
        except AttributeError:
            continue
        if name in class_attrs and class_attrs[name] is value:
            continue
        members[name] = value
    return members
