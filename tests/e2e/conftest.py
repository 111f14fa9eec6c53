"""Fixtures: a real `ecsim serve` process on a free loopback port, and SDK clients for it.

ECSIM_BIN names the binary (default: <repo>/target/debug/ecsim). Each server gets its own
temporary data directory and log file (under pytest's basetemp, kept for the last runs);
when a test fails, the tail of the server log is attached to the failure report.
"""
from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import time
from pathlib import Path

import pytest

from support import http_request, make_client, pick_system_image

REPO_ROOT = Path(__file__).resolve().parents[2]
PROXY_VARS = ("HTTP_PROXY", "http_proxy", "HTTPS_PROXY", "https_proxy", "ALL_PROXY", "all_proxy")
# Both Python SDKs route loopback traffic through *_PROXY and ignore NO_PROXY.
for _var in PROXY_VARS:
    os.environ.pop(_var, None)

ROOT_AK = "LTAI5tE2eRootAccessKey01"
ROOT_SECRET = "e2eRootSecretDoNotUseAnywhere000000001"
CREATION_TIME_MS = 1500
STARTUP_TIMEOUT = 30.0


def ecsim_bin() -> Path:
    p = Path(os.environ.get("ECSIM_BIN", "target/debug/ecsim"))
    return p if p.is_absolute() else REPO_ROOT / p


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class EcsimServer:
    """One `ecsim serve` process. `restart()` keeps port and data dir."""

    def __init__(self, workdir: Path, *, creation_time_ms: int = CREATION_TIME_MS,
                 root_keys: tuple[str, str] | None = (ROOT_AK, ROOT_SECRET),
                 extra_args: tuple[str, ...] = (), extra_env: dict[str, str] | None = None):
        self.binary = ecsim_bin()
        self.workdir = workdir
        self.data_dir = workdir / "data"
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self.log_path = workdir / "ecsim.log"
        self.creation_time_ms = creation_time_ms
        self.root_keys = root_keys
        self.extra_args = list(extra_args)  # further `ecsim serve` flags
        self.extra_env = dict(extra_env or {})  # further environment (e.g. AWS_* for --blob-url)
        self.port = free_port()
        self.proc: subprocess.Popen | None = None
        self.starts = 0

    # -- process control ---------------------------------------------------

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def ak(self) -> str:
        return self.credentials()[0]

    @property
    def secret(self) -> str:
        return self.credentials()[1]

    def credentials(self) -> tuple[str, str]:
        if self.root_keys:
            return self.root_keys
        c = json.loads((self.data_dir / "credentials.json").read_text())
        return c["AccessKeyId"], c["AccessKeySecret"]

    def env(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if k not in PROXY_VARS and not k.startswith("ECSIM_")}
        env.setdefault("RUST_BACKTRACE", "1")
        env.setdefault("NO_COLOR", "1")  # plain server logs in failure reports
        if self.root_keys:
            env["ECSIM_ROOT_ACCESS_KEY_ID"], env["ECSIM_ROOT_ACCESS_KEY_SECRET"] = self.root_keys
        env.update(self.extra_env)
        return env

    def start(self) -> None:
        assert self.proc is None, "already running"
        if not self.binary.exists():
            pytest.fail(f"ecsim binary not found at {self.binary} (set ECSIM_BIN or run cargo build)")
        self.starts += 1
        cmd = [str(self.binary), "serve", "--listen", f"127.0.0.1:{self.port}",
               "--data-dir", str(self.data_dir), "--creation-time-ms", str(self.creation_time_ms),
               *self.extra_args]
        with open(self.log_path, "ab") as log:
            log.write(f"\n===== start #{self.starts}: {' '.join(cmd)}\n".encode())
            log.flush()
            self.proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                         env=self.env(), cwd=self.workdir)
        self._wait_healthy()

    def _wait_healthy(self) -> None:
        deadline = time.monotonic() + STARTUP_TIMEOUT
        last = None
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                rc = self.proc.returncode
                self.proc = None
                pytest.fail(f"ecsim exited with status {rc} during startup; log:\n{self.log_tail()}")
            try:
                r = http_request(self.port, "GET", "/healthz", timeout=2)
                if r.status == 200:
                    return
                last = f"HTTP {r.status}: {r.body[:200]!r}"
            except OSError as e:
                last = repr(e)
            time.sleep(0.05)
        self.stop()
        pytest.fail(f"ecsim not healthy after {STARTUP_TIMEOUT}s (last: {last}); log:\n{self.log_tail()}")

    def stop(self, sig: int = signal.SIGTERM) -> int | None:
        if self.proc is None:
            return None
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=10)
        rc = self.proc.returncode
        self.proc = None
        return rc

    def restart(self, sig: int = signal.SIGTERM) -> None:
        self.stop(sig)
        self.start()

    def exited_unexpectedly(self) -> int | None:
        return None if self.proc is None else self.proc.poll()

    def log_tail(self, lines: int = 150) -> str:
        try:
            text = self.log_path.read_text(errors="replace")
        except OSError:
            return "(no log)"
        return "\n".join(text.splitlines()[-lines:])

    # -- clients and CLI -----------------------------------------------------

    def client(self, kind: str = "tea-v3", ak: str | None = None, secret: str | None = None):
        return make_client(kind, self.port, ak or self.ak, secret or self.secret)

    def run_cli(self, *args: str, env_extra: dict[str, str] | None = None,
                timeout: float = 30) -> subprocess.CompletedProcess:
        env = self.env()
        env.update(env_extra or {})
        return subprocess.run([str(self.binary), *args], capture_output=True, text=True,
                              env=env, timeout=timeout, cwd=self.workdir)

    def create_account(self) -> dict:
        r = self.run_cli("admin", "create-account", "--data-dir", str(self.data_dir))
        assert r.returncode == 0, f"admin create-account failed ({r.returncode}): {r.stdout}{r.stderr}"
        acct = json.loads(r.stdout)
        for k in ("AccountId", "AccessKeyId", "AccessKeySecret"):
            assert acct.get(k), f"create-account output lacks {k}: {r.stdout!r}"
        return acct


