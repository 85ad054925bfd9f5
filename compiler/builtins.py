"""The closed set of builtins a spec may call: math from the language core, input
domains, and the theory of polynomial targets."""

from __future__ import annotations

from wall.lang.diagnostics import SpecError, error
from wall.lang.evaluate import CORE_BUILTINS, BlockValue, CallContext
from wall.lang.polynomial import Expansion, Polynomial, expand
from wall.lang.values import Domain, type_name

from . import theory


def _dimension(context: CallContext, d) -> int:
    if not isinstance(d, int) or isinstance(d, bool) or d < 1:
        raise error("E0201", f"the input dimension must be a positive integer, got {d!r}", context.span,
                    hint="e.g. hypercube(32), or hypercube(d) with d a sweep axis")
    return d


def _hypercube(context: CallContext, d):
    return Domain("hypercube", _dimension(context, d))


def _gaussian(context: CallContext, d):
    return Domain("gaussian", _dimension(context, d))


def _biased_hypercube(context: CallContext, d, p):
    if not isinstance(p, (int, float)) or not 0 < p < 1:
        raise error("E0202", f"the bias p must lie strictly between 0 and 1, got {p!r}", context.span)
    return Domain("biased_hypercube", _dimension(context, d), float(p))


_hypercube.usage = "hypercube(d): uniform {-1,+1}^d"
_gaussian.usage = "gaussian(d): N(0, I_d)"
_biased_hypercube.usage = "biased_hypercube(d, p): standardised Ber(p) coordinates"


def expansion_in_scope(context: CallContext, f) -> Expansion:
    """Expand f in the basis of the domain visible where the builtin is called.

    Inside a `target` block that is its `domain`; elsewhere the experiment's target domain;
    with neither in sight, the uniform hypercube.
    """
    if not isinstance(f, Polynomial):
        raise error("E0313", f"expected a polynomial, got {type_name(f)}", context.span)
    domain = _visible_domain(context)
    if domain is None:
        return expand(f, "hypercube")
    return expand(f, domain.kind, domain.p)


def _visible_domain(context: CallContext) -> Domain | None:
    for name in ("domain", "target"):
        try:
            value = context.scope.lookup(name, context.span)
        except SpecError:
            continue
        if isinstance(value, BlockValue):
            try:
                value = value.get("domain", context.span)
            except SpecError:
                continue
        if isinstance(value, Domain):
            return value
    return None


def _theory(function, usage: str):
    def apply(context: CallContext, f):
        return function(expansion_in_scope(context, f))

    apply.usage = usage
    return apply


THEORY_BUILTINS = {
    "degree": _theory(lambda e: e.degree(), "degree(f): the largest total degree in f's expansion"),
    "leap": _theory(lambda e: theory.leap(e).leap, "leap(f): the leap complexity of f"),
    "msp": _theory(theory.is_msp, "msp(f): whether f has the merged-staircase property (leap 1)"),
    "variance": _theory(lambda e: e.variance(), "variance(f): Var f(x) under the domain"),
    "monomials": _theory(lambda e: len(e.support()), "monomials(f): the number of non-constant basis terms"),
    "sample_exponent": _theory(theory.predicted_sample_exponent,
                               "sample_exponent(f): max(leap - 1, 1), the predicted exponent of d"),
}

BUILTINS = {
    **CORE_BUILTINS,
    **THEORY_BUILTINS,
    "hypercube": _hypercube,
    "gaussian": _gaussian,
    "biased_hypercube": _biased_hypercube,
}
