"""Evaluate expressions in lexical scopes.

Evaluation is hermetic: it reads no files, environment, clock or randomness, and user
code cannot define functions or loops; the only iteration is the bounded `sum`/`prod`.
"""

from __future__ import annotations

import dataclasses
import math
import operator
import re
from typing import Callable

from . import syntax as ast
from .diagnostics import Span, did_you_mean, error
from .polynomial import Polynomial, expand
from .schema import string_choices
from .values import CoordinateVector, Domain, Interval, Quantity, Reference, type_name

MAX_RANGE_LENGTH = 1_000_000
MAX_LIST_LENGTH = MAX_RANGE_LENGTH  # linspace and logspace
# x1^k multiplies k times; no target needs a degree near this, and a typo like x1^(10^20) would hang.
MAX_POLYNOMIAL_POWER = 1000
# The normalised He_k divides by sqrt(k!), which leaves the float range near k = 170.
MAX_HERMITE_DEGREE = 100
COORDINATE = re.compile(r"^([xz])([1-9][0-9]*)$")
HERMITE = re.compile(r"^He([0-9]+)$")
UNKNOWN_NAME = "unknown name `{}`"
GLUED_COORDINATES = re.compile(r"([xz][1-9][0-9]*){2,}")  # x1x2, as papers write a monomial


@dataclasses.dataclass
class CallContext:
    """What a builtin sees besides its arguments."""

    span: Span
    scope: "Scope"
    arg_spans: tuple[Span, ...]


Builtin = Callable[..., object]


class _Lazy:
    """An expression bound to a name, evaluated at most once, on first use."""

    __slots__ = ("expr", "scope", "value", "state")

    def __init__(self, expr: ast.Node, scope: "Scope"):
        self.expr, self.scope = expr, scope
        self.value, self.state = None, "pending"


class Scope:
    """A set of name bindings with a parent; values may be lazy expressions."""

    def __init__(self, parent: "Scope | None", evaluator: "Evaluator", label: str = ""):
        self.parent = parent
        self.evaluator = evaluator
        self.label = label
        self.bindings: dict[str, object] = {}
        self.spans: dict[str, Span] = {}

    def bind(self, name: str, value, span: Span | None = None):
        self.bindings[name] = value
        if span is not None:
            self.spans[name] = span

    def bind_lazy(self, name: str, expr: ast.Node, span: Span | None = None, scope: "Scope | None" = None):
        self.bind(name, _Lazy(expr, scope or self), span)

    def child(self, label: str = "") -> "Scope":
        return Scope(self, self.evaluator, label)

    def child_rebinding_lazy(self, label: str, values: dict) -> "Scope":
        """Bind `values` in a child scope, with this scope's lazy bindings evaluated afresh
        there, so a `let` that reads a sweep axis sees the axis value of each point."""
        inner = self.child(label)
        for name, value in values.items():
            inner.bind(name, value)
        for name, value in self.bindings.items():
            if isinstance(value, _Lazy) and name not in values:
                inner.bind_lazy(name, value.expr, self.spans.get(name), scope=inner)
        return inner

    def lookup(self, name: str, span: Span):
        scope = self
        while scope is not None:
            if name in scope.bindings:
                # Inside its own definition a name means the enclosing one, so a field can
                # read the sweep axis of the same name: `alpha = alpha`.
                if not self.evaluator.is_innermost(scope.bindings[name]):
                    return scope.force(name, span)
            scope = scope.parent
        return self.evaluator.lookup_global(name, span, self)

    def force(self, name: str, span: Span):
        value = self.bindings[name]
        if not isinstance(value, _Lazy):
            return value
        if value.state == "busy":
            raise error("E0301", f"`{name}` is defined in terms of itself", span,
                        hint="break the cycle by writing one of the values directly")
        if value.state == "pending":
            value.state = "busy"
            evaluator = value.scope.evaluator
            evaluator.evaluating.append(value)
            try:
                value.value = evaluator.eval(value.expr, value.scope)
            finally:
                evaluator.evaluating.pop()
                value.state = "pending" if value.state == "busy" else value.state
            value.state = "done"
        return value.value

    def visible_names(self) -> set[str]:
        names, scope = set(), self
        while scope is not None:
            names.update(scope.bindings)
            scope = scope.parent
        return names | set(self.evaluator.builtins)


