"""Standard Webhooks signing and verification, against the specification's published vectors.

The vectors come from the standard-webhooks repository's reference libraries and their tests
(libraries/python/tests/test_webhooks.py): secret, message id, timestamp, body and signature.
"""

from __future__ import annotations

import pytest

from gpuhub import WebhookVerificationError
from gpuhub.webhooks import Endpoint, generate_secret, sign, signature_header, verify

SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
MSG_ID = "msg_p5jXN8AQM9LWM0D4loKWxJek"
TIMESTAMP = 1614265330
BODY = '{"test": 2432232314}'
SIGNATURE = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="
WRONG_SIGNATURE = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OA="


def headers(signature: str = SIGNATURE, timestamp: int = TIMESTAMP) -> dict[str, str]:
    """The three Standard Webhooks headers of the vector."""
    return {
        "webhook-id": MSG_ID,
        "webhook-timestamp": str(timestamp),
        "webhook-signature": signature,
    }


def test_sign_matches_the_specification_vector() -> None:
    """sign gives the published signature for the published secret, id, timestamp and body."""
    assert sign(SECRET, MSG_ID, TIMESTAMP, BODY) == SIGNATURE


def test_secret_prefix_is_optional() -> None:
    """A secret without its whsec_ prefix signs the same."""
    assert sign(SECRET.removeprefix("whsec_"), MSG_ID, TIMESTAMP, BODY) == SIGNATURE


def test_verify_accepts_the_vector() -> None:
    """verify accepts the published signature and returns the parsed body."""
    assert verify(BODY, headers(), SECRET, now=TIMESTAMP) == {"test": 2432232314}


def test_verify_accepts_bytes_and_any_header_case() -> None:
    """The body may be bytes and the header names any case."""
    upper = {k.upper(): v for k, v in headers().items()}
    assert verify(BODY.encode(), upper, SECRET, now=TIMESTAMP) == {"test": 2432232314}


def test_verify_refuses_the_wrong_signature() -> None:
    """The published wrong signature is refused."""
    with pytest.raises(WebhookVerificationError, match="no matching signature"):
        verify(BODY, headers(WRONG_SIGNATURE), SECRET, now=TIMESTAMP)


def test_verify_refuses_a_changed_body() -> None:
    """A body changed after signing is refused."""
    with pytest.raises(WebhookVerificationError):
        verify('{"test": 2432232315}', headers(), SECRET, now=TIMESTAMP)


def test_verify_accepts_one_good_signature_among_several() -> None:
    """With several signatures (key rotation, other versions) one valid v1 signature suffices."""
    several = " ".join(
        [
            "v1,Ceo5qEr07ixe2NLpvHk3FH9bwy/WavXrAFQ/9tdO6mc=",
            "v2,Ceo5qEr07ixe2NLpvHk3FH9bwy/WavXrAFQ/9tdO6mc=",
            SIGNATURE,
            "v1,Ceo5qEr07ixe2NLpvHk3FH9bwy/WavXrAFQ/9tdO6mc=",
        ]
    )
    assert verify(BODY, headers(several), SECRET, now=TIMESTAMP) == {"test": 2432232314}


@pytest.mark.parametrize("missing", ["webhook-id", "webhook-timestamp", "webhook-signature"])
def test_verify_refuses_missing_headers(missing: str) -> None:
    """Each of the three headers is required."""
    given = headers()
    del given[missing]
    with pytest.raises(WebhookVerificationError, match="missing"):
        verify(BODY, given, SECRET, now=TIMESTAMP)


def test_verify_refuses_a_malformed_timestamp() -> None:
    """A timestamp that is not an integer is refused."""
    with pytest.raises(WebhookVerificationError):
        verify(BODY, {**headers(), "webhook-timestamp": "hello"}, SECRET, now=TIMESTAMP)


@pytest.mark.parametrize("offset", [-301, 301])
def test_verify_refuses_timestamps_outside_tolerance(offset: int) -> None:
    """A timestamp more than five minutes from now, either way, is refused."""
    with pytest.raises(WebhookVerificationError, match=r"too old|future"):
        verify(BODY, headers(), SECRET, now=TIMESTAMP - offset)


def test_rotation_signs_with_every_secret() -> None:
    """signature_header carries one signature per secret; verify accepts either secret."""
    new_secret = generate_secret()
    header = signature_header([SECRET, new_secret], MSG_ID, TIMESTAMP, BODY)
    assert header.split(" ")[0] == SIGNATURE
    assert verify(BODY, headers(header), new_secret, now=TIMESTAMP) == {"test": 2432232314}


def test_generated_secrets_are_whsec_and_distinct() -> None:
    """generate_secret makes whsec_ secrets of 24 random bytes, never the same twice."""
    first, second = generate_secret(), generate_secret()
    assert first.startswith("whsec_") and len(first) == len("whsec_") + 32
    assert first != second


def test_endpoint_repr_hides_the_secret() -> None:
    """An endpoint's repr never shows its secret."""
    endpoint = Endpoint(
        endpoint_id=1,
        url="http://127.0.0.1:1/hook",
        secret=SECRET,
        event_types=(),
        created_at=0,
        disabled_at=None,
        disabled_reason=None,
        pending=0,
        failing_attempts=0,
        last_error=None,
    )
    assert SECRET.removeprefix("whsec_") not in repr(endpoint)
