"""Jinja rendering, sandboxed: spec strings with ``{{ var }}``, task-factory templates and the body templates.

Every environment is a ``SandboxedEnvironment`` with ``StrictUndefined``: an undefined variable is an error
(TM002), and reaching Python internals (``''.__class__.__mro__``, ``cycler.__init__.__globals__``) raises a
``SecurityError`` that becomes TM003, never code execution. Errors inside a spec string are positioned inside
that string through the loader's per-character map.
"""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Callable, Mapping
from typing import Any

from batchspec.diagnostics.model import Diagnostic, Pos, Severity, Span
from batchspec.spec.loader import Document, JsonPath

MAX_RENDERED_CHARS = 1_000_000  # a template that expands to more than this is runaway (e.g. a huge loop)


def _tojson(value: Any, indent: int | None = None) -> str:
    # Jinja's built-in tojson sorts keys and HTML-escapes; REST bodies want neither
    return json.dumps(value, ensure_ascii=False, indent=indent)


class TemplateProblem(Exception):
    def __init__(
        self,
        code: str,
        name: str,
        message: str,
        line: int | None = None,
        hint: str | None = None,
        *,
        variable: str | None = None,
    ) -> None:
        super().__init__(message)
        self.code = code
        self.name = name
        self.message = message
        self.line = line
        self.hint = hint
        self.variable = variable  # TM002: the undefined name, to point at its use in the template


def _missing_attribute(text: str, attr: str, variables: Mapping[str, Any]) -> TemplateProblem:
    """``{{ file.nme }}``: name the object and what it has, instead of Jinja's "'dict object' has no attribute"."""
    import difflib

    m = re.search(r"([A-Za-z_]\w*(?:\.\w+)*)\." + re.escape(attr) + r"\b", text)
    owner = m.group(1) if m else None
    value: Any = variables
    for part in (owner or "").split(".") if owner else ():
        value = value.get(part) if isinstance(value, Mapping) else None
    keys = sorted(str(k) for k in value) if isinstance(value, Mapping) and owner else []
    close = difflib.get_close_matches(attr, keys, n=1, cutoff=0.6)
    hint = (f'did you mean "{owner}.{close[0]}"? ' if close else "") + (
        f"{owner} has {', '.join(keys)}" if keys else ""
    )
    return TemplateProblem(
        "TM002",
        "undefined-template-variable",
        f'"{owner}" has no attribute "{attr}"' if owner else f'undefined attribute "{attr}"',
        hint=hint.strip() or None,
        variable=f"{owner}.{attr}" if owner else None,
    )


def _undefined_hint(name: str, variables: Mapping[str, Any]) -> str:
    import difflib

    known = sorted(str(k) for k in variables)
    same_case = [k for k in known if k.lower() == name.lower()]
    close = same_case or difflib.get_close_matches(name, known, n=1, cutoff=0.6)
    if close:
        return f'did you mean "{close[0]}"? (variables are case-sensitive; defined: {", ".join(known)})'
    return f"define it under variables: (defined: {', '.join(known) or 'none'})"


MAX_REPEAT = 100_000  # "x" * n and [..] * n beyond this are refused (a template must not allocate gigabytes)


def _guarded_env_class() -> Any:
    from jinja2.exceptions import SecurityError
    from jinja2.sandbox import SandboxedEnvironment

    class GuardedSandbox(SandboxedEnvironment):  # type: ignore[misc]
        """The Jinja sandbox plus limits on ``*`` and ``**``, which the plain sandbox lets allocate without bound."""

        intercepted_binops = frozenset(["*", "**"])

        def call_binop(self, context: Any, operator: str, left: Any, right: Any) -> Any:
            if operator == "*":
                for seq, n in ((left, right), (right, left)):
                    if (
                        isinstance(seq, (str, list, tuple))
                        and isinstance(n, int)
                        and len(seq) * n > MAX_REPEAT
                    ):
                        raise SecurityError(
                            f"repeating a value {n} times is over the limit of {MAX_REPEAT} items"
                        )
            if operator == "**" and isinstance(right, (int, float)) and abs(right) > 1000:
                raise SecurityError("exponent over 1000")
            return super().call_binop(context, operator, left, right)

    return GuardedSandbox


