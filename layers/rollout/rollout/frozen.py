"""Frozen records: what ``@dataclass(frozen=True)`` makes of a class, without its cost at a cold start.

``dataclasses`` writes each class's ``__init__``, ``__repr__``, ``__eq__``, ``__hash__``, ``__setattr__`` and
``__delattr__`` as source text and compiles it when the class is defined - at every import, since bytecode cannot
hold it. The 38 such classes on evaluate_health's import path were about a tenth of its cold import (python3.13,
measured in interleaved pairs, ``make bench``). ``frozen`` gives a class the same methods from shared functions
instead, and type checkers read it as a frozen dataclass (``typing.dataclass_transform``), so constructors stay
checked.

What a class gets, as a frozen dataclass has it: an ``__init__`` taking its annotated fields in order (positional or
by name; defaults, ``field(default_factory=...)``) and then calling ``__post_init__`` if it has one; equality with
an instance of the same class by its fields; a hash of its fields; ``Name(field=value, ...)`` as its repr;
``__match_args__``; and ``dataclasses.FrozenInstanceError`` on any attribute assignment or deletion. Neither
inheritance between records nor ``ClassVar``/``InitVar`` fields are supported: ``frozen`` refuses them.
``replace`` is ``dataclasses.replace`` for these records.
"""

from __future__ import annotations

import dataclasses
import inspect
from collections.abc import Callable
from typing import Any, TypeVar, dataclass_transform

_T = TypeVar("_T")
_MISSING: Any = dataclasses.MISSING


@dataclass_transform(frozen_default=True, field_specifiers=(dataclasses.field,))
def frozen(cls: type[_T]) -> type[_T]:
    """Make ``cls`` a frozen record (see the module's docstring)."""
    if any(getattr(base, "__record_fields__", None) is not None for base in cls.__mro__[1:]):
        raise TypeError(f"{cls.__name__}: a frozen record cannot derive from another")
    names: list[str] = []
    defaults: dict[str, Any] = {}
    factories: dict[str, Callable[[], Any]] = {}
    for name, annotation in inspect.get_annotations(cls).items():
        if str(annotation).startswith(("ClassVar", "typing.ClassVar", "InitVar", "dataclasses.InitVar")):
            raise TypeError(f"{cls.__name__}.{name}: a frozen record has no ClassVar or InitVar fields")
        names.append(name)
        value = cls.__dict__.get(name, _MISSING)
        if isinstance(value, dataclasses.Field):
            factory: Any = value.default_factory
            if factory is not _MISSING:
                factories[name] = factory
            elif value.default is not _MISSING:
                defaults[name] = value.default
            if value.default is _MISSING:  # a factory, or no default: no class attribute (as dataclasses does)
                delattr(cls, name)
            else:
                setattr(cls, name, value.default)
        elif value is not _MISSING:
            defaults[name] = value
    fields = tuple(names)
    record: Any = cls
    record.__record_fields__ = fields
    setattr(cls, "__match_args__", fields)  # noqa: B010 - mypy refuses the attribute's assignment
    record.__init__ = _init(cls.__qualname__, fields, defaults, factories, getattr(cls, "__post_init__", None))
    record.__repr__ = _repr
    record.__eq__ = _eq
    record.__hash__ = _hash
    record.__setattr__ = _setattr
    record.__delattr__ = _delattr
    return cls


def replace(record: _T, /, **changes: Any) -> _T:
    """A copy of ``record`` with ``changes`` (``__post_init__`` runs again, as with ``dataclasses.replace``)."""
    fields: tuple[str, ...] = type(record).__record_fields__  # type: ignore[attr-defined]
    unknown = set(changes) - set(fields)
    if unknown:
        raise TypeError(f"{type(record).__qualname__} has no field {', '.join(sorted(unknown))}")
    return type(record)(**{name: changes.get(name, record.__dict__[name]) for name in fields})


def _init(
    qualname: str,
    fields: tuple[str, ...],
    defaults: dict[str, Any],
    factories: dict[str, Callable[[], Any]],
    post_init: Callable[[Any], None] | None,
) -> Callable[..., None]:
    known = frozenset(fields)

    def __init__(self: Any, *args: Any, **kwargs: Any) -> None:
        if len(args) > len(fields):
            raise TypeError(
                f"{qualname}.__init__() takes {len(fields) + 1} positional arguments but {len(args) + 1} were given"
            )
        values = dict(zip(fields, args, strict=False))
        for name, value in kwargs.items():
            if name not in known:
                raise TypeError(f"{qualname}.__init__() got an unexpected keyword argument '{name}'")
            if name in values:
                raise TypeError(f"{qualname}.__init__() got multiple values for argument '{name}'")
            values[name] = value
        if len(values) < len(fields):
            for name in fields:
                if name in values:
                    continue
                if name in defaults:
                    values[name] = defaults[name]
                elif name in factories:
                    values[name] = factories[name]()
                else:
                    raise TypeError(f"{qualname}.__init__() missing required argument: '{name}'")
        # the instance's own dict, in field order: what object.__setattr__ for each field would leave
        self.__dict__.update({name: values[name] for name in fields})
        if post_init is not None:
            post_init(self)

    __init__.__qualname__ = f"{qualname}.__init__"
    return __init__


def _values(record: Any) -> tuple[Any, ...]:
    state = record.__dict__
    return tuple(state[name] for name in type(record).__record_fields__)


def _repr(self: Any) -> str:
    shown = ", ".join(
        f"{name}={value!r}" for name, value in zip(type(self).__record_fields__, _values(self), strict=True)
    )
    return f"{type(self).__qualname__}({shown})"


def _eq(self: Any, other: object) -> Any:  # a bool, or NotImplemented for another class (as dataclasses')
    if type(other) is not type(self):
        return NotImplemented
    return bool(_values(self) == _values(other))


def _hash(self: Any) -> int:
    return hash(_values(self))


def _setattr(self: Any, name: str, value: Any) -> None:
    raise dataclasses.FrozenInstanceError(f"cannot assign to field '{name}'")


def _delattr(self: Any, name: str) -> None:
    raise dataclasses.FrozenInstanceError(f"cannot delete field '{name}'")
