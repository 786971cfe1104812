"""The idempotency mechanism (shared/idempotency.py) on a real SQLite database: the
fingerprint, the caller's scope, storing an answer inside a transaction, the answer to a
retry (same request) and to a reused key (another request), a twin that committed first,
expiry and purging, and the ``0003_idempotency`` migration."""

from __future__ import annotations

import base64
import hashlib
from datetime import timedelta
from types import SimpleNamespace

import pytest
import sqlalchemy as sa
from alembic import command
from sqlalchemy import func, select

from shared.db import create_engine, create_tables, session_maker, sqlite_url
from shared.events import utc_now
from shared.idempotency import (
    Idempotency,
    IdempotencyStore,
    KeyReused,
    Replay,
    caller_scope,
    canonical_body,
    fingerprint,
    fingerprint_secret,
    no_record,
    unquoted,
)
from shared.migrations import alembic_config
from shared.tables import SHARED_TABLES, IdempotencyKey, StoredEvent


class Clock:
    def __init__(self) -> None:
        self.now = utc_now()

    def __call__(self):
        return self.now


@pytest.fixture
async def store(tmp_path):
    engine = create_engine(sqlite_url(tmp_path / "service.db"))
    await create_tables(engine, SHARED_TABLES, None)
    yield IdempotencyStore(session_maker(engine), clock=Clock())
    await engine.dispose()


class Uow:
    """The part of a unit of work the mechanism uses: a session, and a commit."""

    def __init__(self, store: IdempotencyStore) -> None:
        self.session = store.sessions()
        self.committed = False

    async def commit(self) -> None:
        await self.session.commit()
        await self.session.close()
        self.committed = True


def request(store, body: str = '{"office_id":"kiruna"}', key: str = "k-1", scope: str = "kiosk:abc") -> Idempotency:
    return Idempotency(store, scope, key, fingerprint("POST", "/v1/visits", "", body.encode(), store.secret), 201)


async def count(store, table=IdempotencyKey) -> int:
    async with store.sessions() as session:
        return (await session.exec(select(func.count()).select_from(table))).scalar_one()


def test_the_same_json_is_the_same_request_whatever_its_spelling():
    assert canonical_body(b'{"b": 2,  "a": [1, {"d": 1, "c": 2}]}') == canonical_body(b'{"a":[1,{"c":2,"d":1}],"b":2}')
    assert canonical_body(b"") == canonical_body(b"  ") == ""
    assert canonical_body(b"not json") == "not json"
    same = fingerprint("post", "/v1/visits", "", b'{"a": 1, "b": 2}')
    assert same == fingerprint("POST", "/v1/visits", "", b'{"b":2,"a":1}')
    others = {
        fingerprint("POST", "/v1/visits", "", b'{"a": 1, "b": 3}'),
        fingerprint("POST", "/v1/visits/x/questions", "", b'{"a": 1, "b": 2}'),
        fingerprint("PUT", "/v1/visits", "", b'{"a": 1, "b": 2}'),
        fingerprint("POST", "/v1/visits", "x=1", b'{"a": 1, "b": 2}'),
    }
    assert same not in others and len(others) == 4


def test_the_fingerprint_is_keyed_so_a_guessed_identity_number_cannot_be_checked_against_it():
    body = b'{"text":"Id-kort","personal_identity_number":"19811218-9876"}'
    plain = fingerprint("POST", "/v1/visits/v/questions", "", body)
    keyed = fingerprint("POST", "/v1/visits/v/questions", "", body, b"k" * 32)
    text = b"POST\n/v1/visits/v/questions\n\n" + canonical_body(body).encode()
    assert plain == hashlib.sha256(text).hexdigest()  # what a guesser could recompute
    assert keyed != plain and keyed != fingerprint("POST", "/v1/visits/v/questions", "", body, b"j" * 32)


def test_the_secret_comes_from_the_master_key_and_no_key_file_is_made(tmp_path):
    configured = base64.urlsafe_b64encode(b"m" * 32).decode()
    from_env = fingerprint_secret(SimpleNamespace(master_key=configured, data_dir=tmp_path))
    assert from_env and len(from_env) == 32 and b"m" * 32 not in from_env
    assert fingerprint_secret(SimpleNamespace(master_key=None, data_dir=tmp_path)) is None
    assert not (tmp_path / "auth").exists()
    (tmp_path / "auth").mkdir()
    (tmp_path / "auth" / "master.key").write_bytes(b"m" * 32)
    assert fingerprint_secret(SimpleNamespace(master_key=None, data_dir=tmp_path)) == from_env


def test_a_quoted_key_names_the_same_key_as_a_bare_one():
    assert unquoted('"8e03978e-40d5"') == "8e03978e-40d5" == unquoted("8e03978e-40d5")
    for odd in ('"', '""', '"a"b"', '"a\\"'):
        assert unquoted(odd) == odd


def test_a_key_belongs_to_one_caller_and_names_no_one():
    anna = SimpleNamespace(role="desk", subject="anna.andersson@kontor.example")
    assert caller_scope(anna) != caller_scope(SimpleNamespace(role="desk", subject="bertil"))
    assert caller_scope(anna) != caller_scope(SimpleNamespace(role="kiosk", subject=anna.subject))
    assert caller_scope(anna).startswith("desk:") and "anna" not in caller_scope(anna)
    assert len(caller_scope(SimpleNamespace(role="admin", subject="x" * 5000))) <= 80
    assert caller_scope(None) == "anonymous"