@functools.lru_cache(maxsize=1)
def _string_env() -> Any:
    from jinja2 import StrictUndefined

    # Jinja's "{#" comment syntax is switched off: "${#array[@]}" is everyday bash in start-task scripts and
    # must not start a comment that silently eats the rest of the script.
    env = _guarded_env_class()(
        undefined=StrictUndefined,
        autoescape=False,
        keep_trailing_newline=True,
        comment_start_string="{%#",
        comment_end_string="#%}",
    )
    env.filters["tojson"] = _tojson
    return env


@functools.lru_cache(maxsize=1)
def _body_env() -> Any:
    from jinja2 import FunctionLoader, StrictUndefined
    from jinja2.sandbox import SandboxedEnvironment

    from batchspec.resources import data_dir

    folder = data_dir("templates")

    def load(name: str) -> str | None:
        f = folder / name
        return f.read_text(encoding="utf-8") if f.is_file() else None

    env = SandboxedEnvironment(
        loader=FunctionLoader(load), undefined=StrictUndefined, autoescape=False, keep_trailing_newline=False
    )
    env.filters["tojson"] = _tojson
    return env


_SINGLE_EXPRESSION = re.compile(r"^\{\{(?P<expr>(?:(?!\}\}|\{\{).)*)\}\}$", re.S)


def render_value(text: str, variables: Mapping[str, Any]) -> Any:
    """A string that is exactly one ``{{ expression }}`` keeps the expression's type (``"{{ slots }}"`` -> 4);
    anything else renders to a string."""
    m = _SINGLE_EXPRESSION.match(text.strip())
    if m is None:
        return render_string(text, variables)
    rendered = render_string(text, variables)  # errors (and their messages) come from the normal path
    try:
        value = _compiled_expression(m.group("expr"))(**variables)
    except Exception:
        return rendered
    if isinstance(value, (bool, int, float)) or value is None or isinstance(value, (list, dict)):
        return value
    return rendered


@functools.lru_cache(maxsize=4096)
def _compiled(text: str) -> Any:
    """Compiled templates, reused: a task factory renders the same template thousands of times."""
    return _string_env().from_string(text)


@functools.lru_cache(maxsize=4096)
def _compiled_expression(expr: str) -> Any:
    return _string_env().compile_expression(expr, undefined_to_none=False)


def render_string(text: str, variables: Mapping[str, Any]) -> str:
    """Render one template string; raises TemplateProblem on any failure."""
    from jinja2 import TemplateSyntaxError, UndefinedError
    from jinja2.exceptions import SecurityError

    try:
        out = _compiled(text).render(**variables)
    except TemplateSyntaxError as exc:
        raise TemplateProblem(
            "TM001", "template-syntax", f"template syntax error: {exc.message}", exc.lineno
        ) from None
    except UndefinedError as exc:
        msg = str(exc.message or exc)
        name = msg.split("'")[1] if msg.count("'") >= 2 else msg
        undefined = "is undefined" in msg
        attribute = re.fullmatch(r"'?[\w ]+'? has no attribute '(\w+)'", msg)
        if attribute:
            raise _missing_attribute(text, attribute.group(1), variables) from None
        raise TemplateProblem(
            "TM002",
            "undefined-template-variable",
            f'undefined template variable "{name}"' if undefined else f"template error: {msg}",
            hint=_undefined_hint(name, variables) if undefined else None,
            variable=name if undefined else None,
        ) from None
    except SecurityError as exc:
        raise TemplateProblem(
            "TM003",
            "template-sandbox",
            f"template blocked by the sandbox: {exc}",
            hint="templates may use variables, filters and simple expressions, not Python internals or huge values",
        ) from None
    except RecursionError:
        raise TemplateProblem("TM004", "template-error", "template recursion is too deep") from None
    except Exception as exc:  # anything a template can raise (ZeroDivisionError, TypeError, ...)
        raise TemplateProblem(
            "TM004", "template-error", f"template failed: {type(exc).__name__}: {exc}"
        ) from None
    if len(out) > MAX_RENDERED_CHARS:
        raise TemplateProblem(
            "TM004", "template-error", f"template renders to more than {MAX_RENDERED_CHARS} characters"
        )
    return out


