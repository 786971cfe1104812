"""Personal data vault: envelope encryption with a data key per visit, and erasure by
destroying that key (crypto-shredding).

Identity numbers are stored and carried only as ``pd1:<visit_id>:<nonce>:<ciphertext>``.
The visit's data key (AES-256-GCM) is kept wrapped by the master key (from configuration;
on the embedded default a file made on first start, mode 0600) in the vault's own table.
Erasing a visit deletes its wrapped key: the events stay, the ciphertext in every store,
topic and log becomes unreadable. Only the agency gateway decrypts, just before sending
a case to the agency responsible for it.
"""

from __future__ import annotations

import base64
import os
from datetime import UTC, datetime, timedelta

from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from sqlalchemy import Column, DateTime, LargeBinary, delete, select, text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlmodel import Field, SQLModel

from shared.auth import auth_dir
from shared.db import create_engine, create_tables, session_maker, sqlite_url
from shared.events import utc_now

PREFIX = "pd1"


class VisitKey(SQLModel, table=True):
    __tablename__ = "vault_visit_keys"

    visit_id: str = Field(primary_key=True, max_length=36)
    wrapped_key: bytes = Field(sa_column=Column(LargeBinary, nullable=False))
    created_at: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def load_master_key(configured: str | None, key_file) -> bytes:
    """The master key: ``SK_MASTER_KEY`` (base64, 32 bytes) or, embedded, a 0600 file."""
    if configured:
        key = unb64(configured)
    else:
        if not key_file.exists():
            key_file.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
            fd = os.open(key_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "wb") as handle:
                handle.write(AESGCM.generate_key(bit_length=256))
        key = key_file.read_bytes()
    if len(key) != 32:
        raise ValueError("the master key must be 32 bytes (base64 in SK_MASTER_KEY)")
    return key


class Vault:
    def __init__(self, engine: AsyncEngine, master_key: bytes, schema: str | None = "vault") -> None:
        self.engine = engine
        self.sessions = session_maker(engine)
        self.master = AESGCM(master_key)
        self.schema = schema

    async def init_db(self) -> None:
        """Create the key table. Intake and the gateway both do this at start-up; on
        PostgreSQL under the migrations' advisory lock, so replicas never race."""
        if self.engine.dialect.name != "postgresql":
            await create_tables(self.engine, [VisitKey.__table__], self.schema)
            return
        from shared.migrations import LOCK_KEY

        async with self.engine.begin() as conn:
            await conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": LOCK_KEY})
            await conn.execute(text(f'CREATE SCHEMA IF NOT EXISTS "{self.schema}"'))
            await conn.run_sync(SQLModel.metadata.create_all, tables=[VisitKey.__table__])

    async def encrypt(self, visit_id: str, plaintext: str) -> str:
        data_key = await self._data_key(visit_id, create=True)
        nonce = os.urandom(12)
        sealed = AESGCM(data_key).encrypt(nonce, plaintext.encode(), visit_id.encode())
        return f"{PREFIX}:{visit_id}:{b64(nonce)}:{b64(sealed)}"

    async def decrypt(self, token: str) -> str | None:
        """The plaintext, or None when the visit's key was destroyed (erased)."""
        prefix, visit_id, nonce, sealed = token.split(":")
        if prefix != PREFIX:
            raise ValueError("not a vault token")
        data_key = await self._data_key(visit_id, create=False)
        if data_key is None:
            return None
        return AESGCM(data_key).decrypt(unb64(nonce), unb64(sealed), visit_id.encode()).decode()

    async def erase(self, visit_id: str) -> bool:
        """Destroy the visit's data key; True if there was one."""
        async with self.sessions() as session:
            result = await session.exec(delete(VisitKey).where(VisitKey.visit_id == visit_id))
            await session.commit()
            return result.rowcount > 0

    async def keys_older_than(
        self, days: int, now: datetime | None = None, limit: int = 1000
    ) -> list[str]:
        """Visits whose data key was made more than ``days`` days before ``now``, oldest
        first, at most ``limit``. Intake's retention worker erases them one by one through
        its handler, so each erasure is recorded as an event."""
        # UTC: SQLite compares the stored wall-clock text, written in UTC.
        cutoff = ((now or utc_now()) - timedelta(days=days)).astimezone(UTC)
        query = (
            select(VisitKey.visit_id)
            .where(VisitKey.created_at < cutoff)
            .order_by(VisitKey.created_at, VisitKey.visit_id)
            .limit(limit)
        )
        async with self.sessions() as session:
            return list((await session.exec(query)).scalars())

    async def erase_older_than(self, days: int, now: datetime | None = None) -> list[str]:
        """Destroy every key older than ``days`` days, recording nothing: for tools only.
        The service erases through intake's handler (``PersonalDataErased`` events)."""
        visit_ids = await self.keys_older_than(days, now, limit=2**31 - 1)
        for visit_id in visit_ids:
            await self.erase(visit_id)
        return visit_ids

    async def _data_key(self, visit_id: str, create: bool) -> bytes | None:
        async with self.sessions() as session:
            row = await session.get(VisitKey, visit_id)
            if row is None and create:
                key = AESGCM.generate_key(bit_length=256)
                nonce = os.urandom(12)
                wrapped = nonce + self.master.encrypt(nonce, key, visit_id.encode())
                row = VisitKey(visit_id=visit_id, wrapped_key=wrapped, created_at=utc_now())
                session.add(row)
                try:
                    await session.commit()
                except IntegrityError:  # another request made the visit's key just now: that one
                    await session.rollback()
                    row = await session.get(VisitKey, visit_id)
            if row is None:
                return None
            nonce, sealed = row.wrapped_key[:12], row.wrapped_key[12:]
            return self.master.decrypt(nonce, sealed, visit_id.encode())


