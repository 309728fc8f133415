"""The query language: parsing, printing back, units, keywords and where each error starts."""

from __future__ import annotations

from fractions import Fraction

import pytest

from gpuhub import ListingStatus, PriceUnit, QueryError, ValidationError
from gpuhub.search import Query, SortKey, Term, Time

EXAMPLE = "model~4090 capacity>=24 price_per_hour<=0.5eth sort=price_per_hour limit=20"


def test_example_parses_into_terms() -> None:
    """The issue's example parses into its terms, sort key and limit."""
    query = Query.parse(EXAMPLE)
    assert query.terms == (
        Term("model", "~", "4090"),
        Term("capacity", ">=", 24),
        Term("price_per_hour", "<=", 5 * 10**17),
    )
    assert query.sort == (SortKey("price_per_hour"),)
    assert query.limit == 20


def test_query_prints_back_as_its_string() -> None:
    """A query in normal form prints back as the same string."""
    assert str(Query.parse(EXAMPLE)) == EXAMPLE


@pytest.mark.parametrize(
    "text",
    [
        'model in ["RTX 4090", A100] unit notin [day] status=any sort=-capacity,id offset=3',
        "provider~ab max_duration>=5 min_duration<=3h max_hours>=2d price!=7wei",
        'model="say \\"hi\\"" id in [] status!=removed',
    ],
)
def test_printed_query_parses_to_the_same_query(text: str) -> None:
    """Parsing a query's printed form gives an equal query."""
    query = Query.parse(text)
    assert Query.parse(str(query)) == query


@pytest.mark.parametrize(
    ("text", "wei"),
    [("0.5eth", 5 * 10**17), ("20gwei", 20 * 10**9), ("1e15wei", 10**15), ("123", 123)],
)
def test_money_units(text: str, wei: int) -> None:
    """Money values take eth, gwei and wei (the default), exactly."""
    assert Query.parse(f"price<={text}").terms[0].value == wei


@pytest.mark.parametrize(("text", "seconds"), [("3h", 10800), ("2d", 172800), ("1.5", 5400)])
def test_time_units_for_max_hours(text: str, seconds: int) -> None:
    """max_hours takes time units, and a bare number is hours."""
    assert Query.parse(f"max_hours>={text}").terms[0].value == Time(Fraction(seconds))


def test_bare_duration_is_in_listing_units() -> None:
    """A bare duration counts the listing's own units; one with a unit is time."""
    assert Query.parse("max_duration>=5").terms[0].value == 5
    assert Query.parse("max_duration>=5h").terms[0].value == Time(Fraction(18000))


def test_spaces_around_operators() -> None:
    """Terms may have spaces around their operator."""
    assert Query.parse("capacity >= 24") == Query.parse("capacity>=24")


def test_default_status_is_available() -> None:
    """With no status term the filters add status=available."""
    assert Query.parse("capacity>=1").filters()[-1] == Term("status", "=", ListingStatus.AVAILABLE)


def test_status_any_lifts_the_default() -> None:
    """status=any drops the status filter."""
    assert Query.parse("status=any").filters() == ()


def test_keywords_build_the_same_query() -> None:
    """Keyword arguments build the query the string describes."""
    built = Query.build(
        model="4090",
        min_capacity=24,
        max_price_per_hour="0.5eth",
        sort=["price_per_hour"],
        limit=20,
    )
    assert built == Query.parse(EXAMPLE)


def test_keyword_lists_become_in() -> None:
    """A list keyword value is an `in` term."""
    built = Query.build(unit=["hour", PriceUnit.DAY])
    assert built.terms == (Term("unit", "in", (PriceUnit.HOUR, PriceUnit.DAY)),)


def test_unknown_keyword_names_the_closest() -> None:
    """An unknown keyword argument raises ValidationError with a suggestion."""
    with pytest.raises(ValidationError, match="did you mean 'min_capacity'") as exc:
        Query.build(min_capacty=3)
    assert exc.value.field == "min_capacty"


def test_of_adds_keywords_to_a_string() -> None:
    """Query.of joins a query string and keyword terms; keyword sort replaces the string's."""
    query = Query.of("capacity>=24 sort=id", model="4090", sort="-price")
    assert query == Query.parse("capacity>=24 model~4090 sort=-price")


