"""A token bucket per gateway credential, so bursts of refunds never trip the gateway's limits.

Redis holds the bucket when REFUNDS["RATE_LIMIT_REDIS_URL"] is set (every worker shares it);
otherwise it lives in this process, which is right for eager mode and a single worker.
"""

import threading
import time

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
