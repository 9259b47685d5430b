"""What ``batchspec validate`` needs from the linter per file: the configuration and ``--fix``.

``LintSettings`` resolves the configuration of each checked file (walking up from it, or one ``--config`` file
for all), applies the command-line ``--select``/``--ignore`` on top, and caches per configuration file. It is the
one place of the linter that writes files (``--fix``); the rest of ``batchspec.lint`` only reads.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from batchspec.diagnostics.model import Diagnostic
from batchspec.errors import BatchspecError
from batchspec.lint.config import LintConfig, find_config_file, load_config_file
from batchspec.lint.fix import fix_formula


@dataclass
class LintSettings:
    select: tuple[str, ...] = ()
    ignore: tuple[str, ...] = ()
    config_file: Path | None = None
    fix: bool = False
    _cache: dict[Path | None, LintConfig] = field(default_factory=dict)
    # a callable returning extra CodeInfo rows (SPEC's rules), called only when a config file is loaded, so config
    # keys naming them are accepted; the CLI passes it because lint itself must not import spec
    extra_codes: Callable[[], Iterable[Any]] | None = None
    _extra: list[Any] | None = None
    fixed_files: list[str] = field(default_factory=list)

    @classmethod
    def from_args(
        cls, args: argparse.Namespace, extra_codes: Callable[[], Iterable[Any]] | None = None
    ) -> LintSettings:
        config_file = getattr(args, "config", None)
        settings = cls(
            select=tuple(getattr(args, "select", None) or ()),
            ignore=tuple(getattr(args, "ignore", None) or ()),
            config_file=Path(config_file) if config_file else None,
            fix=bool(getattr(args, "fix", False)),
            extra_codes=extra_codes,
        )
        if settings.config_file is not None and not settings.config_file.is_file():
            raise BatchspecError(f'cannot read the configuration "{config_file}": no such file')
        return settings

    def _extra_codes(self) -> list[Any]:
        if self._extra is None:
            self._extra = list(self.extra_codes()) if self.extra_codes is not None else []
        return self._extra

    def for_path(self, path: str) -> LintConfig:
        if self.config_file is not None:
            found: Path | None = self.config_file
        else:
            found = find_config_file(Path.cwd() if path in ("", "-") else Path(path))
        if found not in self._cache:
            base = LintConfig() if found is None else load_config_file(found, extra_codes=self._extra_codes())
            for (
                d
            ) in base.diagnostics:  # warnings about the file itself (unknown keys): once per file, on stderr
                print(
                    f"{d.span.path}:{d.span.start.line}:{d.span.start.col}: {d.severity.label}[{d.code}] {d.message}"
                    + (f" (hint: {d.hint})" if d.hint else ""),
                    file=sys.stderr,
                )
            self._cache[found] = base.with_overrides(select=self.select or None, ignore=self.ignore or None)
        return self._cache[found]

    def fix_file(
        self, fs_path: Path, display: str, text: str, config: LintConfig
    ) -> tuple[str, list[Diagnostic]]:
        """Apply the fixes to one formula file and write it back when it changed; (new text, what remains)."""
        result = fix_formula(text, display, config)
        if result.applied and result.text != text:
            try:
                # keep the file's line endings: the fixer works on the text as read
                fs_path.write_bytes(result.text.encode("utf-8"))
            except OSError as exc:
                raise BatchspecError(f'cannot write "{display}": {exc.strerror or exc}') from None
            self.fixed_files.append(display)
            print(
                f"fixed {result.applied} problem{'s' if result.applied != 1 else ''} in {display}",
                file=sys.stderr,
            )
        return result.text, result.diagnostics
