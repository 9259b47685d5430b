"""``batchspec import POOL.json -o DIR``: an existing pool definition -> a batchspec project."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from batchspec.errors import BatchspecError


def register(sub: Any) -> None:
    p = sub.add_parser(
        "import",
        help="turn a pool JSON (ARM body, data-plane body, az batch pool show output) into a spec",
        description="Write DIR/batchspec.yaml, DIR/autoscale.formula and DIR/start-task.sh from POOL: a "
        "management-plane body (ARM/Bicep, REST), an ARM template, a data-plane body (az batch pool create "
        "--json-file) or az batch pool show output. `batchspec render --pool DIR` gives a management-plane "
        "source back (add --plane data for a data-plane one); what the spec cannot express is kept verbatim "
        "and listed on stderr.",
    )
    p.add_argument("source", metavar="POOL", help="pool JSON (or YAML) file, or - for stdin")
    p.add_argument("-o", "--output", metavar="DIR", required=True, help="folder to write the project into")
    p.add_argument("--force", action="store_true", help="overwrite files that already exist in DIR")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from batchspec.cli.render import print_diagnostics
    from batchspec.spec.extract import read_text
    from batchspec.spec.importer import import_pool
    from batchspec.spec.loader import DocumentError, load_text

    if args.source == "-":
        text, name = sys.stdin.read(), "stdin.json"
        path = "-"
    else:
        text = read_text(Path(args.source))
        path, name = args.source, Path(args.source).name
    try:
        doc = load_text(path, text, kind="json" if not path.lower().endswith((".yaml", ".yml")) else "yaml")
    except DocumentError as exc:
        print_diagnostics(exc.diagnostics)
        return 2
    result = import_pool(doc, source_name=name)
    out = Path(args.output)
    clashes = [n for n in result.files if (out / n).exists()]
    if clashes and not args.force:
        raise BatchspecError(f"{out}: would overwrite {', '.join(clashes)}; use --force or another folder")
    try:
        out.mkdir(parents=True, exist_ok=True)
        for n, content in result.files.items():
            (out / n).write_text(content, encoding="utf-8", newline="")  # no newline translation, on any OS
    except OSError as exc:
        raise BatchspecError(f"{out}: cannot write ({exc.strerror})") from None
    for n in result.files:
        print(f"wrote {(out / n).as_posix()}", file=sys.stderr)
    for note in result.notes:
        print(f"note: {note}", file=sys.stderr)
    print(f"check it with: batchspec validate {out.as_posix()}", file=sys.stderr)
    return 0
