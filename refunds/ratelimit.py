"""The gateway's limits, per gateway credential: a token bucket caps the call rate, and slots cap
the calls in flight (REFUNDS["GATEWAY_CONCURRENCY"]), so bursts never trip the gateway's limits.

Redis holds both when REFUNDS["RATE_LIMIT_REDIS_URL"] is set (every worker shares them); otherwise
they live in this process, which is right for eager mode and a single worker.
"""

import random
import threading
import time
import uuid
from contextlib import contextmanager

from django.conf import settings

_LUA = """
local key, rate, burst, now = KEYS[1], tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
local state = redis.call('HMGET', key, 'tokens', 'at')
local tokens, at = tonumber(state[1]) or burst, tonumber(state[2]) or now
tokens = math.min(burst, tokens + (now - at) * rate)
local wait = 0
if tokens >= 1 then tokens = tokens - 1 else wait = (1 - tokens) / rate end
redis.call('HSET', key, 'tokens', tokens, 'at', now)
redis.call('EXPIRE', key, math.ceil(burst / rate) + 60)
return tostring(wait)
"""


class LocalBucket:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._state: dict[str, tuple[float, float]] = {}

    def take(self, key: str, rate: float, burst: int) -> float:
        with self._lock:
            now = time.monotonic()
            tokens, at = self._state.get(key, (float(burst), now))
            tokens = min(burst, tokens + (now - at) * rate)
            if tokens >= 1:
                self._state[key] = (tokens - 1, now)
                return 0.0
            self._state[key] = (tokens, now)
            return (1 - tokens) / rate


class RedisBucket:
    def __init__(self, url: str) -> None:
        import redis

        self._client = redis.Redis.from_url(url)
        self._script = self._client.register_script(_LUA)

    def take(self, key: str, rate: float, burst: int) -> float:
        return float(self._script(keys=[f"ratelimit:{key}"], args=[rate, burst, time.time()]))


_local = LocalBucket()
# One client (and its connection pool) per URL and process, not a new connection for every refund.
_redis_buckets: dict[str, RedisBucket] = {}


def take_token(credential: str) -> float:
    """Take a token for `credential`; returns 0 when granted, else seconds to wait."""
    config = settings.REFUNDS
    url = config["RATE_LIMIT_REDIS_URL"]
    if url:
        bucket = _redis_buckets.get(url) or _redis_buckets.setdefault(url, RedisBucket(url))
    else:
        bucket = _local
    return bucket.take(credential, float(config["RATE_LIMIT_PER_SECOND"]), int(config["RATE_LIMIT_BURST"]))


# --- slots: gateway calls in flight ---

# A holder's slot lapses with the refund's lease: a worker killed mid-call frees it then, and a call
# that outlives its lease has been handed to another worker anyway.
_SLOT_LUA = """
local key, holder, limit, now, ttl = KEYS[1], ARGV[1], tonumber(ARGV[2]), tonumber(ARGV[3]), tonumber(ARGV[4])
redis.call('ZREMRANGEBYSCORE', key, '-inf', now)
if redis.call('ZCARD', key) >= limit then return 0 end
redis.call('ZADD', key, now + ttl, holder)
redis.call('EXPIRE', key, math.ceil(ttl) + 60)
return 1
"""


class LocalSlots:
    def __init__(self) -> None:
        self._free = threading.Condition()
        self._taken: dict[str, int] = {}

    def acquire(self, key: str, limit: int, timeout: float, ttl: float) -> str | None:
        with self._free:
            if self._free.wait_for(lambda: self._taken.get(key, 0) < limit, timeout=timeout):
                self._taken[key] = self._taken.get(key, 0) + 1
                return key
            return None

    def release(self, key: str, holder: str) -> None:
        with self._free:
            self._taken[key] -= 1
            self._free.notify_all()


class RedisSlots:
    POLL_SECONDS = 0.02

    def __init__(self, url: str) -> None:
        import redis

        self._client = redis.Redis.from_url(url)
        self._script = self._client.register_script(_SLOT_LUA)

    def acquire(self, key: str, limit: int, timeout: float, ttl: float) -> str | None:
        holder = uuid.uuid4().hex
        deadline = time.monotonic() + timeout
        while not self._script(keys=[f"slots:{key}"], args=[holder, limit, time.time(), ttl]):
            if time.monotonic() >= deadline:
                return None
            time.sleep(self.POLL_SECONDS * random.uniform(0.5, 1.5))
        return holder

    def release(self, key: str, holder: str) -> None:
        self._client.zrem(f"slots:{key}", holder)


_local_slots = LocalSlots()
_redis_slots: dict[str, RedisSlots] = {}


@contextmanager
def gateway_slot(credential: str):
    """Hold one of the credential's REFUNDS["GATEWAY_CONCURRENCY"] slots for a gateway call; yields
    False when none came free within REFUNDS["GATEWAY_SLOT_WAIT_SECONDS"]."""
    config = settings.REFUNDS
    url = config["RATE_LIMIT_REDIS_URL"]
    slots = (_redis_slots.get(url) or _redis_slots.setdefault(url, RedisSlots(url))) if url else _local_slots
    holder = slots.acquire(credential, int(config["GATEWAY_CONCURRENCY"]),
                           timeout=float(config["GATEWAY_SLOT_WAIT_SECONDS"]),
                           ttl=float(config["PROCESSING_LEASE_SECONDS"]))
    try:
        yield holder is not None
    finally:
        if holder is not None:
            slots.release(credential, holder)
