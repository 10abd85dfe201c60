"""A deterministic simulation of delivery to recipients, driven by one seed.

Several notifier processes run the real `kvartal.notify.deliver_owed` interleaved, under a
scheduler that decides who runs next in simulated time; the ledger is an in-memory storage
and the mail server an in-memory one. The seed decides everything: how many notifiers, when
they start and on which machine, when one stalls (a pause, possibly past the lease) or is
killed, when the ledger is down (also right after a mail was accepted), which writes lose
their answer, when the mail server refuses, answers slowly, or never answers. Each notifier
is a process in the simulation: its own memory, the task's three attempts (5 s and 20 s
apart) and the flow's rule afterwards (a lost record fails the run and is told).

The notifiers are threads, but only one runs at a time and only where the code under test
touches time, the ledger or the mail server: there it hands control back to the scheduler,
which picks the next notifier by simulated time. So a seed replays exactly.

Invariants (CONTRACT §7, docs/design.md "Recipients: exactly once, from the ledger"),
checked at every event that can break them:

- once: mails delivered to a recipient for a version <= 1 + what the operators were told
  of that recipient and version before the extra mail (the unknown-outcome window);
- told once: one notice per claim taken over;
- loud: a notifier whose mail was accepted, and acknowledged to it, and that ends without
  the record, ends failed (exit 1) and has told the operators;
- honest: a record exists only for a mail that was delivered;
- owed: after the faults heal and the lease has passed, one clean run leaves every
  recipient of every version recorded and mailed.

`python -m tests.support.sim_delivery --seed N [--code path/to/notify.py] [--trace]`
replays one seed, against another copy of the module if asked (the code before a fix).
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import random
import re
import smtplib
import sys
import threading
import types
from collections import Counter
from dataclasses import dataclass, field
from email.message import EmailMessage
from typing import Any

from kvartal.storage import AlreadyExists, Capabilities

QUARTER = "2009Q3"
EPOCH = 1_780_000_000.0  # the simulation's time 0, as a Unix time
MAX_STEPS = 20_000


class Killed(BaseException):
    """A notifier is SIGKILLed: it stops wherever it is, with nothing cleaned up."""


class _Refused(Exception):
    pass


@dataclass
class Proc:
    name: str
    host: str
    start: float
    order: int
    memory: Any = None
    thread: threading.Thread | None = None
    go: threading.Semaphore = field(default_factory=lambda: threading.Semaphore(0))
    wake_at: float = 0.0
    killed: bool = False
    done: bool = False
    exit: int | None = None
    acked: set[tuple[str, int]] = field(default_factory=set)  # mails the server said it took
    told: list[Any] = field(default_factory=list)
    old_memory: set[str] = field(default_factory=set)
    crashed: str = ""


class Simulation:
    def __init__(self, seed: int, module: Any, final_run: bool = True, trace: bool = False):
        self.seed, self.module, self.trace = seed, module, trace
        self.rng = random.Random(seed)
        self.new = hasattr(module, "Courier")
        self.settings = module.SmtpSettings(host="smtp.sim", sender="kvartal@sim.example")
        self.lease = module.delivery_lease(self.settings) if self.new else 0.0
        self.now = 0.0
        self.procs: list[Proc] = []
        self.current: Proc | None = None
        self.back = threading.Semaphore(0)
        self.violations: list[str] = []
        self.log: list[str] = []
        self.mails: Counter[tuple[str, int]] = Counter()
        self.mail_log: list[tuple[float, str, int, str, str]] = []  # time, to, version, id, who
        self.notices: Counter[tuple[str, int]] = Counter()
        self.taken: Counter[tuple[str, int, int]] = Counter()
        self.steps = 0
        self.final_run = final_run
        self._draw()
        self.ledger = MemoryStorage(self, "ledger", faulty=True)
        self.publish = MemoryStorage(self, "published", faulty=False)
        for v in range(1, self.versions + 1):
            doc = {"quarter": QUARTER, "version": v, "targets": []}
            self.publish.data[f"{QUARTER}/versions/{v}/fulfilment.json"] = json.dumps(doc).encode()
            self.publish.data[f"{QUARTER}/versions/{v}/manifest.json"] = b"{}"
        self.digests = {
            module.ledger_key(QUARTER, v, to): (to, v)
            for to in self.recipients
            for v in range(1, self.versions + 1)
        }

    # what the seed decides -----------------------------------------------------------------

    def _draw(self) -> None:
        r = self.rng
        self.recipients = [f"r{i}@x.dk" for i in range(1, r.randint(1, 3) + 1)]
        self.versions = r.randint(1, 2)
        n = r.randint(1, 4)
        same_host = r.random() < 0.5
        spread = r.choice([0.0, 15.0, 60.0, 4000.0])
        self.pause_p = r.choice([0.0, 0.0, 0.02, 0.05])
        self.kill_p = r.choice([0.0, 0.0, 0.01, 0.03])
        self.lost_answer_p = r.choice([0.0, 0.0, 0.05])
        self.reject_p = r.choice([0.0, 0.05])
        self.slow_p = r.choice([0.0, 0.2, 0.6])  # answers after 20 to 120 s
        self.silent_p = r.choice([0.0, 0.0, 0.1])  # never answers
        self.outages = [
            (a, a + r.choice([1.0, 10.0, 100.0, 1000.0]))
            for a in sorted(r.uniform(0, 300) for _ in range(r.choice([0, 0, 1, 2])))
        ]
        self.smtp_down = [
            (a, a + r.choice([5.0, 60.0, 600.0]))
            for a in sorted(r.uniform(0, 300) for _ in range(r.choice([0, 0, 0, 1])))
        ]
        self.outage_after_accept = r.choice([None, None, 3.0, 40.0, 400.0])
        starts = sorted(r.uniform(0, spread) for _ in range(n))
        for i, s in enumerate(starts):
            host = "maskine" if same_host else f"maskine{i}"
            self.procs.append(Proc(f"n{i}", host, s, i))
        self.healed = False

    # the scheduler ------------------------------------------------------------------------

    def clock(self) -> float:
        return EPOCH + self.now

    def note(self, text: str) -> None:
        if self.trace:
            self.log.append(f"{self.now:10.2f} {self.current.name if self.current else '-'} {text}")

    def step(self, seconds: float) -> None:
        """Called from a notifier: this much simulated time passes for it, and others run."""
        proc = self.current
        assert proc is not None
        proc.wake_at = self.now + seconds
        self.back.release()
        proc.go.acquire()
        if proc.killed:
            raise Killed()

    def sleep(self, seconds: float) -> None:
        self.step(seconds)

    def _spawn(self, proc: Proc) -> None:
        proc.wake_at = proc.start
        proc.memory = self.module.Memory() if self.new else None

        def body() -> None:
            proc.go.acquire()
            try:
                if not proc.killed:
                    self._process(proc)
            except Killed:
                self.note("killed")
            except BaseException as exc:  # a bug in the code under test or here: a finding
                import traceback

                proc.crashed = "".join(traceback.format_exception(exc))
                self.violations.append(f"{proc.name} crashed: {exc!r}")
            finally:
                proc.done = True
                self.back.release()

        proc.thread = threading.Thread(target=body, daemon=True)
        proc.thread.start()

    def _turn(self, proc: Proc) -> None:
        self.now = max(self.now, proc.wake_at)
        self.current = proc
        if not self.new:
            self.module._sent_unrecorded = proc.old_memory  # each process its own memory
        proc.go.release()
        self.back.acquire()
        self.current = None
        self.steps += 1

    def run(self) -> list[str]:
        for proc in self.procs:
            self._spawn(proc)
        self._loop(self.procs, faults=True)
        for proc in self.procs:
            if proc.killed or proc.crashed:
                continue
            self._check_loud(proc)
        if self.final_run and not self.violations:
            self.healed = True
            self.now += self.lease + 1 if self.new else 1.0
            final = Proc("final", "maskine-ny", self.now, len(self.procs))
            self.procs.append(final)
            self._spawn(final)
            self._loop([final], faults=False)
            if not final.crashed:
                self._check_loud(final)
            for to in self.recipients:
                for v in range(1, self.versions + 1):
                    key = self.module.ledger_key(QUARTER, v, to)
                    if key not in self.ledger.data or self.mails[(to, v)] < 1:
                        self.violations.append(
                            f"owed: {to} version {v} never mailed and recorded after the faults"
                        )
        return self.violations

    def _loop(self, procs: list[Proc], faults: bool) -> None:
        while True:
            live = [p for p in procs if not p.done]
            if not live:
                return
            if self.steps > MAX_STEPS:
                self.violations.append("the simulation did not end (a notifier never stops)")
                for p in live:
                    p.killed = True
                    self._turn(p)
                continue
            proc = min(live, key=lambda p: (p.wake_at, p.order))
            if faults and proc.wake_at > proc.start:  # started: it may stall or die here
                roll = self.rng.random()
                if roll < self.pause_p:
                    pause = self.rng.choice([5.0, 60.0, 2 * max(self.lease, 100.0)])
                    proc.wake_at += pause
                    self.note(f"{proc.name} stalled {pause:.0f} s")
                    continue
                if roll < self.pause_p + self.kill_p:
                    proc.killed = True
            self._turn(proc)

    # one notifier process: the task with its retries, then the flow's rule ------------------

    def _process(self, proc: Proc) -> None:
        m = self.module
        last: BaseException | None = None
        for attempt in range(3):
            try:
                if self.new:
                    courier = m.Courier(
                        send=self._new_sender(proc),
                        lease=self.lease,
                        clock=self.clock,
                        sleep=self.sleep,
                        me=m.Owner(proc.host, 1000 + proc.order, proc.name),
                        gone=self._gone,
                        memory=proc.memory,
                        tell=lambda doubts, p=proc: self._tell(p, doubts),
                    )
                    delivery = m.deliver_owed(
                        self.publish,
                        self.ledger,
                        QUARTER,
                        self.recipients,
                        self.settings,
                        {},
                        lambda key: key,
                        ["report.html"],
                        courier,
                    )
                    for v, busy in delivery.busy.items():
                        self.note(f"busy: v{v} {sorted(busy)} another notifier is sending")
                else:
                    m.deliver_owed(
                        self.publish,
                        self.ledger,
                        QUARTER,
                        self.recipients,
                        self.settings,
                        {},
                        lambda key: key,
                        ["report.html"],
                    )
                last = None
                break
            except Exception as exc:  # Prefect retries the task on any exception
                last = exc
                self.note(f"attempt {attempt + 1} failed: {exc}")
                if attempt < 2:
                    self.sleep([5.0, 20.0][attempt])
        # flows/quarterly.py: a lost record fails the run and is told; else exit 0
        lost = list(getattr(last, "unrecorded", []) or [])
        if lost:
            self._tell(proc, lost)
            proc.exit = 1
        else:
            proc.exit = 0
        self.note(f"exit {proc.exit}")

    def _gone(self, owner: Any, me: Any) -> bool:
        if owner.host != me.host or owner.token == me.token:
            return False
        return any(p.name == owner.token and p.done for p in self.procs)

    def _tell(self, proc: Proc, doubts: list[Any]) -> None:
        for d in doubts:
            proc.told.append(d)
            self.notices[(d.recipient, d.version)] += 1
            if d.kind == "unknown":
                self.taken[(d.recipient, d.version, d.generation)] += 1
                if self.taken[(d.recipient, d.version, d.generation)] > 1:
                    self.violations.append(
                        f"told twice: claim {d.generation} of {d.recipient} version {d.version}"
                    )
            self.note(f"told operators: {d.kind} {d.recipient} v{d.version}")

    def _check_loud(self, proc: Proc) -> None:
        for to, v in sorted(proc.acked):
            if self.module.ledger_key(QUARTER, v, to) in self.ledger.data:
                continue
            told = any(d.recipient == to and d.version == v for d in proc.told)
            if proc.exit != 1 or not told:
                self.violations.append(
                    f"silent: {proc.name}'s mail to {to} version {v} was accepted, its record "
                    f"never written, and the run ended with exit {proc.exit} "
                    f"({'told' if told else 'nobody told'})"
                )

    # the mail server ----------------------------------------------------------------------

    def _smtp_down(self) -> bool:
        return not self.healed and any(a <= self.now < b for a, b in self.smtp_down)

    def _transaction(
        self, proc: Proc, to: str, version: int, mid: str, deadline: float | None
    ) -> None:
        """One SMTP conversation as the client sees it; raises _Refused (nothing sent),
        TimeoutError (no answer after the end of the message) or returns (accepted)."""
        r = self.rng
        self.step(r.uniform(0.01, 0.2))  # connect, greeting, EHLO, MAIL, RCPT
        if self._smtp_down():
            raise _Refused("connection refused")
        if deadline is not None and self.clock() >= deadline:
            raise _Refused("no time left before the message")
        timeout = float(self.settings.timeout)
        wait = timeout if deadline is None else min(timeout, deadline - self.clock())
        if not self.healed and r.random() < self.reject_p:
            self.step(r.uniform(0.05, 1.0))
            raise _Refused("550 rejected")
        silent = not self.healed and r.random() < self.silent_p
        slow = not self.healed and r.random() < self.slow_p
        delay = 1e9 if silent else (r.uniform(20.0, 120.0) if slow else r.uniform(0.05, 2.0))
        delivered = not silent or r.random() < 0.5
        if delivered:
            self._deliver(proc, to, version, mid, answered=delay <= wait)
        if delay <= wait:
            self.step(delay)
            proc.acked.add((to, version))
            return
        self.step(max(wait, 0.0))
        raise TimeoutError("timed out waiting for the answer to the end of DATA")

    def _deliver(self, proc: Proc, to: str, version: int, mid: str, answered: bool) -> None:
        self.mails[(to, version)] += 1
        who = proc.name if answered else f"{proc.name} (its client stopped waiting)"
        self.mail_log.append((self.now, to, version, mid, who))
        self.note(f"mail delivered to {to} v{version}")
        if self.mails[(to, version)] > 1 + self.notices[(to, version)]:
            self.violations.append(
                f"once: {to} got version {version} {self.mails[(to, version)]} times, the "
                f"operators were told {self.notices[(to, version)]} times; sends: "
                + "; ".join(
                    f"{who} at {t:.1f} s"
                    for t, rcpt, v, _, who in self.mail_log
                    if (rcpt, v) == (to, version)
                )
            )
        if self.outage_after_accept is not None and not self.healed:
            start = self.now
            self.outages.append((start, start + self.outage_after_accept))
            self.outage_after_accept = None

    def _new_sender(self, proc: Proc) -> Any:
        m = self.module

        def send(msg: EmailMessage, deadline: float) -> None:
            to, version = str(msg["To"]), _version(str(msg["Subject"]))
            try:
                self._transaction(proc, to, version, str(msg["Message-ID"]), deadline)
            except _Refused as exc:
                raise m.NotSent(str(exc)) from exc
            except TimeoutError as exc:
                raise m.OutcomeUnknown(str(exc)) from exc

        return send

    def old_send_mail(self, settings: Any, to: str, subject: str, text: str) -> str:
        proc = self.current
        assert proc is not None
        mid = f"<{self.rng.getrandbits(64):x}@sim>"
        try:
            self._transaction(proc, to, _version(subject), mid, None)
        except _Refused as exc:
            raise smtplib.SMTPDataError(550, str(exc).encode()) from exc
        return mid


def _version(subject: str) -> int:
    found = re.search(r"version (\d+)", subject)
    assert found, subject
    return int(found.group(1))


class MemoryStorage(Capabilities):
    """The Storage protocol in memory; the ledger's operations take simulated time, may
    find the storage down, and a write may land and lose its answer."""

    honours_create_only = True

    def __init__(self, sim: Simulation, name: str, faulty: bool):
        self.sim, self.faulty = sim, faulty
        self.url = f"mem://{name}"
        self.data: dict[str, bytes] = {}

    def _op(self, what: str) -> None:
        if not self.faulty:
            return
        sim = self.sim
        sim.note(what)
        sim.step(sim.rng.uniform(0.01, 0.3))
        if not sim.healed and any(a <= sim.now < b for a, b in sim.outages):
            sim.note(f"ledger down: {what}")
            raise OSError(f"ledger down ({what})")

    def list(self, prefix: str = "") -> list[str]:
        self._op(f"list {prefix}")
        rel = prefix.strip("/")
        return sorted(k for k in self.data if not rel or k == rel or k.startswith(rel + "/"))

    def read(self, key: str) -> bytes:
        self._op(f"read {key}")
        if key not in self.data:
            raise FileNotFoundError(key)
        return self.data[key]

    def exists(self, key: str) -> bool:
        self._op(f"exists {key}")
        return key in self.data

    def write(
        self, key: str, data: bytes, *, content_type: str | None = None, create_only: bool = False
    ) -> None:
        self._op(f"write {key}")
        if create_only and key in self.data and self.data[key] != data:
            raise AlreadyExists(key)
        self.data[key] = data
        sim = self.sim
        if self.faulty and key in sim.digests:
            to, v = sim.digests[key]
            if sim.mails[(to, v)] < 1:
                sim.violations.append(f"honest: a record for {to} version {v}, never mailed")
        if self.faulty and not sim.healed and sim.rng.random() < sim.lost_answer_p:
            sim.note(f"write landed, answer lost: {key}")
            raise OSError(f"answer lost ({key})")

    def delete(self, key: str) -> None:
        self._op(f"delete {key}")
        self.data.pop(key, None)

    def location(self, key: str) -> str:
        return f"{self.url}/{key}"


def load_module(path: str | None) -> Any:
    """kvartal.notify, or the module in `path` (another version of it)."""
    if path is None:
        import kvartal.notify

        return kvartal.notify
    spec = importlib.util.spec_from_file_location("kvartal_notify_under_test", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up
    spec.loader.exec_module(module)
    return module


_lock = threading.Lock()


def simulate(seed: int, module: Any = None, trace: bool = False) -> Simulation:
    """Run one seed to the end; `.violations` says what broke."""
    module = module or load_module(None)
    with _lock:  # the old module's globals are swapped per process: one simulation at a time
        sim = Simulation(seed, module, trace=trace)
        if not sim.new:
            module.send_mail = sim.old_send_mail
            module.time = types.SimpleNamespace(sleep=sim.sleep, time=sim.clock)
        sim.run()
    return sim


def failing_seeds(seeds: range, module: Any = None) -> dict[int, list[str]]:
    module = module or load_module(None)
    found: dict[int, list[str]] = {}
    for seed in seeds:
        sim = simulate(seed, module)
        if sim.violations:
            found[seed] = sim.violations
    return found


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seed", type=int, help="replay this seed")
    parser.add_argument("--seeds", type=int, default=0, help="run seeds 0..N-1")
    parser.add_argument("--code", help="a notify.py to test instead of kvartal.notify")
    parser.add_argument("--trace", action="store_true")
    args = parser.parse_args(argv)
    module = load_module(args.code)
    if args.seed is not None:
        sim = simulate(args.seed, module, trace=args.trace)
        print("\n".join(sim.log))
        print("\n".join(sim.violations) or "no violation")
        for p in sim.procs:
            if p.crashed:
                print(p.crashed)
        return 1 if sim.violations else 0
    found = failing_seeds(range(args.seeds), module)
    for seed, violations in found.items():
        print(seed, violations[0])
    print(f"{len(found)} of {args.seeds} seeds violate an invariant")
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main())
