from types import SimpleNamespace

from services.agency_gateway.entrypoints.workers import DeliveryWorker
from shared.vault import InMemoryVault


async def test_the_sealed_identity_number_is_opened_only_for_the_responsible_agency():
    vault = InMemoryVault()
    sealed = await vault.encrypt("visit-1", "198112189876")
    case = {"case_id": "q1", "agency": "skatteverket", "personal_identity_number": sealed}
    worker = SimpleNamespace(vault=vault)
    opened = await DeliveryWorker._opened(worker, case, "skatteverket")
    assert opened["personal_identity_number"] == "198112189876"
    assert case["personal_identity_number"] == sealed, "the stored case stays sealed"
    other = await DeliveryWorker._opened(worker, case, "polisen")
    assert other["personal_identity_number"] is None


async def test_an_erased_visit_sends_no_identity_number():
    vault = InMemoryVault()
    sealed = await vault.encrypt("visit-1", "198112189876")
    await vault.erase("visit-1")
    case = {"case_id": "q1", "agency": "skatteverket", "personal_identity_number": sealed}
    opened = await DeliveryWorker._opened(SimpleNamespace(vault=vault), case, "skatteverket")
    assert opened["personal_identity_number"] is None
