"""Hypothesis strategies for formula ASTs, driven by builtins.py (names, functions, methods, fields)."""

from __future__ import annotations

from hypothesis import strategies as st

from batchspec.diagnostics.model import Pos, Span
from batchspec.formula import ast
from batchspec.formula import builtins as b

S = Span("", Pos(0, 0), Pos(0, 0))

names = st.from_regex(r"\$?[A-Za-z_][A-Za-z0-9_]{0,8}", fullmatch=True)
known_names = st.sampled_from(
    sorted(b.SERVICE_VARIABLES)
    + sorted(b.TIME_INTERVALS)
    + list(b.DEALLOCATION_OPTIONS)
    + ["x", "$y", "span"]
)
numbers = st.from_regex(r"[0-9]{1,4}(\.[0-9]{1,3})?", fullmatch=True).map(
    lambda t: ast.Number(value=float(t), text=t, span=S)
)
strings = st.from_regex(r'[^"\r\n]{0,12}', fullmatch=True).map(lambda v: ast.String(value=v, span=S))
variables = st.one_of(names, known_names).map(lambda n: ast.Var(name=n, span=S))
function_names = st.one_of(st.sampled_from(sorted(b.FUNCTIONS)), names)
method_names = st.one_of(st.sampled_from(sorted(b.METHODS)), names)
fields = st.one_of(st.sampled_from(sorted(b.TIMESTAMP_FIELDS)), names)


def _extend(children: st.SearchStrategy[ast.Expr]) -> st.SearchStrategy[ast.Expr]:
    args = st.lists(children, max_size=3).map(tuple)
    return st.one_of(
        st.builds(
            lambda op, e: ast.Unary(op=op, operand=e, op_span=S, span=S),
            st.sampled_from(ast.UNARY_OPERATORS),
            children,
        ),
        st.builds(
            lambda op, lhs, rhs: ast.Binary(op=op, left=lhs, right=rhs, op_span=S, span=S),
            st.sampled_from(ast.BINARY_OPERATORS),
            children,
            children,
        ),
        st.builds(
            lambda c, t, f: ast.Ternary(condition=c, if_true=t, if_false=f, span=S),
            children,
            children,
            children,
        ),
        st.builds(lambda n, a: ast.Call(name=n, name_span=S, args=a, span=S), function_names, args),
        st.builds(lambda r, n: ast.Member(receiver=r, name=n, name_span=S, span=S), children, fields),
        st.builds(
            lambda r, m, a: ast.MethodCall(receiver=r, method=m, method_span=S, args=a, span=S),
            children,
            method_names,
            args,
        ),
        st.builds(lambda e: ast.Paren(expr=e, span=S), children),
    )


expressions = st.recursive(st.one_of(numbers, strings, variables), _extend, max_leaves=12)

statements = st.one_of(
    st.builds(
        lambda n, v: ast.Assignment(target=ast.Var(name=n, span=S), value=v, span=S),
        st.one_of(names, known_names),
        expressions,
    ),
    st.builds(
        lambda n, a: ast.ExprStatement(expr=ast.Call(name=n, name_span=S, args=a, span=S), span=S),
        function_names,
        st.lists(expressions, max_size=2).map(tuple),
    ),
)

formulas = st.lists(statements, min_size=1, max_size=5).map(
    lambda ss: ast.Formula(statements=tuple(ss), span=S)
)
