"""Every ``servicekontor`` command, as a user runs it, against one running system.

The system is ``servicekontor up`` on ports the kernel picks (``--*-port 0``): the
commands can only find it through ``--data-dir`` (the ``ports.json`` that ``up`` writes
there), never through default ports. Commands that call it send a token minted from the
data dir's key (or ``--token``). Most commands run in this process (``CliRunner``: no
interpreter start per command); those that start servers or must not touch this
process's settings run as subprocesses.

``test_every_command_has_a_test_here`` keeps the list below equal to the CLI's commands.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator

import httpx
import pytest
import typer.main
from typer.testing import CliRunner

from servicekontor.cli import app
from servicekontor.instance import read_instance
from shared.auth import TokenVerifier
from tests.e2e.conftest import RunningSystem
from tests.helpers import free_port, scaled, wait_until

pytestmark = pytest.mark.e2e
runner = CliRunner()
PIN = "19811218-9876"

# Every command (group and subcommand) and the tests below that run it.
COVERED = {
    "up", "serve", "migrate", "erase", "classify", "agency-sim", "demo", "probe", "replay",
    "reporting-bi-role", "train-classifier", "classify-eval", "export-overrides", "token",
    "gateway dead-letters", "gateway replay", "gateway agencies", "gateway check-config",
    "gateway dev-secret", "gateway sim-faults",
}


def commands(command, prefix: str = "") -> Iterator[str]:
    if hasattr(command, "commands"):  # a group (typer's own click)
        for name, sub in command.commands.items():
            yield from commands(sub, f"{prefix}{name} ")
    else:
        yield prefix.strip()


def test_every_command_has_a_test_here():
    assert set(commands(typer.main.get_command(app))) == COVERED


# -- the running system ------------------------------------------------------------------


@pytest.fixture(scope="module")
def system(tmp_path_factory) -> Iterator[RunningSystem]:
    root = tmp_path_factory.mktemp("cli")
    running = RunningSystem(root / "data", root / "servicekontor.log", any_port=True)
    running.start()
    yield running
    if running.process and running.process.poll() is None:
        running.process.kill()
        running.process.wait(timeout=scaled(10))


def cli(*args: str, env: dict[str, str] | None = None, stdin: str | None = None):
    """The command in this process; the environment of ``up``'s (no Kafka, no PostgreSQL)."""
    clean = {name: None for name in os.environ if name.startswith("SK_")} | {"SK_LOG_LEVEL": "WARNING"}
    return runner.invoke(app, list(args), env=clean | (env or {}), input=stdin)


def sub(*args: str, env: dict[str, str] | None = None, timeout: float = 60) -> subprocess.CompletedProcess:
    """The command as its own process (``python -m servicekontor.cli``)."""
    return subprocess.run(
        [sys.executable, "-m", "servicekontor.cli", *args], check=False, capture_output=True, text=True,
        env=RunningSystem.env() | (env or {}), timeout=scaled(timeout),
    )


def one_line(text: str) -> str:
    lines = [line for line in text.splitlines() if line.strip()]
    assert len(lines) == 1, text
    assert "Traceback" not in text and "Task was destroyed" not in text, text
    return lines[0]


def data(system: RunningSystem) -> list[str]:
    return ["--data-dir", str(system.data_dir)]


def post(system: RunningSystem, service: str, path: str, body: dict, role: str, expect: int = 200) -> dict:
    response = httpx.post(system.url(service, path), json=body, headers=system.headers(role), timeout=10)
    assert response.status_code == expect, response.text
    return response.json() if response.content else {}


def ask(system: RunningSystem, text: str, office: str = "ostersund", pin: str | None = None) -> tuple[str, str]:
    """A visit and one question: (visit_id, question_id)."""
    visit = post(system, "intake", "/v1/visits", {"office_id": office, "channel": "kiosk"}, "kiosk", 201)["visit_id"]
    body = {"text": text} | ({"personal_identity_number": pin} if pin else {})
    question = post(system, "intake", f"/v1/visits/{visit}/questions", body, "kiosk", 201)["question_id"]
    return visit, question


def delivery(system: RunningSystem, question_id: str) -> dict | None:
    response = httpx.get(system.url("agency_gateway", f"/v1/deliveries/{question_id}"),
                         headers=system.headers("supervisor"), timeout=10)
    return response.json() if response.status_code == 200 else None


def test_the_system_runs_on_ports_only_its_card_names(system):
    card = read_instance(system.data_dir)
    assert card is not None and card.pid == system.process.pid
    assert {s: getattr(card, s) for s in system.ports} == system.ports
    assert 8001 not in system.ports.values()


