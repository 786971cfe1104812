"""``GET /metrics`` on an app built by ``shared.api.create_app``: HTTP requests counted by
method, route template and status, latency by route, one registry per app."""

from __future__ import annotations

import httpx
import pytest
from fastapi import APIRouter
from prometheus_client import REGISTRY
from prometheus_client.parser import text_string_to_metric_families

from shared.api import create_app
from shared.errors import NotFound
from tests.helpers import random_id

router = APIRouter()


@router.get("/v1/items/{item_id}")
async def get_item(item_id: str) -> dict[str, str]:
    if item_id.startswith("missing"):
        raise NotFound(f"no item {item_id}")
    return {"item_id": item_id}


@router.post("/v1/items/{item_id}/notes", status_code=201)
async def add_note(item_id: str, body: dict) -> dict[str, str]:
    return {"item_id": item_id}


@router.get("/v1/boom/{item_id}")
async def boom(item_id: str) -> None:
    raise RuntimeError(f"broken for {item_id}")


async def all_ready() -> dict[str, bool]:
    return {"database": True}


def build_app():
    app = create_app("metrics test", all_ready, max_body_bytes=100)
    app.include_router(router)
    return app


def client_of(app) -> httpx.AsyncClient:
    # The app answers 500 itself and then re-raises for the server's log; don't re-raise here.
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    return httpx.AsyncClient(transport=transport, base_url="http://svc")


async def scrape(client: httpx.AsyncClient) -> list:
    response = await client.get("/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    return [s for family in text_string_to_metric_families(response.text) for s in family.samples]


def requests_count(samples, **labels: str) -> float:
    return sum(
        s.value
        for s in samples
        if s.name == "servicekontor_http_requests_total"
        and all(s.labels.get(k) == v for k, v in labels.items())
    )


@pytest.fixture
async def client():
    async with client_of(build_app()) as client:
        yield client


async def test_requests_are_counted_by_method_route_template_and_status(client):
    ids = [random_id() for _ in range(3)]
    for item_id in ids:
        assert (await client.get(f"/v1/items/{item_id}")).status_code == 200
    assert (await client.get(f"/v1/items/missing-{random_id()}")).status_code == 404
    note = await client.post(f"/v1/items/{ids[0]}/notes", json={"text": "hej"})
    assert note.status_code == 201
    samples = await scrape(client)
    assert requests_count(samples, method="GET", route="/v1/items/{item_id}", status="200") == 3
    assert requests_count(samples, method="GET", route="/v1/items/{item_id}", status="404") == 1
    assert requests_count(samples, method="POST", route="/v1/items/{item_id}/notes", status="201") == 1
    values = {v for s in samples for v in s.labels.values()}
    assert not any(item_id in value for item_id in ids for value in values)
    assert not any("missing-" in value for value in values)


async def test_latency_is_a_histogram_by_route_template(client):
    for _ in range(4):
        await client.get(f"/v1/items/{random_id()}")
    samples = await scrape(client)
    counts = {
        s.labels["route"]: s.value
        for s in samples
        if s.name == "servicekontor_http_request_duration_seconds_count"
    }
    assert counts["/v1/items/{item_id}"] == 4
    buckets = [
        s for s in samples
        if s.name == "servicekontor_http_request_duration_seconds_bucket"
        and s.labels["route"] == "/v1/items/{item_id}" and s.labels["le"] == "+Inf"
    ]
    assert [b.value for b in buckets] == [4]


async def test_a_path_no_route_knows_is_counted_as_unmatched_not_by_its_raw_path(client):
    secret = random_id()
    assert (await client.get(f"/no/such/{secret}")).status_code == 404
    samples = await scrape(client)
    assert requests_count(samples, route="unmatched", status="404") == 1
    assert secret not in str([s.labels for s in samples])


async def test_a_body_refused_before_routing_still_counts_under_its_route(client):
    response = await client.post(f"/v1/items/{random_id()}/notes", json={"text": "x" * 500})
    assert response.status_code == 413
    samples = await scrape(client)
    assert requests_count(samples, method="POST", route="/v1/items/{item_id}/notes", status="413") == 1


async def test_an_unhandled_error_counts_as_the_500_the_client_gets(client):
    response = await client.get(f"/v1/boom/{random_id()}")
    assert response.status_code == 500
    samples = await scrape(client)
    assert requests_count(samples, route="/v1/boom/{item_id}", status="500") == 1


async def test_an_unknown_method_is_one_label_value_not_many(client):
    for method in ("PURGE", "BREW", "X-" + random_id()[:8]):
        response = await client.request(method, f"/v1/items/{random_id()}")
        assert response.status_code == 405
    samples = await scrape(client)
    assert requests_count(samples, method="OTHER", route="/v1/items/{item_id}", status="405") == 3
    methods = {s.labels["method"] for s in samples if s.name == "servicekontor_http_requests_total"}
    assert methods <= {"GET", "POST", "OTHER"}


async def test_each_app_has_its_own_registry_and_none_uses_the_global_one():
    first, second = build_app(), build_app()
    async with client_of(first) as a, client_of(second) as b:
        for _ in range(3):
            await a.get(f"/v1/items/{random_id()}")
        await b.get(f"/v1/items/{random_id()}")
        assert requests_count(await scrape(a), route="/v1/items/{item_id}") == 3
        assert requests_count(await scrape(b), route="/v1/items/{item_id}") == 1
    global_names = {s.name for f in REGISTRY.collect() for s in f.samples}
    assert not any(name.startswith("servicekontor_") for name in global_names)


async def test_an_app_without_a_runtime_shows_http_metrics_only(client):
    families = {
        f.name for f in text_string_to_metric_families((await client.get("/metrics")).text)
    }
    assert "servicekontor_http_requests" in families
    assert not any(name.startswith("servicekontor_consumer") for name in families)


async def test_metrics_stay_out_of_the_openapi_document(client):
    paths = (await client.get("/openapi.json")).json()["paths"]
    assert "/metrics" not in paths and "/health" in paths
