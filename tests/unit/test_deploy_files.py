"""The deployment files agree with the code: service names, ports, ``SK_*`` settings,
probes, ``servicekontor`` subcommands and the image's entrypoint.

No Docker engine or cluster is needed: the files are parsed (PyYAML, multi-document) and
compared with what the code declares (settings classes, the typer app, pyproject)."""

from __future__ import annotations

import inspect
import json
import re
import tomllib
from functools import cache
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
import typer.main
import yaml
from sqlalchemy.engine import make_url

from servicekontor import cli
from servicekontor.commands import probe as probe_command
from servicekontor.runner import SERVICES
from services.agency_gateway.config import GatewaySettings
from services.intake.config import IntakeSettings
from services.reporting.config import ReportingSettings
from services.routing.config import RoutingSettings
from shared.auth import ROLE_SCOPES, TokenVerifier
from shared.settings import CommonSettings

ROOT = Path(__file__).resolve().parents[2]
COMPOSE_FILE = ROOT / "docker-compose.yml"
K8S_DIR = ROOT / "deploy" / "k8s"
DOCKERFILE = ROOT / "deploy" / "Dockerfile"

SETTINGS = {
    "intake": IntakeSettings,
    "routing": RoutingSettings,
    "agency_gateway": GatewaySettings,
    "reporting": ReportingSettings,
}
SIMULATOR = "agency_simulator"
INFRA = {"kafka", "postgres", "migrate"}
NAMESPACE = "servicekontor"
# The role the probes' and scrapers' tokens have, and the scope /ready and /metrics need.
PROBE_ROLE, OPS_SCOPE = "monitor", "ops:read"
# The Secrets (secret.example.yaml) and what each holds.
SECRETS = {
    "servicekontor-database": {"SK_DATABASE_URL"},
    "servicekontor-auth": {"SK_AUTH_PUBLIC_KEY", "SK_PROBE_TOKEN"},
    "servicekontor-vault": {"SK_MASTER_KEY"},
    "servicekontor-pseudonym": {"SK_PSEUDONYM_KEY"},
}


# -- what the code declares ----------------------------------------------------------------
def default_port(service: str) -> int:
    """A service's own port as its settings class declares it (environment not read)."""
    if service == SIMULATOR:
        return inspect.signature(cli.agency_sim).parameters["port"].default
    return SETTINGS[service].model_fields[f"{service}_port"].default


def setting_names() -> set[str]:
    names = set()
    for cls in (CommonSettings, *SETTINGS.values()):
        prefix = cls.model_config.get("env_prefix", "")
        names |= {f"{prefix}{field}".upper() for field in cls.model_fields}
    return names


@cache
def cli_commands() -> dict[str, Any]:
    return dict(typer.main.get_command(cli.app).commands)


def code_name(name: str) -> str:
    """Container / Kubernetes names use dashes (DNS); the code uses underscores."""
    return name.replace("-", "_")


def uses_vault(service: str) -> bool:
    """Whether a service's runtime builds the personal-data vault (needs SK_MASTER_KEY)."""
    return "build_vault(" in (ROOT / "services" / service / "bootstrap.py").read_text()


def test_the_code_has_what_these_checks_rely_on():
    assert set(SERVICES) == set(SETTINGS)
    assert {"serve", "agency-sim", "migrate", "probe", "token"} <= set(cli_commands())
    assert {"SK_KAFKA_BOOTSTRAP_SERVERS", "SK_DATABASE_URL", "SK_AGENCY_ENDPOINTS", "SK_HOST"} <= setting_names()
    assert {"SK_AUTH_PUBLIC_KEY", "SK_MASTER_KEY", "SK_PROBE_TOKEN", "SK_DATA_DIR"} <= setting_names()
    assert probe_command.PROBE_ROLE == PROBE_ROLE and ROLE_SCOPES[PROBE_ROLE] == {OPS_SCOPE}
    assert {s for s in SERVICES if uses_vault(s)} == {"intake", "agency_gateway"}
    assert [default_port(s) for s in (*SERVICES, SIMULATOR)] == [8001, 8002, 8003, 8004, 8009]


