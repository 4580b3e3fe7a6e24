"""`branchbot sandbox` as a command: it starts quickly on a fresh folder, says where it is,
stops on Ctrl+C, and a second one on the same folder is refused in one line."""

from __future__ import annotations

import json
import re
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

STARTS_WITHIN = 15.0  # seconds, on a fresh data folder, once installed (the promise)


def start(folder: Path) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "bot", "sandbox", "--data", str(folder), "--port", "0"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def test_starts_on_a_fresh_folder_says_where_and_stops_on_ctrl_c(tmp_path: Path) -> None:
    began = time.monotonic()
    process = start(tmp_path / "fresh")
    try:
        assert process.stdout is not None
        line = process.stdout.readline()
        address = re.search(r"open (http://127\.0\.0\.1:\d+) in a browser", line)
        assert address, line + (process.stderr.read() if process.poll() is not None else "")
        with urllib.request.urlopen(f"{address[1]}/api/state", timeout=5) as answer:
            state = json.load(answer)
        took = time.monotonic() - began
        assert len(state["people"]) >= 5
        assert took < STARTS_WITHIN, f"took {took:.1f} s"
        assert "loopback" in line

        second = subprocess.run(
            [sys.executable, "-m", "bot", "sandbox", "--data", str(tmp_path / "fresh")],
            capture_output=True,
            text=True,
            timeout=30,
        )
        assert second.returncode == 2
        assert second.stderr.strip().count("\n") == 0  # one line, no traceback
        assert f"another sandbox (pid {process.pid}) is using" in second.stderr
    finally:
        process.send_signal(signal.SIGINT)
        status = process.wait(timeout=20)
        process.stdout.close()  # type: ignore[union-attr]
        process.stderr.close()  # type: ignore[union-attr]
    assert status == 0
    assert (tmp_path / "fresh" / "world.pickle").exists()  # saved on the way out


def test_a_bad_port_is_refused_by_the_command_line(tmp_path: Path) -> None:
    refused = subprocess.run(
        [sys.executable, "-m", "bot", "sandbox", "--data", str(tmp_path), "--port", "99999"],
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert refused.returncode == 2
    assert "'99999' is not a port number (0-65535)" in refused.stderr
