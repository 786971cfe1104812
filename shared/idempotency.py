"""Idempotent writes: the ``Idempotency-Key`` request header (IETF draft
*draft-ietf-httpapi-idempotency-key-header*).

A client that may send a POST again (a kiosk retrying after a network error) sends a key
of its own choosing, the same on every try. The first request with the key is carried out
and its answer (status and JSON body) is stored **in the same transaction as the events it
recorded**, so the answer exists exactly when its effects do, and it survives restarts.
Later requests with the key get that answer again, with ``Idempotent-Replayed: true``,
and record nothing:

- same key, same request (the fingerprint: method, path, query and canonical JSON body),
  same caller → the first answer again;
- same key, another request → 422 ``idempotency_key_reused``;
- a request with the key still in flight: its twin waits until the first one's
  transaction ends (PostgreSQL's row lock on the key; SQLite's single writer), then gets
  the first answer; both were carried out up to their commit, the second is rolled back;
- a request the service refused (any 4xx) stored nothing: sent again, it is judged again;
- no key: the request is carried out as before;
- a malformed key (not 1-255 visible ASCII characters) → 422 ``validation_error``.

Keys belong to the caller (the token's role and subject): another caller's key is
another key. The fingerprint is keyed (HMAC-SHA256 with a key derived from the
installation's master key, where the service has one): a body may hold an identity
number, and a plain hash of it could be reversed by trying every number. A stored answer is kept ``KEY_TTL`` (24 h); after that the key may be used
again. Expired rows are deleted by the writes themselves, at most every ``PURGE_EVERY``.

Use: a route declares ``once: IdempotencyDep`` (after the dependency that checks its
token) on a router with ``route_class=IdempotentRoute``, and hands the handler
``once.recorder(answer)``; the handler calls it inside its unit of work, just before the
commit. A handler that takes no recorder is given ``once.bind(uow, answer_of)`` instead.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
from typing import Annotated, Any

from fastapi import Depends, FastAPI, Header, Request, Response
from fastapi.encoders import jsonable_encoder
from fastapi.routing import APIRoute
from sqlalchemy import delete, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel.ext.asyncio.session import AsyncSession

from shared.auth import auth_dir
from shared.errors import Conflict, InvalidInput
from shared.events import utc_now
from shared.tables import IdempotencyKey
from shared.vault import unb64

KEY_HEADER = "Idempotency-Key"
REPLAYED_HEADER = "Idempotent-Replayed"
KEY_TTL = timedelta(hours=24)
PURGE_EVERY = 600.0  # seconds between two deletions of expired keys, per process
KEY_PATTERN = r"^[!-~]+$"  # visible ASCII, no space
KEY_DESCRIPTION = (
    "Makes the request safe to send again (IETF draft httpapi-idempotency-key-header): "
    "a retry with the same key and the same body gets the first answer again "
    f"(header `{REPLAYED_HEADER}: true`) and records nothing; the same key with another "
    "body is a 422. 1-255 visible ASCII characters (a UUID per user action); the draft's "
    "quoted form is accepted. Kept 24 hours, per caller."
)

Recorder = Callable[[Any, Any], Awaitable[None]]  # (unit of work, handler's result)


async def no_record(_uow: Any, _result: Any) -> None:
    """The recorder of a request without a key: records nothing."""


class KeyReused(InvalidInput):
    """The key was used before for another request (422, as the draft says)."""

    code = "idempotency_key_reused"


class Replay(Exception):
    """The stored answer of the first request with this key: the route answers it as it
    is (``IdempotentRoute``)."""

    def __init__(self, status: int, body: str) -> None:
        super().__init__(f"replayed answer ({status})")
        self.status = status
        self.body = body

    def response(self) -> Response:
        return Response(
            self.body, self.status, media_type="application/json", headers={REPLAYED_HEADER: "true"}
        )


class IdempotentRoute(APIRoute):
    """A route that may answer a stored answer instead of running (``Replay``).

    A request that ends in a conflict looks for its key's answer once more: a twin sent
    with the same key may have committed after this request's first look, and what it did
    (a slot booked, a visitor called) is what this request conflicts with. The twin's
    answer is then this request's answer too."""

    def get_route_handler(self) -> Callable[[Request], Awaitable[Response]]:
        handler = super().get_route_handler()

        async def answer_once(request: Request) -> Response:
            try:
                return await handler(request)
            except Replay as replay:
                return replay.response()
            except Conflict:
                once: Idempotency | None = getattr(request.state, "idempotency", None)
                if once is None:
                    raise
                try:
                    await once.check()
                except Replay as replay:
                    return replay.response()
                raise

        return answer_once


