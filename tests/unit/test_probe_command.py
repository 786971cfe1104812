"""``servicekontor probe``: the container readiness check that sends a bearer token.

Against real HTTP servers on 127.0.0.1 (a recording ``http.server`` and a real service app
under uvicorn), and ``httpx.MockTransport`` for the request itself."""

from __future__ import annotations

import http.server
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

import httpx
import pytest
import uvicorn
from typer.testing import CliRunner

from servicekontor.cli import app
from servicekontor.commands.probe import check
from shared.api import create_app
from shared.auth import TokenIssuer, TokenVerifier, ensure_keys
from shared.settings import CommonSettings

runner = CliRunner()


@pytest.fixture(autouse=True)
def clean_env(monkeypatch, tmp_path):
    for name in (
        "SK_PROBE_TOKEN",
        "SK_ENVIRONMENT",
        "SK_AUTH_PUBLIC_KEY",
        "SK_AUTH_PUBLIC_KEY_FILE",
    ):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("SK_DATA_DIR", str(tmp_path / "data"))


@dataclass
class Recorder:
    status: int = 200
    body: bytes = b'{"ready": true}'
    requests: list[tuple[str, str | None]] = field(default_factory=list)  # (path, Authorization)


@contextmanager
def recording_server(recorder: Recorder) -> Iterator[int]:
    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 (http.server's name)
            recorder.requests.append((self.path, self.headers.get("Authorization")))
            self.send_response(recorder.status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(recorder.body)))
            self.end_headers()
            self.wfile.write(recorder.body)

        def log_message(self, *args) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        yield server.server_address[1]
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def probe(*args: str):
    return runner.invoke(app, ["probe", *args])


# -- the token from SK_PROBE_TOKEN -----------------------------------------------------------
def test_sends_sk_probe_token_as_bearer_to_ready_on_the_port_and_exits_0_on_200(monkeypatch):
    monkeypatch.setenv("SK_PROBE_TOKEN", "the-probe-token")
    recorder = Recorder()
    with recording_server(recorder) as port:
        result = probe("--port", str(port))
    assert result.exit_code == 0, result.output
    assert recorder.requests == [("/ready", "Bearer the-probe-token")]
    assert f"127.0.0.1:{port}/ready: 200" in result.output
    assert "the-probe-token" not in result.output


def test_a_token_from_a_file_with_its_final_newline_is_sent_without_it(monkeypatch):
    monkeypatch.setenv("SK_PROBE_TOKEN", "from-file\n")  # kubectl create secret --from-file
    recorder = Recorder()
    with recording_server(recorder) as port:
        assert probe("--port", str(port)).exit_code == 0
    assert recorder.requests == [("/ready", "Bearer from-file")]


def test_asks_the_path_given(monkeypatch):
    monkeypatch.setenv("SK_PROBE_TOKEN", "t")
    recorder = Recorder()
    with recording_server(recorder) as port:
        assert probe("--port", str(port), "--path", "/metrics").exit_code == 0
    assert recorder.requests == [("/metrics", "Bearer t")]


@pytest.mark.parametrize("status", [503, 500, 404, 204, 302])
def test_exits_1_and_prints_the_status_on_anything_but_200(monkeypatch, status):
    monkeypatch.setenv("SK_PROBE_TOKEN", "t")
    recorder = Recorder(status=status, body=b'{"ready": false, "checks": {"database": false}}')
    with recording_server(recorder) as port:
        result = probe("--port", str(port))
    assert result.exit_code == 1
    assert f"/ready: {status}" in result.output
    assert len(recorder.requests) == 1


def test_a_refused_token_says_so(monkeypatch):
    monkeypatch.setenv("SK_PROBE_TOKEN", "t")
    with recording_server(Recorder(status=401, body=b'{"error": "unauthenticated"}')) as port:
        result = probe("--port", str(port))
    assert result.exit_code == 1 and ": 401" in result.output and "SK_PROBE_TOKEN" in result.output


def test_exits_1_when_nothing_answers(monkeypatch):
    monkeypatch.setenv("SK_PROBE_TOKEN", "t")
    result = probe("--port", str(free_port()), "--timeout", "1")
    assert result.exit_code == 1 and "no answer" in result.output


def test_a_path_without_a_slash_is_a_usage_error(monkeypatch):
    monkeypatch.setenv("SK_PROBE_TOKEN", "t")
    assert probe("--path", "ready").exit_code == 2


# -- production -------------------------------------------------------------------------------
def test_production_without_sk_probe_token_exits_2_without_asking(monkeypatch, tmp_path):
    monkeypatch.setenv("SK_ENVIRONMENT", "production")
    ensure_keys(tmp_path / "data" / "auth")  # even a key on disk is not used in production
    recorder = Recorder()
    with recording_server(recorder) as port:
        result = probe("--port", str(port))
    assert result.exit_code == 2
    assert "SK_PROBE_TOKEN" in result.output
    assert recorder.requests == []


