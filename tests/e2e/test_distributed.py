"""Distributed mode: each service its own process on real Apache Kafka and PostgreSQL,
with the faults the network will see: a replica killed, Kafka stopped, PostgreSQL
restarted. Nothing may be lost or doubled. And a visit's erasure leaves its identity
number readable nowhere: not in any table, topic or log.

The tests are the services' clients with bearer tokens signed by the system's key."""

from __future__ import annotations

import asyncio
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest

from tests.e2e.distributed import DistributedSystem, local_script
from tests.e2e.erasure import PIN, PIN12, assert_only_sealed, erase, files_under, open_seals, scan
from tests.helpers import wait_until

pytestmark = [pytest.mark.realservers, pytest.mark.e2e]

TEXTS = ["Jag vill ansöka om id-kort", "Hur ansöker jag om bostadsbidrag?", "När kommer min sjukpenning?"]


@pytest.fixture
def system(real_servers, tmp_path):
    database_url = asyncio.run(real_servers.fresh_database())
    running = DistributedSystem(real_servers, database_url, tmp_path)
    running.migrate()
    yield running
    running.stop_all()


def record_visits(system: DistributedSystem, intake_url: str, count: int, offset: int = 0) -> list[str]:
    """Visits with one question each, from 4 kiosks at once; answers the question ids."""
    kiosk = system.headers("kiosk")

    def one(n: int) -> str:
        with httpx.Client(base_url=intake_url, headers=kiosk, timeout=30) as client:
            visit = client.post("/v1/visits", json={"office_id": "umea", "channel": "kiosk"}).json()
            q = client.post(f"/v1/visits/{visit['visit_id']}/questions", json={"text": TEXTS[n % 3]})
            assert q.status_code == 201, q.text
            return q.json()["question_id"]

    with ThreadPoolExecutor(4) as pool:
        return list(pool.map(one, range(offset, offset + count)))


def counts(system: DistributedSystem) -> dict:
    row = system.sql(
        """select
          (select count(*) from intake.event_store where event_type='intake.QuestionRecorded') as recorded,
          (select count(*) from routing.event_store where event_type='routing.QuestionClassified') as classified,
          (select count(distinct stream_id) from routing.event_store where event_type='routing.QuestionClassified') as classified_distinct,
          (select count(*) from routing.event_store where event_type='routing.CaseRoutedToAgency') as routed,
          (select count(*) from agency_gateway.gateway_deliveries where status='delivered') as delivered,
          (select count(*) from reporting.reporting_questions where level is not null) as reported"""
    )[0]
    return dict(row)


def converged(c: dict, expected: int) -> bool:
    return c["recorded"] == c["classified"] == c["classified_distinct"] == c["reported"] == expected and c["delivered"] == c["routed"]


def test_replicas_share_the_work_and_a_killed_replica_loses_and_doubles_nothing(system):
    for service in ("agency_simulator", "intake", "agency_gateway", "reporting"):
        system.start(service)
    first, second = system.start("routing"), system.start("routing")
    intake = system.first("intake").url()
    ids = record_visits(system, intake, 30)
    wait_until(lambda: counts(system)["classified"] == 30, timeout=60)
    members = group_members(system, "routing")
    assert members == 2, "both replicas joined the consumer group"

    recording = ThreadPoolExecutor(1).submit(record_visits, system, intake, 60, 30)
    wait_until(lambda: counts(system)["recorded"] >= 50, timeout=60)
    system.kill(first)
    ids += recording.result(timeout=120)

    final = wait_until(lambda: (c := counts(system)) and converged(c, 90) and c, timeout=120)
    assert final["classified_distinct"] == len(set(ids)) == 90
    sim = httpx.get(f"http://127.0.0.1:{system.sim_port}/v1/received").json()
    assert sim["unique_cases"] == final["routed"]
    assert second.popen.poll() is None


def group_members(system: DistributedSystem, name: str) -> int:
    from aiokafka.admin import AIOKafkaAdminClient

    async def describe() -> int:
        admin = AIOKafkaAdminClient(bootstrap_servers=system.servers.kafka_bootstrap_servers)
        await admin.start()
        try:
            response = (await admin.describe_consumer_groups([f"{system.prefix}{name}"]))[0]
            _error, _group, _state, _protocol_type, _protocol, members = response.groups[0][:6]
            return len(members)
        finally:
            await admin.close()

    return asyncio.run(describe())


def needs_local_servers(system: DistributedSystem) -> None:
    if system.servers.origin != "deploy/local":
        pytest.skip(f"needs control over the servers (they come from {system.servers.origin})")


def test_intake_keeps_accepting_while_kafka_is_down_and_everything_flows_after(system):
    needs_local_servers(system)
    for service in ("agency_simulator", "intake", "routing", "agency_gateway", "reporting"):
        system.start(service)
    intake = system.first("intake").url()
    record_visits(system, intake, 10)
    local_script("kafka-stop.sh")
    try:
        during = record_visits(system, intake, 20, 10)
        assert len(during) == 20, "intake accepted every visit while Kafka was down"
    finally:
        local_script("kafka-start.sh")
    final = wait_until(lambda: (c := counts(system)) and converged(c, 30) and c, timeout=180)
    assert final["classified"] == 30