# -- the files -----------------------------------------------------------------------------
@cache
def compose() -> dict[str, Any]:
    return yaml.safe_load(COMPOSE_FILE.read_text())


def compose_services() -> dict[str, dict[str, Any]]:
    return compose()["services"]


def app_services() -> dict[str, dict[str, Any]]:
    return {code_name(n): s for n, s in compose_services().items() if n not in INFRA}


@cache
def k8s_documents() -> list[tuple[str, dict[str, Any]]]:
    files = sorted(K8S_DIR.glob("*.yaml"))
    return [(f.name, doc) for f in files for doc in yaml.safe_load_all(f.read_text()) if doc]


def k8s_objects(kind: str) -> list[tuple[str, dict[str, Any]]]:
    return [(f, doc) for f, doc in k8s_documents() if doc.get("kind") == kind]


def deployments() -> dict[str, tuple[str, dict[str, Any]]]:
    return {code_name(d["metadata"]["name"]): (f, d) for f, d in k8s_objects("Deployment")}


def container_of(workload: dict[str, Any]) -> dict[str, Any]:
    containers = workload["spec"]["template"]["spec"]["containers"]
    assert len(containers) == 1, workload["metadata"]["name"]
    return containers[0]


def resolve_port(container: dict[str, Any], port: int | str) -> int:
    if isinstance(port, int):
        return port
    named = {p.get("name"): p["containerPort"] for p in container.get("ports", [])}
    assert port in named, f"no container port named {port!r}"
    return named[port]


def container_port(spec: str) -> int:
    """``"127.0.0.1:8001:8001"``, ``"8001:8001"`` or ``"8001"`` -> 8001 (the container's)."""
    return int(str(spec).rsplit(":", 1)[-1].split("/")[0])


def probe_params(args: list[str]) -> dict[str, Any]:
    """``["servicekontor", "probe", ...]`` -> the probe command's parameters (its defaults
    filled in); fails on anything else or an option the command does not have."""
    assert args[:2] == ["servicekontor", "probe"], args
    return cli_commands()["probe"].make_context("probe", list(args[2:])).params


def dockerfile_env() -> dict[str, str]:
    return dict(
        pair.split("=", 1) for env in instructions("ENV") for pair in env.split() if "=" in pair
    )


def command_lines() -> list[tuple[str, list[str]]]:
    """Every ``servicekontor`` invocation in compose and Kubernetes, with where it is."""
    lines = [(f"compose:{n}", s["command"]) for n, s in compose_services().items() if n not in {"kafka", "postgres"}]
    workloads = k8s_objects("Deployment") + k8s_objects("Job")
    lines += [(f"k8s:{f}:{d['metadata']['name']}", container_of(d)["args"]) for f, d in workloads]
    return lines


def migrate_pending() -> pytest.MarkDecorator:
    return pytest.mark.xfail(
        "migrate" not in cli_commands(),
        reason="`servicekontor migrate` is not registered yet (being added in the distributed-mode "
        "issue); the compose `migrate` service and the k8s Job call it",
        strict=True,
    )


def command_params() -> list:
    return [
        pytest.param(where, args, id=where, marks=[migrate_pending()] if args[:1] == ["migrate"] else [])
        for where, args in command_lines()
    ]


# -- commands ------------------------------------------------------------------------------
@pytest.mark.parametrize(("where", "args"), command_params())
def test_every_command_is_a_real_servicekontor_subcommand_with_valid_arguments(where, args):
    name, *rest = args
    assert name in cli_commands(), f"{where}: `servicekontor {name}` does not exist"
    command = cli_commands()[name]
    context = command.make_context(name, list(rest))  # raises on unknown options, missing args
    if name == "serve":
        assert context.params["service"] in SERVICES


def test_the_invocations_cover_every_service_the_migration_and_the_simulator():
    served = {args[1] for _, args in command_lines() if args[0] == "serve"}
    assert served == set(SERVICES)
    assert sum(args[0] == "migrate" for _, args in command_lines()) == 2  # compose + k8s Job
    assert {where.split(":")[0] for where, args in command_lines() if args[0] == "agency-sim"} == {"compose", "k8s"}


