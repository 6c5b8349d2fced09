"""The simulated week's verdict: the checks after the run, a one-page summary table and a PNG
chart (docs/img/soak.png); and ``python -m bench soak``'s command line."""

from __future__ import annotations

import argparse
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import func, select

from bench.common import bench_db, bulk_enrol, emit, loadavg, pct
from bench.soak import START, Soak, Tally
from scheduler.store import tables as t
from scheduler.store.db import PLANNING_CACHE_KIB

CHART = Path(__file__).resolve().parents[1] / "docs" / "img" / "soak.png"
SETTLED = ("sent", "expired", "cancelled")
# RSS may grow by this much after the first 12 simulated hours (the language model is trained
# on the first question, caches and pools warm up): more, and memory is not flat.
FLAT_MB = 15.0


@dataclass
class Verdict:
    """Each check's problems (empty: it holds), and the figures of the summary."""

    problems: dict[str, list[str]] = field(default_factory=dict)
    rows_by_status: Counter[str] = field(default_factory=Counter)
    cancelled_why: Counter[str] = field(default_factory=Counter)
    adherence: Counter[str] = field(default_factory=Counter)
    red_flags_sent: int = 0
    red_flags_alerted: int = 0

    def fail(self, check: str, what: str) -> None:
        self.problems.setdefault(check, []).append(what)

    @property
    def ok(self) -> bool:
        return not any(self.problems.values())


async def verdict(soak: Soak) -> Verdict:
    """The invariants were checked on every send and reply as the week went (bench/soak.py);
    what is left is the outbox against the channel, the alerts, the records and memory."""
    v, tally, end = Verdict(), soak.tally, soak.clock.now()
    for check in ("sent once or expired", "red flags alerted", "memory flat"):
        v.problems[check] = []
    sends = soak.channel.sends
    c = t.outbox.c
    async with soak.svc.engine.connect() as conn:
        rows = (await conn.execute(select(c.id, c.kind, c.status, c.due_at, c.reason))).all()
        alerted = dict((await conn.execute(
            select(t.alerts.c.patient_id, func.count()).where(t.alerts.c.kind == "red_flag")
            .group_by(t.alerts.c.patient_id))).all())  # fmt: skip
        records = (await conn.execute(
            select(t.dose_records.c.patient_id, t.dose_records.c.status)
            .where(t.dose_records.c.local_date >= START.date() - timedelta(days=1)))).all()  # fmt: skip
    sent_ids = set()
    for r in rows:
        if r.status == "sent":
            sent_ids.add(r.id)
            if sends[r.id] != 1:
                v.fail("sent once or expired", f"row {r.id} ({r.kind}) sent {sends[r.id]} times")
        if r.due_at > end:
            v.rows_by_status["not yet due"] += 1
            continue
        v.rows_by_status[r.status] += 1
        if r.status == "cancelled":
            v.cancelled_why[_reason(r.reason)] += 1
        if r.status not in SETTLED:
            v.fail("sent once or expired", f"row {r.id} ({r.kind}) due {r.due_at} is {r.status}")
    for ref, n in sends.items():
        if ref not in sent_ids:
            v.fail("sent once or expired", f"row {ref} handed over {n} times, not marked sent")
    v.red_flags_sent = sum(tally.red_flags.values())
    v.red_flags_alerted = sum(min(alerted.get(p, 0), n) for p, n in tally.red_flags.items())
    for pid, n in tally.red_flags.items():
        if alerted.get(pid, 0) < n:
            v.fail("red flags alerted", f"patient {pid}: {n} red flags, {alerted.get(pid, 0)} alerts")
    taken: Counter[str] = Counter(p for p, s in records if s in ("taken", "late"))
    for pid, doses in tally.doses_sent.items():
        v.adherence[_bucket(min(1.0, taken[pid] / doses))] += 1
    rss = tally.rss_mb  # every 6 simulated hours: from 12 h on, the caches are warm
    if len(rss) < 3:
        v.fail("memory flat", f"only {len(rss)} RSS samples")
    elif max(rss[2:]) - rss[2] > FLAT_MB:
        v.fail("memory flat", f"RSS {rss[2]} MB at 12 h, up to {max(rss[2:])} MB later")
    return v


def _reason(reason: str | None) -> str:
    """A cancellation's reason without its dates: 'the 12-hour window of the dose of ...'."""
    text = (reason or "").split(" of 20")[0].split(" on 20")[0]
    return text[:60] or "-"