# -- up ----------------------------------------------------------------------------------


@pytest.mark.parametrize("service", ["intake", "agency_simulator"])
def test_up_on_a_port_in_use_says_so_in_one_line(system, tmp_path, service):
    flag = f"--{service.replace('_', '-')}-port"
    others = [arg for s in ("intake", "routing", "agency_gateway", "reporting", "agency_simulator")
              if s != service for arg in (f"--{s.replace('_', '-')}-port", "0")]
    busy = system.ports[service]
    done = sub("up", "--data-dir", str(tmp_path / "data"), flag, str(busy), *others)
    assert done.returncode == 1
    assert one_line(done.stderr) == f"port {busy} ({service}) is in use; choose another with {flag}"
    assert read_instance(tmp_path / "data") is None


def test_up_distributed_and_serve_without_kafka_refuse_in_one_line(tmp_path):
    distributed = sub("up", "--distributed", "--data-dir", str(tmp_path))
    assert distributed.returncode == 2 and "SK_KAFKA_BOOTSTRAP_SERVERS" in one_line(distributed.stderr)
    serve = sub("serve", "intake")
    assert serve.returncode == 2 and "SK_KAFKA_BOOTSTRAP_SERVERS" in one_line(serve.stderr)
    unknown = cli("serve", "kiosk")
    assert unknown.exit_code == 2 and "unknown service" in unknown.stderr


# -- token and probe ---------------------------------------------------------------------


def test_token_is_signed_with_the_systems_key_and_lasts_30_days(system):
    result = cli("token", "desk", "--subject", "anna", *data(system))
    assert result.exit_code == 0, result.output
    token = result.stdout.strip()
    public = (system.data_dir / "auth" / "public.pem").read_bytes()
    assert TokenVerifier(public).verify(token).subject == "anna"
    offices = httpx.get(system.url("intake", "/v1/offices/lulea"), headers={"Authorization": f"Bearer {token}"})
    assert offices.status_code == 200


def test_token_without_an_installation_refuses_and_makes_no_key(tmp_path):
    result = cli("token", "desk", "--data-dir", str(tmp_path / "nothing"))
    assert result.exit_code == 2
    assert "no installation" in one_line(result.stderr)
    assert not (tmp_path / "nothing").exists()
    default = cli("token", "desk", env={"SK_DATA_DIR": str(tmp_path / "nothing")})
    assert default.exit_code == 2 and not (tmp_path / "nothing").exists()


@pytest.mark.parametrize("service", ["intake", "routing", "agency_gateway", "reporting"])
def test_probe_finds_each_service_by_the_data_dir(system, service):
    result = cli("probe", "--service", service, *data(system))
    assert result.exit_code == 0, result.output
    assert f"127.0.0.1:{system.ports[service]}/ready: 200" in result.output


def test_probe_with_an_explicit_port_asks_that_port(system):
    result = cli("probe", "--port", str(system.ports["reporting"]), "--path", "/metrics", *data(system))
    assert result.exit_code == 0, result.output


# -- gateway -----------------------------------------------------------------------------


def test_gateway_agencies_with_a_minted_token(system):
    result = cli("gateway", "agencies", *data(system))
    assert result.exit_code == 0, result.output
    agencies = json.loads(result.stdout)
    assert len(agencies) == 8
    assert str(system.ports["agency_simulator"]) in agencies["polisen"]["endpoint"]


def test_gateway_agencies_with_a_given_token_and_a_refused_one(system):
    token = system.credentials()["supervisor"]
    assert cli("gateway", "agencies", "--token", token, *data(system)).exit_code == 0
    kiosk = cli("gateway", "agencies", "--token", system.credentials()["kiosk"], *data(system))
    assert kiosk.exit_code == 1 and "HTTP 403" in kiosk.stderr


def test_gateway_without_a_running_system_says_where_it_looked(tmp_path):
    (tmp_path / "auth").mkdir()
    from shared.auth import ensure_keys

    ensure_keys(tmp_path / "auth")
    port = free_port()
    result = cli("gateway", "agencies", "--data-dir", str(tmp_path), "--agency-gateway-port", str(port))
    assert result.exit_code == 2 and f"cannot reach http://127.0.0.1:{port}" in result.stderr
    no_key = cli("gateway", "dead-letters", "--data-dir", str(tmp_path / "empty"))
    assert no_key.exit_code == 2 and "no signing key" in one_line(no_key.stderr)