# -- settings names ------------------------------------------------------------------------
def compose_env_names() -> set[str]:
    names: set[str] = set()
    for service in compose_services().values():
        env = service.get("environment") or {}
        names |= set(env) if isinstance(env, dict) else {e.split("=", 1)[0] for e in env}
    return {n for n in names if n.startswith("SK_")}


def k8s_env_names() -> set[str]:
    names: set[str] = set()
    for _, doc in k8s_objects("ConfigMap") + k8s_objects("Secret"):
        names |= set(doc.get("data") or {}) | set(doc.get("stringData") or {})
    for _, doc in k8s_objects("Deployment") + k8s_objects("Job"):
        names |= {e["name"] for e in container_of(doc).get("env", [])}
    return {n for n in names if n.startswith("SK_")}


@pytest.mark.parametrize("source", ["compose", "k8s"])
def test_every_sk_variable_is_a_real_setting(source):
    used = compose_env_names() if source == "compose" else k8s_env_names()
    assert used, f"no SK_ settings found in {source}"
    unknown = sorted(used - setting_names())
    assert not unknown, f"{source} sets {unknown}, which no settings class reads"


def test_no_config_key_outside_sk_is_passed_to_the_services():
    for _, doc in k8s_objects("ConfigMap") + k8s_objects("Secret"):
        keys = set(doc.get("data") or {}) | set(doc.get("stringData") or {})
        assert all(k.startswith("SK_") for k in keys), doc["metadata"]["name"]


# -- docker-compose.yml --------------------------------------------------------------------
def test_compose_runs_exactly_the_codes_services_the_simulator_and_the_infrastructure():
    assert set(compose_services()) >= INFRA
    assert set(app_services()) == set(SERVICES) | {SIMULATOR}


@pytest.mark.parametrize("service", SERVICES)
def test_compose_serves_each_service_on_its_own_port_with_the_distributed_settings(service):
    spec = app_services()[service]
    port = default_port(service)
    assert spec["command"] == ["serve", service]
    assert [container_port(p) for p in spec["ports"]] == [port]
    env = spec["environment"]
    assert env["SK_HOST"] == "0.0.0.0"
    assert env["SK_KAFKA_BOOTSTRAP_SERVERS"] == "kafka:9092"
    assert env["SK_DATABASE_URL"] == "postgresql+asyncpg://servicekontor:servicekontor@postgres:5432/servicekontor"
    assert env["SK_AGENCY_SIMULATOR_URL"] == f"http://agency-simulator:{default_port(SIMULATOR)}"
    assert f"{service}_port".upper() not in {k.removeprefix("SK_") for k in env}, "the port is the code's own"


@pytest.mark.parametrize("service", SERVICES)
def test_compose_health_checks_probe_ready_with_a_token_on_the_services_own_port(service):
    """/ready needs a bearer token: the check is `servicekontor probe` (the image's console
    script), which sends one, on the service's own port and the default path /ready."""
    test = app_services()[service]["healthcheck"]["test"]
    assert test[0] == "CMD", "exec form: no shell, the script is on PATH"
    params = probe_params(test[1:])
    assert params["port"] == default_port(service)
    assert params["path"] == "/ready"
    assert params["data_dir"] is None, "the probe reads SK_DATA_DIR, where the keys are"
    assert not any("urllib" in part or "curl" in part for part in test)


def test_compose_health_check_of_the_simulator_asks_health_on_its_port_without_curl():
    test = app_services()[SIMULATOR]["healthcheck"]["test"]
    line = " ".join(test)
    assert test[0] in {"CMD", "CMD-SHELL"} and "curl" not in line and "wget" not in line
    assert "python" in line and "urllib" in line
    assert re.findall(r"http://(?:127\.0\.0\.1|localhost):(\d+)(/\w+)", line) == [(str(default_port(SIMULATOR)), "/health")]


