"""canonical(): any payload becomes canonical JSON-safe data, and it never raises."""

from __future__ import annotations

import dataclasses
import datetime as dt
import enum
import json
import math
from collections.abc import Iterator, Mapping
from decimal import Decimal
from pathlib import PurePosixPath
from typing import Any
from uuid import UUID

import pytest
from pydantic import BaseModel

from pytest_tracediff.model.canonical import MAX_DEPTH, canonical, canonical_json


class Color(enum.Enum):
    RED = "red"
    BLUE = "blue"


class Priority(enum.IntEnum):
    HIGH = 2


class Address(BaseModel):
    city: str
    zip: str | None = None


class User(BaseModel):
    name: str
    tags: set[str]
    address: Address


@dataclasses.dataclass
class Point:
    x: int
    y: float


@dataclasses.dataclass
class Node:
    name: str
    next: Node | None = None


class BrokenRepr:
    def __repr__(self) -> str:
        raise RuntimeError("repr is broken")


class NonStrRepr:
    def __repr__(self) -> Any:
        return 42


class BrokenIterMapping(Mapping[str, int]):
    def __getitem__(self, key: str) -> int:
        raise KeyError(key)

    def __iter__(self) -> Iterator[str]:
        raise RuntimeError("cannot iterate")

    def __len__(self) -> int:
        return 1


class BrokenIterList(list[int]):
    def __iter__(self) -> Iterator[int]:
        raise RuntimeError("cannot iterate")


@dataclasses.dataclass
class BrokenField:
    value: int = 0

    def __getattribute__(self, name: str) -> Any:
        if name == "value":
            raise ValueError("field is broken")
        return object.__getattribute__(self, name)


class BrokenIsoformat(dt.datetime):
    def isoformat(self, *args: Any, **kwargs: Any) -> str:
        raise RuntimeError("isoformat is broken")


def test_sets_become_sorted_lists() -> None:
    assert canonical({3, 1, 2}) == [1, 2, 3]
    assert canonical(frozenset({"b", "c", "a"})) == ["a", "b", "c"]
    # Mixed types sort by their canonical JSON: '"a"' < '1' < 'null'.
    assert canonical({1, "a", None}) == ["a", 1, None]


def test_equal_sets_built_in_any_order_give_the_same_data() -> None:
    words = [f"word-{i}" for i in range(50)]
    forward, backward = set(words), set(reversed(words))
    assert canonical(forward) == canonical(backward) == sorted(words)


def test_tuples_become_lists() -> None:
    assert canonical((1, (2, 3))) == [1, [2, 3]]


def test_bytes_are_text_or_base64() -> None:
    assert canonical(b"hello") == "bytes:hello"
    assert canonical(bytearray(b"hi")) == "bytes:hi"
    assert canonical(memoryview(b"mv")) == "bytes:mv"
    assert canonical(b"\xff\x00") == "base64:/wA="


def test_decimal_keeps_its_digits() -> None:
    assert canonical(Decimal("0.10")) == "0.10"
    assert canonical(Decimal("12345678901234567890.123456789")) == "12345678901234567890.123456789"
    assert canonical(Decimal("NaN")) == "NaN"
    assert canonical(Decimal("Infinity")) == "Infinity"
    assert canonical(Decimal("-Infinity")) == "-Infinity"


def test_uuid_and_paths_become_strings() -> None:
    value = UUID("12345678-1234-5678-1234-567812345678")
    assert canonical(value) == "12345678-1234-5678-1234-567812345678"
    assert canonical(PurePosixPath("/data/in.csv")) == "/data/in.csv"


def test_dates_and_times_use_isoformat() -> None:
    moment = dt.datetime(2024, 1, 2, 3, 4, 5, 600, tzinfo=dt.timezone.utc)
    assert canonical(moment) == "2024-01-02T03:04:05.000600+00:00"
    assert canonical(dt.date(2024, 2, 29)) == "2024-02-29"
    assert canonical(dt.time(23, 59)) == "23:59:00"
    assert canonical(dt.timedelta(minutes=1, seconds=30)) == 90.0