class BlockValue:
    """A block seen from an expression: `train.batch` reads the `batch` attribute of `train`."""

    def __init__(self, kind: str, name: str, scope: Scope, defaults: dict | None = None):
        self.kind, self.name, self.scope = kind, name, scope
        self.defaults = defaults or {}

    def get(self, attribute: str, span: Span):
        if attribute in self.scope.bindings:
            return self.scope.force(attribute, span)
        if attribute in self.defaults:
            return self.defaults[attribute]
        choices = set(self.scope.bindings) | set(self.defaults)
        raise error("E0304", f"`{self.name}` has no attribute `{attribute}`", span,
                    hint=did_you_mean(attribute, choices),
                    notes=[f"`{self.name}` has: {', '.join(sorted(choices)) or 'no attributes'}"])


_ARITHMETIC = {"+": operator.add, "-": operator.sub, "*": operator.mul, "/": operator.truediv,
               "%": operator.mod}
_COMPARISON = {"==": operator.eq, "!=": operator.ne, "<": operator.lt, "<=": operator.le,
               ">": operator.gt, ">=": operator.ge}


class Evaluator:
    """Evaluate syntax nodes to values, with a fixed table of builtins."""

    def __init__(self, builtins: dict[str, Builtin]):
        self.builtins = builtins
        self.evaluating: list[_Lazy] = []  # lazy bindings being evaluated, innermost last

    def is_innermost(self, binding) -> bool:
        return bool(self.evaluating) and self.evaluating[-1] is binding

    def root(self) -> Scope:
        return Scope(None, self, "file")

    def lookup_global(self, name: str, span: Span, scope: Scope):
        match = COORDINATE.match(name)
        if match:
            return Polynomial.coordinate(int(match.group(2)))
        if name in ("x", "z"):
            return CoordinateVector(name)
        if name in self.builtins or HERMITE.match(name):
            raise error("E0305", f"`{name}` is a function and must be called", span,
                        hint=f"write `{name}(...)`")
        glued = GLUED_COORDINATES.fullmatch(name)
        if glued:
            product = "*".join(re.findall(r"[xz][1-9][0-9]*", name))
            raise error("E0302", UNKNOWN_NAME.format(name), span, hint=f"write `{product}` for the product")
        choices = string_choices()
        if name in choices:
            raise error("E0302", UNKNOWN_NAME.format(name), span,
                        hint=f'a choice of `{choices[name]}` is a string: write "{name}"')
        # Builtins are functions, which a bare name cannot be, so they are not suggested.
        raise error("E0302", UNKNOWN_NAME.format(name), span,
                    hint=did_you_mean(name, scope.visible_names() - set(self.builtins)),
                    notes=["names come from sweep axes, `let`, blocks of the spec and builtins"])

    def eval(self, node: ast.Node, scope: Scope):
        method = getattr(self, "_eval_" + type(node).__name__)
        try:
            return method(node, scope)
        except OverflowError:
            # The innermost node whose evaluation failed gets the caret; outer nodes see a SpecError.
            # Python's own texts here ("math range error", "(34, 'Numerical result out of
            # range')") mean nothing to a spec author.
            raise error("E0314", "the value is too large for a float", node.span,
                        hint="check the magnitudes: floats end near 1.8e308") from None
        except ZeroDivisionError:
            raise error("E0314", "the value divides by zero", node.span) from None
        except (TypeError, ValueError) as exc:
            raise error("E0313", f"the value cannot be computed: {exc}", node.span) from None

    # Atoms.

    def _eval_Literal(self, node: ast.Literal, scope: Scope):
        return node.value

    def _eval_Interpolation(self, node: ast.Interpolation, scope: Scope):
        pieces = []
        for part in node.parts:
            pieces.append(part if isinstance(part, str) else format_value(self.eval(part, scope), part.span))
        return "".join(pieces)

    def _eval_InModule(self, node: ast.InModule, scope: Scope):
        inner = scope.child("imported")
        for let in node.lets:
            inner.bind_lazy(let.name, let.value, let.span)
        return self.eval(node.expr, inner)

    def _eval_QuantityLiteral(self, node: ast.QuantityLiteral, scope: Scope):
        return Quantity(node.value, node.unit)

    def _eval_Name(self, node: ast.Name, scope: Scope):
        return scope.lookup(node.name, node.span)

    def _eval_ListExpr(self, node: ast.ListExpr, scope: Scope):
        return [self.eval(item, scope) for item in node.items]

    def _eval_ObjectExpr(self, node: ast.ObjectExpr, scope: Scope):
        result = {}
        for member in node.members:
            if not isinstance(member, ast.Attribute):
                raise error("E0306", "an inline object may contain only `name = value` pairs", member.span)
            result[member.name] = self.eval(member.value, scope)
        return result

    # Operators.

    def _eval_Unary(self, node: ast.Unary, scope: Scope):
        value = self.eval(node.operand, scope)
        if node.op == "not":
            return not _require_bool(value, node.operand.span)
        _require_number(value, node.operand.span, "negate")
        return -value

    def _eval_Binary(self, node: ast.Binary, scope: Scope):
        if node.op in ("and", "or"):
            left = _require_bool(self.eval(node.left, scope), node.left.span)
            if (node.op == "and" and not left) or (node.op == "or" and left):
                return left
            return _require_bool(self.eval(node.right, scope), node.right.span)

        left, right = self.eval(node.left, scope), self.eval(node.right, scope)
        if node.op in ("in", "not in"):
            if isinstance(node.right, ast.RangeExpr) and _is_empty_range(right):
                # `exponent in 2 .. 1` would be false whatever the value: the ends are swapped.
                raise error("E0311", "the range is empty, because its start is above its end", node.right.span,
                            hint="write the smaller end first")
            found = _contains(right, left, node.right.span)
            return found if node.op == "in" else not found
        if node.op in _COMPARISON:
            return _compare(node, left, right)
        if node.op == "^":
            return _power(node, left, right)
        return _arithmetic(node, left, right)

    def _eval_RangeExpr(self, node: ast.RangeExpr, scope: Scope):
        start, stop = self.eval(node.start, scope), self.eval(node.stop, scope)
        step = self.eval(node.step, scope) if node.step is not None else None
        return make_range(start, stop, step, node)

    # Calls and access.

    def _eval_Call(self, node: ast.Call, scope: Scope):
        name = node.func.name if isinstance(node.func, ast.Name) else None
        function = self._resolve_function(node, name, scope)
        args = [self.eval(a, scope) for a in node.args]
        kwargs = {k: self.eval(v, scope) for k, v in node.kwargs}
        context = CallContext(node.span, scope, tuple(a.span for a in node.args))
        try:
            return function(context, *args, **kwargs)
        except TypeError as exc:
            raise error("E0307", f"wrong arguments to `{name}`: {_argument_problem(exc)}", node.span,
                        hint=getattr(function, "usage", None)) from None

    def _resolve_function(self, node: ast.Call, name: str | None, scope: Scope):
        if name is None:
            raise error("E0305", "only builtin functions can be called", node.func.span)
        hermite = HERMITE.match(name)
        if hermite:
            return _hermite_builtin(_hermite_degree(hermite.group(1), node))
        if name not in self.builtins:
            raise error("E0303", f"unknown function `{name}`", node.func.span,
                        hint=did_you_mean(name, self.builtins),
                        notes=["builtins: " + ", ".join(sorted(self.builtins))])
        return self.builtins[name]

    def _eval_Comprehension(self, node: ast.Comprehension, scope: Scope):
        name = node.func.name if isinstance(node.func, ast.Name) else "?"
        if name not in ("sum", "prod"):
            raise error("E0308", f"`{name}(i in ...: ...)` is not supported", node.span,
                        hint="only `sum(i in a..b: expr)` and `prod(i in a..b: expr)` iterate")
        header = node.header
        if not (isinstance(header, ast.Binary) and header.op == "in" and isinstance(header.left, ast.Name)):
            raise error("E0308", "a bounded sum or product starts with `name in range:`", header.span,
                        hint="write e.g. `sum(i in 1..k: x[i])`")
        values = self.eval(header.right, scope)
        if not isinstance(values, list):
            raise error("E0309", f"cannot iterate over {type_name(values)}", header.right.span)
        total = 0 if name == "sum" else 1
        for value in values:
            inner = scope.child("comprehension")
            inner.bind(header.left.name, value)
            item = self.eval(node.body, inner)
            total = total + item if name == "sum" else total * item
        return total

    def _eval_AttributeOf(self, node: ast.AttributeOf, scope: Scope):
        target = self.eval(node.target, scope)
        if isinstance(target, BlockValue):
            return target.get(node.name, node.span)
        if isinstance(target, dict) and node.name in target:
            return target[node.name]
        if isinstance(target, Reference):
            # In a sweep's `where`, an axis over named blocks holds the chosen block's name.
            raise error("E0304", f"`{target}` names a `{target.kind}` block here, so its fields cannot be read",
                        node.span, hint=f"compare the name instead, e.g. `{target.kind} == {target}`")
        raise error("E0304", f"{type_name(target)} has no attribute `{node.name}`", node.span)

    def _eval_Index(self, node: ast.Index, scope: Scope):
        target, index = self.eval(node.target, scope), self.eval(node.index, scope)
        if isinstance(target, CoordinateVector):
            if not isinstance(index, int) or isinstance(index, bool) or index < 1:
                raise error("E0310", f"coordinate index must be an integer >= 1, got {index!r}",
                            node.index.span, hint="coordinates are 1-based: x[1] is x1")
            return Polynomial.coordinate(index)
        if isinstance(target, list):
            # No negative indexes: `targets[k - 1]` with k = 0 would quietly take the last item.
            if not isinstance(index, int) or isinstance(index, bool) or not 0 <= index < len(target):
                shown = format_value(index, node.index.span) if _is_number(index) else type_name(index)
                hint = (f"lists are 0-based: the first item is [0], the last [{len(target) - 1}]" if target
                        else "the list is empty")
                raise error("E0310", f"index {shown} is out of range for a list of {len(target)}",
                            node.index.span, hint=hint)
            return target[index]
        raise error("E0310", f"cannot index {type_name(target)}", node.span)


