"""What the benchmarks share: the command line (options, checks, a temporary work folder),
a real Redis and a throwaway database with the deployed schema (a SQLite file by default,
or a fresh database on a PostgreSQL server), latency statistics and alternating rounds,
and the table and ratios every benchmark prints. Servers come from `tests.support`, so
benchmarks and tests run the same real Redis and PostgreSQL."""

from __future__ import annotations

import argparse
import asyncio
import math
import tempfile
import time
from collections.abc import AsyncIterator, Callable, Coroutine, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

from gateway.migrate import upgrade
from tests.support.databases import sqlite_url, temporary_postgres_database
from tests.support.servers import PostgresProcess, RedisProcess

TIMES = "\N{MULTIPLICATION SIGN}"  # as in "intake throughput = 0.31 TIMES raw RQ enqueue"
Benchmark = Callable[[argparse.Namespace, Path], Coroutine[None, None, None]]


# --- the command line ----------------------------------------------------------------------


def new_parser(doc: str | None) -> argparse.ArgumentParser:
    """A parser described by the first paragraph of the benchmark's docstring."""
    return argparse.ArgumentParser(description=(doc or "").split("\n\n")[0])


def parse_message_args(
    doc: str | None,
    argv: list[str] | None,
    *,
    messages: int,
    visitors: int,
    warmup: int,
    concurrency: int | None = None,
) -> argparse.Namespace:
    """The options of the benchmarks that send chat messages through intake, each count at
    least 1 and at least one message per round."""
    parser = new_parser(doc)
    parser.add_argument("--messages", type=int, default=messages, help="messages per mode")
    if concurrency is not None:
        parser.add_argument("--concurrency", type=int, default=concurrency, help="concurrent tasks")
    parser.add_argument("--visitors", type=int, default=visitors, help="distinct senders")
    parser.add_argument("--warmup", type=int, default=warmup, help="unmeasured calls per mode")
    parser.add_argument("--rounds", type=int, default=4, help="alternations of the two modes")
    add_database_options(parser)
    args = parser.parse_args(argv)
    names = [name for name in ("concurrency", "visitors", "warmup", "rounds") if name in args]
    if min(getattr(args, name) for name in names) < 1:
        listed = [f"--{name}" for name in names]
        parser.error(f"{', '.join(listed[:-1])} and {listed[-1]} must be at least 1")
    if args.messages < args.rounds:
        parser.error("--messages must be at least --rounds")
    return args


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


def run(benchmark: Benchmark, args: argparse.Namespace) -> None:
    """`benchmark(args, workdir)` in a temporary folder that is removed afterwards."""
    with tempfile.TemporaryDirectory(prefix="switchboard-bench-") as workdir:
        asyncio.run(benchmark(args, Path(workdir)))


# --- servers and the database --------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class BenchDatabase:
    url: str
    label: str  # what the table says the run used: "SQLite" or "PostgreSQL"


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


@asynccontextmanager
async def bench_servers(
    args: argparse.Namespace, workdir: Path
) -> AsyncIterator[tuple[str, BenchDatabase]]:
    """A real Redis (its URL) and a migrated database, both gone afterwards."""
    with RedisProcess(directory=workdir / "redis") as redis_server:
        async with bench_database(args, workdir) as database:
            yield redis_server.url, database


# --- measuring -----------------------------------------------------------------------------


def processor_ms() -> float:
    """How long this machine takes for a fixed piece of pure Python (best of three, in
    ms): the same hardware gives one machine's figures at half the speed of another's, or
    of its own an hour later, so a run says what it ran on."""
    best = math.inf
    for _ in range(3):
        started = time.perf_counter()
        sum(number * number for number in range(1_000_000))
        best = min(best, time.perf_counter() - started)
    return best * 1000


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


# --- what is printed -----------------------------------------------------------------------


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


def print_report(
    heading: str, runs: Sequence[Run], *figures: str, count_label: str = "messages"
) -> None:
    """The heading, the table of `runs` and the figures drawn from them, one a line, each
    block after a blank line."""
    print(f"\n{heading}\n")
    print_table(runs, count_label)
    print("\n" + "\n".join(figures))


def latency_ratio(
    measured: Run, baseline: Run, against: str, digits: int, *, with_ms: bool = False
) -> str:
    """`R TIMES <against> (p50), R' TIMES (p99)`: the measured percentiles over the
    baseline's, each with both sides' milliseconds if `with_ms`."""
    r50, r99 = measured.p50_ms / baseline.p50_ms, measured.p99_ms / baseline.p99_ms
    p50, p99 = "p50", "p99"
    if with_ms:
        p50 += f": {measured.p50_ms:.2f} ms vs {baseline.p50_ms:.2f} ms"
        p99 += f": {measured.p99_ms:.2f} ms vs {baseline.p99_ms:.2f} ms"
    return f"{r50:.{digits}f} {TIMES} {against} ({p50}), {r99:.{digits}f} {TIMES} ({p99})"


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


def round_ranges(total: int, rounds: int) -> list[range]:
    """Indices 0..total-1 cut into `rounds` consecutive near-equal ranges."""
    ranges, first = [], 0
    for size in round_sizes(total, rounds):
        ranges.append(range(first, first + size))
        first += size
    return ranges
