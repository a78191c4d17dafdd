"""The Redis cache (crm/cache.py): Django's, with one redis-py client per connection pool."""

import threading

import pytest
from django.core.cache import caches

from crm.cache import RedisCache

pytestmark = pytest.mark.skipif(
    not isinstance(caches["default"], RedisCache), reason="the PostgreSQL suite's cache is Redis"
)


def test_the_cache_reads_and_writes_through_one_client() -> None:
    cache = caches["default"]
    client = cache._cache.get_client(write=True)
    assert cache._cache.get_client(write=False) is client  # one server: one pool, one client
    cache.set("crm-cache-test", {"a": 1}, 30)
    assert cache.get("crm-cache-test") == {"a": 1}
    assert cache.add("crm-cache-test", "other", 30) is False
    assert cache.add("crm-cache-counter", 0, 30) is True
    assert cache.incr("crm-cache-counter") == 1
    cache.delete_many(["crm-cache-test", "crm-cache-counter"])
    assert cache.get("crm-cache-test") is None
    assert cache._cache.get_client(write=True) is client


def test_threads_share_nothing_but_redis() -> None:
    """Each thread has its own cache object (Django's), hence its own client; all see the same data."""
    caches["default"].set("crm-cache-shared", "main", 30)
    seen: list[object] = []

    def read() -> None:
        seen.append(caches["default"].get("crm-cache-shared"))
        seen.append(caches["default"]._cache.get_client())

    thread = threading.Thread(target=read)
    thread.start()
    thread.join()
    assert seen[0] == "main"
    assert seen[1] is not caches["default"]._cache.get_client()
    caches["default"].delete("crm-cache-shared")