def test_query_error_is_a_validation_error() -> None:
    """QueryError is a ValidationError carrying the query and the position."""
    with pytest.raises(ValidationError) as exc:
        Query.parse("modle~4090")
    assert isinstance(exc.value, QueryError)
    assert (exc.value.position, exc.value.query) == (0, "modle~4090")


@pytest.mark.parametrize(
    ("text", "position", "words"),
    [
        ("modle~4090", 0, "did you mean 'model'"),
        ("capacity>=24 prise<1eth", 13, "did you mean 'price'"),
        ("capacity=>24", 8, "did you mean '>='"),
        ("capacity==24", 8, "did you mean '='"),
        ("model<3", 5, "does not apply to model"),
        ("unit>=hour", 4, "does not apply to unit"),
        ("price<=0.5eht", 7, "did you mean 'eth'"),
        ("max_hours>=3hrs", 11, "unknown unit 'hrs'"),
        ("capacity>=24gb", 10, "plain number"),
        ("price<=1.5wei", 7, "whole number of wei"),
        ("capacity>=lots", 10, "expected a number"),
        ("model in [a, b", 9, "unterminated list"),
        ("model in [a b]", 12, "expected ',' or ']'"),
        ("model in a", 9, "takes a list"),
        ('model="abc', 6, "unterminated string"),
        ("capacity>=24 foo", 13, "unexpected text 'foo'"),
        ("capacity 24", 9, "expected an operator"),
        ("capacity>=", 10, "missing a value"),
        ("status=anything", 7, "unknown status"),
        ("status!=any", 8, "only goes with '='"),
        ("provider=0x12", 9, "40 hex digits"),
        ("sort=prise", 5, "did you mean 'price'"),
        ("sort=price limit=x", 17, "whole number"),
        ("limit=5 limit=6", 8, "given twice"),
        ("offset<5", 6, "takes '='"),
        ("= 5", 0, "expected a field name"),
        ("price<=1e99eth", 7, "out of range"),
    ],
)
def test_query_errors_name_their_position(text: str, position: int, words: str) -> None:
    """Each kind of mistake raises QueryError at the offset where it starts, naming the fix."""
    with pytest.raises(QueryError) as exc:
        Query.parse(text)
    assert exc.value.position == position
    assert words in str(exc.value)


def test_rating_is_an_exact_decimal() -> None:
    """A rating bound is kept as an exact fraction and prints back as a decimal."""
    query = Query.parse("rating>=4.5")
    assert query.terms[0].value == Fraction(9, 2)
    assert str(query) == "rating>=4.5"


def test_rating_keyword_takes_a_float() -> None:
    """min_rating=4.5 builds the same query as rating>=4.5."""
    assert Query.build(min_rating=4.5) == Query.parse("rating>=4.5")


def test_reputation_fields_are_named() -> None:
    """A query knows when it needs the providers' reputations."""
    assert Query.parse("sort=-completed").uses_reputation()
    assert not Query.parse("capacity>=24 sort=price").uses_reputation()


@pytest.mark.parametrize(
    ("text", "position", "words"),
    [
        ("rating>=4.1234567", 8, "at most 6 decimal places"),
        ("rating>=5stars", 8, "plain number"),
        ("ratngs>=3", 0, "did you mean 'ratings'"),
        ("completed~3", 9, "does not apply to completed"),
    ],
)
def test_reputation_field_errors(text: str, position: int, words: str) -> None:
    """Mistakes in reputation terms raise QueryError at their position."""
    with pytest.raises(QueryError) as exc:
        Query.parse(text)
    assert exc.value.position == position
    assert words in str(exc.value)


@pytest.mark.parametrize(
    "text",
    [
        "limit=²",
        "offset=¹",
        "capacity>=٣",
        "capacity>=²4",
        "limit=" + "9" * 5000,
        "capacity>=" + "9" * 5000,
        "price>=1e" + "9" * 5000,
    ],
)
def test_other_digits_and_huge_numbers_are_query_errors(text: str) -> None:
    """Digits other than 0-9 and numbers of thousands of digits raise QueryError, not ValueError."""
    with pytest.raises(QueryError) as exc:
        Query.parse(text)
    assert exc.value.position == text.index("=") + 1
