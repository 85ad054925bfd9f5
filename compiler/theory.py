"""What the theory says about a target, computed from its orthonormal expansion.

Leap(f) is the minimum, over orderings of the support terms, of the largest number of
new coordinates any term adds; a new Hermite coordinate counts with its degree. The
merged-staircase property (MSP) is Leap(f) = 1. Online SGD on a two-layer net needs about
d^max(Leap-1, 1) samples (with a log factor at Leap 2).
"""

from __future__ import annotations

import dataclasses

from wall.lang.polynomial import Expansion, Monomial


@dataclasses.dataclass(frozen=True)
class LeapResult:
    leap: int
    order: tuple[Monomial, ...]  # an ordering of the support that achieves the leap
    costs: tuple[int, ...]  # the new-coordinate cost of each term in that order


def leap(expansion: Expansion) -> LeapResult:
    """Compute Leap(f) exactly.

    For a bound L, adding any term whose cost is at most L never raises the cost of the
    others, so a greedy pass decides whether some ordering has all costs <= L; the
    smallest such L is the leap.
    """
    support = expansion.support()
    if not support:
        return LeapResult(0, (), ())

    largest = max(_cost(term, set()) for term in support)
    for bound in range(largest + 1):
        ordering = _greedy_order(support, bound)
        if ordering is not None:
            order, costs = ordering
            return LeapResult(bound, order, costs)
    raise AssertionError("the largest single-term cost always admits an ordering")


def _cost(term: Monomial, covered: set[int]) -> int:
    return sum(degree for coordinate, degree in term if coordinate not in covered)


def _greedy_order(support: list[Monomial], bound: int):
    covered: set[int] = set()
    remaining = list(support)
    order, costs = [], []
    while remaining:
        # Prefer the cheapest admissible term so the reported ordering reads as a staircase.
        admissible = [(t, _cost(t, covered)) for t in remaining if _cost(t, covered) <= bound]
        if not admissible:
            return None
        term, cost = min(admissible, key=lambda pair: (pair[1], len(pair[0]), pair[0]))
        order.append(term)
        costs.append(cost)
        covered.update(coordinate for coordinate, _ in term)
        remaining.remove(term)
    return tuple(order), tuple(costs)


def is_msp(expansion: Expansion) -> bool:
    return leap(expansion).leap <= 1


def predicted_sample_exponent(expansion: Expansion) -> int:
    """The exponent of d in the number of online-SGD samples: max(Leap - 1, 1)."""
    return max(leap(expansion).leap - 1, 1)


def format_order(result: LeapResult, basis: str) -> str:
    """Describe an ordering, e.g. `{x1} -> {x1,x2,x3} (adds 2)`."""
    letter = "z" if basis == "hermite" else "x"
    steps = []
    for term, cost in zip(result.order, result.costs):
        names = ",".join(f"{letter}{i}" if k == 1 else f"{letter}{i}^{k}" for i, k in term)
        steps.append(f"{{{names}}} (adds {cost})")
    return " -> ".join(steps)
