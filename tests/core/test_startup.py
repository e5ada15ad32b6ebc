"""The real process: `uvicorn main:app` migrates an empty database, serves, and stops cleanly."""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
from alembic.migration import MigrationContext
from sqlalchemy import Engine

from tests.support.http import free_port

ROOT = Path(__file__).resolve().parents[2]


def start_server(database_url: str, port: int, tmp_path: Path, **extra: str) -> subprocess.Popen:
    env = {
        "PATH": os.environ.get("PATH", ""),
        "ENVIRONMENT": "development",
        "DATABASE_URL": database_url,
        "MEDIA_ROOT": str(tmp_path / "media"),
        "SCHEDULER_ENABLED": "true",
        "LOG_LEVEL": "INFO",
        **extra,
    }
    return subprocess.Popen(
        [
            sys.executable,
            "-m",
            "uvicorn",
            "main:app",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--timeout-graceful-shutdown",
            "10",
        ],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


def wait_until_up(url: str, process: subprocess.Popen, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(
                f"server exited: {process.stdout.read() if process.stdout else ''}"
            )
        try:
            if httpx.get(url + "/health", timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            time.sleep(0.2)
    raise AssertionError("server did not come up")


def test_process_migrates_serves_docs_and_stops_gracefully(
    empty_engine: Engine, tmp_path: Path
) -> None:
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    database_url = empty_engine.url.render_as_string(hide_password=False)
    process = start_server(database_url, port, tmp_path)
    try:
        wait_until_up(url, process)
        assert httpx.get(url + "/docs").status_code == 200
        assert httpx.get(url + "/health").json()["status"] == "ok"
        sent = httpx.post(url + "/auth/send-otp", json={"phone": "9876543210"})
        assert sent.status_code == 200
        with empty_engine.connect() as connection:
            assert MigrationContext.configure(connection).get_current_heads()
    finally:
        process.send_signal(signal.SIGINT)
        output, _ = process.communicate(timeout=30)
    assert process.returncode == 0, output
    assert "stopped" in output
    assert "Traceback" not in output