def is_token(value: str | None) -> bool:
    return bool(value) and value.startswith(f"{PREFIX}:")


def build_vault(settings) -> Vault:
    """The vault of an installation: ``SK_VAULT_DATABASE_URL``, else the shared PostgreSQL
    database (schema ``vault``), else ``<data_dir>/vault.db``; the master key from
    ``SK_MASTER_KEY``, else (development only) ``<data_dir>/auth/master.key``."""
    if settings.environment == "production" and not settings.master_key:
        raise SystemExit("production needs SK_MASTER_KEY (base64 of 32 random bytes)")
    url = settings.vault_database_url or settings.database_url
    if url is None:
        url = sqlite_url(settings.data_dir.resolve() / "vault.db")
    key = load_master_key(settings.master_key, auth_dir(settings.data_dir) / "master.key")
    return Vault(create_engine(url, schema="vault"), key, schema="vault")


class InMemoryVault:
    """Fake for unit tests: same behaviour, keys in a dict."""

    def __init__(self, clock=utc_now) -> None:
        self.keys: dict[str, bytes] = {}
        self.created_at: dict[str, datetime] = {}
        self.clock = clock

    async def init_db(self) -> None:
        pass

    async def encrypt(self, visit_id: str, plaintext: str) -> str:
        if visit_id not in self.keys:
            self.keys[visit_id] = AESGCM.generate_key(bit_length=256)
            self.created_at[visit_id] = self.clock()
        key = self.keys[visit_id]
        nonce = os.urandom(12)
        sealed = AESGCM(key).encrypt(nonce, plaintext.encode(), visit_id.encode())
        return f"{PREFIX}:{visit_id}:{b64(nonce)}:{b64(sealed)}"

    async def decrypt(self, token: str) -> str | None:
        _, visit_id, nonce, sealed = token.split(":")
        key = self.keys.get(visit_id)
        if key is None:
            return None
        return AESGCM(key).decrypt(unb64(nonce), unb64(sealed), visit_id.encode()).decode()

    async def erase(self, visit_id: str) -> bool:
        self.created_at.pop(visit_id, None)
        return self.keys.pop(visit_id, None) is not None

    async def keys_older_than(
        self, days: int, now: datetime | None = None, limit: int = 1000
    ) -> list[str]:
        cutoff = (now or utc_now()) - timedelta(days=days)
        old = sorted((at, visit_id) for visit_id, at in self.created_at.items() if at < cutoff)
        return [visit_id for _, visit_id in old[:limit]]

    async def erase_older_than(self, days: int, now: datetime | None = None) -> list[str]:
        visit_ids = await self.keys_older_than(days, now, limit=len(self.keys))
        for visit_id in visit_ids:
            await self.erase(visit_id)
        return visit_ids
