"""Lint configuration: ``[tool.batchspec]`` in ``pyproject.toml`` or the top level of ``batchspec.toml``.

```toml
[tool.batchspec]
select = ["FM", "SP2"]          # codes or name prefixes; default: every rule that is on by default
ignore = ["unused-variable"]    # codes or name prefixes, applied after select
[tool.batchspec.per-file-ignores]
"legacy/*.formula" = ["legacy-alias", "FM213"]
[tool.batchspec.rules.unbounded-target]   # a rule by name or code
severity = "error"
max-nodes = 200                 # the rule's options (kebab-case or snake_case)
```

The file is found by walking up from the checked file's folder: the first ``batchspec.toml``, or the first
``pyproject.toml`` that has a ``[tool.batchspec]`` table, wins. Precedence: config file < inline suppressions < the
command line (``--select`` replaces ``select``, ``--ignore`` adds to ``ignore``). ``select`` chooses which lint
rules (``FM2xx``, ``SP2xx``) run; the built-in checks (type errors, limits, tool warnings) stay on unless ignored.
Parser errors (``FM0xx``) and tool errors cannot be ignored: the formula could not be checked at all.

A malformed file raises ``ConfigError`` (exit 2) carrying ``BS001`` diagnostics with ``file:line:col``; unknown keys
are reported as warnings in ``LintConfig.diagnostics`` (other batchspec areas may add their own keys).
"""

from __future__ import annotations

import dataclasses
import fnmatch
import functools
import re
import sys
import types
import typing
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any

from batchspec.diagnostics.model import Diagnostic, Pos, Severity, Span
from batchspec.errors import BatchspecError

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised on 3.10 only
    import tomli as tomllib

CONFIG_CODE = "BS001"
CONFIG_NAME = "invalid-config"

# codes no configuration can hide or re-level: the formula or the tool could not run at all
_UNFILTERABLE = re.compile(r"^(FM0\d\d|BS001|BS002)$")
_RULE_AREAS = ("FM2", "SP2")
_CODE_PREFIX = re.compile(r"^[A-Z]{2}\d{0,3}$|^[A-Z]$")

_KNOWN_KEYS = ("select", "ignore", "extend-select", "per-file-ignores", "rules")
# keys other batchspec areas own in the same table; accepted silently here
_OTHER_AREA_KEYS = ("spec", "simulate", "apply", "validate", "env", "environments", "fmt", "formula")


class ConfigError(BatchspecError):
    """The configuration file cannot be used (exit 2)."""

    def __init__(self, diagnostics: list[Diagnostic]) -> None:
        self.diagnostics = diagnostics
        lines = [
            f"{d.span.path}:{d.span.start.line}:{d.span.start.col}: error[{d.code}] {d.message}"
            + (f" (hint: {d.hint})" if d.hint else "")
            for d in diagnostics
        ]
        super().__init__("invalid configuration\n" + "\n".join(lines), exit_code=2)


@dataclass(frozen=True)
class LintConfig:
    """Resolved configuration. ``LintConfig()`` is the default (no file)."""

    path: str | None = None  # the config file, as found
    root: Path | None = None  # folder of the config file: per-file-ignores globs are relative to it
    select: tuple[str, ...] | None = None  # None: the default set
    extend_select: tuple[str, ...] = ()
    ignore: tuple[str, ...] = ()
    per_file_ignores: tuple[tuple[str, tuple[str, ...]], ...] = ()
    severities: tuple[tuple[str, Severity], ...] = ()  # code -> severity
    options: tuple[tuple[str, Any], ...] = ()  # rule code -> Options instance
    diagnostics: tuple[Diagnostic, ...] = ()  # warnings about the file itself (unknown keys)

    def with_overrides(
        self, *, select: Sequence[str] | None = None, ignore: Sequence[str] | None = None
    ) -> LintConfig:
        """Command-line overrides: ``select`` replaces the file's select, ``ignore`` adds to it."""
        out = self
        if select:
            out = dataclasses.replace(out, select=tuple(_split(select)), extend_select=())
        if ignore:
            out = dataclasses.replace(out, ignore=out.ignore + tuple(_split(ignore)))
        return out

    @functools.cached_property
    def is_plain(self) -> bool:
        """The default configuration: nothing to filter or re-level."""
        return (
            self.select is None
            and not self.extend_select
            and not self.ignore
            and not self.per_file_ignores
            and not self.severities
        )

    @functools.cached_property
    def _severity_map(self) -> dict[str, Severity]:
        return dict(self.severities)

    @functools.cached_property
    def _options_map(self) -> dict[str, Any]:
        return dict(self.options)

    def options_for(self, rule: Any) -> Any:
        found = self._options_map.get(rule.code)
        return found if found is not None else rule.default_options()

    def severity_for(self, code: str) -> Severity | None:
        return self._severity_map.get(code)

    def is_enabled(self, code: str, name: str, *, default_enabled: bool = True, path: str = "") -> bool:
        if _UNFILTERABLE.match(code):
            return True
        if not code.startswith(_RULE_AREAS):
            selected = True  # select chooses lint rules; built-in checks stay on unless ignored
        elif self.select is None:
            selected = default_enabled or any(
                _matches(k, code, name, explicit=True) for k in self.extend_select
            )
        else:
            keys = (*self.select, *self.extend_select)
            selected = any(_matches(k, code, name, explicit=not default_enabled) for k in keys)
        if not selected:
            return False
        if any(_matches(k, code, name) for k in self.ignore):
            return False
        if path and self.per_file_ignores:
            for pattern, keys in self.per_file_ignores:
                if _path_matches(pattern, path, self.root) and any(_matches(k, code, name) for k in keys):
                    return False
        return True