# --------------------------------------------------------------------------- fixtures


@pytest.fixture(scope="session")
def ecsim(tmp_path_factory, request):
    srv = EcsimServer(tmp_path_factory.mktemp("ecsim-session"))
    srv.start()
    yield srv
    crashed = srv.exited_unexpectedly()
    srv.stop()
    if request.session.testsfailed:
        tr = request.config.pluginmanager.get_plugin("terminalreporter")
        if tr is not None:
            tr.write_line(f"[ecsim] session server log kept at {srv.log_path}")
    if crashed is not None:
        pytest.fail(f"ecsim (session server) exited by itself with status {crashed}; log:\n{srv.log_tail()}")


@pytest.fixture
def ecsim_factory(tmp_path):
    """Start extra, test-private servers: `ecsim_factory(creation_time_ms=..., root_keys=...)`."""
    servers: list[EcsimServer] = []

    def start(**kwargs) -> EcsimServer:
        srv = EcsimServer(tmp_path / f"ecsim-{len(servers)}", **kwargs)
        servers.append(srv)
        srv.start()
        return srv

    start.servers = servers
    yield start
    for srv in servers:
        srv.stop()


@pytest.fixture(scope="session")
def tea(ecsim):
    """Tea SDK client, default V3 signing, root account of the session server."""
    return ecsim.client("tea-v3")


@pytest.fixture(scope="session")
def system_image(tea) -> str:
    return pick_system_image(tea)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    rep = outcome.get_result()
    if not rep.failed:
        return
    servers = []
    funcargs = getattr(item, "funcargs", {})  # values of the whole fixture closure
    for name in getattr(item, "fixturenames", ()):
        val = funcargs.get(name)
        if isinstance(val, EcsimServer):
            servers.append(val)
        elif callable(val) and hasattr(val, "servers"):
            servers.extend(val.servers)
    for srv in servers:
        rc = srv.exited_unexpectedly()
        state = "running" if srv.proc is not None and rc is None else (
            f"EXITED with status {rc}" + (" (killed by signal %d)" % -rc if rc < 0 else "")
            if rc is not None else "stopped")
        rep.sections.append((f"ecsim log tail ({srv.log_path}; server {state})", srv.log_tail(80)))
