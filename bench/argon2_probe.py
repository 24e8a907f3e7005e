"""argon2id on its own, at the parameters pwreset is configured with, in a fresh process (so the
import of argon2-cffi is cold, as at a function's first sign-in). Prints one JSON line."""

import json
import os
import sys
from statistics import median
from time import perf_counter


def main() -> int:
    rounds = int(os.environ.get("BENCH_ARGON2_ROUNDS", "9"))
    started = perf_counter()
    import argon2  # noqa: F401 - its import time is one of the numbers

    imported = perf_counter()
    from pwreset.core.config import settings
    from pwreset.credentials.hashing import hasher

    cfg = settings()
    pw_hasher = hasher()
    hashes, verifies = [], []
    for i in range(rounds):
        password = f"correct horse battery staple {i}"
        t = perf_counter()
        encoded = pw_hasher.hash(password)
        hashes.append((perf_counter() - t) * 1000)
        t = perf_counter()
        pw_hasher.verify(encoded, password)
        verifies.append((perf_counter() - t) * 1000)
    result = {
        "import_ms": (imported - started) * 1000,
        "time_cost": cfg.argon2_time_cost,
        "memory_kib": cfg.argon2_memory_kib,
        "parallelism": cfg.argon2_parallelism,
        "rounds": rounds,
        "hash_ms": median(hashes),
        "verify_ms": median(verifies),
    }
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