def _split(values: Iterable[str]) -> list[str]:
    out: list[str] = []
    for v in values:
        out.extend(x.strip() for x in v.split(",") if x.strip())
    return out


def _matches(key: str, code: str, name: str, *, explicit: bool = False) -> bool:
    """``key`` is "ALL", a code prefix ("FM2", "FM201") or a name prefix ("unused")."""
    if key.upper() == "ALL":
        return not explicit
    if _CODE_PREFIX.match(key):
        return code.startswith(key)
    return bool(name) and name.startswith(key.lower())


def _path_matches(pattern: str, path: str, root: Path | None) -> bool:
    candidates = [PurePosixPath(path.replace("\\", "/")).as_posix()]
    if root is not None:
        try:
            rel = Path(path).resolve().relative_to(root.resolve())
            candidates.append(rel.as_posix())
        except (ValueError, OSError):
            pass
    for cand in candidates:
        if fnmatch.fnmatchcase(cand, pattern) or (
            "/" not in pattern and fnmatch.fnmatchcase(cand.rsplit("/", 1)[-1], pattern)
        ):
            return True
    return False


def apply_config(
    diagnostics: Iterable[Diagnostic], config: LintConfig | None, path: str = ""
) -> list[Diagnostic]:
    """Drop diagnostics the config deselects (select/ignore/per-file-ignores) and re-level severities.

    ``path`` is the checked file (for per-file-ignores); it defaults to each diagnostic's own path.
    """
    if config is None:
        return list(diagnostics)
    from batchspec.lint.registry import find_rule

    out: list[Diagnostic] = []
    for d in diagnostics:
        rule = find_rule(d.code)
        default_enabled = rule.default_enabled if rule is not None else True
        if not config.is_enabled(d.code, d.name, default_enabled=default_enabled, path=path or d.span.path):
            continue
        level = None if _UNFILTERABLE.match(d.code) else config.severity_for(d.code)
        if level is not None and level != d.severity:
            d = dataclasses.replace(d, severity=level)
        out.append(d)
    return out


# ---------------------------------------------------------------------------------------------------------------
# loading

CONFIG_FILES = ("batchspec.toml", "pyproject.toml")


def find_config_file(start: Path) -> Path | None:
    """The first ``batchspec.toml`` or ``pyproject.toml`` with ``[tool.batchspec]`` from ``start`` upwards."""
    try:
        here = start.resolve()
    except OSError:
        here = start.absolute()
    if here.is_file() or not here.exists():
        here = here.parent
    for folder in (here, *here.parents):
        found = _config_in(folder)
        if found is not None:
            return found
    return None


def _config_in(folder: Path) -> Path | None:
    candidate = folder / "batchspec.toml"
    if candidate.is_file():
        return candidate
    candidate = folder / "pyproject.toml"
    if candidate.is_file():
        try:
            text = candidate.read_text(encoding="utf-8", errors="replace")
        except OSError:
            return None
        if re.search(r"^\s*\[\s*tool\s*\.\s*batchspec\s*[\].]", text, re.MULTILINE):
            return candidate
    return None