def _bucket(share: float) -> str:
    for edge, name in ((1.0, "100%"), (0.9, "90-99%"), (0.75, "75-89%"), (0.5, "50-74%")):
        if share >= edge:
            return name
    return "< 50%"


BUCKETS = ("100%", "90-99%", "75-89%", "50-74%", "< 50%")


def summary(tally: Tally, v: Verdict, patients: int, days: int, wall: float) -> list[str]:
    late = list(tally.late_s)
    lines = [f"soak: {patients:,} patients, {days} simulated days, {len(tally.restarts)} restarts "
             f"({', '.join(f'{r:%a %H:%M}' for r in tally.restarts)} UTC), wall {wall:.0f} s"]  # fmt: skip

    def block(title: str, counts: Counter[str] | dict[str, int], order: Any = None) -> None:
        lines.append(f"\n{title}")
        keys = order or [k for k, _ in Counter(counts).most_common()]
        for k in keys:
            lines.append(f"  {k:<44} {counts.get(k, 0):>9,}")

    block("messages sent, by kind", tally.sent_by_kind)
    block("outbox rows due in the run, by status", v.rows_by_status)
    block("cancelled, why", v.cancelled_why)
    block("patients' texts, by what they meant", tally.texts)
    block("replies, by the intent the service read", tally.intents)
    block("nurse actions", tally.nurse)
    block("adherence (doses recorded taken / reminders sent)", v.adherence, BUCKETS)
    lines.append(f"\nlateness of sends (s after due): p50 {pct(late, 50):.1f}, "
                 f"p99 {pct(late, 99):.1f}, max {max(late, default=0):.0f}")  # fmt: skip
    lines.append(f"  ({tally.caught_up} rows due before the start, sent by the first pass, "
                 "not counted)")
    lines.append(f"RSS every 6 simulated hours (MB): {tally.rss_mb}")
    lines.extend(memory_table(tally))
    lines.append(f"red flags: {v.red_flags_sent} sent, {v.red_flags_alerted} alerted")
    lines.append("\nchecks")
    lines.append(f"  {'safety invariants 1, 2, 5 over every send':<44} "
                 f"{'held':>9} ({sum(tally.sent_by_kind.values()):,} sends)")  # fmt: skip
    lines.append(f"  {'invariant 3 over every reply':<44} {'held':>9} "
                 f"({tally.replies_checked:,} replies)")  # fmt: skip
    for check, problems in v.problems.items():
        lines.append(f"  {check:<44} {'held' if not problems else 'FAILED':>9}")
        lines.extend(f"    {p}" for p in problems[:10])
    return lines


MEMORY_COLUMNS = (("rss", "RSS"), ("anon", "anon"), ("sqlite", "SQLite heap"),
                  ("malloc_free", "malloc free"), ("soak_records", "soak's records"))  # fmt: skip


def memory_table(tally: Tally) -> list[str]:
    """The memory samples at 12 h and at each simulated midnight (bench/memstat.py): RSS;
    its anonymous part; SQLite's heap (page caches); what glibc's malloc holds freed; the
    soak's own records (the service's share of RSS is RSS less these)."""
    picked = [(i, s) for i, s in enumerate(tally.memory) if i == 2 or (i % 4 == 0)]
    lines = ["\nmemory (MB)  " + "".join(f"{name:>15}" for _, name in MEMORY_COLUMNS)]
    for i, s in picked:
        cells = "".join(f"{'-' if s.get(k) is None else s[k]:>15}" for k, _ in MEMORY_COLUMNS)
        lines.append(f"  {f'{i * 6} h':<11}{cells}")
    return lines


