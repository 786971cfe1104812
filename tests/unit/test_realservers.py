"""How the suite finds and addresses its real servers (tests/realservers.py)."""

from __future__ import annotations

import pytest

from tests.realservers import _served_by_local_scripts, with_login


@pytest.mark.parametrize(
    "url",
    [
        "postgresql://servicekontor:servicekontor@127.0.0.1:55432/sk_test_1",  # deploy/local
        "postgresql://test:test@localhost:32771/sk_test_1",  # testcontainers' login
        "postgresql://app:s3cr%40t@db.example:5432/sk_test_1",  # anything from the environment
        "postgresql://nobody@db.example/sk_test_1",
    ],
)
def test_a_bi_login_replaces_whatever_login_the_url_had(url):
    bi = with_login(url, "sk_bi_1234", "pw")
    assert bi.startswith("postgresql://sk_bi_1234:pw@")
    assert bi.endswith("/sk_test_1")
    assert "servicekontor:" not in bi and "test:test" not in bi and "app:" not in bi


def write_state(tmp_path, kafka_port: str, pg_port: str) -> None:
    (tmp_path / "kafka").mkdir()
    (tmp_path / "kafka" / "port").write_text(kafka_port + "\n")
    (tmp_path / "postgres" / "data").mkdir(parents=True)
    (tmp_path / "postgres" / "data" / "postmaster.pid").write_text(f"123\n/data\n1700000000\n{pg_port}\n")


def test_servers_given_in_the_environment_are_controllable_when_deploy_local_runs_them(tmp_path, monkeypatch):
    monkeypatch.setenv("SK_LOCAL_STATE", str(tmp_path))
    url = "postgresql+asyncpg://servicekontor:servicekontor@127.0.0.1:55432/servicekontor"
    assert not _served_by_local_scripts("127.0.0.1:9092", url)  # nothing runs
    write_state(tmp_path, "9092", "55432")
    assert _served_by_local_scripts("127.0.0.1:9092", url)
    assert not _served_by_local_scripts("127.0.0.1:19092", url)
    assert not _served_by_local_scripts("127.0.0.1:9092", url.replace("55432", "5432"))


def test_no_test_sees_the_servers_the_environment_names():
    """Settings made in a test (``IntakeSettings(data_dir=tmp)``: SQLite) must not pick up
    the real servers the suite was given; only the ``real_servers`` fixture hands them out."""
    import os

    assert "SK_DATABASE_URL" not in os.environ and "SK_KAFKA_BOOTSTRAP_SERVERS" not in os.environ
    assert not [n for n in os.environ if n.startswith("SK_") and n.endswith("_DATABASE_URL")
                and n not in ("SK_FUZZ_DATABASE_URL", "SK_ADMIN_DATABASE_URL")]
