"""Output downloads must stay inside their destination folder, whatever blob names a task (or anyone with
write access to the container) leaves behind. The store here is an in-memory BlobStore: the guard under test
is batchspec's own path handling in ``apply.staging.download_outputs``; the transfer through
azure-storage-blob is tested against Azurite in tests/apply and tests/local.
"""

from __future__ import annotations

import os
from pathlib import Path

from batchspec.apply.staging import download_outputs
from batchspec.spec.project import OutputSpec


class MemoryStore:
    def __init__(self, blobs: dict[str, bytes]) -> None:
        self.blobs = blobs

    def list_blobs(self, container: str, prefix: str) -> list[str]:
        return [name for name in self.blobs if name.startswith(prefix)]

    def download_blob(self, container: str, blob: str, dest: Path) -> None:
        dest.write_bytes(self.blobs[blob])


HOSTILE_NAMES = [
    "../escape.txt",
    "../../escape.txt",
    "run/../../escape.txt",
    "/tmp/absolute-escape.txt",
    "link/escape.txt",  # through a symlink in the destination that points outside
]


def _files_under(root: Path) -> set[str]:
    return {p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file() and not p.is_symlink()}


def test_blob_names_cannot_climb_out_of_the_destination(tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    dest = tmp_path / "work" / "results"
    dest.mkdir(parents=True)
    os.symlink(outside, dest / "link")
    blobs = {name: b"evil" for name in HOSTILE_NAMES}
    blobs["run/ok.txt"] = b"ok"
    blobs["top.txt"] = b"top"
    before = _files_under(tmp_path)
    written = download_outputs(MemoryStore(blobs), [OutputSpec("j", "outputs", "", dest)])
    assert sorted(p.relative_to(dest.resolve()).as_posix() for p in written) == ["run/ok.txt", "top.txt"]
    assert _files_under(tmp_path) - before == {"work/results/run/ok.txt", "work/results/top.txt"}
    assert not Path("/tmp/absolute-escape.txt").exists() or Path("/tmp/absolute-escape.txt").read_bytes() != b"evil"
    assert list(outside.iterdir()) == []


def test_a_prefix_does_not_help_a_name_escape(tmp_path: Path) -> None:
    dest = tmp_path / "results"
    dest.mkdir()
    blobs = {"job/../../escape.txt": b"evil", "job/a/b.txt": b"ok", "job//double.txt": b"ok"}
    written = download_outputs(MemoryStore(blobs), [OutputSpec("j", "outputs", "job/", dest)])
    assert sorted(p.relative_to(dest.resolve()).as_posix() for p in written) == ["a/b.txt", "double.txt"]
    assert not (tmp_path / "escape.txt").exists()
