"""Start and stop Azurite (the Azure Storage emulator) for blob storage in local mode and tests.

The binary is found through ``BATCHSPEC_AZURITE``, then ``<repo>/.tools/azurite/node_modules/.bin/azurite``, then
``PATH``; the blob-only ``azurite-blob`` next to it is preferred (it starts faster and opens one port). Azurite runs as
the leader of its own process group on a free loopback port, in memory, with ``--skipApiVersionCheck`` (the pinned
azure-storage-blob sends a newer x-ms-version than Azurite knows); ``stop()`` kills the whole group, so no ``node``
child is left holding the port.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

from batchspec.errors import BatchspecError

ENV_VAR = "BATCHSPEC_AZURITE"
ACCOUNT_NAME = "devstoreaccount1"
# Azurite's well-known development key (public; documented by Microsoft)
ACCOUNT_KEY = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="
REPO_BINARY = Path(__file__).resolve().parents[2] / ".tools" / "azurite" / "node_modules" / ".bin" / "azurite"


@dataclass
class Azurite:
    process: subprocess.Popen
    port: int
    workdir: Path

    account_name: str = ACCOUNT_NAME
    account_key: str = ACCOUNT_KEY

    @property
    def blob_endpoint(self) -> str:
        return f"http://127.0.0.1:{self.port}/{self.account_name}"

    @property
    def connection_string(self) -> str:
        return (
            f"DefaultEndpointsProtocol=http;AccountName={self.account_name};AccountKey={self.account_key};"
            f"BlobEndpoint={self.blob_endpoint};"
        )

    def stop(self) -> None:
        if self.process.poll() is None:
            try:
                os.killpg(self.process.pid, signal.SIGTERM)
            except ProcessLookupError:
                pass
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(timeout=10)
        else:  # the leader is gone; children may not be
            try:
                os.killpg(self.process.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass

    def __enter__(self) -> Azurite:
        return self

    def __exit__(self, *exc) -> None:
        self.stop()


def find_azurite() -> Path:
    """The Azurite executable to run (blob-only variant when there is one)."""
    candidates: list[Path] = []
    configured = os.environ.get(ENV_VAR)
    if configured:
        candidates.append(Path(configured))
    else:
        candidates.append(REPO_BINARY)
        on_path = shutil.which("azurite-blob") or shutil.which("azurite")
        if on_path:
            candidates.append(Path(on_path))
    for path in candidates:
        blob_only = path.with_name("azurite-blob") if path.name == "azurite" else path
        for choice in (blob_only, path):
            if choice.is_file() and os.access(choice, os.X_OK):
                return choice
        if configured:
            raise BatchspecError(f"{ENV_VAR} is set to {configured}, which is not an executable file")
    raise BatchspecError(
        "Azurite (the Azure Storage emulator) was not found: set BATCHSPEC_AZURITE to its executable, run "
        "scripts/bootstrap (installs it under .tools/azurite), or `npm install -g azurite`"
    )


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_azurite(workdir: Path, timeout: float = 30.0) -> Azurite:
    """Start Azurite's blob service on a free 127.0.0.1 port and wait until it accepts connections."""
    binary = find_azurite()
    workdir = Path(workdir)
    workdir.mkdir(parents=True, exist_ok=True)
    last_error = ""
    for _ in range(3):  # a free port can be taken between probing and binding: try again
        port = _free_port()
        args = [
            str(binary),
            "--blobHost",
            "127.0.0.1",
            "--blobPort",
            str(port),
            "--inMemoryPersistence",
            "--loose",
            "--skipApiVersionCheck",
            "--silent",
        ]
        if binary.name == "azurite":  # the full emulator also opens queue and table ports
            args += [
                "--queueHost",
                "127.0.0.1",
                "--queuePort",
                str(_free_port()),
                "--tableHost",
                "127.0.0.1",
                "--tablePort",
                str(_free_port()),
            ]
        log = open(workdir / "azurite.log", "wb")  # noqa: SIM115 (closed below / owned by the child)
        try:
            proc = subprocess.Popen(
                args,
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                start_new_session=True,
                cwd=str(workdir),
            )
        except OSError as exc:
            log.close()
            raise BatchspecError(f"cannot start Azurite ({binary}): {exc.strerror or exc}") from None
        log.close()
        azurite = Azurite(proc, port, workdir)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                return azurite
            except OSError:
                if proc.poll() is not None:
                    break
                time.sleep(0.05)
        azurite.stop()
        last_error = (workdir / "azurite.log").read_text(errors="replace")[-500:].strip()
        if proc.returncode is None:
            raise BatchspecError(f"Azurite did not open port {port} within {timeout:g} s")
    raise BatchspecError(f"Azurite exited at start: {last_error or 'no output'}")
