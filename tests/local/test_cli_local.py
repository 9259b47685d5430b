"""``batchspec local serve``: connection details, clean shutdown, clear errors."""

from __future__ import annotations

import json
import os
import signal
import stat
import subprocess
import sys

import pytest

from batchspec.cli.main import main

from .conftest import make_clients


def test_serve_prints_details_and_stops_cleanly_on_sigterm(tmp_path):
    state = tmp_path / "state"
    env = {k: v for k, v in os.environ.items() if k != "BATCHSPEC_LOCAL_FAULTS"}
    env["BATCHSPEC_LOCAL_STATE_DIR"] = str(state)  # the default state dir, shared with `batchspec apply`
    proc = subprocess.Popen(
        [sys.executable, "-m", "batchspec", "local", "serve"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    try:
        lines = []
        while not lines or lines[-1].rstrip() != "}":
            line = proc.stdout.readline()
            assert line, proc.stderr.read()
            lines.append(line)
        details = json.loads("".join(lines))
        assert details["management_url"].startswith("https://127.0.0.1:")
        assert json.loads((state / "connection.json").read_text()) == details
        assert stat.S_IMODE((state / "connection.env").stat().st_mode) == 0o600
        sourced = subprocess.run(
            ["/bin/sh", "-c", f'set -a; . "{state}/connection.env"; echo "$BATCHSPEC_LOCAL_BATCH_URL"'],
            capture_output=True,
            text=True,
            check=True,
        )
        assert sourced.stdout.strip() == details["batch_url"]
        from batchspec.local.service import LocalConnection

        conn = LocalConnection(**details)
        _, arm, _ = make_clients(conn)
        assert arm.batch_account.get(conn.resource_group, conn.account_name).name == conn.account_name
    finally:
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=20)
    assert proc.returncode == 0, err
    assert "local Batch service stopped" in err
    assert not (state / "connection.json").exists()


@pytest.mark.parametrize(
    "argv, message",
    [
        (["--time-scale", "0"], "--time-scale must be positive"),
        (["--port", "70000"], "--port must be from 0 to 65535"),
        (["--allocation-delay", "-1"], "--allocation-delay must not be negative"),
    ],
)
def test_bad_arguments_exit_2(tmp_path, capsys, argv, message):
    assert main(["local", "serve", "--state-dir", str(tmp_path / "s"), *argv]) == 2
    assert message in capsys.readouterr().err


def test_bad_fault_spec_and_unusable_state_dir_exit_2(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("BATCHSPEC_LOCAL_FAULTS", "429=lots")
    assert main(["local", "serve", "--state-dir", str(tmp_path / "s")]) == 2
    assert 'BATCHSPEC_LOCAL_FAULTS: "429" expects a probability' in capsys.readouterr().err
    monkeypatch.delenv("BATCHSPEC_LOCAL_FAULTS")
    blocker = tmp_path / "file"
    blocker.write_text("x")
    assert main(["local", "serve", "--state-dir", str(blocker)]) == 2
    assert "cannot use state directory" in capsys.readouterr().err


def test_local_without_subcommand_shows_help(capsys):
    assert main(["local"]) == 2
    assert "serve" in capsys.readouterr().err


def test_connection_env_survives_shell_sourcing_with_a_storage_string(tmp_path, service):
    from batchspec.cli.local import write_connection_files

    storage = "DefaultEndpointsProtocol=http;AccountName=dev;AccountKey=a+b/c==;BlobEndpoint=http://127.0.0.1:1/dev;"
    _, env_path = write_connection_files(tmp_path, service.connection, storage)
    out = subprocess.run(
        ["/bin/sh", "-c", f'set -a; . "{env_path}"; echo "$AZURE_STORAGE_CONNECTION_STRING"'],
        capture_output=True,
        text=True,
        check=True,
    )
    assert out.stdout.strip() == storage


def test_idle_connections_are_bounded(tmp_path, monkeypatch):
    import socket

    from batchspec.local import service as service_mod

    from .conftest import checked_service, wait_for
    from .test_dataplane import raw_request

    monkeypatch.setattr(service_mod, "MAX_CONNECTIONS", 3)
    with checked_service(tmp_path / "s") as svc:
        idle = [socket.create_connection(("127.0.0.1", svc.port)) for _ in range(3)]
        wait_for(lambda: len(svc._server.open_sockets) == 3, timeout=5, interval=0.01)
        extra = socket.create_connection(("127.0.0.1", svc.port))
        extra.settimeout(5)
        assert extra.recv(1) == b""  # closed at once: no thread is spent on it
        extra.close()
        for sock in idle:
            sock.close()
        wait_for(lambda: not svc._server.open_sockets, timeout=5, interval=0.01)
        assert raw_request(svc, "GET", "/jobs")[0] == 200


def test_serve_with_azurite_adds_storage_and_stops_it(tmp_path):
    from azure.storage.blob import BlobServiceClient

    state = tmp_path / "state"
    env = {k: v for k, v in os.environ.items() if k != "BATCHSPEC_LOCAL_FAULTS"}
    proc = subprocess.Popen(
        [sys.executable, "-m", "batchspec", "local", "serve", "--azurite", "--state-dir", str(state)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    try:
        lines = []
        while not lines or lines[-1].rstrip() != "}":
            line = proc.stdout.readline()
            assert line, proc.stderr.read()
            lines.append(line)
        details = json.loads("".join(lines))
        blobs = BlobServiceClient.from_connection_string(details["storage_connection_string"])
        blobs.create_container("probe").upload_blob("x", b"1")
        port = int(details["storage_connection_string"].split("127.0.0.1:")[1].split("/")[0])
    finally:
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=20)
    assert proc.returncode == 0, err
    import socket

    with pytest.raises(OSError):
        socket.create_connection(("127.0.0.1", port), timeout=1).close()


def test_busy_port_is_a_clear_error(tmp_path, capsys, service):
    assert main(["local", "serve", "--state-dir", str(tmp_path / "s"), "--port", str(service.port)]) == 2
    assert f"cannot listen on 127.0.0.1:{service.port}" in capsys.readouterr().err


def test_serve_started_in_the_background_stops_on_sigint(tmp_path):
    # `batchspec local serve &` in a script: the shell starts it with SIGINT ignored; Ctrl-C semantics must still work
    state = tmp_path / "state"
    env = {k: v for k, v in os.environ.items() if k != "BATCHSPEC_LOCAL_FAULTS"}
    proc = subprocess.Popen(
        [sys.executable, "-m", "batchspec", "local", "serve", "--state-dir", str(state), "--format", "env"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_IGN),
    )
    try:
        assert proc.stdout.readline().startswith("export "), proc.stderr.read()
        assert (state / "connection.env").is_file()
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=20)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == 0, err
    assert "local Batch service stopped" in err and "Traceback" not in err
    assert not (state / "connection.env").exists()


def test_docs_list_every_variable_of_connection_env():
    """docs/local-service.md tells users what `connection.env` sets; keep that table equal to what is written."""
    import re
    from pathlib import Path

    from batchspec.cli.local import connection_details
    from batchspec.local.service import LocalConnection

    conn = LocalConnection(**{f: "x" for f in LocalConnection.__dataclass_fields__})
    _, env = connection_details(conn, "UseDevelopmentStorage=true")
    doc = (Path(__file__).resolve().parents[2] / "docs" / "local-service.md").read_text()
    table = doc.split("`connection.env` sets:", 1)[1].split("\n\n", 2)[1]
    documented = set(re.findall(r"`([A-Z][A-Z_]+)`", table))
    assert documented == set(env)


@pytest.mark.parametrize("hup_ignored", [False, True], ids=["terminal-closed", "nohup"])
def test_serve_and_its_azurite_stop_on_sighup_unless_nohup(tmp_path, hup_ignored):
    state = tmp_path / "state"
    env = {k: v for k, v in os.environ.items() if k != "BATCHSPEC_LOCAL_FAULTS"}
    proc = subprocess.Popen(
        [sys.executable, "-m", "batchspec", "local", "serve", "--state-dir", str(state), "--azurite"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
        preexec_fn=(lambda: signal.signal(signal.SIGHUP, signal.SIG_IGN)) if hup_ignored else None,
    )
    try:
        lines = []
        while not lines or lines[-1].rstrip() != "}":
            line = proc.stdout.readline()
            assert line, proc.stderr.read()
            lines.append(line)
        port = json.loads("".join(lines))["storage_connection_string"].split("127.0.0.1:")[1].split("/")[0]
        proc.send_signal(signal.SIGHUP)
        if hup_ignored:
            with pytest.raises(subprocess.TimeoutExpired):
                proc.wait(timeout=1)
            assert (state / "connection.json").exists()
            proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=20)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == 0, err
    assert "local Batch service stopped" in err
    assert not (state / "connection.json").exists()
    import socket

    with socket.socket() as sock:  # Azurite stopped with it: its port is free
        assert sock.connect_ex(("127.0.0.1", int(port))) != 0
