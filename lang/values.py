"""Runtime values of the expression language, besides Python's int, float, bool, str and list."""

from __future__ import annotations

import dataclasses

# Quantities are stored in a base unit per dimension: seconds and bytes.
DURATION_UNITS = {"ms": 1e-3, "s": 1.0, "min": 60.0, "h": 3600.0, "day": 86400.0}
MEMORY_UNITS = {"KB": 1e3, "MB": 1e6, "GB": 1e9, "TB": 1e12}


@dataclasses.dataclass(frozen=True)
class Quantity:
    """A number with a unit from the closed table: a duration or a memory size."""

    value: float
    unit: str

    @property
    def dimension(self) -> str:
        return "duration" if self.unit in DURATION_UNITS else "memory"

    @property
    def base(self) -> float:
        """The value in seconds (durations) or bytes (memory sizes)."""
        table = DURATION_UNITS if self.dimension == "duration" else MEMORY_UNITS
        return self.value * table[self.unit]

    def minutes(self) -> float:
        return self.base / 60.0

    def gigabytes(self) -> float:
        return self.base / 1e9

    def __str__(self) -> str:
        number = int(self.value) if float(self.value).is_integer() else self.value
        return f"{number}{self.unit}"


@dataclasses.dataclass(frozen=True)
class Interval:
    """A closed real interval from a range with non-integer ends; usable with `in` only."""

    low: float
    high: float

    def __contains__(self, value) -> bool:
        return self.low <= value <= self.high

    def __str__(self) -> str:
        return f"{self.low:g} .. {self.high:g}"


@dataclasses.dataclass(frozen=True)
class Domain:
    """An input distribution over R^d."""

    kind: str  # hypercube, biased_hypercube or gaussian
    d: int
    p: float | None = None  # the Bernoulli bias of a biased hypercube

    def __str__(self) -> str:
        if self.kind == "biased_hypercube":
            return f"biased_hypercube({self.d}, p={self.p:g})"
        return f"{self.kind}({self.d})"


@dataclasses.dataclass(frozen=True)
class CoordinateVector:
    """`x` or `z` on its own: indexing it gives a coordinate, `x[3]` is `x3`."""

    letter: str


@dataclasses.dataclass(frozen=True)
class Reference:
    """A name that refers to another block, such as a measurement used in `of = ...`."""

    kind: str
    name: str

    def __str__(self) -> str:
        return self.name


def type_name(value) -> str:
    """Describe a value's type in the words a spec author uses."""
    from .polynomial import Polynomial

    names = {bool: "a boolean", int: "an integer", float: "a number", str: "a string",
             list: "a list", Quantity: "a quantity", Interval: "an interval",
             Domain: "a domain", Polynomial: "a polynomial", Reference: "a reference",
             CoordinateVector: "a coordinate vector", dict: "an inline object"}
    if type(value).__name__ == "BlockValue":  # defined in evaluate.py, which imports this module
        return f"the `{value.kind}` block"
    return names.get(type(value), type(value).__name__)
