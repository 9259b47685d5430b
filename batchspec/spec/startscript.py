"""Compile a multi-line start-task (or task) script into the ONE command line Batch runs without a shell.

The Batch node agent splits a command line into words itself (no shell: no ``&&``, no ``$VAR``), so a script has
to be handed to a shell as one argument: ``/bin/bash -c '<script>'``. The quoting here is POSIX word splitting
(what ``shlex.split`` does), so ``shlex.split(compile_command(script, ...)) == [shell, "-c", body]`` for every
script, including quotes, backslashes, ``$``, newlines and non-ASCII text. Nextflow lost user commands twice by
escaping this by hand (nextflow-io/nextflow#6300, #6863); here the round trip is property-tested.

Two quoting styles exist so that imported command lines come back byte for byte:
* ``single`` (default): ``'...'`` with each ``'`` written as ``'\\''``; nothing inside is special;
* ``double``: ``"..."`` with ``\\`` and ``"`` escaped by a backslash (the style the seed pool uses).
"""

from __future__ import annotations

import shlex
from dataclasses import dataclass

STRICT_PRELUDE = "set -euo pipefail"
QUOTE_STYLES = ("single", "double")


@dataclass(frozen=True)
class ScriptOptions:
    shell: str = "/bin/bash"
    strict: bool = True  # prepend "set -euo pipefail"
    quote: str = "single"
    join_with: str | None = None  # e.g. " && ": the script's lines are steps joined into one line


def script_body(script: str, options: ScriptOptions) -> str:
    """The text the shell receives after ``-c``."""
    if options.join_with is not None:
        steps = [ln for ln in script.split("\n") if ln.strip() and not ln.lstrip().startswith("#")]
        body = options.join_with.join(steps)
        if options.strict:
            body = STRICT_PRELUDE + options.join_with + body if body else STRICT_PRELUDE
        return body
    body = script[:-1] if script.endswith("\n") else script
    if options.strict:
        body = STRICT_PRELUDE + "\n" + body
    return body


def quote(body: str, style: str = "single") -> str:
    if style == "single":
        return "'" + body.replace("'", "'\\''") + "'"
    if style == "double":
        return '"' + body.replace("\\", "\\\\").replace('"', '\\"') + '"'
    raise ValueError(f'unknown quote style "{style}"; expected single or double')


def shell_words(shell: str) -> str:
    """The shell part of the command line; quoted only when it needs to be."""
    return shell if all(shlex.quote(w) == w for w in shell.split()) else shlex.quote(shell)


def compile_command(script: str, options: ScriptOptions | None = None) -> str:
    options = options or ScriptOptions()
    return f"{shell_words(options.shell)} -c {quote(script_body(script, options), options.quote)}"


def split_command(command_line: str) -> tuple[str, str] | None:
    """``/bin/bash -c '<body>'`` -> (shell, body); None when the command line is not a single shell -c call."""
    try:
        words = shlex.split(command_line)
    except ValueError:
        return None
    if len(words) == 3 and words[1] == "-c" and words[0].rsplit("/", 1)[-1] in ("bash", "sh", "dash", "zsh"):
        return words[0], words[2]
    return None


def decompile(command_line: str) -> tuple[str, ScriptOptions] | None:
    """A script and options that compile back to exactly ``command_line``, or None.

    Tries the plain script first (one step per line is kept as written), then the `` && ``-chain view (each step
    of a one-line ``a && b && c`` chain on its own line), each with both quote styles; only a form whose
    compilation reproduces the input byte for byte is returned.
    """
    split = split_command(command_line)
    if split is None:
        return None
    shell, body = split
    candidates: list[tuple[str, ScriptOptions]] = []
    strict = body.startswith(STRICT_PRELUDE + "\n")
    plain = body[len(STRICT_PRELUDE) + 1 :] if strict else body
    if " && " in body and "\n" not in body:
        steps = body.split(" && ")
        if all(s.strip() and not s.lstrip().startswith("#") and s == s.strip() for s in steps):
            for style in QUOTE_STYLES:
                candidates.append(("\n".join(steps) + "\n", ScriptOptions(shell, False, style, " && ")))
    for style in QUOTE_STYLES:
        candidates.append((plain + "\n", ScriptOptions(shell, strict, style)))
    for script, opts in candidates:
        if compile_command(script, opts) == command_line:
            return script, opts
    return None


def split_words_with_offsets(command_line: str) -> list[tuple[str, list[int]]] | None:
    """POSIX word splitting (like ``shlex.split``) that also returns, for each character of each word, its offset
    in ``command_line`` (plus one trailing offset for the end). None when quotes are unbalanced."""
    out: list[tuple[str, list[int]]] = []
    chars: list[str] = []
    offs: list[int] = []
    in_word = False
    i, n = 0, len(command_line)
    quote: str | None = None
    while i < n:
        c = command_line[i]
        if quote == "'":
            if c == "'":
                quote = None
            else:
                chars.append(c)
                offs.append(i)
            i += 1
            continue
        if quote == '"':
            if c == '"':
                quote = None
                i += 1
            elif c == "\\" and i + 1 < n and command_line[i + 1] in '"\\':
                chars.append(command_line[i + 1])
                offs.append(i + 1)
                i += 2
            else:
                chars.append(c)
                offs.append(i)
                i += 1
            continue
        if c in " \t\r\n":
            if in_word:
                out.append(("".join(chars), [*offs, i]))
                chars, offs, in_word = [], [], False
            i += 1
            continue
        in_word = True
        if c in "'\"":
            quote = c
            i += 1
        elif c == "\\" and i + 1 < n:
            chars.append(command_line[i + 1])
            offs.append(i + 1)
            i += 2
        else:
            chars.append(c)
            offs.append(i)
            i += 1
    if quote is not None:
        return None
    if in_word:
        out.append(("".join(chars), [*offs, n]))
    return out


def split_command_with_offsets(command_line: str) -> tuple[str, str, list[int]] | None:
    """Like ``split_command`` plus the offset in ``command_line`` of every body character (and of its end)."""
    words = split_words_with_offsets(command_line)
    if words is None or len(words) != 3 or words[1][0] != "-c":
        return None
    shell = words[0][0]
    if shell.rsplit("/", 1)[-1] not in ("bash", "sh", "dash", "zsh"):
        return None
    return shell, words[2][0], words[2][1]