def test_compose_services_and_migrate_share_one_data_volume_at_the_images_data_dir():
    """One key pair for all: `migrate` makes <data_dir>/auth and credentials.json, the
    services verify with auth/public.pem and their probes sign with auth/private.pem."""
    data_dir = dockerfile_env()["SK_DATA_DIR"]
    declared = set(compose().get("volumes") or {})
    sharing = [*SERVICES, "migrate"]
    sources = set()
    for name in sharing:
        spec = compose_services()[name] if name == "migrate" else app_services()[name]
        assert spec["environment"].get("SK_DATA_DIR", data_dir) == data_dir, name
        mounts = dict(str(v).split(":", 1) for v in spec.get("volumes", []))
        at_data = {source for source, target in mounts.items() if target.split(":")[0] == data_dir}
        assert len(at_data) == 1, f"{name}: no volume at {data_dir}"
        sources |= at_data
    assert len(sources) == 1 and sources <= declared, f"one named volume, not {sources}"
    assert not sources & {str(v).split(":", 1)[0] for v in compose_services()["agency-simulator"]["volumes"]}
    # A new named volume starts as a copy of the image's directory, owner included.
    assert any(re.search(rf"mkdir -p {re.escape(data_dir)}\b", run) for run in instructions("RUN"))
    assert any(re.search(rf"chown servicekontor:servicekontor {re.escape(data_dir)}\b", run) for run in instructions("RUN"))


def test_compose_is_development_so_migrate_makes_the_keys_and_the_probes_sign_with_them():
    for name in [*SERVICES, "migrate"]:
        env = compose_services()[name if name == "migrate" else name.replace("_", "-")]["environment"]
        assert env["SK_ENVIRONMENT"] == "development", name
        # A configured key or token would bypass the shared key pair (and probes would fail).
        assert not {"SK_AUTH_PUBLIC_KEY", "SK_AUTH_PUBLIC_KEY_FILE", "SK_PROBE_TOKEN", "SK_MASTER_KEY"} & set(env)
    assert compose_services()["migrate"]["command"] == ["migrate"]


