"""API throttles that cost one cache round trip a request, whatever the rate.

DRF's throttles keep, per client, the list of the times of every request in the last period, read and
written whole on each request: at a rate of 6,000 a minute that is up to 6,000 floats pickled and sent
to Redis twice per request, and the cost grows with the very rate the throttle allows. These count
requests per fixed window instead (``SET NX`` and ``INCR`` in one pipeline with Redis): a client may
send up to twice the rate across the boundary of two windows, the usual trade of fixed windows, and in
exchange the check is a constant few microseconds and one round trip.

The rates, scopes and client identities are DRF's (``DEFAULT_THROTTLE_RATES``, the user's id or the
address); only the counting differs.
"""

from typing import Any

from django.core.cache import caches
from django.core.cache.backends.redis import RedisCache
from rest_framework import throttling


def window_hit(key: str, timeout: int) -> int:
    """Count one request under ``key`` (which names its window) and answer the window's count."""
    backend = caches["default"]
    if isinstance(backend, RedisCache):
        full_key = backend.make_key(key)
        # The cache's own client (one per process and pool, crm.cache), for a pipeline of two commands.
        client = backend._cache.get_client(None, write=True)  # type: ignore[attr-defined]
        pipeline = client.pipeline(transaction=False)
        pipeline.set(full_key, 0, ex=timeout, nx=True)
        pipeline.incr(full_key)
        return int(pipeline.execute()[1])
    if backend.add(key, 1, timeout):
        return 1
    try:
        return int(backend.incr(key))
    except ValueError:  # expired between add and incr: this request opens the window again
        backend.set(key, 1, timeout)
        return 1


class FixedWindowThrottle(throttling.SimpleRateThrottle):
    """``SimpleRateThrottle`` counting requests per window of its period instead of keeping their times."""

    window_ends = 0.0
    duration: int  # set from the rate by SimpleRateThrottle
    num_requests: int

    def allow_request(self, request: Any, view: Any) -> bool:
        if self.rate is None:
            return True
        self.key = self.get_cache_key(request, view)
        if self.key is None:
            return True
        self.now = self.timer()
        window = int(self.now // self.duration)
        self.window_ends = (window + 1) * self.duration
        return window_hit(f"{self.key}:{window}", self.duration + 1) <= self.num_requests

    def wait(self) -> float:
        return max(0.0, self.window_ends - self.now)


class AnonRateThrottle(FixedWindowThrottle, throttling.AnonRateThrottle):
    """Anonymous requests, by address (the ``anon`` rate)."""


class UserRateThrottle(FixedWindowThrottle, throttling.UserRateThrottle):
    """Authenticated requests, by user (the ``user`` rate); anonymous ones by address."""


class ScopedRateThrottle(throttling.ScopedRateThrottle, FixedWindowThrottle):
    """Requests to views with a ``throttle_scope``, by user and scope (the scope's rate)."""