def test_gateway_dead_letters_are_listed_inspected_and_replayed(system):
    # The next skatteverket case is refused (400): not retried, a dead letter.
    fault = httpx.post(system.url("agency_simulator", "/v1/agencies/skatteverket/faults"),
                       json={"status": 400, "count": 1}, timeout=10)
    assert fault.status_code == 200, fault.text
    _, question = ask(system, "Jag vill ansöka om id-kort")
    wait_until(lambda: (d := delivery(system, question)) and d["status"] == "dead_lettered")

    listed = cli("gateway", "dead-letters", *data(system))
    assert listed.exit_code == 0, listed.output
    assert question in [d["question_id"] for d in json.loads(listed.stdout)["data"]]
    only = cli("gateway", "dead-letters", "--agency", "polisen", *data(system))
    assert question not in only.stdout
    inspected = cli("gateway", "dead-letters", question, *data(system))
    assert inspected.exit_code == 0 and json.loads(inspected.stdout)["status"] == "dead_lettered"

    nobody = cli("gateway", "replay", question, *data(system))
    assert nobody.exit_code == 2 and "--actor" in nobody.stderr
    replayed = cli("gateway", "replay", question, "--actor", "eva", "--reason", "nyckeln bytt, ring 070-123 45 67",
                   *data(system))
    assert replayed.exit_code == 0, replayed.output
    assert json.loads(replayed.stdout) == {"question_ids": [question], "count": 1, "actor": "eva"}
    done = wait_until(lambda: (d := delivery(system, question)) and d["status"] == "delivered" and d)
    [entry] = [h for h in done["history"] if h["event"] == "DeadLetterReplayed"]
    assert entry["details"]["actor"] == "eva" and "070-123" not in json.dumps(entry["details"])

    none_left = cli("gateway", "replay", "--all", "--actor", "eva", *data(system))
    assert none_left.exit_code == 0 and json.loads(none_left.stdout)["count"] == 0


def test_gateway_sim_faults_reach_the_simulator_on_its_port(system):
    result = cli("gateway", "sim-faults", "--latency-ms", "1,2", "--agency", "polisen", *data(system))
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["agencies"]["polisen"]["latency_ms"] == [1.0, 2.0]
    reset = cli("gateway", "sim-faults", "--reset", *data(system))
    assert reset.exit_code == 0 and json.loads(reset.stdout)["agencies"] == {}
    bad = cli("gateway", "sim-faults", "--latency-ms", "fast", *data(system))
    assert bad.exit_code == 2 and "--latency-ms" in one_line(bad.stderr)


def test_gateway_check_config_and_dev_secret():
    from shared.signing import dev_secret

    assert set(json.loads(cli("gateway", "check-config").stdout)) >= {"polisen", "skatteverket"}
    assert cli("gateway", "dev-secret", "polisen").stdout.strip() == dev_secret("polisen")


# -- demo, erase, replay -----------------------------------------------------------------


def test_demo_finds_the_system_by_sk_data_dir_alone(system):
    result = cli("demo", "--visits", "3", "--seed", "1", "--wait-seconds", "60",
                 env={"SK_DATA_DIR": str(system.data_dir)})
    assert result.exit_code == 0, result.output


def test_demo_days_writes_history_into_the_data_dirs_stores(tmp_path):
    """On its own data dir: a day of history written into a running system's stores is
    folded by intake's board at once, which slows its answers for a while on a loaded
    machine (a request test after it timed out)."""
    result = cli("demo", "--days", "1", "--seed", "1", "--data-dir", str(tmp_path))
    assert result.exit_code == 0, result.output
    assert "demo history:" in result.stdout
    assert all((tmp_path / f"{store}.db").stat().st_size > 0 for store in ("intake", "routing", "agency_gateway"))


def test_demo_without_a_system_says_so(tmp_path):
    result = cli("demo", "--visits", "1", "--data-dir", str(tmp_path))
    assert result.exit_code == 2 and "no credentials" in result.stderr


def test_erase_destroys_the_visits_data_key(system):
    visit, _ = ask(system, "Jag behöver ett nytt pass", pin=PIN)
    result = cli("erase", visit, "--actor", "dataskydd", *data(system))
    assert result.exit_code == 0, result.output
    assert f"visit {visit}: data key destroyed" in result.stdout


def test_replay_reporting_refuses_while_the_system_on_that_data_dir_runs(system):
    result = cli("replay", "reporting", *data(system))
    assert result.exit_code == 2
    assert f"reporting answers on http://127.0.0.1:{system.ports['reporting']}" in one_line(result.stderr)
    elsewhere = cli("replay", "banana", *data(system))
    assert elsewhere.exit_code == 2


# -- routing's commands ------------------------------------------------------------------