def test_enums_become_their_values() -> None:
    assert canonical(Color.RED) == "red"
    assert canonical([Color.BLUE, Priority.HIGH]) == ["blue", 2]
    assert type(canonical(Priority.HIGH)) is int


def test_complex_becomes_its_repr() -> None:
    assert canonical(1 + 2j) == "(1+2j)"


def test_pydantic_models_become_field_dicts() -> None:
    user = User(name="ann", tags={"b", "a"}, address=Address(city="Oslo"))
    assert canonical(user) == {
        "address": {"city": "Oslo", "zip": None},
        "name": "ann",
        "tags": ["a", "b"],
    }


def test_dataclasses_become_field_dicts() -> None:
    assert canonical(Point(1, 2.5)) == {"x": 1, "y": 2.5}
    assert canonical([Point(0, -1.0)]) == [{"x": 0, "y": -1.0}]


def test_dataclass_classes_are_not_expanded() -> None:
    # The class itself is not an instance: it is shown, not walked.
    assert canonical(Point) == repr(Point)


def test_non_string_keys_are_converted() -> None:
    value = {2: "int", None: "none", (1, 2): "tuple", 1.5: "float", Color.RED: "enum"}
    assert canonical(value) == {
        "1.5": "float",
        "2": "int",
        "[1,2]": "tuple",
        "null": "none",
        "red": "enum",
    }


def test_uuid_keys_become_their_text() -> None:
    key = UUID("12345678-1234-5678-1234-567812345678")
    assert canonical({key: 1}) == {"12345678-1234-5678-1234-567812345678": 1}


def test_keys_are_sorted() -> None:
    result = canonical({"b": 1, "a": 2, "c": {"z": 1, "y": 2}})
    assert list(result) == ["a", "b", "c"]
    assert list(result["c"]) == ["y", "z"]


def test_colliding_keys_are_all_kept() -> None:
    assert canonical({1: "int", "1": "str"}) == {"1": "int", "1 #2": "str"}


def test_colliding_keys_do_not_depend_on_insertion_order() -> None:
    forward = {1: "int", "1": "str"}
    backward = {"1": "str", 1: "int"}
    assert forward == backward
    assert canonical(forward) == canonical(backward) == {"1": "int", "1 #2": "str"}


def test_collision_with_an_existing_suffixed_key() -> None:
    result = canonical({1: "a", "1": "b", "1 #2": "c"})
    assert result == {"1": "a", "1 #2": "b", "1 #2 #2": "c"}


def test_list_cycle() -> None:
    items: list[Any] = [1]
    items.append(items)
    assert canonical(items) == [1, "<cycle>"]


def test_dict_cycle() -> None:
    data: dict[str, Any] = {"name": "root"}
    data["self"] = data
    assert canonical(data) == {"name": "root", "self": "<cycle>"}


def test_dataclass_cycle() -> None:
    node = Node("a")
    node.next = node
    assert canonical(node) == {"name": "a", "next": "<cycle>"}


def test_shared_references_are_not_cycles() -> None:
    shared = [1, 2]
    assert canonical([shared, shared, {"again": shared}]) == [[1, 2], [1, 2], {"again": [1, 2]}]


def test_broken_repr_gives_a_placeholder() -> None:
    assert canonical(BrokenRepr()) == "<BrokenRepr: repr raised RuntimeError>"
    assert canonical(NonStrRepr()) == "<NonStrRepr: repr raised TypeError>"


def test_broken_repr_as_a_key() -> None:
    assert canonical({BrokenRepr(): 1}) == {"<BrokenRepr: repr raised RuntimeError>": 1}


def test_plain_objects_use_their_repr() -> None:
    class Plain:
        def __repr__(self) -> str:
            return "Plain(7)"

    assert canonical({"obj": Plain()}) == {"obj": "Plain(7)"}


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (BrokenIterMapping(), "<BrokenIterMapping: reading it raised RuntimeError>"),
        (BrokenIterList([1]), "<BrokenIterList: reading it raised RuntimeError>"),
        (BrokenField(), "<BrokenField: reading it raised ValueError>"),
        (BrokenIsoformat(2024, 1, 1), "<BrokenIsoformat: reading it raised RuntimeError>"),
    ],
)
def test_objects_that_raise_while_read_give_a_placeholder(value: object, expected: str) -> None:
    assert canonical(value) == expected
    assert canonical({"ok": 1, "bad": value}) == {"bad": expected, "ok": 1}


