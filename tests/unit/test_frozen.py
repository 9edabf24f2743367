"""``rollout.frozen``: a frozen record behaves as the frozen dataclass it replaces (checked side by side)."""

from __future__ import annotations

import dataclasses
import subprocess
import sys
from dataclasses import dataclass, field
from typing import ClassVar

import pytest
from rollout.frozen import frozen, replace


@frozen
class Record:
    """A record."""

    name: str
    count: int = 0
    tags: list[str] = field(default_factory=list)
    note: str | None = field(default=None)


@dataclass(frozen=True)
class Reference:
    """The same, as a frozen dataclass."""

    name: str
    count: int = 0
    tags: list[str] = field(default_factory=list)
    note: str | None = field(default=None)


@frozen
class Checked:
    """A record that checks and normalises itself after construction."""

    value: float

    def __post_init__(self) -> None:
        if self.value < 0:
            raise ValueError(f"negative: {self.value}")
        object.__setattr__(self, "value", float(self.value))


def test_construction_defaults_and_factories_as_a_dataclass() -> None:
    for kind in (Record, Reference):
        made = kind("a", 2)
        assert (made.name, made.count, made.tags, made.note) == ("a", 2, [], None)
        assert kind("a").tags is not kind("a").tags  # a fresh list each time
        assert kind(name="b", note="n").note == "n"
        assert kind.count == 0 and kind.note is None  # plain defaults stay class attributes
        assert "tags" not in vars(kind)  # a factory's field does not
    assert list(vars(Record("a", 1))) == ["name", "count", "tags", "note"]


def test_equality_hash_repr_and_match_as_a_dataclass() -> None:
    assert Record("a", 1) == Record("a", 1) and Record("a", 1) != Record("a", 2)
    other: object = Reference("a")
    assert Record("a") != other  # another class is never equal
    assert repr(Record("a", 1)) == repr(Reference("a", 1)).replace("Reference", "Record")
    assert Record.__match_args__ == Reference.__match_args__
    match Record("a", 3):
        case Record("a", count):
            assert count == 3
        case _:
            pytest.fail("no match")


def test_hashable_records_hash_by_their_fields() -> None:
    @frozen
    class Pair:
        left: int
        right: str

    assert hash(Pair(1, "x")) == hash((1, "x"))
    assert len({Pair(1, "x"), Pair(1, "x"), Pair(2, "x")}) == 2


def test_immutable_as_a_dataclass() -> None:
    made = Record("a")
    with pytest.raises(dataclasses.FrozenInstanceError):
        made.count = 1  # type: ignore[misc]
    with pytest.raises(dataclasses.FrozenInstanceError):
        del made.count
    with pytest.raises(dataclasses.FrozenInstanceError):
        made.other = 1  # type: ignore[attr-defined]


def test_wrong_arguments_are_type_errors() -> None:
    with pytest.raises(TypeError, match="missing required argument: 'name'"):
        Record()  # type: ignore[call-arg]
    with pytest.raises(TypeError, match="unexpected keyword argument 'colour'"):
        Record("a", colour=1)  # type: ignore[call-arg]
    with pytest.raises(TypeError, match="multiple values for argument 'name'"):
        Record("a", name="b")  # type: ignore[misc]
    with pytest.raises(TypeError, match="takes 5 positional arguments but 6 were given"):
        Record("a", 1, [], None, 5)  # type: ignore[call-arg]


def test_post_init_runs_on_construction_and_replace() -> None:
    assert Checked(2).value == 2.0 and isinstance(Checked(2).value, float)
    with pytest.raises(ValueError, match="negative: -1"):
        Checked(-1)
    with pytest.raises(ValueError, match="negative: -3"):
        replace(Checked(1), value=-3)
    changed = replace(Record("a", 1, ["t"]), count=5)
    assert changed == Record("a", 5, ["t"])
    with pytest.raises(TypeError, match="has no field colour"):
        replace(Record("a"), colour=1)


def test_what_a_record_cannot_be() -> None:
    with pytest.raises(TypeError, match="cannot derive from another"):

        @frozen
        class Derived(Record):
            extra: int = 0

    with pytest.raises(TypeError, match="no ClassVar or InitVar"):

        @frozen
        class Shared:
            limit: ClassVar[int] = 3


def test_no_code_compiled_at_class_creation() -> None:
    """The point of it: defining a record compiles nothing (dataclasses compiles every class's methods)."""
    code = (
        "import builtins, dataclasses\n"
        "from rollout.frozen import frozen\n"
        "compiled = []\n"
        "real = builtins.exec\n"
        "builtins.exec = lambda *a, **k: (compiled.append(a[0]), real(*a, **k))[1]\n"
        "@frozen\n"
        "class A:\n"
        "    x: int\n"
        "    y: str = 'y'\n"
        "assert compiled == [], compiled\n"
        "@dataclasses.dataclass(frozen=True)\n"
        "class B:\n"
        "    x: int\n"
        "assert compiled, 'dataclasses compiles'\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)