def test_classify_reads_json_lines(system):
    result = cli("classify", env={"SK_DATA_DIR": str(system.data_dir)},  # its model, built by up
                 stdin='{"text": "Jag vill ansöka om id-kort"}\nnot json\n')
    assert result.exit_code == 0, result.output
    first, second = (json.loads(line) for line in result.stdout.splitlines())
    assert first["level"] in {"general", "in_depth", "complex"} and second["error"]["code"] == "invalid_line"


def test_classify_eval_prints_both_sets():
    result = cli("classify-eval", "--json")
    assert result.exit_code == 0, result.output
    assert {"heldout", "independent"} <= set(json.loads(result.stdout))


def test_train_classifier_saves_the_model_under_the_data_dir(tmp_path):
    result = cli("train-classifier", "--data-dir", str(tmp_path))
    assert result.exit_code == 0, result.output
    assert list((tmp_path / "models").iterdir())


def test_export_overrides_from_the_running_systems_store(system):
    _, question = ask(system, "Hur ansöker jag om bostadsbidrag?")
    wait_until(lambda: httpx.get(system.url("routing", f"/v1/questions/{question}/decision"),
                                 headers=system.headers("desk"), timeout=10).status_code == 200)
    post(system, "routing", f"/v1/questions/{question}/override",
         {"level": "in_depth", "reason": "needs a longer talk", "handler": "anna"}, "desk")
    result = cli("export-overrides", *data(system))
    assert result.exit_code == 0, result.output
    exported = [json.loads(line) for line in result.stdout.splitlines()]
    assert any(e["text"] == "Hur ansöker jag om bostadsbidrag?" for e in exported)


def test_reporting_bi_role_prints_sql_and_refuses_sqlite(system):
    printed = cli("reporting-bi-role", "--print-sql")
    assert printed.exit_code == 0 and "servicekontor_bi" in printed.stdout
    refused = cli("reporting-bi-role", env={"SK_DATA_DIR": str(system.data_dir)})
    assert refused.exit_code == 2 and "SQLite" in one_line(refused.stderr)


# -- processes of their own: migrate, agency-sim ------------------------------------------


def test_migrate_creates_the_stores_and_credentials_under_the_data_dir(system, tmp_path):
    done = sub("migrate", "--data-dir", str(tmp_path / "fresh"))
    assert done.returncode == 0, done.stderr
    assert done.stdout.count("sqlite: tables created") == 4
    assert (tmp_path / "fresh" / "credentials.json").exists()
    assert cli("token", "bi", "--data-dir", str(tmp_path / "fresh")).exit_code == 0


def test_agency_sim_runs_alone_and_stops_on_sigterm(tmp_path):
    port = free_port()
    log = (tmp_path / "sim.log").open("wb")
    process = subprocess.Popen(
        [sys.executable, "-m", "servicekontor.cli", "agency-sim", "--port", str(port), "--data-dir", str(tmp_path)],
        stdout=log, stderr=log, env=RunningSystem.env(),
    )
    try:
        def healthy() -> bool:
            assert process.poll() is None, (tmp_path / "sim.log").read_text()
            try:
                return httpx.get(f"http://127.0.0.1:{port}/health", timeout=1).status_code == 200
            except httpx.HTTPError:
                return False

        wait_until(healthy, timeout=30)
        assert httpx.get(f"http://127.0.0.1:{port}/v1/received", timeout=5).json()["unique_cases"] == 0
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=scaled(20))


@pytest.mark.parametrize("environment", ["production", "staging"])
def test_the_agency_simulator_refuses_to_start_outside_development(tmp_path, environment):
    env = {"SK_ENVIRONMENT": environment}
    alone = sub("agency-sim", "--port", str(free_port()), "--data-dir", str(tmp_path), env=env)
    assert alone.returncode == 2
    assert "runs only in development" in one_line(alone.stderr)
    assert not list(tmp_path.iterdir()), "nothing made before the refusal"
    if environment != "production":
        return  # python -m services.agency_simulator: the same check, once
    module = subprocess.run(
        [sys.executable, "-m", "services.agency_simulator", "--port", str(free_port()), "--data-dir", str(tmp_path)],
        check=False, capture_output=True, text=True, env=RunningSystem.env() | env, timeout=scaled(60),
    )
    assert module.returncode == 2 and "runs only in development" in one_line(module.stderr)


# -- last: the system stops, then reporting is rebuilt ---------------------------------------


def test_replay_reporting_after_the_system_stopped(system):
    assert system.stop(signal.SIGTERM) == 0
    assert read_instance(system.data_dir) is None  # a clean stop takes its card away
    started = time.monotonic()
    result = cli("replay", "reporting", *data(system))
    assert result.exit_code == 0, result.output
    assert "events read" in result.stdout and time.monotonic() - started < scaled(120)
