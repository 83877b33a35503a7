import asyncio
import time

from reconciler.http.ratelimit import DEFAULT_RATE_LIMITS, RateLimit, RateLimiters, TokenBucket


async def test_bucket_allows_burst_then_paces():
    bucket = TokenBucket(RateLimit(per_second=50, burst=5))
    started = time.monotonic()
    await asyncio.gather(*(bucket.acquire() for _ in range(10)))
    # 5 immediately, 5 more at 50/s: about 0.1 s
    assert 0.08 <= time.monotonic() - started < 0.5


def test_loop_default_never_exceeds_300_per_minute():
    loop = DEFAULT_RATE_LIMITS["loop"]
    assert loop.burst + loop.per_second * 60 <= 300


def test_buckets_are_per_service_and_credential():
    limiters = RateLimiters({"loop": RateLimit(1, 1)})
    assert limiters.bucket("loop", "a") is limiters.bucket("loop", "a")
    assert limiters.bucket("loop", "a") is not limiters.bucket("loop", "b")
    assert limiters.bucket("pipe17", "a") is not limiters.bucket("loop", "a")
