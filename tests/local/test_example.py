"""The done-when script: examples/sdk-script/run.py end to end against the local service and Azurite."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from batchspec.cli.local import write_connection_files

SCRIPT = Path(__file__).resolve().parents[2] / "examples" / "sdk-script" / "run.py"


def test_sdk_script_runs_end_to_end(service, azurite, tmp_path):
    source = SCRIPT.read_text()
    assert "batchspec" not in "".join(
        line for line in source.splitlines() if line.startswith(("import", "from"))
    )
    json_path, _ = write_connection_files(tmp_path, service.connection, azurite.connection_string)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AZURE_", "BATCHSPEC_"))}
    env.update(BATCHSPEC_LOCAL_CONNECTION=str(json_path), SDK_SCRIPT_TIMEOUT="90")
    proc = subprocess.run([sys.executable, str(SCRIPT)], env=env, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr[-3000:]
    summary = json.loads(proc.stdout.strip().splitlines()[-1])
    assert summary["succeeded"] == 200 and summary["failed"] == 0 and summary["outputs_checked"] == 200
    assert summary["max_nodes"] > 1, "autoscale should have grown the pool beyond its starting node"
    assert "$TargetDedicatedNodes=" in summary["autoscale_results"]