def chart(tally: Tally, v: Verdict, patients: int, days: int, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(2, 2, figsize=(12, 8))
    kinds = [k for k, _ in tally.sent_by_kind.most_common()]
    bottom = [0] * days
    tab20 = plt.get_cmap("tab20")  # more kinds than the default cycle's 10 colours
    for n, k in enumerate(kinds):
        ys = [tally.sent_by_day.get(d, Counter())[k] for d in range(days)]
        ax[0][0].bar(range(1, days + 1), ys, bottom=bottom, label=k, color=tab20(n % 20))
        bottom = [b + y for b, y in zip(bottom, ys, strict=True)]
    ax[0][0].set(title="Messages sent per simulated day, by kind", xlabel="day")
    ax[0][0].legend(fontsize=7)
    intents = tally.intents.most_common(10)
    ax[0][1].barh([k for k, _ in intents][::-1], [n for _, n in intents][::-1])
    ax[0][1].set(title="Replies, by the intent the service read")
    ax[1][0].bar(BUCKETS, [v.adherence[b] for b in BUCKETS])
    ax[1][0].set(title="Adherence: doses recorded taken / reminders sent", ylabel="patients")
    days_x = [i / 4 for i in range(len(tally.rss_mb))]
    ax[1][1].plot(days_x, tally.rss_mb, marker=".", label="RSS")
    service = [rss - own for s in tally.memory
               if (rss := s["rss"]) is not None and (own := s["soak_records"]) is not None]  # fmt: skip
    if len(service) == len(days_x):
        ax[1][1].plot(days_x, service, marker=".", label="RSS less the soak's own records")
    for key, label in (("sqlite", "SQLite heap (page caches)"),
                       ("malloc_free", "malloc: freed, held")):  # fmt: skip
        ys = [s.get(key) for s in tally.memory]
        if ys and all(y is not None for y in ys):
            ax[1][1].plot(days_x, ys, marker=".", label=label)
    ax[1][1].set(title="Memory every 6 simulated hours (MB)", xlabel="day",
                 ylim=(0, max(tally.rss_mb, default=1) * 1.2))  # fmt: skip
    ax[1][1].legend(fontsize=7)
    late = list(tally.late_s)
    fig.suptitle(f"lenabot soak: {patients:,} patients, {days} simulated days, "
                 f"{len(tally.restarts)} restarts; send lateness p50 {pct(late, 50):.0f} s, "
                 f"p99 {pct(late, 99):.0f} s; all checks {'held' if v.ok else 'NOT held'}")  # fmt: skip
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=80)
    plt.close(fig)


async def soak(backend: str, patients: int, days: int, seed: int = 11,
               chart_to: Path | None = None, cache_kib: int = PLANNING_CACHE_KIB,
               ) -> tuple[Tally, Verdict, list[str]]:  # fmt: skip
    """Run the simulated week on a fresh database; the tally, the verdict, the summary."""
    async with bench_db(backend) as db:
        engine = db.engine()
        await bulk_enrol(engine, patients, seed=seed)
        await engine.dispose()
        started, cpu0 = time.time(), time.process_time()
        sim = Soak(db.url, patients, days, seed, cache_kib)
        try:
            tally = await sim.run()
            v = await verdict(sim)
        finally:
            await sim.close()
        wall, cpu = time.time() - started, time.process_time() - cpu0
    lines = summary(tally, v, patients, days, wall)
    late = list(tally.late_s)
    emit("soak", db=backend, patients=patients, days=days, sent=sum(tally.sent_by_kind.values()),
         replies=tally.replies_checked, restarts=len(tally.restarts), steps=tally.steps,
         late_p50_s=round(pct(late, 50), 1), late_p99_s=round(pct(late, 99), 1),
         rss_mb=tally.rss_mb, memory=tally.memory, red_flags=v.red_flags_sent, alerted=v.red_flags_alerted,
         wall_s=round(wall, 1), cpu_s=round(cpu, 1), all_checks_held=v.ok,
         load=loadavg())  # fmt: skip
    if chart_to is not None:
        chart(tally, v, patients, days, chart_to)
    return tally, v, lines


def main(argv: list[str]) -> int:
    import asyncio

    ap = argparse.ArgumentParser(prog="python -m bench soak",
                                 description=(__doc__ or "").split("\n\n")[0])  # fmt: skip
    ap.add_argument("--db", choices=["sqlite", "postgres"], default="sqlite")
    ap.add_argument("--patients", type=int, default=10_000)
    ap.add_argument("--days", type=int, default=7)
    ap.add_argument("--seed", type=int, default=11)
    ap.add_argument("--cache-kib", type=int, default=PLANNING_CACHE_KIB,
                    help="SQLite page cache of each pooled connection (KiB; default %(default)s, "
                         "the service's when it plans in-process)")  # fmt: skip
    ap.add_argument("--chart", type=Path, default=CHART, help=f"PNG to write (default {CHART})")
    a = ap.parse_args(argv)
    _, v, lines = asyncio.run(soak(a.db, a.patients, a.days, a.seed, a.chart, a.cache_kib))
    print("\n".join(lines), flush=True)
    return 0 if v.ok else 1