class IdempotencyStore:
    """Where a service keeps its answers: its own database (``idempotency_keys``)."""

    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        ttl: timedelta = KEY_TTL,
        clock: Callable[[], datetime] = utc_now,
        purge_every: float = PURGE_EVERY,
        secret: bytes | None = None,
    ) -> None:
        self.sessions = sessions
        self.secret = secret  # keys the fingerprints (None: plain SHA-256)
        self.ttl = ttl
        self.clock = clock
        self.purge_every = purge_every
        self.last_purge = float("-inf")

    def cutoff(self) -> datetime:
        return self.clock() - self.ttl

    async def find(self, session: AsyncSession, scope: str, key: str) -> IdempotencyKey | None:
        """The live answer stored under the key (an expired one counts as none)."""
        rows = await session.exec(
            select(IdempotencyKey).where(
                IdempotencyKey.scope == scope,
                IdempotencyKey.key == key,
                IdempotencyKey.created_at >= self.cutoff(),
            )
        )
        return rows.scalars().first()

    async def purge(self, session: AsyncSession) -> int:
        """Delete the expired answers (in the caller's transaction)."""
        self.last_purge = time.monotonic()
        result = await session.exec(delete(IdempotencyKey).where(IdempotencyKey.created_at < self.cutoff()))
        return result.rowcount or 0

    def purge_due(self) -> bool:
        return time.monotonic() - self.last_purge >= self.purge_every


def store_of(app: FastAPI) -> IdempotencyStore:
    """The app's store, made on first use over the service's own sessions."""
    store = getattr(app.state, "idempotency", None)
    if store is None:
        runtime = app.state.runtime
        secret = fingerprint_secret(runtime.settings)
        store = app.state.idempotency = IdempotencyStore(runtime.sessions, secret=secret)
    return store


def fingerprint_secret(settings: Any) -> bytes | None:
    """A key for the fingerprints, derived from the master key (``SK_MASTER_KEY``, else the
    development key file, never made here); None for a service that has neither (it
    takes no identity numbers)."""
    configured = getattr(settings, "master_key", None)
    if configured:
        master = unb64(configured)
    else:
        data_dir = getattr(settings, "data_dir", None)
        key_file = auth_dir(data_dir) / "master.key" if data_dir is not None else None
        if key_file is None or not key_file.exists():
            return None
        master = key_file.read_bytes()
    return hmac.new(master, b"servicekontor idempotency fingerprint v1", hashlib.sha256).digest()


def caller_scope(principal: Any) -> str:
    """The caller a key belongs to: the role, and a hash of the subject (bounded, and no
    handler's name in one more table)."""
    if principal is None:
        return "anonymous"
    subject = hashlib.sha256(principal.subject.encode()).hexdigest()[:40]
    return f"{principal.role}:{subject}"