async def test_the_answer_is_stored_with_the_transaction_and_a_retry_gets_it(store):
    first = request(store)
    await first.check()  # nothing stored yet
    uow = Uow(store)
    await first.record(uow, {"visit_id": "v-1", "ticket": "A001"})
    await uow.commit()
    with pytest.raises(Replay) as replay:
        await request(store).check()
    response = replay.value.response()
    assert (replay.value.status, response.body) == (201, b'{"visit_id":"v-1","ticket":"A001"}')
    assert response.headers["idempotent-replayed"] == "true"
    with pytest.raises(KeyReused) as reused:
        await request(store, body='{"office_id":"umea"}').check()
    assert reused.value.code == "idempotency_key_reused"
    await request(store, scope="kiosk:other").check()  # another caller's key is another key
    await request(store, key="k-2").check()


async def test_an_answer_rolled_back_with_its_transaction_was_never_stored(store):
    uow = Uow(store)
    await request(store).record(uow, {"visit_id": "v-1"})
    await uow.session.rollback()
    await uow.session.close()
    await request(store).check()
    assert await count(store) == 0


async def test_a_twin_that_committed_first_wins_and_the_other_transaction_records_nothing(store):
    first, twin = request(store), request(store)
    await first.check()
    await twin.check()  # both passed the check before either committed
    uow = Uow(store)
    await first.record(uow, {"visit_id": "v-1"})
    await uow.commit()
    loser = Uow(store)
    loser.session.add(StoredEvent(
        event_id="e-2", event_type="intake.VisitRegistered", schema_version=1, stream_id="v-2",
        stream_version=1, occurred_at=utc_now(), correlation_id="c", producer="intake", payload="{}",
    ))
    with pytest.raises(Replay) as replay:
        await twin.record(loser, {"visit_id": "v-2"})
    await loser.session.rollback()  # what the unit of work does with the raised answer
    await loser.session.close()
    assert replay.value.body == '{"visit_id":"v-1"}'
    assert (await count(store), await count(store, StoredEvent)) == (1, 0)
    other, third = request(store, body='{"office_id":"umea"}'), Uow(store)
    with pytest.raises(KeyReused):
        await other.record(third, {"visit_id": "v-3"})
    await third.session.close()


async def test_keys_expire_after_a_day_and_the_writes_purge_them(store):
    clock = store.clock
    uow = Uow(store)
    await request(store, key="old").record(uow, {"n": 1})
    await uow.commit()
    clock.now += timedelta(hours=23, minutes=59)
    with pytest.raises(Replay):
        await request(store, key="old").check()
    clock.now += timedelta(minutes=2)
    await request(store, key="old").check()  # expired: as if never used
    store.last_purge = float("-inf")  # due
    uow = Uow(store)
    await request(store, key="new").record(uow, {"n": 2})
    await uow.commit()
    async with store.sessions() as session:
        keys = (await session.exec(select(IdempotencyKey.key))).scalars().all()
    assert keys == ["new"]
    # Not due again for a while: an expired key in between is replaced by its reuse.
    clock.now += timedelta(hours=25)
    uow = Uow(store)
    await request(store, key="new", body='{"other":1}').record(uow, {"n": 3})
    await uow.commit()
    with pytest.raises(Replay) as replay:
        await request(store, key="new", body='{"other":1}').check()
    assert replay.value.body == '{"n":3}'


async def test_without_a_key_nothing_is_stored_and_nothing_is_replayed(store):
    none = Idempotency()
    await none.check()
    uow = Uow(store)
    await none.record(uow, {"n": 1})
    assert none.recorder(lambda r: r) is no_record
    assert none.bind(uow, None) is uow and uow.commit.__func__ is Uow.commit
    await uow.commit()
    assert await count(store) == 0


async def test_a_recorder_shapes_the_handlers_result_and_bind_records_at_the_commit(store):
    uow = Uow(store)
    await request(store, key="r").recorder(lambda result: {"id": result})(uow, "v-9")
    await request(store, key="c").recorder({"constant": True})(uow, "ignored")
    await uow.commit()

    async def answer_of(bound) -> dict:
        assert bound is uow2
        return {"bound": True}

    uow2 = Uow(store)
    assert request(store, key="b").bind(uow2, answer_of) is uow2
    await uow2.commit()
    for key, body in (("r", '{"id":"v-9"}'), ("c", '{"constant":true}'), ("b", '{"bound":true}')):
        with pytest.raises(Replay) as replay:
            await request(store, key=key).check()
        assert replay.value.body == body and uow2.committed


def test_migration_0003_adds_the_table_to_a_database_made_before_it(tmp_path):
    """On SQLite here; tests/integration/test_idempotent_writes.py runs it on PostgreSQL."""
    engine = sa.create_engine(f"sqlite:///{tmp_path / 'old.db'}")
    before = [t for t in SHARED_TABLES if t.name != "idempotency_keys"]
    with engine.begin() as conn:
        command.upgrade(alembic_config(None, before, conn), "0002_office_day")
    assert "idempotency_keys" not in sa.inspect(engine).get_table_names()
    with engine.begin() as conn:
        command.upgrade(alembic_config(None, SHARED_TABLES, conn), "head")
    inspector = sa.inspect(engine)
    assert "idempotency_keys" in inspector.get_table_names()
    assert {c["name"] for c in inspector.get_columns("idempotency_keys")} == {
        "scope", "key", "request_hash", "status", "response_json", "created_at"
    }
    assert inspector.get_pk_constraint("idempotency_keys")["constrained_columns"] == ["scope", "key"]
    with engine.connect() as conn:
        assert conn.execute(sa.text("SELECT version_num FROM alembic_version")).scalar() == "0008_booking_visit_links"  # head: 0003 ... 0008
    engine.dispose()
