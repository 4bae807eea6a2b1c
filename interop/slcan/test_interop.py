#!/usr/bin/env python3
"""Interop: python-can's `slcan` interface against voltwire-slcan, both directions.

python-can 4.6.1 (`can.Bus(interface="slcan", ...)`) opens one end of a socat pty pair; the
other end is driven by `crates/slcan/examples/slcan_echo.rs`, which decodes the host's
commands with voltwire's `AdapterDecoder` and answers with voltwire-encoded lines:

- adapter -> host: after the open sequence it sends three known frames (standard data,
  extended data, standard remote); python-can must decode them exactly;
- host -> adapter: every frame python-can sends comes back with the id + 1, so the frame
  survived python-can's encoder, our decoder, our encoder and python-can's decoder.

Run: `python3 interop/slcan/test_interop.py` (or under pytest). See README.md for setup.
Environment: SLCAN_ECHO = path of a built `slcan_echo` (otherwise it is built with cargo).
"""

import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import can

ROOT = Path(__file__).resolve().parents[2]


def echo_binary() -> str:
    if os.environ.get("SLCAN_ECHO"):
        return os.environ["SLCAN_ECHO"]
    out = subprocess.run(
        [
            "cargo", "build", "--quiet", "--message-format=json",
            "--manifest-path", str(ROOT / "crates/slcan/Cargo.toml"),
            "--features", "std", "--example", "slcan_echo",
        ],
        check=True, capture_output=True, text=True, cwd=ROOT,
    ).stdout
    for line in out.splitlines():
        msg = json.loads(line)
        if msg.get("reason") == "compiler-artifact" and msg["target"]["name"] == "slcan_echo":
            if msg.get("executable"):
                return msg["executable"]
    raise RuntimeError("cargo did not report the slcan_echo executable")


def wait_for(path: Path, timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while not path.exists():
        if time.monotonic() > deadline:
            raise TimeoutError(f"{path} did not appear")
        time.sleep(0.01)


def recv_frame(bus: can.BusABC, timeout: float = 3.0) -> can.Message:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        msg = bus.recv(timeout=0.2)
        if msg is not None:
            return msg
    raise TimeoutError("no frame received")


def same(msg: can.Message, arbitration_id: int, extended: bool, remote: bool, dlc: int,
         data: bytes) -> bool:
    return (
        msg.arbitration_id == arbitration_id
        and msg.is_extended_id == extended
        and msg.is_remote_frame == remote
        and msg.dlc == dlc
        and bytes(msg.data) == data
    )


# Frames checked per run (3 adapter->host, 5 host->adapter->host): fewer means a list was
# emptied or a loop cut short, and fails the run.
MIN_CHECKS = 8


def test_interop() -> None:
    assert shutil.which("socat"), "socat is not installed"
    checks = 0
    binary = echo_binary()
    tmp = Path(tempfile.mkdtemp(prefix="slcan-interop-"))
    adapter_end, host_end = tmp / "ttyA", tmp / "ttyB"
    socat = subprocess.Popen(
        ["socat", f"PTY,raw,echo=0,link={adapter_end}", f"PTY,raw,echo=0,link={host_end}"],
        stderr=subprocess.DEVNULL,
    )
    echo = None
    bus = None
    try:
        wait_for(adapter_end)
        wait_for(host_end)
        echo = subprocess.Popen([binary, str(adapter_end)], stdout=subprocess.PIPE, text=True)
        assert echo.stdout is not None
        assert echo.stdout.readline().strip() == "ready"

        bus = can.Bus(interface="slcan", channel=str(host_end), bitrate=250000,
                      sleep_after_open=0)

        # adapter -> host: the known frames, exactly.
        known = [
            (0x351, False, False, 8, bytes.fromhex("330209240924D501")),
            (0x000C0200, True, False, 4, bytes.fromhex("6000C014")),
            (0x123, False, True, 8, b""),
        ]
        for want in known:
            got = recv_frame(bus)
            assert same(got, *want), f"adapter->host: got {got}, want {want}"
            checks += 1

        # host -> adapter -> host: each frame comes back with id + 1.
        sent = [
            can.Message(arbitration_id=0x356, is_extended_id=False,
                        data=bytes.fromhex("A6144EFCD2000000")),
            can.Message(arbitration_id=0x000C0103, is_extended_id=True, data=b"\xb4\x00"),
            can.Message(arbitration_id=0x7FF, is_extended_id=False, data=b""),
            can.Message(arbitration_id=0x1FFFFFFE, is_extended_id=True,
                        data=bytes(range(8))),
            can.Message(arbitration_id=0x35C, is_extended_id=False, is_remote_frame=True, dlc=2),
        ]
        for msg in sent:
            bus.send(msg)
            got = recv_frame(bus)
            limit = 0x1FFFFFFF if msg.is_extended_id else 0x7FF
            want_id = (msg.arbitration_id + 1) & limit
            assert same(got, want_id, msg.is_extended_id, msg.is_remote_frame, msg.dlc,
                        b"" if msg.is_remote_frame else bytes(msg.data)), \
                f"host->adapter->host: sent {msg}, got {got}"
            checks += 1
        assert checks >= MIN_CHECKS, f"only {checks} checks made, at least {MIN_CHECKS}"
        print(f"ok: {len(known)} frames adapter->host, {len(sent)} round trips host->adapter->host"
              f" ({checks} checks, at least {MIN_CHECKS})")
    finally:
        if bus is not None:
            bus.shutdown()
        for proc in (echo, socat):
            if proc is not None:
                proc.terminate()
                try:
                    proc.wait(timeout=5)
                except subprocess.TimeoutExpired:
                    proc.kill()
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    try:
        test_interop()
    except Exception as exc:  # report and fail
        print(f"FAIL: {exc}", file=sys.stderr)
        sys.exit(1)