def load_config(start: Path, extra_codes: Iterable[Any] = ()) -> LintConfig:
    """Find and load the configuration that applies to ``start`` (a file or a folder); the default if none.

    ``extra_codes``: ``CodeInfo`` rows of codes lint does not know itself (SPEC's rules), so that config keys
    naming them are accepted; the CLI passes them.
    """
    found = find_config_file(start)
    if found is None:
        return LintConfig()
    return load_config_file(found, extra_codes=extra_codes)


def load_config_file(path: Path, display: str | None = None, extra_codes: Iterable[Any] = ()) -> LintConfig:
    shown = display or _display_path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise ConfigError([_diag(shown, 1, 1, f"the file is not valid UTF-8 ({exc.reason})")]) from None
    except OSError as exc:
        raise ConfigError([_diag(shown, 1, 1, f"cannot read the file: {exc.strerror or exc}")]) from None
    return parse_config(
        text, shown, root=path.parent, pyproject=path.name == "pyproject.toml", extra_codes=extra_codes
    )


def _display_path(path: Path) -> str:
    try:
        return path.resolve().relative_to(Path.cwd().resolve()).as_posix()
    except (ValueError, OSError):
        return path.as_posix()


def parse_config(
    text: str,
    path: str,
    *,
    root: Path | None = None,
    pyproject: bool = False,
    extra_codes: Iterable[Any] = (),
) -> LintConfig:
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        line, col = _toml_error_position(str(exc))
        message = re.sub(r"\s*\(at line \d+, column \d+\)", "", str(exc)).strip() or "invalid TOML"
        raise ConfigError(
            [_diag(path, line, col, f"invalid TOML: {message[:1].lower()}{message[1:]}")]
        ) from None
    except RecursionError:  # arrays nested hundreds deep: the TOML reader recurses per level
        line = next((n for n, row in enumerate(text.split("\n"), 1) if "[[[[" in row.replace(" ", "")), 1)
        raise ConfigError([_diag(path, line, 1, "invalid TOML: values nest too deeply")]) from None
    if pyproject:
        table = data.get("tool", {}).get("batchspec", {})
        prefix: tuple[str, ...] = ("tool", "batchspec")
    else:
        table = data
        prefix = ()
    return _Parser(text, path, prefix, root, tuple(extra_codes)).parse(table)


def _toml_error_position(message: str) -> tuple[int, int]:
    m = re.search(r"at line (\d+), column (\d+)", message)
    if m:
        return int(m.group(1)), int(m.group(2))
    return 1, 1


def _diag(
    path: str, line: int, col: int, message: str, hint: str | None = None, severity: Severity = Severity.ERROR
) -> Diagnostic:
    return Diagnostic(
        code=CONFIG_CODE,
        name=CONFIG_NAME,
        severity=severity,
        message=message,
        span=Span(path, Pos(line, col), Pos(line, col)),
        hint=hint,
    )


