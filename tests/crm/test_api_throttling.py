"""crm.api.throttling: fixed-window API throttles, one cache round trip a request (Redis in the
PostgreSQL suite, the local-memory cache in the SQLite one)."""

import uuid

import pytest
from django.core.cache import cache, caches
from django.core.cache.backends.redis import RedisCache
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient, APIRequestFactory

from crm.api.throttling import FixedWindowThrottle, UserRateThrottle, window_hit
from crm.roles import Role
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _counts_of_earlier_tests_cleared() -> None:
    """User ids come again after a rollback on SQLite; their counts must not."""
    cache.clear()


def test_a_window_counts_its_hits_and_another_window_starts_again() -> None:
    key = f"test-window-{uuid.uuid4()}"
    assert [window_hit(key, 60) for _ in range(3)] == [1, 2, 3]
    assert window_hit(key + ":next", 60) == 1
    cache.delete(key)
    assert window_hit(key, 60) == 1


@pytest.mark.skipif(
    not isinstance(caches["default"], RedisCache), reason="counts in Redis (the PostgreSQL suite's cache)"
)
def test_with_redis_a_window_is_one_key_that_expires_with_its_window() -> None:
    key = f"test-window-{uuid.uuid4()}"
    assert window_hit(key, 61) == 1 and window_hit(key, 61) == 2
    client = caches["default"]._cache.get_client(None)
    full_key = caches["default"].make_key(key)
    assert int(client.get(full_key)) == 2 and 0 < client.ttl(full_key) <= 61


class ThreePerMinute(UserRateThrottle):
    rate = "3/min"


def test_the_fourth_request_of_a_minute_is_refused_with_the_wait_until_the_next_window() -> None:
    request = APIRequestFactory().get("/")
    request.user = UserFactory()  # type: ignore[assignment]
    throttle = ThreePerMinute()
    throttle.timer = lambda: 6_000_030.0  # 30 s into a minute
    assert [ThreePerMinute.allow_request(throttle, request, None) for _ in range(4)] == [
        True,
        True,
        True,
        False,
    ]
    assert throttle.wait() == pytest.approx(30.0)
    throttle.timer = lambda: 6_000_060.0  # the next minute
    assert throttle.allow_request(request, None)


def test_each_user_has_a_count_of_their_own() -> None:
    throttle = ThreePerMinute()
    first, second = APIRequestFactory().get("/"), APIRequestFactory().get("/")
    first.user, second.user = UserFactory(), UserFactory()  # type: ignore[assignment]
    assert all(throttle.allow_request(first, None) for _ in range(3))
    assert not throttle.allow_request(first, None)
    assert throttle.allow_request(second, None)


def test_the_api_answers_429_with_retry_after(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(
        FixedWindowThrottle, "THROTTLE_RATES", {**FixedWindowThrottle.THROTTLE_RATES, "user": "2/min"}
    )
    client = APIClient()
    client.credentials(
        HTTP_AUTHORIZATION=f"Token {Token.objects.create(user=UserFactory(role=Role.SERVICE_REP)).key}"
    )
    statuses = [client.get("/api/v1/customers/").status_code for _ in range(3)]
    assert statuses == [200, 200, 429]
    refused = client.get("/api/v1/customers/")
    assert refused.json()["code"] == "throttled" and 1 <= int(refused.headers["Retry-After"]) <= 61
