"""What the benchmarks share: a throwaway database with the deployed schema (a SQLite file by
default, or a fresh database on a PostgreSQL server), latency statistics, and the table
every benchmark prints. Servers come from `tests.support`, so benchmarks and tests run the
same real Redis and PostgreSQL."""

from __future__ import annotations

import argparse
import asyncio
import math
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

from gateway.migrate import upgrade
from tests.support.databases import sqlite_url, temporary_postgres_database
from tests.support.servers import PostgresProcess

TIMES = "\N{MULTIPLICATION SIGN}"  # as in "intake throughput = 0.31 TIMES raw RQ enqueue"


@dataclass(frozen=True, slots=True)
class BenchDatabase:
    url: str
    label: str  # what the table says the run used: "SQLite" or "PostgreSQL"


def add_database_options(parser: argparse.ArgumentParser) -> None:
    group = parser.add_mutually_exclusive_group()
    group.add_argument(
        "--database-url",
        help="a PostgreSQL server (postgresql+asyncpg://user@host:port/db); the benchmark "
        "creates a fresh database on it and drops it afterwards. Default: a SQLite file.",
    )
    group.add_argument(
        "--postgres",
        action="store_true",
        help="start a throwaway PostgreSQL cluster on loopback and use it",
    )


@asynccontextmanager
async def bench_database(args: argparse.Namespace, workdir: Path) -> AsyncIterator[BenchDatabase]:
    """A migrated, empty database for one run, removed afterwards."""
    if args.postgres:
        server = await asyncio.to_thread(PostgresProcess().start)
        try:
            async with _postgres(server.url) as database:
                yield database
        finally:
            await asyncio.to_thread(server.stop)
    elif args.database_url:
        if not args.database_url.startswith("postgresql"):
            raise SystemExit(
                "--database-url takes a postgresql+asyncpg:// URL (SQLite is the default)"
            )
        async with _postgres(args.database_url) as database:
            yield database
    else:
        url = sqlite_url(workdir, "bench.db")
        await asyncio.to_thread(upgrade, url)
        yield BenchDatabase(url, "SQLite")


@asynccontextmanager
async def _postgres(server_url: str) -> AsyncIterator[BenchDatabase]:
    async with temporary_postgres_database(server_url) as url:
        await asyncio.to_thread(upgrade, url)
        yield BenchDatabase(url, "PostgreSQL")


def percentile(values: Sequence[float], fraction: float) -> float:
    """Nearest-rank percentile (`fraction` in 0..1) of a non-empty sequence."""
    ordered = sorted(values)
    rank = max(1, math.ceil(fraction * len(ordered)))
    return ordered[rank - 1]


@dataclass(frozen=True, slots=True)
class Run:
    """One measured mode: per-call latencies (seconds) and the wall time they took."""

    mode: str
    latencies: Sequence[float]
    seconds: float

    @property
    def count(self) -> int:
        return len(self.latencies)

    @property
    def rate(self) -> float:
        return self.count / self.seconds

    @property
    def p50_ms(self) -> float:
        return percentile(self.latencies, 0.50) * 1000

    @property
    def p99_ms(self) -> float:
        return percentile(self.latencies, 0.99) * 1000


def print_table(runs: Sequence[Run], count_label: str = "messages") -> None:
    header = (
        f"{'mode':<34} {count_label:>9} {'seconds':>8} {'msg/s':>8} {'p50 ms':>8} {'p99 ms':>8}"
    )
    print(header)
    print("-" * len(header))
    for run in runs:
        print(
            f"{run.mode:<34} {run.count:>9} {run.seconds:>8.2f} {run.rate:>8.0f} "
            f"{run.p50_ms:>8.2f} {run.p99_ms:>8.2f}"
        )


def combine(runs: Sequence[Run]) -> Run:
    """The rounds of one mode as one run: all their latencies, their summed wall time."""
    return Run(
        runs[0].mode,
        [latency for run in runs for latency in run.latencies],
        sum(run.seconds for run in runs),
    )


def round_sizes(total: int, rounds: int) -> list[int]:
    """`total` split into `rounds` near-equal parts (the first ones one larger)."""
    return [total // rounds + (index < total % rounds) for index in range(rounds)]