def test_migrate_in_development_makes_the_key_pair_and_credentials_the_probe_signs_with(monkeypatch, tmp_path):
    """What compose relies on, run for real (SQLite instead of PostgreSQL): `servicekontor
    migrate` leaves auth/ and credentials.json in the data dir, and `probe` signs a monitor
    token with that key which the key's public half verifies."""
    from typer.testing import CliRunner

    for name in [*setting_names(), "SK_PROBE_TOKEN"]:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("SK_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("SK_LOG_LEVEL", "WARNING")
    result = CliRunner().invoke(cli.app, ["migrate"])
    assert result.exit_code == 0, result.output
    auth = tmp_path / "auth"
    assert {p.name for p in auth.iterdir()} >= {"private.pem", "public.pem", "master.key"}
    credentials = json.loads((tmp_path / "credentials.json").read_text())
    verifier = TokenVerifier((auth / "public.pem").read_bytes())
    assert verifier.verify(credentials[PROBE_ROLE]).role == PROBE_ROLE
    minted = probe_command.probe_token(CommonSettings())
    assert verifier.verify(minted).scopes == {OPS_SCOPE}


def test_compose_and_readme_show_ready_and_metrics_only_with_a_token():
    texts = {"docker-compose.yml": COMPOSE_FILE.read_text(), "deploy/README.md": (ROOT / "deploy" / "README.md").read_text()}
    for name, text in texts.items():
        for line in text.splitlines():
            if "curl" in line and re.search(r"/(ready|metrics)\b", line):
                assert "Authorization: Bearer" in line, f"{name}: {line.strip()}"
    assert "docker compose exec intake servicekontor token desk" in texts["docker-compose.yml"]


def test_compose_starts_services_only_after_their_dependencies_are_ready():
    services = compose_services()
    for service in SERVICES:
        depends = app_services()[service]["depends_on"]
        assert depends["kafka"] == {"condition": "service_healthy"}
        assert depends["postgres"] == {"condition": "service_healthy"}
        assert depends["migrate"] == {"condition": "service_completed_successfully"}
    assert services["migrate"]["depends_on"]["postgres"] == {"condition": "service_healthy"}
    assert services["migrate"]["restart"] == "no"
    for name, spec in services.items():
        for dependency, rule in (spec.get("depends_on") or {}).items():
            assert dependency in services, f"{name} depends on unknown {dependency}"
            if rule["condition"] == "service_healthy":
                assert "healthcheck" in services[dependency], f"{dependency} has no health check"


def test_compose_simulator_serves_on_its_port_with_its_data_in_a_volume():
    spec = compose_services()["agency-simulator"]
    port = default_port(SIMULATOR)
    params = cli_commands()["agency-sim"].make_context("agency-sim", spec["command"][1:]).params
    assert spec["command"][0] == "agency-sim"
    assert params["host"] == "0.0.0.0" and params["port"] == port and str(params["data_dir"]) == "/data"
    assert [container_port(p) for p in spec["ports"]] == [port]
    assert any(str(v).endswith(":/data") for v in spec["volumes"])


def test_compose_kafka_is_a_single_kraft_node_reachable_as_kafka_9092():
    kafka = compose_services()["kafka"]
    image, tag = kafka["image"].split(":")
    major, minor, *_ = (int(x) for x in tag.split("."))
    assert image == "apache/kafka" and (major, minor) >= (4, 1) and major == 4
    env = kafka["environment"]
    assert set(env["KAFKA_PROCESS_ROLES"].split(",")) == {"broker", "controller"}
    assert env["KAFKA_CONTROLLER_QUORUM_VOTERS"] == f"{env['KAFKA_NODE_ID']}@kafka:9093"
    assert "PLAINTEXT://kafka:9092" in env["KAFKA_ADVERTISED_LISTENERS"].split(",")
    assert "CONTROLLER://:9093" in env["KAFKA_LISTENERS"].split(",")
    assert env["CLUSTER_ID"] and not any("ZOOKEEPER" in k for k in env)
    assert env["KAFKA_OFFSETS_TOPIC_REPLICATION_FACTOR"] == 1


def test_compose_postgres_matches_the_database_url_the_services_get():
    postgres = compose_services()["postgres"]
    assert postgres["image"] == "postgres:16"
    url = make_url(app_services()["intake"]["environment"]["SK_DATABASE_URL"])
    env = postgres["environment"]
    assert (url.username, url.password, url.database) == (env["POSTGRES_USER"], env["POSTGRES_PASSWORD"], env["POSTGRES_DB"])
    assert url.host == "postgres" and url.port == 5432 and url.drivername == "postgresql+asyncpg"


def test_compose_keeps_kafka_and_postgres_data_in_named_volumes():
    declared = set(compose().get("volumes") or {})
    mounts = {
        "kafka": ("/var/lib/kafka/data", compose_services()["kafka"]["environment"]["KAFKA_LOG_DIRS"]),
        "postgres": ("/var/lib/postgresql/data", "/var/lib/postgresql/data"),
    }
    for service, (target, data_dir) in mounts.items():
        volumes = dict(str(v).split(":", 1) for v in compose_services()[service]["volumes"])
        named = {source for source, mounted in volumes.items() if mounted == target}
        assert named and named <= declared, f"{service} keeps no data in a named volume"
        assert data_dir == target


def test_compose_builds_the_services_from_deploy_dockerfile():
    for name, spec in compose_services().items():
        if name in {"kafka", "postgres"}:
            continue
        assert (ROOT / spec["build"]["context"] / spec["build"]["dockerfile"]).resolve() == DOCKERFILE


# -- deploy/k8s ----------------------------------------------------------------------------
def test_k8s_deploys_the_codes_services_and_the_simulator_only_in_a_dev_only_file():
    assert set(deployments()) == set(SERVICES) | {SIMULATOR}
    simulator_file, _ = deployments()[SIMULATOR]
    assert "dev-only" in simulator_file
    assert "DEV ONLY" in (K8S_DIR / simulator_file).read_text()
    for service in SERVICES:
        assert "dev" not in deployments()[service][0]
    production = [yaml.safe_dump(d) for f, d in k8s_documents() if "dev-only" not in f]
    assert not any("simulator" in text for text in production), "the simulator is never in production"


def test_k8s_objects_live_in_the_namespace_the_manifests_create():
    assert [d["metadata"]["name"] for _, d in k8s_objects("Namespace")] == [NAMESPACE]
    for file, doc in k8s_documents():
        if doc["kind"] not in {"Namespace", "Kustomization"}:
            assert doc["metadata"].get("namespace") == NAMESPACE, f"{file}: {doc['kind']}"


@pytest.mark.parametrize("service", SERVICES)
def test_k8s_runs_two_replicas_of_each_service_on_its_own_port_with_limits(service):
    _, deployment = deployments()[service]
    container = container_of(deployment)
    assert deployment["spec"]["replicas"] == 2
    assert container["args"] == ["serve", service]
    assert [p["containerPort"] for p in container["ports"]] == [default_port(service)]
    for kind in ("requests", "limits"):
        assert {"cpu", "memory"} <= set(container["resources"][kind]), f"{service} {kind}"
    pod = deployment["spec"]["template"]
    assert deployment["spec"]["selector"]["matchLabels"].items() <= pod["metadata"]["labels"].items()
    assert pod["spec"]["securityContext"]["runAsNonRoot"] is True


@pytest.mark.parametrize("service", [*SERVICES, SIMULATOR])
def test_k8s_liveness_and_startup_ask_health_on_the_services_port(service):
    container = container_of(deployments()[service][1])
    want = {"livenessProbe": "/health"}
    if "startupProbe" in container:
        want["startupProbe"] = "/health"
    if service == SIMULATOR:  # no authentication: the simulator stands in for the agencies
        want["readinessProbe"] = "/health"
    for probe, path in want.items():
        check = container[probe]["httpGet"]
        assert check["path"] == path, f"{service} {probe}"
        assert resolve_port(container, check["port"]) == default_port(service), f"{service} {probe}"


@pytest.mark.parametrize("service", SERVICES)
def test_k8s_readiness_is_the_probe_command_on_the_services_port_with_the_probe_token(service):
    """/ready needs a bearer token, which an httpGet probe cannot take from a Secret: the
    readiness probe runs `servicekontor probe` with SK_PROBE_TOKEN from the pod's env."""
    container = container_of(deployments()[service][1])
    readiness = container["readinessProbe"]
    assert set(readiness) & {"httpGet", "tcpSocket", "grpc"} == set(), service
    params = probe_params(readiness["exec"]["command"])
    assert params["port"] == default_port(service) == resolve_port(container, "http")
    assert params["path"] == "/ready"
    # The probe gives up (and says why) before the kubelet kills it; Python starts in ~1 s.
    assert params["timeout"] + 1 <= readiness["timeoutSeconds"] <= readiness["periodSeconds"]
    assert "SK_PROBE_TOKEN" in env_available(container), f"{service}: the probe would exit 2"


@pytest.mark.parametrize("service", [*SERVICES, SIMULATOR])
def test_k8s_each_deployment_has_a_service_on_its_port(service):
    _, deployment = deployments()[service]
    matching = [
        s for _, s in k8s_objects("Service")
        if s["spec"]["selector"].items() <= deployment["spec"]["template"]["metadata"]["labels"].items()
    ]
    assert len(matching) == 1, f"{service}: {len(matching)} Services select it"
    (port,) = matching[0]["spec"]["ports"]
    assert port["port"] == default_port(service)
    assert resolve_port(container_of(deployment), port["targetPort"]) == default_port(service)
    assert matching[0]["metadata"]["name"] == deployment["metadata"]["name"]


def test_k8s_workloads_read_only_config_maps_and_secrets_that_exist():
    config_maps = {d["metadata"]["name"] for _, d in k8s_objects("ConfigMap")}
    secrets = {d["metadata"]["name"] for _, d in k8s_objects("Secret")}
    for file, doc in k8s_objects("Deployment") + k8s_objects("Job"):
        for source in container_of(doc).get("envFrom", []):
            if "configMapRef" in source:
                assert source["configMapRef"]["name"] in config_maps, file
            if "secretRef" in source:
                assert source["secretRef"]["name"] in secrets, file


def env_available(container: dict[str, Any]) -> set[str]:
    """The names a container surely gets: ``env`` and its non-optional ``envFrom`` sources."""
    objects = {(d["kind"], d["metadata"]["name"]): d for _, d in k8s_objects("ConfigMap") + k8s_objects("Secret")}
    names = {e["name"] for e in container.get("env", [])}
    for source in container.get("envFrom", []):
        ((kind, ref),) = ((k, v) for k, v in source.items() if k in {"configMapRef", "secretRef"})
        if ref.get("optional"):
            continue
        doc = objects[("ConfigMap" if kind == "configMapRef" else "Secret", ref["name"])]
        names |= set(doc.get("data") or {}) | set(doc.get("stringData") or {})
    return names


def secret_refs(container: dict[str, Any]) -> set[str]:
    return {s["secretRef"]["name"] for s in container.get("envFrom", []) if "secretRef" in s}


def test_k8s_secrets_are_examples_with_placeholders_only():
    secrets = k8s_objects("Secret")
    assert {f for f, _ in secrets} == {"secret.example.yaml"}
    assert "EXAMPLE" in (K8S_DIR / "secret.example.yaml").read_text()
    found = {}
    for _, secret in secrets:
        values = {**(secret.get("stringData") or {}), **(secret.get("data") or {})}
        found[secret["metadata"]["name"]] = set(values)
        for key, value in values.items():
            assert "CHANGE-ME" in value, f"{key} is not a placeholder"
    assert found == SECRETS
    secret_keys = set().union(*SECRETS.values())
    for _, config_map in k8s_objects("ConfigMap"):
        assert not set(config_map["data"]) & secret_keys, "passwords, keys and tokens belong in a Secret"
        assert not any("DATABASE_URL" in key for key in config_map["data"]), "a password belongs in a Secret"


def test_k8s_secret_example_tells_how_to_make_the_keys_and_the_probe_token():
    text = (K8S_DIR / "secret.example.yaml").read_text()
    assert "openssl genpkey -algorithm ed25519 -out private.pem" in text
    assert "openssl pkey -in private.pem -pubout -out public.pem" in text
    assert "openssl rand -base64 32" in text  # SK_MASTER_KEY: base64 of 32 bytes
    (line,) = [line for line in text.splitlines() if f"servicekontor token {PROBE_ROLE}" in line]
    args = line.lstrip("# ").split(">")[0].split()
    assert args[:2] == ["servicekontor", "token"]
    params = cli_commands()["token"].make_context("token", args[2:]).params
    assert params["role"] == PROBE_ROLE and str(params["key_file"]) == "private.pem" and params["days"] >= 365
    for name in SECRETS:
        assert f"create secret generic {name}" in text, f"no command that makes {name}"


@pytest.mark.parametrize("service", SERVICES)
def test_k8s_each_service_gets_the_public_key_the_probe_token_and_the_master_key_if_it_has_a_vault(service):
    container = container_of(deployments()[service][1])
    available = env_available(container)
    assert {"SK_AUTH_PUBLIC_KEY", "SK_PROBE_TOKEN", "SK_DATABASE_URL"} <= available
    assert ("SK_MASTER_KEY" in available) == uses_vault(service), "the master key only where it is used"
    expected = {"servicekontor-database", "servicekontor-auth"} | ({"servicekontor-vault"} if uses_vault(service) else set())
    expected |= {"servicekontor-pseudonym"} if service == "intake" else set()  # its key: intake alone
    assert ("SK_PSEUDONYM_KEY" in available) == (service == "intake")
    assert secret_refs(container) == expected


def test_k8s_prometheus_scraping_is_documented_with_a_bearer_token():
    for service in SERVICES:
        file, deployment = deployments()[service]
        if deployment["spec"]["template"]["metadata"].get("annotations", {}).get("prometheus.io/scrape") == "true":
            text = (K8S_DIR / file).read_text()
            assert "authorization" in text and "credentials_file" in text and PROBE_ROLE in text, file


def test_k8s_production_config_reaches_kafka_and_never_the_simulator():
    (_, config), = [(f, d) for f, d in k8s_objects("ConfigMap") if "dev" not in f]
    data = config["data"]
    assert data["SK_ENVIRONMENT"] == "production" and data["SK_HOST"] == "0.0.0.0"
    assert data["SK_KAFKA_BOOTSTRAP_SERVERS"]
    assert "SK_AGENCY_SIMULATOR_URL" not in data
    assert isinstance(json.loads(data["SK_AGENCY_ENDPOINTS"]), dict)
    dev = [d for f, d in k8s_objects("ConfigMap") if "dev-only" in f]
    assert [d["data"]["SK_AGENCY_SIMULATOR_URL"] for d in dev] == [f"http://agency-simulator:{default_port(SIMULATOR)}"]


def test_k8s_migration_is_a_job_that_runs_once_with_the_database_key_and_vault_secrets():
    """`migrate` wires every service: on a read-only disk it needs the public key and the
    master key from the environment, or it would try to make them under the data dir."""
    (_, job), = k8s_objects("Job")
    container = container_of(job)
    assert container["args"] == ["migrate"]
    assert job["spec"]["template"]["spec"]["restartPolicy"] in {"Never", "OnFailure"}
    assert secret_refs(container) == {"servicekontor-database", "servicekontor-auth", "servicekontor-vault"}
    assert {"SK_DATABASE_URL", "SK_AUTH_PUBLIC_KEY", "SK_MASTER_KEY"} <= env_available(container)


def test_k8s_kustomization_lists_the_production_files_and_leaves_out_dev_and_examples():
    (_, kustomization), = k8s_objects("Kustomization")
    resources = kustomization["resources"]
    assert all((K8S_DIR / r).is_file() for r in resources)
    assert not any("dev-only" in r or "example" in r for r in resources)
    expected = {f.name for f in K8S_DIR.glob("*.yaml")} - {"kustomization.yaml"}
    assert set(resources) == {f for f in expected if "dev-only" not in f and "example" not in f}


# -- deploy/Dockerfile ---------------------------------------------------------------------
def dockerfile_instructions() -> list[tuple[str, str]]:
    text = DOCKERFILE.read_text().replace("\\\n", " ")
    lines = [line.strip() for line in text.splitlines() if line.strip() and not line.strip().startswith("#")]
    return [(line.split(None, 1)[0].upper(), line.split(None, 1)[1]) for line in lines]


def instructions(name: str) -> list[str]:
    return [arg for instruction, arg in dockerfile_instructions() if instruction == name]


def test_the_image_runs_the_servicekontor_console_script():
    (entrypoint,) = instructions("ENTRYPOINT")
    assert json.loads(entrypoint) == ["servicekontor"]
    scripts = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["scripts"]
    assert scripts["servicekontor"] == "servicekontor.cli:app"


def test_the_image_installs_the_package_from_python_3_11_slim_as_a_non_root_user():
    assert instructions("FROM") == ["python:3.11-slim"]
    assert any(re.search(r"\bpip install \.(\s|$)", run) for run in instructions("RUN"))
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())
    packages = {p.rstrip("*") for p in project["tool"]["setuptools"]["packages"]["find"]["include"]}
    copied = {Path(part).name for copy in instructions("COPY") for part in copy.split()[:-1]}
    assert packages | {"pyproject.toml", project["project"]["readme"]} <= copied
    user = instructions("USER")[-1].split(":")[0]
    assert user not in {"root", "0"}
    pod_users = {d["spec"]["template"]["spec"]["securityContext"]["runAsUser"] for _, d in k8s_objects("Deployment")}
    assert pod_users == {int(user)}, "Kubernetes runs the image as the uid the image declares"


def test_the_image_exposes_every_port_it_serves():
    exposed = {int(p) for expose in instructions("EXPOSE") for p in expose.split()}
    assert exposed == {default_port(s) for s in (*SERVICES, SIMULATOR)}


def test_the_simulator_url_host_is_the_simulators_name_everywhere():
    urls = [s["environment"]["SK_AGENCY_SIMULATOR_URL"] for s in app_services().values() if "environment" in s]
    urls += [d["data"]["SK_AGENCY_SIMULATOR_URL"] for _, d in k8s_objects("ConfigMap") if "SK_AGENCY_SIMULATOR_URL" in d["data"]]
    assert urls
    for url in urls:
        parts = urlsplit(url)
        assert parts.hostname == "agency-simulator" and parts.port == default_port(SIMULATOR)
    assert "agency-simulator" in compose_services()
    assert deployments()[SIMULATOR][1]["metadata"]["name"] == "agency-simulator"