def unknown_name(diagnostic) -> str | None:
    """Return the name an "unknown name" (E0302) diagnostic is about, or None for another one."""
    prefix, suffix = UNKNOWN_NAME.split("{}")
    message = diagnostic.message
    if diagnostic.code != "E0302" or not (message.startswith(prefix) and message.endswith(suffix)):
        return None
    return message[len(prefix):-len(suffix)]


def format_value(value, span: Span) -> str:
    """Format a value for `${...}` as a spec would write it, floats to 6 significant digits."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return format(value, ".6g")
    if isinstance(value, (int, str, Quantity, Domain, Reference)):
        return str(value)
    if isinstance(value, Polynomial):
        # On the hypercube a multilinear polynomial's Walsh expansion is the polynomial
        # itself, so it prints as written; others have no domain-free short form.
        return expand(value, "hypercube").describe() if _is_multilinear(value) else "a polynomial"
    if isinstance(value, list):
        return "[" + ", ".join(format_value(v, span) for v in value) + "]"
    raise error("E0313", f"cannot put {type_name(value)} into a string", span)


def _is_multilinear(polynomial: Polynomial) -> bool:
    return all(power == 1 for monomial in polynomial.terms for _, power in monomial)


def _is_empty_range(value) -> bool:
    return value == [] or (isinstance(value, Interval) and value.low > value.high)


def make_range(start, stop, step, node: ast.Node):
    """`a .. b [step s]`: an inclusive list of integers, or an interval for real ends."""
    integers = all(isinstance(v, int) and not isinstance(v, bool) for v in (start, stop))
    if not integers:
        if step is not None:
            raise error("E0311", "a range with `step` needs integer ends", node.span,
                        hint="use linspace(a, b, n) for evenly spaced real values")
        _require_number(start, node.span, "use as a range end")
        _require_number(stop, node.span, "use as a range end")
        return Interval(float(start), float(stop))
    step = 1 if step is None else step
    if not isinstance(step, int) or step <= 0:
        raise error("E0311", f"range step must be a positive integer, got {step!r}", node.span)
    if (stop - start) // step + 1 > MAX_RANGE_LENGTH:
        raise error("E0311", f"range {start} .. {stop} has more than {MAX_RANGE_LENGTH} values", node.span)
    return list(range(start, stop + 1, step))


def _hermite_degree(digits: str, node: ast.Call) -> int:
    if len(digits) > 4 or int(digits) > MAX_HERMITE_DEGREE:
        raise error("E0312", f"Hermite degree {digits} is above the limit {MAX_HERMITE_DEGREE}", node.func.span)
    return int(digits)


def _hermite_builtin(degree: int) -> Builtin:
    def hermite(context: CallContext, argument):
        if not (isinstance(argument, Polynomial) and len(argument.terms) == 1):
            raise error("E0312", f"He{degree} takes a single coordinate such as z1", context.span)
        (monomial, coefficient), = argument.terms.items()
        if len(monomial) != 1 or monomial[0][1] != 1 or coefficient != 1.0:
            raise error("E0312", f"He{degree} takes a single coordinate such as z1", context.span)
        return Polynomial.hermite(degree, monomial[0][0])

    hermite.usage = f"He{degree}(z1): the probabilists' Hermite polynomial of degree {degree}"
    return hermite


def _is_number(value) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _require_number(value, span: Span, action: str):
    if not _is_number(value) and not isinstance(value, Polynomial):
        raise error("E0313", f"cannot {action} {type_name(value)}", span)


def _require_plain_number(value, span: Span, name: str):
    """Reject an argument of a function of numbers that is not a number. A polynomial is
    rejected too, because a nonlinear function of the coordinates has no polynomial expansion."""
    if not _is_number(value):
        hint = ("a target must be a polynomial in the coordinates; write it with +, -, * and ^"
                if isinstance(value, Polynomial) else f"usage: {getattr(CORE_BUILTINS.get(name), 'usage', name)}")
        raise error("E0313", f"`{name}` takes numbers, not {type_name(value)}", span, hint=hint)


def _require_bool(value, span: Span) -> bool:
    if not isinstance(value, bool):
        raise error("E0313", f"expected true or false, got {type_name(value)}", span)
    return value


def _contains(container, item, span: Span) -> bool:
    if isinstance(container, (Interval, list)):
        return item in container
    raise error("E0313", f"`in` needs a list or a range on its right, got {type_name(container)}", span)


def _compare(node: ast.Binary, left, right):
    if node.op in ("==", "!="):
        return _COMPARISON[node.op](left, right)
    if not (_is_number(left) and _is_number(right)):
        if isinstance(left, Quantity) and isinstance(right, Quantity) and left.dimension == right.dimension:
            return _COMPARISON[node.op](left.base, right.base)
        raise error("E0313", f"cannot compare {type_name(left)} with {type_name(right)}", node.span)
    return _COMPARISON[node.op](left, right)


def _power(node: ast.Binary, left, right):
    if isinstance(left, Polynomial):
        if not (isinstance(right, int) and right >= 0):
            raise error("E0313", "a polynomial's power must be a non-negative integer", node.right.span)
        if right > MAX_POLYNOMIAL_POWER:
            raise error("E0314", f"the power {right} is above the limit {MAX_POLYNOMIAL_POWER} for a polynomial",
                        node.right.span)
        return left**right
    if not (_is_number(left) and _is_number(right)):
        raise error("E0313", f"cannot raise {type_name(left)} to {type_name(right)}", node.span)
    if left == 0 and right < 0:
        raise error("E0314", "zero raised to a negative power", node.span)
    if isinstance(left, int) and isinstance(right, int) and abs(left) > 1 and right * math.log2(abs(left)) >= 1024:
        # Python would compute the exact integer, however many digits it has.
        raise error("E0314", f"{left}^{right} is larger than any float", node.span,
                    hint="write the value as a float, e.g. 2.0^100")
    return left**right


def _arithmetic(node: ast.Binary, left, right):
    if node.op == "+" and isinstance(left, str) and isinstance(right, str):
        return left + right
    if node.op == "+" and isinstance(left, list) and isinstance(right, list):
        return left + right
    if isinstance(left, Quantity) or isinstance(right, Quantity):
        return _quantity_arithmetic(node, left, right)
    numeric = (_is_number(left) or isinstance(left, Polynomial)) and (
        _is_number(right) or isinstance(right, Polynomial))
    if not numeric:
        raise error("E0313", f"cannot apply `{node.op}` to {type_name(left)} and {type_name(right)}", node.span)
    if node.op in ("/", "%") and _is_number(right) and right == 0:
        raise error("E0314", "division by zero", node.span)
    if node.op == "%" and (isinstance(left, Polynomial) or isinstance(right, Polynomial)):
        raise error("E0313", "`%` is not defined for polynomials", node.span)
    if node.op == "/" and isinstance(right, Polynomial) and not right.is_constant():
        raise error("E0313", "cannot divide by a polynomial", node.right.span)
    return _ARITHMETIC[node.op](left, right)


def _quantity_arithmetic(node: ast.Binary, left, right):
    if node.op == "*" and _is_number(left) and isinstance(right, Quantity):
        return Quantity(left * right.value, right.unit)
    if node.op in ("*", "/") and isinstance(left, Quantity) and _is_number(right):
        factor = right if node.op == "*" else 1 / right
        return Quantity(left.value * factor, left.unit)
    if node.op in ("+", "-") and isinstance(left, Quantity) and isinstance(right, Quantity) \
            and left.dimension == right.dimension:
        # Express the right operand in the left operand's unit.
        right_in_left_unit = right.base / (left.base / left.value) if left.value else None
        if right_in_left_unit is None:
            return right if node.op == "+" else Quantity(-right.value, right.unit)
        total = left.value + right_in_left_unit if node.op == "+" else left.value - right_in_left_unit
        return Quantity(total, left.unit)
    raise error("E0313", f"cannot apply `{node.op}` to {type_name(left)} and {type_name(right)}", node.span)


def _argument_problem(exc: TypeError) -> str:
    text = str(exc)
    # Python names the inner function; keep only the part about the arguments.
    return text.split(") ", 1)[-1] if ") " in text else text


def number_builtin(function: Callable[[float], float], name: str) -> Builtin:
    def apply(context: CallContext, value):
        _require_plain_number(value, context.span, name)
        try:
            return function(value)
        except ValueError:
            raise error("E0314", f"{name}({value!r}) is undefined", context.span) from None

    apply.usage = f"{name}(number)"
    return apply


def _linspace(context: CallContext, start, stop, count):
    if not isinstance(count, int) or count < 1:
        raise error("E0315", f"linspace needs a positive integer count, got {count!r}", context.span)
    if count > MAX_LIST_LENGTH:
        raise error("E0315", f"linspace count {count} is above the limit {MAX_LIST_LENGTH}", context.span)
    if count == 1:
        return [float(start)]
    return [start + (stop - start) * i / (count - 1) for i in range(count)]


def _logspace(context: CallContext, start, stop, count):
    # Exponents of 10, as numpy.logspace: logspace(0, 2, 3) == [1, 10, 100].
    return [10.0**e for e in _linspace(context, start, stop, count)]


def _reduce(context: CallContext, values, name: str):
    if not isinstance(values, list):
        raise error("E0309", f"{name} needs a list, got {type_name(values)}", context.span)
    total = 0 if name == "sum" else 1
    for value in values:
        total = total + value if name == "sum" else total * value
    return total


def _len(context: CallContext, values):
    if not isinstance(values, (list, str)):
        raise error("E0309", f"len needs a list or string, got {type_name(values)}", context.span)
    return len(values)


def _integer_of(function):
    def apply(context: CallContext, value):
        _require_plain_number(value, context.span, function.__name__)
        return int(function(value))

    return apply


def _extreme(context: CallContext, values: tuple, name: str):
    items = values[0] if len(values) == 1 and isinstance(values[0], list) else list(values)
    if not items:
        raise error("E0307", f"{name} of no values", context.span, hint=f"{name} needs at least one value")
    for item in items:
        _require_plain_number(item, context.span, name)
    return min(items) if name == "min" else max(items)


def _min(context: CallContext, *values):
    return _extreme(context, values, "min")


def _max(context: CallContext, *values):
    return _extreme(context, values, "max")


def _sum(context: CallContext, values):
    return _reduce(context, values, "sum")


def _prod(context: CallContext, values):
    return _reduce(context, values, "prod")


_USAGE = {
    "floor": "floor(number): the largest integer not above it",
    "ceil": "ceil(number): the smallest integer not below it",
    "round": "round(number): the nearest integer, ties to even",
    "min": "min(a, b, ...) or min(list)",
    "max": "max(a, b, ...) or max(list)",
    "len": "len(list or string)",
    "linspace": "linspace(a, b, n): n evenly spaced numbers from a to b, both included",
    "logspace": "logspace(a, b, n): n numbers from 10^a to 10^b, evenly spaced in the exponent",
    "sum": "sum(list), or sum(i in a..b: expr) for a bounded sum",
    "prod": "prod(list), or prod(i in a..b: expr) for a bounded product",
}

CORE_BUILTINS: dict[str, Builtin] = {
    "sqrt": number_builtin(math.sqrt, "sqrt"),
    "log": number_builtin(math.log, "log"),
    "log2": number_builtin(math.log2, "log2"),
    "exp": number_builtin(math.exp, "exp"),
    "abs": number_builtin(abs, "abs"),
    "floor": _integer_of(math.floor),
    "ceil": _integer_of(math.ceil),
    "round": _integer_of(round),
    "min": _min,
    "max": _max,
    "len": _len,
    "linspace": _linspace,
    "logspace": _logspace,
    "sum": _sum,
    "prod": _prod,
}
for _name, _text in _USAGE.items():
    CORE_BUILTINS[_name].usage = _text
