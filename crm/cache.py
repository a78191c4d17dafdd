"""Django's Redis cache, keeping one redis-py client per connection pool.

Django's ``RedisCacheClient.get_client`` makes a new ``redis.Redis`` for every cache call, and each one
copies redis-py's table of some eighty response callbacks: on a staff request, whose session is read from
the cache, that cost more CPU than the round trip itself. A ``redis.Redis`` is safe to share between
threads (each command takes a connection from the pool), and its pool starts afresh in a forked worker;
the cache's own connection pools, options and keys are Django's.
"""

from typing import Any

from django.core.cache.backends import redis


class RedisCacheClient(redis.RedisCacheClient):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._clients: dict[int, Any] = {}

    def get_client(self, key: Any = None, *, write: bool = False) -> Any:
        # Django's own private helpers, which its stubs do not declare.
        index = self._get_connection_pool_index(write)  # type: ignore[attr-defined]
        client = self._clients.get(index)
        if client is None:
            pool = self._get_connection_pool(write)  # type: ignore[attr-defined]
            client = self._clients[index] = self._client(connection_pool=pool)  # type: ignore[attr-defined]
        return client


class RedisCache(redis.RedisCache):
    def __init__(self, server: Any, params: dict[str, Any]) -> None:
        super().__init__(server, params)
        self._class = RedisCacheClient
