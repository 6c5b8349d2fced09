"""6. The care-team console: the patients page with 10,000 patients, 20 nurses at once.

The service process runs as production runs it (`lenabot web`, by way of bench/serve.py, which
only moves its clock to T0) on a database of 10,000 bulk-enrolled patients whose outboxes are
planned, with a few weeks of texts from most of them, some paused and some opted out. Twenty
staff accounts each sign in through the real sign-in form (its CSRF token, argon2) from this
process over real HTTP, then each session asks for patients pages one after the other (closed
loop): the first page, a search by name, by id and by phone, each state filter, and pages deep
into the list. Latency = request sent to answer read, per request; the target is p95 < 200 ms.

``think`` is how long each nurse waits between an answer and the next click: 0 (the default)
is a stress test, 20 requests always in flight, so latency is mostly queueing behind the
others (Little's law: about 20 / throughput); a real nurse reads the page for seconds.
"""

from __future__ import annotations

import asyncio
import io
import os
import random
import re
import time
from datetime import date, timedelta
from typing import Any

from sqlalchemy import insert, update

from bench.common import T0, OffsetClock, analyze, bench_db, bulk_enrol, emit, loadavg, pct, pid_of
from bench.inbound import _KEEP_ENV, _cpu_s, _free_port, _service
from scheduler.store import tables as t

PASSWORD = "heron lantern quietly marble"
TARGET_MS = 200.0