def has_template(value: Any) -> bool:
    return isinstance(value, str) and ("{{" in value or "{%" in value)


def problem_span(doc: Document, path: JsonPath, problem: TemplateProblem) -> Span:
    """Where in the file a template problem is: the template line inside the string when known."""
    loc = doc.locations.get(tuple(path))
    if loc is None:
        return doc.span(path)
    smap = loc.string_map
    value = _get(doc.data, path)
    # inside a multi-line block the whole value would point at its "|": point at the use instead (a one-line
    # string keeps its whole span, which tests/hostile pins)
    if problem.variable and smap is not None and smap.exact and isinstance(value, str) and "\n" in value:
        use = first_use(value, problem.variable)
        if use is not None:
            return Span(doc.path, smap.at(use), smap.at(use + len(problem.variable)))
    if problem.line and smap is not None and smap.exact and isinstance(value, str):
        offset = 0
        for _ in range(problem.line - 1):
            nl = value.find("\n", offset)
            if nl < 0:
                break
            offset = nl + 1
        start = smap.at(offset)
        end_off = value.find("\n", offset)
        end = smap.at(len(value) if end_off < 0 else end_off)
        return Span(doc.path, start, end if end >= start else start)
    return loc.span


def first_use(template: str, variable: str) -> int | None:
    """Offset of the first use of ``variable`` inside a ``{{ }}`` / ``{% %}`` tag of ``template``, or None."""
    word = re.compile(r"(?<![\w.])" + re.escape(variable) + r"(?!\w)")
    for tag in re.finditer(r"\{\{.*?\}\}|\{%.*?%\}", template, re.S):
        m = word.search(tag.group(0))
        if m is not None:
            return tag.start() + m.start()
    return None


def _get(data: Any, path: JsonPath) -> Any:
    cur = data
    for p in path:
        try:
            cur = cur[p]
        except (KeyError, IndexError, TypeError):
            return None
    return cur


def interpolate(
    doc: Document,
    data: Any,
    variables: Mapping[str, Any],
    *,
    skip: Callable[[JsonPath], bool] = lambda p: False,
    origin: Callable[[JsonPath], JsonPath] = lambda p: p,
) -> tuple[Any, list[Diagnostic]]:
    """Render every templated string in ``data``. ``origin`` maps a data path to the document path it came from."""
    diags: list[Diagnostic] = []

    def walk(value: Any, path: JsonPath) -> Any:
        if skip(path):
            return value
        if isinstance(value, dict):
            return {k: walk(v, (*path, k)) for k, v in value.items()}
        if isinstance(value, list):
            return [walk(v, (*path, i)) for i, v in enumerate(value)]
        if has_template(value):
            try:
                return render_value(value, variables)
            except TemplateProblem as p:
                src = origin(path)
                diags.append(
                    Diagnostic(
                        code=p.code,
                        name=p.name,
                        severity=Severity.ERROR,
                        message=p.message,
                        span=problem_span(doc, src, p),
                        hint=p.hint,
                    )
                )
                return value
        return value

    return walk(data, ()), diags


def render_body(template: str, **context: Any) -> Any:
    """Render one of the body templates in ``templates/`` and parse the JSON it produces."""
    env = _body_env()
    text = env.get_template(template).render(**context)
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:  # a broken template is our bug, not the user's
        raise RuntimeError(
            f"template {template} produced invalid JSON at {exc.lineno}:{exc.colno}: {exc.msg}"
        ) from exc


def render_command_line(shell: str, quoted_body: str) -> str:
    return _body_env().get_template("command-line.j2").render(shell=shell, quoted_body=quoted_body)


__all__ = ["Pos", "TemplateProblem", "has_template", "interpolate", "render_body", "render_string"]