def test_nan_and_infinities_become_strings() -> None:
    result = canonical([math.nan, math.inf, -math.inf, 1.5])
    assert result == ["NaN", "Infinity", "-Infinity", 1.5]
    assert json.dumps(result, allow_nan=False) == '["NaN", "Infinity", "-Infinity", 1.5]'


def test_negative_zero_becomes_zero() -> None:
    result = canonical(-0.0)
    assert result == 0.0
    assert math.copysign(1.0, result) == 1.0
    assert json.dumps(canonical({"x": -0.0})) == '{"x": 0.0}'


def test_bool_and_int_and_float_stay_distinct() -> None:
    result = canonical([True, 1, 1.0])
    assert [type(v) for v in result] == [bool, int, float]


def test_huge_ints_become_a_description() -> None:
    big = 10**5000
    assert canonical(big) == f"<int of {big.bit_length()} bits>"
    assert canonical(2**100) == 2**100
    # The largest kept int still serializes (str() refuses more than 4300 digits).
    largest = 2**14_000 - 1
    assert canonical(largest) == largest
    assert json.dumps(canonical([largest]))
    assert canonical(2**14_000) == "<int of 14001 bits>"


def test_int_and_float_subclasses_become_plain() -> None:
    class MyInt(int):
        pass

    class MyFloat(float):
        pass

    result = canonical([MyInt(3), MyFloat(-0.0)])
    assert result == [3, 0.0]
    assert [type(v) for v in result] == [int, float]


def test_str_subclass_uses_its_real_text() -> None:
    class Loud(str):
        def __str__(self) -> str:
            return "LOUD"

    result = canonical(Loud("quiet"))
    assert result == "quiet"
    assert type(result) is str


def test_deep_nesting_stops_at_max_depth() -> None:
    nested: Any = "leaf"
    for _ in range(5000):
        nested = [nested]
    result = canonical(nested)
    depth = 0
    while isinstance(result, list):
        assert len(result) == 1
        result = result[0]
        depth += 1
    assert depth == MAX_DEPTH
    assert result == "<max depth>"


def test_deep_dicts_and_dataclasses_do_not_raise() -> None:
    nested: Any = {"end": True}
    for i in range(3000):
        nested = {"level": i, "child": nested}
    result = canonical(nested)
    assert json.dumps(result)
    assert result["level"] == 2999

    chain = Node("0")
    for i in range(1, 3000):
        chain = Node(str(i), chain)
    walked = canonical(chain)
    assert walked["name"] == "2999"
    assert "<max depth>" in json.dumps(walked)


def test_text_hook_rewrites_every_string_keys_included() -> None:
    result = canonical({"secret-key": ["secret", "other"]}, lambda s: s.replace("secret", "***"))
    assert result == {"***-key": ["***", "other"]}


def test_text_hook_applies_to_converted_values() -> None:
    result = canonical([Decimal("1.5"), b"x", UUID(int=0)], str.upper)
    assert result == ["1.5", "BYTES:X", "00000000-0000-0000-0000-000000000000"]


def test_result_is_always_json_serializable() -> None:
    value = {
        "set": {1, 2},
        "bytes": b"\x00\x01",
        "decimal": Decimal("1.10"),
        "nan": math.nan,
        "broken": BrokenRepr(),
        "model": Address(city="Rome"),
        "point": Point(1, 2.0),
        (1, 2): "tuple key",
        "when": dt.datetime(2020, 1, 1),
    }
    text = json.dumps(canonical(value), allow_nan=False, sort_keys=True)
    assert '"decimal": "1.10"' in text
    assert '"[1,2]": "tuple key"' in text


def test_canonical_json_is_compact_and_sorted() -> None:
    assert canonical_json({"b": 1, "a": [1, "é"]}) == '{"a":[1,"é"],"b":1}'