class _Parser:
    def __init__(
        self, text: str, path: str, prefix: tuple[str, ...], root: Path | None, extra: tuple[Any, ...] = ()
    ) -> None:
        self.extra = extra
        self.lines = text.splitlines()
        self.path = path
        self.prefix = prefix
        self.root = root
        self.errors: list[Diagnostic] = []
        self.warnings: list[Diagnostic] = []

    # --- positions: tomllib gives none for values, so find the key's line in its table by scanning the text
    def _locate(self, table: tuple[str, ...], key: str | None) -> tuple[int, int]:
        full = (*self.prefix, *table)
        current: tuple[str, ...] = ()
        header_line = 1
        found_table = not full
        for number, raw in enumerate(self.lines, start=1):
            line = raw.strip()
            if line.startswith("["):
                current = _header_parts(line)
                if current == full:
                    found_table = True
                    header_line = number
                    if key is None:
                        return number, 1
                continue
            if key is not None and current == full:
                m = re.match(r'\s*("([^"]*)"|\'([^\']*)\'|[A-Za-z0-9_\-]+)\s*=', raw)
                if m:
                    name = (
                        m.group(2)
                        if m.group(2) is not None
                        else m.group(3)
                        if m.group(3) is not None
                        else m.group(1)
                    )
                    if name == key:
                        return number, raw.index(m.group(1)) + 1
            # dotted or inline forms: "rules.x = {…}" or "per-file-ignores = {…}" inside the parent table
            if (
                key is not None
                and current == full[:-1]
                and full
                and re.match(rf"\s*{re.escape(full[-1])}\s*=", raw)
            ):
                return number, 1
        return (header_line if found_table else 1), 1

    def error(self, table: tuple[str, ...], key: str | None, message: str, hint: str | None = None) -> None:
        line, col = self._locate(table, key)
        self.errors.append(_diag(self.path, line, col, message, hint))

    def warn(self, table: tuple[str, ...], key: str | None, message: str, hint: str | None = None) -> None:
        line, col = self._locate(table, key)
        self.warnings.append(_diag(self.path, line, col, message, hint, Severity.WARNING))

    def parse(self, table: dict[str, Any]) -> LintConfig:
        from batchspec.lint.registry import find_rule, known_keys

        if not isinstance(table, dict):
            self.error((), None, "[tool.batchspec] must be a table")
            raise ConfigError(self.errors)
        keys = known_keys(self.extra)
        select = self._keys(table, "select", keys) if "select" in table else None
        extend = self._keys(table, "extend-select", keys) if "extend-select" in table else ()
        ignore = self._keys(table, "ignore", keys) if "ignore" in table else ()
        per_file: list[tuple[str, tuple[str, ...]]] = []
        pfi = table.get("per-file-ignores", {})
        if not isinstance(pfi, dict):
            self.error((), "per-file-ignores", "per-file-ignores must be a table of glob = [codes or names]")
        else:
            for pattern in pfi:
                per_file.append((pattern, self._keys(pfi, pattern, keys, table_path=("per-file-ignores",))))
        severities: list[tuple[str, Severity]] = []
        options: list[tuple[str, Any]] = []
        rules = table.get("rules", {})
        if not isinstance(rules, dict):
            self.error((), "rules", "rules must be a table of [tool.batchspec.rules.<rule>] sections")
            rules = {}
        for rule_key, settings in rules.items():
            self._rule_settings(rule_key, settings, severities, options, find_rule)
        for key in table:
            if key not in _KNOWN_KEYS and key not in _OTHER_AREA_KEYS:
                self.warn(
                    (),
                    key,
                    f'unknown key "{key}" in the batchspec configuration',
                    hint=(_suggest(key, _KNOWN_KEYS) or "expected one of " + ", ".join(_KNOWN_KEYS)),
                )
        if self.errors:
            raise ConfigError(self.errors)
        return LintConfig(
            path=self.path,
            root=self.root,
            select=select,
            extend_select=extend,
            ignore=ignore,
            per_file_ignores=tuple(per_file),
            severities=tuple(severities),
            options=tuple(options),
            diagnostics=tuple(self.warnings),
        )

    def _keys(
        self, table: dict[str, Any], key: str, known: set[str], table_path: tuple[str, ...] = ()
    ) -> tuple[str, ...]:
        value = table[key]
        if isinstance(value, str):
            value = [value]
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            self.error(table_path, key, f'"{key}" must be a list of codes or rule names')
            return ()
        out: list[str] = []
        for v in value:
            v = v.strip()
            if not v:
                continue
            if (
                v.upper() != "ALL"
                and not any(_matches(v, k, k) for k in known if _CODE_PREFIX.match(k))
                and not any(k.startswith(v.lower()) for k in known if not _CODE_PREFIX.match(k))
            ):
                self.error(
                    table_path, key, f'"{v}" in "{key}" matches no code or rule name', hint=_suggest(v, known)
                )
                continue
            out.append(v)
        return tuple(out)

    def _rule_settings(
        self, rule_key: str, settings: Any, severities: list, options: list, find_rule: Any
    ) -> None:
        from batchspec.lint.registry import every_code

        table = ("rules", rule_key)
        rule = find_rule(rule_key)
        code: str | None = rule.code if rule is not None else None
        if rule is None:
            for row in every_code(self.extra):
                if rule_key in (row.code, row.name):
                    code = row.code
                    break
        if code is None:
            self.error(
                table,
                None,
                f'unknown rule "{rule_key}"',
                hint=_suggest(
                    rule_key,
                    {r.name for r in every_code(self.extra)} | {r.code for r in every_code(self.extra)},
                ),
            )
            return
        if not isinstance(settings, dict):
            self.error(("rules",), rule_key, f'settings of "{rule_key}" must be a table')
            return
        given: dict[str, Any] = {}
        fields = {f.name: f for f in (rule.option_fields() if rule is not None else ())}
        hints = typing.get_type_hints(rule.Options) if rule is not None and rule.Options is not None else {}
        for key, value in settings.items():
            if key == "severity":
                if _UNFILTERABLE.match(code):
                    self.error(table, key, f"the severity of {code} cannot be changed")
                    continue
                try:
                    severities.append((code, Severity.parse(str(value))))
                except ValueError:
                    self.error(table, key, f'severity must be "error", "warning" or "info", not "{value}"')
                continue
            attr = key.replace("-", "_")
            if attr not in fields:
                expected = ", ".join(["severity", *(f.replace("_", "-") for f in fields)])
                self.error(
                    table,
                    key,
                    f'unknown option "{key}" for rule "{rule_key}"',
                    hint=f"expected one of {expected}",
                )
                continue
            converted, problem = _convert(value, hints.get(attr, Any))
            if not problem:
                problem = _out_of_range(converted, fields[attr].metadata)
            if problem:
                self.error(table, key, f'option "{key}" of "{rule_key}" {problem}')
                continue
            given[attr] = converted
        if given and rule is not None and rule.Options is not None:
            try:
                options.append((code, dataclasses.replace(rule.default_options(), **given)))
            except (TypeError, ValueError) as exc:
                self.error(table, None, f'invalid options for "{rule_key}": {exc}')


