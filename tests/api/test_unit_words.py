"""Price units over HTTP take the query language's words in either case."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from .conftest import AUTH


@pytest.mark.parametrize("word", ["hour", "Hour", "HOUR"])
def test_create_listing_takes_the_unit_in_any_case(http: TestClient, word: str) -> None:
    """POST /v1/listings accepts hour, Hour and HOUR alike and answers HOUR."""
    body = {"gpu_model": "L4", "capacity": 24, "price": "3600", "unit": word}
    created = http.post("/v1/listings", json=body, headers=AUTH)
    assert created.status_code == 201, created.text
    assert created.json()["unit"] == "HOUR"


def test_update_and_filter_take_lower_case_units(http: TestClient) -> None:
    """PATCH /v1/listings/{id} and the price_unit filter read minute and day as well."""
    body = {"gpu_model": "L4", "capacity": 24, "price": "60", "unit": "minute", "max_duration": 9}
    assert http.post("/v1/listings", json=body, headers=AUTH).status_code == 201
    updated = http.patch("/v1/listings/0", json={"unit": "day"}, headers=AUTH)
    assert updated.status_code == 200, updated.text
    assert updated.json()["unit"] == "DAY"
    found = http.get("/v1/listings", params={"max_price": "86400", "price_unit": "day"})
    assert found.status_code == 200, found.text
    assert [x["listing_id"] for x in found.json()["items"]] == [0]


def test_unknown_unit_is_still_refused(http: TestClient) -> None:
    """A word that is no unit, or a unit that is not text, is a 422 that names the field."""
    for unit in ("fortnight", 1):
        body = {"gpu_model": "L4", "capacity": 24, "price": "60", "unit": unit}
        refused = http.post("/v1/listings", json=body, headers=AUTH)
        assert refused.status_code == 422
        assert "unit" in refused.text
