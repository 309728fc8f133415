"""Where the embedded chain reads listings from: solc's storage layout in the packaged artifact."""

from __future__ import annotations

from gpuhub._artifact import load_artifact
from gpuhub._embedded import ListingLayout


def test_packaged_layout_places_every_listing_field() -> None:
    """The packaged artifact's storage layout places the counter, the mapping and each field."""
    layout = ListingLayout.from_solc(load_artifact()["storageLayout"])
    assert layout is not None
    assert {"provider", "status", "unit", "capacity", "price", "modelLength"} <= set(layout.fields)
    assert sum(part.size for part in layout.model) == 64


def test_layout_without_listings_is_refused() -> None:
    """A layout with no listings mapping gives None, so listings are read through the view."""
    layout = load_artifact()["storageLayout"]
    storage = [entry for entry in layout["storage"] if entry["label"] != "_listings"]
    assert ListingLayout.from_solc({**layout, "storage": storage}) is None
    assert ListingLayout.from_solc({}) is None


def test_rating_slot_matches_the_contracts_one_addition() -> None:
    """GPUHub._addRating adds to its packed Ratings slot in one step, at bit offsets written in
    the source (count 0, sum 48, weight 104, weighted sum 152): solc's layout puts them there,
    each field as wide as the carries it must hold."""
    types = load_artifact()["storageLayout"]["types"]
    (ratings,) = [t for name, t in types.items() if name.startswith("t_struct(Ratings)")]
    placed = {m["label"]: (int(m["slot"]), m["offset"] * 8) for m in ratings["members"]}
    assert placed == {
        "count": (0, 0),
        "sum": (0, 48),
        "weight": (0, 104),
        "weightedSum": (0, 152),
        "terminations": (0, 208),
    }
    assert ratings["numberOfBytes"] == "32"