def test_production_uses_sk_probe_token(monkeypatch):
    monkeypatch.setenv("SK_ENVIRONMENT", "production")
    monkeypatch.setenv("SK_PROBE_TOKEN", "long-lived-monitor-token")
    recorder = Recorder()
    with recording_server(recorder) as port:
        assert probe("--port", str(port)).exit_code == 0
    assert recorder.requests == [("/ready", "Bearer long-lived-monitor-token")]


# -- development: a token minted with the installation's key ------------------------------------
def test_development_mints_a_monitor_token_with_the_data_dirs_private_key(tmp_path):
    _, public = ensure_keys(tmp_path / "data" / "auth")
    recorder = Recorder()
    with recording_server(recorder) as port:
        result = probe("--port", str(port))
    assert result.exit_code == 0, result.output
    ((path, header),) = recorder.requests
    assert path == "/ready" and header.startswith("Bearer ")
    token = header.removeprefix("Bearer ")
    principal = TokenVerifier(public).verify(token)
    assert principal.role == "monitor" and principal.scopes == {"ops:read"}
    assert token not in result.output


def test_development_data_dir_option_picks_the_key(tmp_path):
    other = tmp_path / "elsewhere"
    _, public = ensure_keys(other / "auth")
    recorder = Recorder()
    with recording_server(recorder) as port:
        assert probe("--port", str(port), "--data-dir", str(other)).exit_code == 0
    TokenVerifier(public).verify(recorder.requests[0][1].removeprefix("Bearer "))


def test_development_without_a_key_yet_fails_and_creates_none(tmp_path):
    recorder = Recorder()
    with recording_server(recorder) as port:
        result = probe("--port", str(port))
    assert result.exit_code == 1 and "no signing key" in result.output
    assert recorder.requests == []
    assert not (tmp_path / "data" / "auth").exists(), "a key made by the probe is not the service's"


def test_sk_probe_token_wins_over_the_development_key(monkeypatch, tmp_path):
    ensure_keys(tmp_path / "data" / "auth")
    monkeypatch.setenv("SK_PROBE_TOKEN", "configured")
    recorder = Recorder()
    with recording_server(recorder) as port:
        assert probe("--port", str(port)).exit_code == 0
    assert recorder.requests == [("/ready", "Bearer configured")]


# -- the request itself (MockTransport) --------------------------------------------------------
def test_check_sends_only_the_bearer_header_and_reads_the_status():
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200 if request.headers["Authorization"] == "Bearer good" else 401)

    transport = httpx.MockTransport(handler)
    assert check("http://127.0.0.1:8003/ready", "good", 1, transport)[0] is True
    ok, line = check("http://127.0.0.1:8003/ready", "bad", 1, transport)
    assert not ok and "401" in line
    assert [(r.method, str(r.url)) for r in seen] == [("GET", "http://127.0.0.1:8003/ready")] * 2


def test_check_reports_a_timeout_as_not_ready():
    def handler(request: httpx.Request) -> httpx.Response:
        raise httpx.ReadTimeout("slow", request=request)

    ok, line = check("http://127.0.0.1:8001/ready", "t", 0.1, httpx.MockTransport(handler))
    assert not ok and "ReadTimeout" in line


# -- against a real service app ----------------------------------------------------------------
@contextmanager
def served(asgi_app) -> Iterator[int]:
    port = free_port()
    server = uvicorn.Server(
        uvicorn.Config(asgi_app, host="127.0.0.1", port=port, log_config=None, access_log=False)
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        assert time.monotonic() < deadline and thread.is_alive(), "uvicorn did not start"
        time.sleep(0.02)
    try:
        yield port
    finally:
        server.should_exit = True
        thread.join(10)


def test_a_real_services_ready_and_metrics_accept_the_probe_and_refuse_other_tokens(
    monkeypatch, tmp_path
):
    settings = CommonSettings()  # development, data dir tmp_path/data: the service makes its key

    async def all_ready() -> dict[str, bool]:
        return {"database": True}

    service = create_app("probe test", all_ready, security=settings)
    private, _ = ensure_keys(tmp_path / "data" / "auth")
    with served(service) as port:
        assert httpx.get(f"http://127.0.0.1:{port}/ready", timeout=2).status_code == 401
        assert probe("--port", str(port)).exit_code == 0
        assert probe("--port", str(port), "--path", "/metrics").exit_code == 0
        monkeypatch.setenv("SK_PROBE_TOKEN", TokenIssuer(private).issue("kiosk-1", "kiosk"))
        result = probe("--port", str(port))
        assert result.exit_code == 1 and ": 403" in result.output
        monkeypatch.setenv(
            "SK_PROBE_TOKEN", TokenIssuer(ensure_keys(tmp_path / "other")[0]).issue("x", "monitor")
        )
        result = probe("--port", str(port))
        assert result.exit_code == 1 and ": 401" in result.output