def _paths(patients: int, rng: random.Random) -> list[tuple[str, str]]:
    """(kind, path) a nurse asks for, in the proportions a ward might."""
    pages = max(1, patients // 50)
    i = rng.randrange(patients)
    return [
        ("list", "/patients"),
        ("search_name", f"/patients?q=Patient+{i}"),
        ("search_id", f"/patients?q={pid_of(i)}"),
        ("search_phone", f"/patients?q=%2B4477{i:09d}"),
        ("filter", f"/patients?state={rng.choice(['active', 'paused', 'opted-out', 'ended'])}"),
        ("page", f"/patients?page={rng.randrange(1, pages + 1)}"),
        ("filter_page", f"/patients?state=active&page={rng.randrange(1, max(2, pages // 2))}"),
    ]


async def _populate(url: str, patients: int, sessions: int) -> None:
    """Patients with planned outboxes and texts, some paused or opted out; staff accounts."""
    from bot.bootstrap import build
    from bot.settings import load_settings
    from bot.web.console import passwords
    from bot.web.console.accounts import Role, StaffAccounts

    service = build(load_settings(_env_file=None, database_url=url, plan_processes=0,
                                  log_level="WARNING"),
                    clock=OffsetClock(T0), out=io.StringIO())  # fmt: skip
    engine = service.engine
    try:
        await bulk_enrol(engine, patients)
        p, c = t.patients.c, t.courses.c
        async with engine.begin() as conn:
            await conn.execute(update(t.patients).where(p.id.in_(
                [pid_of(i) for i in range(0, patients, 50)])).values(opted_out_at=T0))  # fmt: skip
            ids = [r.id for r in await conn.execute(t.courses.select().where(
                c.patient_id.in_([pid_of(i) for i in range(3, patients, 10)])))]  # fmt: skip
            if ids:
                await conn.execute(insert(t.holds), [
                    {"course_id": cid, "start_date": date(2026, 6, 5), "end_date": None,
                     "reason": "counts", "created_at": T0} for cid in ids])  # fmt: skip
            texts = [{"patient_id": pid_of(i), "channel": "sms", "text": "taken",
                      "intent": "taken", "received_at": T0 - timedelta(days=d, hours=i % 24)}
                     for i in range(patients) if i % 5 for d in range(1, 15, 2)]  # fmt: skip
            for lo in range(0, len(texts), 5000):
                await conn.execute(insert(t.inbound), texts[lo : lo + 5000])
        await service.materialiser.everyone(service.clock.now())  # as a running worker keeps it
        accounts = StaffAccounts(engine)
        hashed = await asyncio.to_thread(passwords.hash_password, PASSWORD)
        for n in range(sessions):
            staff = await accounts.add(f"nurse{n}@example.org", f"Nurse {n}", Role.NURSE, T0)
            await accounts.set_password(staff.id, hashed)
        await analyze(engine, "patients", "courses", "holds", "inbound", "outbox", "staff")
    finally:
        await service.close()


async def _session(base: str, n: int) -> Any:
    """One nurse's browser: signed in through the sign-in form."""
    import httpx

    http = httpx.AsyncClient(base_url=base, timeout=30, follow_redirects=False)
    form = await http.get("/login")
    token = re.search(r'name="csrf" value="([^"]+)"', form.text)
    assert token is not None, "no CSRF token on the sign-in form"
    r = await http.post("/login", data={"email": f"nurse{n}@example.org", "password": PASSWORD,
                                        "csrf": token[1]})  # fmt: skip
    if r.status_code != 303:
        await http.aclose()
        raise RuntimeError(f"nurse{n} could not sign in: {r.status_code}")
    return http


async def console(
    backend: str, patients: int, sessions: int, requests: int, think: float = 0.0
) -> None:
    """``requests`` patients pages per session, ``sessions`` sessions at once, each waiting
    ``think`` seconds after each answer (a person reading the page: not a race to paper over)."""
    async with bench_db(backend) as db:
        await _populate(db.url, patients, sessions)
        env = {
            **{k: v for k, v in os.environ.items() if not k.isupper() or k in _KEEP_ENV},
            "DATABASE_URL": db.url, "LOG_LEVEL": "WARNING", "HOST": "127.0.0.1",
            "PORT": str(_free_port()), "PLAN_PROCESSES": "0",
        }  # fmt: skip
        async with _service(env) as (base, pid):
            clients = await asyncio.gather(*(_session(base, n) for n in range(sessions)))
            lat: dict[str, list[float]] = {}
            errors: list[str] = []

            async def nurse(http: Any, seed: int, count: int, record: bool) -> None:
                rng = random.Random(seed)
                for _ in range(count):
                    kind, path = rng.choice(_paths(patients, rng))
                    started = time.perf_counter()
                    r = await http.get(path)
                    ms = (time.perf_counter() - started) * 1000
                    if r.status_code != 200 or "patient" not in r.text:
                        errors.append(f"{r.status_code} {path}")
                    if record:
                        lat.setdefault(kind, []).append(ms)
                    if think:
                        await asyncio.sleep(rng.uniform(0.5, 1.5) * think)

            try:
                # Warm-up: every session's first pages (connections, caches) are not timed.
                await asyncio.gather(*(nurse(h, -i, 5, False) for i, h in enumerate(clients)))
                cpu0, wall0 = _cpu_s(pid), time.perf_counter()
                await asyncio.gather(*(nurse(h, i, requests, True)
                                       for i, h in enumerate(clients)))  # fmt: skip
                wall, cpu = time.perf_counter() - wall0, _cpu_s(pid) - cpu0
            finally:
                await asyncio.gather(*(h.aclose() for h in clients))
        every = [ms for values in lat.values() for ms in values]
        p95 = pct(every, 95)
        emit("console", db=backend, patients=patients, sessions=sessions, think_s=think,
             requests=len(every), rps=round(len(every) / wall, 1),
             p50_ms=round(pct(every, 50), 1), p95_ms=round(p95, 1),
             p99_ms=round(pct(every, 99), 1), max_ms=round(max(every), 1),
             cpu_ms_per_req=round(cpu * 1000 / len(every), 2), errors=len(errors),
             error_kinds=sorted(set(errors))[:5],
             p95_by_kind={k: round(pct(v, 95), 1) for k, v in sorted(lat.items())},
             target=f"p95 < {TARGET_MS:.0f} ms", met=p95 < TARGET_MS and not errors,
             load=loadavg())  # fmt: skip