def canonical_body(body: bytes) -> str:
    """The JSON body with sorted keys and no insignificant space (``{"a":1, "b":2}`` and
    ``{"b": 2, "a": 1}`` are the same request); a body that is no JSON, as it is."""
    if not body.strip():
        return ""
    try:
        return json.dumps(json.loads(body), sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    except ValueError:
        return body.decode("utf-8", "replace")


def fingerprint(method: str, path: str, query: str, body: bytes, secret: bytes | None = None) -> str:
    """What makes two requests the same request, hashed (HMAC-SHA256 with ``secret``, else
    SHA-256; hex)."""
    text = "\n".join([method.upper(), path, query, canonical_body(body)]).encode()
    if secret is None:
        return hashlib.sha256(text).hexdigest()
    return hmac.new(secret, text, hashlib.sha256).hexdigest()


def unquoted(key: str) -> str:
    """The draft sends the key as a structured-field string (``"abc"``); clients also send
    it bare. Both name the same key."""
    if len(key) >= 3 and key[0] == key[-1] == '"' and '"' not in key[1:-1] and "\\" not in key:
        return key[1:-1]
    return key


class Idempotency:
    """One request's key (``key`` None: sent without one) and what it is checked against."""

    def __init__(
        self,
        store: IdempotencyStore | None = None,
        scope: str = "",
        key: str | None = None,
        request_hash: str = "",
        status: int = 200,
    ) -> None:
        self.store = store
        self.scope = scope
        self.key = key
        self.request_hash = request_hash
        self.status = status

    async def check(self) -> None:
        """Before the work: raise ``Replay`` with the stored answer, or ``KeyReused``."""
        if self.key is None or self.store is None:
            return
        async with self.store.sessions() as session:
            earlier = await self.store.find(session, self.scope, self.key)
        if earlier is not None:
            raise self._answer_to(earlier)

    def _answer_to(self, earlier: IdempotencyKey) -> Exception:
        if earlier.request_hash != self.request_hash:
            return KeyReused(
                f"the {KEY_HEADER} was used before for another request: send a new key for a new request",
                {"header": KEY_HEADER},
            )
        return Replay(earlier.status, earlier.response_json)

    async def record(self, uow: Any, answer: Any) -> None:
        """Inside the unit of work, just before its commit: store ``answer`` under the key.
        If another request with the key committed first (it had not when ``check`` ran),
        raise its answer: the caller's transaction is rolled back, nothing is recorded
        twice. On PostgreSQL the insert waits while that request's transaction is open."""
        if self.key is None or self.store is None:
            return
        session: AsyncSession = getattr(uow, "session", uow)
        store = self.store
        if store.purge_due():
            await store.purge(session)
        body = json.dumps(jsonable_encoder(answer), ensure_ascii=False, allow_nan=False, separators=(",", ":"))
        table = IdempotencyKey.__table__
        insert = pg_insert if session.bind.dialect.name == "postgresql" else sqlite_insert
        statement = insert(table).values(
            scope=self.scope, key=self.key, request_hash=self.request_hash,
            status=self.status, response_json=body, created_at=store.clock(),
        )
        # An expired answer under the key is replaced; a live one is left alone.
        statement = statement.on_conflict_do_update(
            index_elements=[table.c.scope, table.c.key],
            set_={name: statement.excluded[name] for name in ("request_hash", "status", "response_json", "created_at")},
            where=table.c.created_at < store.cutoff(),
        ).returning(table.c.key)
        if (await session.exec(statement)).first() is not None:
            return
        earlier = await store.find(session, self.scope, self.key)
        if earlier is None:  # pragma: no cover - the conflicting row is live and committed
            raise RuntimeError("idempotency key conflict without a stored answer")
        raise self._answer_to(earlier)

    def recorder(self, answer: Any) -> Recorder:
        """For a handler's ``record`` parameter: stores ``answer(result)`` (or ``answer``
        itself when it is a value) with the handler's transaction."""
        if self.key is None:
            return no_record

        async def record(uow: Any, result: Any) -> None:
            await self.record(uow, answer(result) if callable(answer) else answer)

        return record

    def bind(self, uow: Any, answer_of: Callable[[Any], Awaitable[Any]]) -> Any:
        """For a handler that takes no recorder: the unit of work, whose commit first stores
        ``await answer_of(uow)`` (computed from what the unit of work holds then)."""
        if self.key is None:
            return uow
        commit = uow.commit

        async def commit_with_answer() -> None:
            await self.record(uow, await answer_of(uow))
            await commit()

        uow.commit = commit_with_answer
        return uow


async def idempotency(
    request: Request,
    key: Annotated[
        str | None,
        Header(alias=KEY_HEADER, min_length=1, max_length=255, pattern=KEY_PATTERN, description=KEY_DESCRIPTION),
    ] = None,
) -> Idempotency:
    """The route dependency. Declare it after the token's (``require``): the key belongs
    to the caller the token names."""
    if key is None:
        return Idempotency()
    route = request.scope.get("route")
    if not isinstance(route, IdempotentRoute):  # pragma: no cover - a wiring mistake
        raise RuntimeError(f"{request.url.path}: an idempotent route needs route_class=IdempotentRoute")
    store = store_of(request.app)
    body = await request.body()
    once = Idempotency(
        store,
        caller_scope(getattr(request.state, "principal", None)),
        unquoted(key),
        fingerprint(request.method, request.url.path, request.url.query, body, store.secret),
        route.status_code or 200,
    )
    await once.check()
    request.state.idempotency = once  # for IdempotentRoute's second look after a conflict
    return once


IdempotencyDep = Annotated[Idempotency, Depends(idempotency)]
