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
from servicekontor.runner import SERVICES
from services.agency_gateway.config import GatewaySettings
from services.intake.config import IntakeSettings
from services.reporting.config import ReportingSettings
from services.routing.config import RoutingSettings
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


def test_the_code_has_what_these_checks_rely_on():
    assert set(SERVICES) == set(SETTINGS)
    assert {"serve", "agency-sim"} <= set(cli_commands())
    assert {"SK_KAFKA_BOOTSTRAP_SERVERS", "SK_DATABASE_URL", "SK_AGENCY_ENDPOINTS", "SK_HOST"} <= setting_names()
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


@pytest.mark.parametrize(("service", "path"), [*((s, "/ready") for s in SERVICES), (SIMULATOR, "/health")])
def test_compose_health_checks_ask_the_right_path_on_the_right_port_without_curl(service, path):
    test = app_services()[service]["healthcheck"]["test"]
    line = " ".join(test)
    assert test[0] in {"CMD", "CMD-SHELL"} and "curl" not in line and "wget" not in line
    assert "python" in line and "urllib" in line
    assert re.findall(r"http://(?:127\.0\.0\.1|localhost):(\d+)(/\w+)", line) == [(str(default_port(service)), path)]


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
def test_k8s_probes_ask_ready_and_health_on_the_services_port(service):
    container = container_of(deployments()[service][1])
    want = {"readinessProbe": "/ready" if service != SIMULATOR else "/health", "livenessProbe": "/health"}
    if "startupProbe" in container:
        want["startupProbe"] = "/health"
    for probe, path in want.items():
        check = container[probe]["httpGet"]
        assert check["path"] == path, f"{service} {probe}"
        assert resolve_port(container, check["port"]) == default_port(service), f"{service} {probe}"


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


def test_k8s_the_database_url_is_in_a_secret_example_with_placeholders_only():
    (file, secret), = k8s_objects("Secret")
    assert "example" in file
    values = {**(secret.get("stringData") or {}), **(secret.get("data") or {})}
    assert set(values) == {"SK_DATABASE_URL"}
    assert "CHANGE-ME" in values["SK_DATABASE_URL"] and "EXAMPLE" in (K8S_DIR / file).read_text()
    for _, config_map in k8s_objects("ConfigMap"):
        assert not any("DATABASE_URL" in key for key in config_map["data"]), "a password belongs in a Secret"


def test_k8s_production_config_reaches_kafka_and_never_the_simulator():
    (_, config), = [(f, d) for f, d in k8s_objects("ConfigMap") if "dev" not in f]
    data = config["data"]
    assert data["SK_ENVIRONMENT"] == "production" and data["SK_HOST"] == "0.0.0.0"
    assert data["SK_KAFKA_BOOTSTRAP_SERVERS"]
    assert "SK_AGENCY_SIMULATOR_URL" not in data
    assert isinstance(json.loads(data["SK_AGENCY_ENDPOINTS"]), dict)
    dev = [d for f, d in k8s_objects("ConfigMap") if "dev-only" in f]
    assert [d["data"]["SK_AGENCY_SIMULATOR_URL"] for d in dev] == [f"http://agency-simulator:{default_port(SIMULATOR)}"]


def test_k8s_migration_is_a_job_that_runs_once_with_the_database_secret():
    (_, job), = k8s_objects("Job")
    container = container_of(job)
    assert container["args"] == ["migrate"]
    assert job["spec"]["template"]["spec"]["restartPolicy"] in {"Never", "OnFailure"}
    assert {"secretRef"} <= {key for source in container["envFrom"] for key in source}


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