def test_services_report_not_ready_while_postgres_restarts_then_recover(system):
    needs_local_servers(system)
    for service in ("agency_simulator", "intake", "routing", "agency_gateway", "reporting"):
        system.start(service)
    intake = system.first("intake")
    ops, desk = system.headers("supervisor"), system.headers("desk")
    record_visits(system, intake.url(), 5)
    local_script("postgres-stop.sh")
    try:
        not_ready = httpx.get(intake.url("/ready"), headers=ops, timeout=10)
        assert not_ready.status_code == 503 and not_ready.json()["ready"] is False
        body = {"office_id": "umea", "channel": "desk"}
        refused = httpx.post(intake.url("/v1/visits"), json=body, headers=desk, timeout=30)
        assert refused.status_code == 503 and refused.json()["error"]["code"] == "database_unavailable"
        # Tokens are checked with the public key alone: no database on that path.
        assert httpx.post(intake.url("/v1/visits"), json=body, timeout=30).status_code == 401
    finally:
        local_script("postgres-start.sh")
    wait_until(lambda: httpx.get(intake.url("/ready"), headers=ops, timeout=5).status_code == 200, timeout=60)
    record_visits(system, intake.url(), 5, 5)
    final = wait_until(lambda: (c := counts(system)) and converged(c, 10) and c, timeout=120)
    assert final["recorded"] == 10


def everything_stored(system: DistributedSystem) -> list[tuple[str, str | bytes]]:
    """Every table of every schema, every record of every topic, every file the processes
    wrote (their logs, the simulator's store)."""
    return [*system.postgres_rows(), *system.kafka_records(), *files_under(system.work_dir)]


def test_an_erased_visit_leaves_its_identity_number_readable_nowhere(system):
    for service in ("agency_simulator", "intake", "routing", "agency_gateway", "reporting"):
        system.start(service)
    intake, kiosk = system.first("intake").url(), system.headers("kiosk")
    visit = httpx.post(f"{intake}/v1/visits", json={"office_id": "umea", "channel": "kiosk"}, headers=kiosk, timeout=30)
    assert visit.status_code == 201, visit.text
    vid = visit.json()["visit_id"]
    sealed_q = httpx.post(
        f"{intake}/v1/visits/{vid}/questions", headers=kiosk, timeout=30,
        json={"text": "Jag vill ansöka om id-kort", "personal_identity_number": PIN},
    )
    assert sealed_q.status_code == 201, sealed_q.text
    # The visitor says it in the question too: free text is masked before it is stored.
    spoken_q = httpx.post(
        f"{intake}/v1/visits/{vid}/questions", headers=kiosk, timeout=30,
        json={"text": f"Mitt personnummer är {PIN[2:]}, när kommer min sjukpenning?"},
    )
    assert spoken_q.status_code == 201, spoken_q.text
    qid = sealed_q.json()["question_id"]

    # It flows everywhere it goes: routed, delivered to the agency, counted by reporting.
    supervisor = system.headers("supervisor")
    gateway = system.first("agency_gateway").url(f"/v1/deliveries/{qid}")
    delivery = wait_until(
        lambda: (r := httpx.get(gateway, headers=supervisor, timeout=10)).status_code == 200
        and r.json()["status"] == "delivered" and r.json(), timeout=120,
    )
    assert delivery["agency"] == "skatteverket"
    flowed = wait_until(lambda: (c := counts(system)) and converged(c, 2) and c, timeout=120)
    received = httpx.get(f"http://127.0.0.1:{system.sim_port}/v1/received", timeout=10).json()
    assert received["unique_cases"] == flowed["routed"] >= 1

    vault_url, master_key = system.database_url, system.work_dir / "auth" / "master.key"
    before = scan(everything_stored(system))
    assert_only_sealed(before, vid)
    assert any(place.startswith("postgres intake.") for place in before.sealed), before.sealed.keys()
    assert any(place.startswith("kafka ") for place in before.sealed), before.sealed.keys()
    assert set(asyncio.run(open_seals(vault_url, master_key, before.seals)).values()) == {PIN12}

    how = erase(intake, vid, system.headers("admin"), system.env())
    assert system.sql(f"select count(*) from vault.vault_visit_keys where visit_id = '{vid}'")[0][0] == 0
    # The erasure itself is an event: wait until intake has published it.
    wait_until(lambda: any(b"PersonalDataErased" in records for _, records in system.kafka_records()), timeout=60)
    after = scan(everything_stored(system))
    print(f"\nerased with {how}; searched {after.places} places; seals in: {sorted(after.sealed)}")
    assert_only_sealed(after, vid)
    assert after.seals >= before.seals, "a seal disappeared (the events are immutable)"
    assert set(asyncio.run(open_seals(vault_url, master_key, after.seals)).values()) == {None}