def _header_parts(line: str) -> tuple[str, ...]:
    inner = line.strip().lstrip("[").split("]")[0]
    parts = re.findall(r'"([^"]*)"|\'([^\']*)\'|([^.\s]+)', inner)
    return tuple(a or b or c for a, b, c in parts)


def _out_of_range(value: Any, metadata: Any) -> str | None:
    """Options may declare ``metadata={"min": …, "max": …}``: a negative node cap or a 150% threshold is a
    configuration mistake, not something to lint with."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    low, high = metadata.get("min"), metadata.get("max")
    if low is not None and value < low:
        return f"must be at least {low:g}, not {value:g}"
    if high is not None and value > high:
        return f"must be at most {high:g}, not {value:g}"
    return None


def _convert(value: Any, hint: Any) -> tuple[Any, str | None]:
    """Check a TOML value against an Options field's type; (converted value, problem or None)."""
    origin = typing.get_origin(hint)
    args = typing.get_args(hint)
    if hint is Any:
        return value, None
    if origin is typing.Union or origin is types.UnionType:  # "int | None"
        if value is None:
            return None, None
        non_none = [a for a in args if a is not type(None)]
        return _convert(value, non_none[0]) if non_none else (value, None)
    if hint is bool:
        return (value, None) if isinstance(value, bool) else (None, "must be true or false")
    if hint is int:
        if isinstance(value, bool) or not isinstance(value, int):
            return None, "must be an integer"
        return value, None
    if hint is float:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            return None, "must be a number"
        return float(value), None
    if hint is str:
        return (value, None) if isinstance(value, str) else (None, "must be a string")
    if origin is tuple:
        if not isinstance(value, list):
            return None, "must be a list"
        inner = args[0] if args else Any
        out = []
        for item in value:
            conv, problem = _convert(item, inner)
            if problem:
                return None, "items " + problem
            out.append(conv)
        return tuple(out), None
    return value, None


def _suggest(word: str, candidates: Iterable[str]) -> str | None:
    import difflib

    if re.fullmatch(r"[A-Za-z]{2}\d{3}", word):  # FM999 -> "FM219" would be a guess, not a correction
        return "batchspec rules lists every code"
    close = difflib.get_close_matches(word, sorted(candidates), n=1, cutoff=0.6)
    return f'did you mean "{close[0]}"?' if close else None


def config_for_path(
    path: str, cache: dict[Path, LintConfig] | None = None, extra_codes: Iterable[Any] = ()
) -> LintConfig:
    """The configuration for a checked file (``-`` means stdin: the current folder's configuration)."""
    start = Path.cwd() if path in ("", "-") else Path(path)
    found = find_config_file(start)
    if found is None:
        return LintConfig()
    if cache is not None and found in cache:
        return cache[found]
    cfg = load_config_file(found, extra_codes=extra_codes)
    if cache is not None:
        cache[found] = cfg
    return cfg


__all__ = [
    "ConfigError",
    "LintConfig",
    "apply_config",
    "config_for_path",
    "find_config_file",
    "load_config",
    "load_config_file",
    "parse_config",
]
