"""A deterministic simulation of publishing: several runs of the real `kvartal.publish`
interleaved one storage call at a time by a seeded scheduler, on an in-memory storage that
honours create-only writes as S3 does with `If-None-Match: *`, under one simulated clock.

Each run is a thread, but only one thread moves at a time: a run asks the scheduler before
every storage call and waits to be let through, so the schedule, and everything it does,
is a function of the seed alone. Between any two steps the scheduler may

- let any waiting run make its call, or hold it back (a stall; a stall long enough lets
  the lease run out on the simulated clock, so another run takes the claim over);
- send a write but hold it in transit: the caller hears a timeout at once, and the write
  lands (create-only judged when it lands) at a later step, maybe after newer versions;
- land a write and drop its reply (the caller hears an error, the bytes are there);
- kill a run: it never moves again, though its writes in transit may still land;
- retry a failed run in the same process (a task retry: the same owner resumes its claim).

After every step the CONTRACT §7 promises are checked from the outside (`check_step`), and
once every run has ended a quiet same- or new-input run must leave `<quarter>/` naming
exactly the newest version's bytes (`check_rest`). `run_schedule(seed)` returns the
violations found; an empty list is a pass.
"""

from __future__ import annotations

import hashlib
import json
import random
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from kvartal.publish import CLAIMS, Actor, IndexEntry, PublishConflict, index_entries, publish
from kvartal.storage import AlreadyExists, Capabilities

Q = "2009Q3"
LEASE = 30.0
START = 1_250_000_000.0  # 2009-08-11, seconds since the epoch
MAX_STEPS = 3000
_VERSION_MANIFEST = f"{Q}/versions/"


class TransportError(ConnectionError):
    """The request's reply never came: the caller cannot tell whether it landed."""


class Killed(BaseException):
    """A run that was killed mid-flight; its thread is unwound when the schedule ends."""


class MemoryStorage(Capabilities):
    """Keys in a dict; one write is atomic; create-only as `If-None-Match: *` on S3."""

    honours_create_only = True

    def __init__(self) -> None:
        self.url = "mem://udgivelse"
        self.keys: dict[str, bytes] = {}

    def list(self, prefix: str = "") -> list[str]:
        rel = prefix.strip("/")
        return sorted(k for k in self.keys if not rel or k == rel or k.startswith(rel + "/"))

    def read(self, key: str) -> bytes:
        try:
            return self.keys[key]
        except KeyError:
            raise FileNotFoundError(key) from None

    def exists(self, key: str) -> bool:
        return key in self.keys

    def write(
        self, key: str, data: bytes, *, content_type: str | None = None, create_only: bool = False
    ) -> None:
        if create_only and key in self.keys and self.keys[key] != data:
            raise AlreadyExists(key)
        self.keys[key] = bytes(data)

    def delete(self, key: str) -> None:
        self.keys.pop(key, None)

    def location(self, key: str) -> str:
        return f"{self.url}/{key}"


@dataclass
class Call:
    method: str
    args: tuple[Any, ...]
    kwargs: dict[str, Any]
    lands_at: int = 0  # a call in transit lands at (or after) this step


@dataclass
class Run:
    """One `kvartal run`'s publishing: an actor (host, process, owner) and its inputs."""

    number: int
    tag: str  # the inputs: equal tags, equal fingerprints
    actor: Actor
    starts_at: int  # the step before which it does not begin
    attempts: int  # 1 + the task's retries
    thread: threading.Thread | None = None
    pending: Call | None = None  # the call it waits to make
    go: threading.Semaphore = field(default_factory=lambda: threading.Semaphore(0))
    result: Any = None
    error: BaseException | None = None
    failures: list[BaseException] = field(default_factory=list)
    paused_until: int = -1
    killed: bool = False
    finished: bool = False
    fate: str = "ok"  # ok | transit | dropped: what happens to the call now let through


def render_for(tag: str) -> Callable[[int, datetime], dict[str, bytes]]:
    """Small files that depend on inputs, version and time; input C has one file more."""

    def render(n: int, published_at: datetime) -> dict[str, bytes]:
        stamp = f"{tag} v{n} {published_at.isoformat()}"
        files = {
            "fulfilment.json": json.dumps({"tag": tag, "version": n}).encode(),
            "report.html": f"<p>{stamp}</p>".encode(),
            "report.pdf": f"%PDF {stamp}".encode(),
        }
        if tag == "C":
            files["changes.json"] = f"[{n}]".encode()
        return files

    return render


def render_index(entries: list[IndexEntry]) -> bytes:
    return json.dumps(
        [[e.quarter, [[v.version, v.published_at] for v in e.versions]] for e in entries]
    ).encode()


PublishFn = Callable[..., Any]


def default_publish(storage: Any, run: Run) -> Any:
    return publish(
        storage,
        Q,
        fingerprint=f"fp-{run.tag}",
        render=render_for(run.tag),
        manifest_extra={"tag": run.tag},
        index_renderer=render_index,
        actor=run.actor,
        now=datetime.fromtimestamp(run.actor.clock(), UTC),  # simulated time, never the wall's
    )


class World:
    """The storage, the clock, the runs and the writes in transit of one schedule."""

    def __init__(self, seed: int, publish_fn: PublishFn = default_publish) -> None:
        self.seed = seed
        self.rng = random.Random(seed)
        self.store = MemoryStorage()
        self.now = START
        self.step = 0
        self.runs: list[Run] = []
        self.transit: list[Call] = []
        self.publish_fn = publish_fn
        self.lock = threading.Lock()
        self.back = threading.Semaphore(0)  # a run hands the baton back to the scheduler
        self.active: Run | None = None
        self.seen: dict[int, tuple[bytes, dict[str, bytes]]] = {}  # version -> its bytes
        self.violations: list[str] = []
        self.log: list[str] = []
        self.notes: set[str] = set()  # which faults this schedule really produced
        # What this seed's schedule may do, so that some seeds are gentle and some rough.
        self.p_stall = self.rng.choice([0.0, 0.02, 0.08])
        self.p_transit = self.rng.choice([0.0, 0.03, 0.1, 0.25, 0.25])
        self.p_dropped = self.rng.choice([0.0, 0.02, 0.05])
        self.p_kill = self.rng.choice([0.0, 0.0, 0.01])
        # One run at a time, killed or cut off but never stalled and never with a write in
        # transit: then the copy at `<quarter>/` keeps its every-moment promise too.
        self.sequential = self.rng.random() < 0.25
        if self.sequential:
            self.p_stall = self.p_transit = 0.0
            self.p_kill = self.rng.choice([0.01, 0.03])

    # the runs' side --------------------------------------------------------------------

    def clock(self) -> float:
        return self.now

    def call(self, run: Run, method: str, *args: Any, **kwargs: Any) -> Any:
        """Wait for the scheduler, then make the call as it decides."""
        run.pending = Call(method, args, kwargs)
        self.back.release()
        run.go.acquire()
        if run.killed:
            raise Killed()
        call, run.pending = run.pending, None
        assert call is not None
        fate, run.fate = run.fate, "ok"
        if fate == "transit" and method in ("write", "delete"):
            call.lands_at = self.step + self.rng.choice([1, 5, 20, 80, 400, 400])
            self.transit.append(call)
            raise TransportError(f"simulated timeout: {method} {args[0]}")
        result = getattr(self.store, method)(*args, **kwargs)
        if fate == "dropped" and method in ("write", "delete"):
            raise TransportError(f"simulated lost reply: {method} {args[0]}")
        return result

    def body(self, run: Run) -> None:
        storage = RunStorage(self, run)
        run.go.acquire()  # started by the scheduler
        try:
            for attempt in range(run.attempts):
                try:
                    run.result = self.publish_fn(storage, run)
                    run.error = None
                    break
                except (PublishConflict, TransportError, FileNotFoundError) as exc:
                    run.failures.append(exc)
                    run.error = exc
                    if isinstance(exc, PublishConflict) or attempt == run.attempts - 1:
                        break
        except Killed:
            pass
        except BaseException as exc:  # any other failure is a finding, reported below
            run.error = exc
            run.failures.append(exc)
        finally:
            run.finished = True
            self.back.release()

    # the scheduler's side --------------------------------------------------------------

    def start(self, run: Run) -> None:
        run.thread = threading.Thread(target=self.body, args=(run,), daemon=True)
        run.thread.start()
        self._let(run)

    def _let(self, run: Run) -> None:
        run.go.release()
        self.back.acquire()

    def ready(self) -> list[Run]:
        return [
            r
            for r in self.runs
            if r.thread is not None
            and not r.finished
            and not r.killed
            and r.pending is not None
            and r.paused_until < self.step
        ]

    def tick(self) -> None:
        self.step += 1
        stalled = any(r.paused_until >= self.step for r in self.runs if not r.finished)
        self.now += self.rng.uniform(0.05, 0.5) + (LEASE * 0.3 if stalled else 0.0)

    def due(self) -> list[Call]:
        return [c for c in self.transit if c.lands_at <= self.step]

    def land_one(self) -> None:
        due = self.due() or self.transit
        call = due[self.rng.randrange(len(due))]
        self.transit.remove(call)
        self.log.append(f"{self.step}: lands {call.method} {call.args[0]}")
        published = self.published()
        key = call.args[0]
        if call.method == "write" and key.startswith(f"{Q}/") and "/" not in key[len(Q) + 1 :]:
            newest = f"{_VERSION_MANIFEST}{max(published)}/{key[len(Q) + 1 :]}" if published else ""
            if self.store.keys.get(newest, call.args[1]) != call.args[1]:
                self.notes.add("late write of an older copy")
        try:
            getattr(self.store, call.method)(*call.args, **call.kwargs)
        except AlreadyExists:
            self.notes.add("late create-only write refused")

    def schedule(self) -> None:
        for _ in range(MAX_STEPS):
            for run in self.runs:
                busy = any(
                    r.thread is not None and not r.finished and not r.killed for r in self.runs
                )
                if self.sequential and busy:
                    break
                if run.thread is None and (run.starts_at <= self.step or self.sequential):
                    self.log.append(f"{self.step}: run {run.number} ({run.tag}) starts")
                    self.start(run)
            ready = self.ready()
            waiting = [r for r in self.runs if r.thread is None]
            paused = [
                r for r in self.runs if not r.finished and not r.killed and r.thread is not None
            ]
            if not ready and not waiting and not paused:
                return
            self.tick()
            if self.due() and (not ready or self.rng.random() < 0.5):
                self.land_one()
                self.check_step()
                continue
            if not ready:
                continue
            run = self.rng.choice(ready)
            if self.rng.random() < self.p_kill:
                run.killed = True
                self.log.append(f"{self.step}: run {run.number} killed")
                if self.sequential:  # the next run comes after the lease
                    self.now += LEASE + 1
                continue
            if self.rng.random() < self.p_stall:
                run.paused_until = self.step + self.rng.randint(2, 40)
                self.notes.add("stall")
                self.log.append(f"{self.step}: run {run.number} stalls to {run.paused_until}")
                continue
            roll = self.rng.random()
            run.fate = (
                "transit"
                if roll < self.p_transit
                else "dropped"
                if roll < self.p_transit + self.p_dropped
                else "ok"
            )
            pending = run.pending
            assert pending is not None
            self.log.append(
                f"{self.step}: run {run.number} {pending.method} "
                f"{pending.args[0] if pending.args else ''} {run.fate}"
            )
            self._let(run)
            self.check_step()
        self.violations.append(f"seed {self.seed}: no end after {MAX_STEPS} steps")

    def unwind(self) -> None:
        """Killed runs' threads are let go with `Killed`, so none outlives its schedule."""
        for run in self.runs:
            if run.thread is not None and not run.finished:
                run.killed = True
                run.go.release()
                run.thread.join(timeout=5)

    # the promises -----------------------------------------------------------------------

    def published(self) -> dict[int, bytes]:
        out = {}
        for key, data in self.store.keys.items():
            if key.startswith(_VERSION_MANIFEST) and key.endswith("/manifest.json"):
                n = key[len(_VERSION_MANIFEST) :].split("/", 1)[0]
                if n.isdigit() and key == f"{_VERSION_MANIFEST}{n}/manifest.json":
                    out[int(n)] = data
        return out

    def _named(self, folder: str, manifest: bytes) -> list[str]:
        """What is wrong with the files `manifest` names in `folder`."""
        wrong = []
        for entry in json.loads(manifest)["files"]:
            data = self.store.keys.get(f"{folder}/{entry['name']}")
            if data is None:
                wrong.append(f"{folder}/{entry['name']} missing")
            elif hashlib.sha256(data).hexdigest() != entry["sha256"]:
                wrong.append(f"{folder}/{entry['name']} holds other bytes")
        return wrong

    def check_step(self) -> None:
        """No published byte ever changes; every version manifest names complete files."""
        published = self.published()
        for n, manifest in published.items():
            folder = f"{_VERSION_MANIFEST}{n}"
            files = {k: v for k, v in self.store.keys.items() if k.startswith(folder + "/")}
            if n not in self.seen:
                for wrong in self._named(folder, manifest):
                    self.violations.append(f"step {self.step}: manifest {n} names {wrong}")
                self.seen[n] = (manifest, files)
            elif self.seen[n] != (manifest, files):
                before = self.seen[n][1]
                changed = sorted(
                    k for k in set(before) | set(files) if before.get(k) != files.get(k)
                )
                self.violations.append(
                    f"step {self.step}: published version {n} changed: {', '.join(changed)}"
                )
                self.seen[n] = (manifest, files)
        current = self.store.keys.get(f"{Q}/manifest.json")
        if self.sequential and current is not None:
            for wrong in self._named(Q, current):
                self.violations.append(f"step {self.step}: a mixed view at {Q}/: {wrong}")
        for n in self.seen:
            if n not in published:
                self.violations.append(f"step {self.step}: version {n}'s manifest disappeared")
        numbers = sorted(published)
        if numbers != list(range(1, len(numbers) + 1)):
            self.violations.append(f"step {self.step}: version numbers {numbers} not dense")

    def check_runs(self) -> None:
        for run in self.runs:
            for exc in run.failures:
                if "mistede sin ret" in str(exc):
                    self.notes.add("lost its claim")
                    if "overtog den" in str(exc) and "en anden kørsel overtog" not in str(exc):
                        self.notes.add("lost its claim to a named run")
                if not isinstance(exc, (PublishConflict, TransportError, FileNotFoundError)):
                    self.violations.append(f"run {run.number} failed unexpectedly: {exc!r}")
                text = str(exc)
                own = f"maskine {run.actor.host}, proces {run.actor.pid},"
                if (
                    f"kørslen på {own}" in text
                    or text.startswith("En anden kørsel")
                    and own in text
                ):
                    self.violations.append(
                        f"run {run.number} calls its own process another run: {text[:160]}"
                    )

    def check_rest(self, final: Run) -> None:
        """After a quiet run: `<quarter>/` is the newest version, file for file."""
        if final.error is not None:
            self.violations.append(f"the quiet run failed: {final.error!r}")
            return
        published = self.published()
        fingerprints = [json.loads(published[n])["fingerprint"] for n in sorted(published)]
        for a, b in zip(fingerprints, fingerprints[1:], strict=False):
            if a == b:
                self.violations.append(f"two versions in a row with {a}: {fingerprints}")
        newest = max(published)
        if json.loads(published[newest])["fingerprint"] != f"fp-{final.tag}":
            self.violations.append(f"the quiet run ({final.tag}) is not the newest version")
        current = self.store.keys.get(f"{Q}/manifest.json")
        if current != published[newest]:
            self.violations.append("at rest <quarter>/manifest.json is not the newest version's")
        else:
            for wrong in self._named(Q, current):
                self.violations.append(f"at rest a mixed view at {Q}/: {wrong}")
        index = self.store.keys.get("index.html")
        if index != render_index(index_entries(self.store)):
            self.violations.append("at rest index.html does not list the published versions")
        spent = [
            k
            for k in self.store.keys
            if k.startswith(".kvartal/")
            and any(f"/{Q}/v{n}/" in k or k.endswith(f"/{Q}/v{n}.json") for n in published)
        ]
        if spent:
            self.violations.append(f"at rest spent bookkeeping is left: {spent[:3]}")


class RunStorage(Capabilities):
    """The storage as one run sees it: every call is a step of the schedule."""

    honours_create_only = True

    def __init__(self, world: World, run: Run) -> None:
        self.world = world
        self.run = run
        self.url = world.store.url

    def list(self, prefix: str = "") -> list[str]:
        result: list[str] = self.world.call(self.run, "list", prefix)
        return result

    def read(self, key: str) -> bytes:
        result: bytes = self.world.call(self.run, "read", key)
        return result

    def exists(self, key: str) -> bool:
        result: bool = self.world.call(self.run, "exists", key)
        return result

    def write(
        self, key: str, data: bytes, *, content_type: str | None = None, create_only: bool = False
    ) -> None:
        self.world.call(self.run, "write", key, data, create_only=create_only)

    def delete(self, key: str) -> None:
        self.world.call(self.run, "delete", key)

    def location(self, key: str) -> str:
        return self.world.store.location(key)


def run_schedule(seed: int, publish_fn: PublishFn = default_publish) -> list[str]:
    """Every promise the schedule of `seed` broke, each naming the seed; [] is a pass."""
    return simulate(seed, publish_fn).violations


def simulate(seed: int, publish_fn: PublishFn = default_publish) -> World:
    """The schedule of `seed`, run to its end; its `violations` name the seed."""
    world = World(seed, publish_fn)
    rng = world.rng
    tags = ["A", "B", "C"]
    for i in range(rng.randint(2, 4)):
        number = i + 1
        world.runs.append(
            Run(
                number,
                rng.choice(tags),
                Actor(f"sim-{number}", 100 + number, f"sim-{number}", world.clock, LEASE),
                starts_at=rng.choice([0, rng.randint(1, 60), rng.randint(40, 200)]),
                attempts=rng.choice([1, 2, 4]),
            )
        )
    try:
        world.schedule()
        while world.transit:  # late landings, after everything else
            world.tick()
            world.land_one()
            world.check_step()
        world.check_runs()
        # A quiet run later on: often the same inputs as the newest version, which must
        # still repair what readers see.
        # A day later: the claims of a version taken over from a writer on another machine
        # are kept that long, for the writer to read who took over when it resumes.
        world.now += 24 * 3600 + LEASE + 1
        published = world.published()
        current = world.store.keys.get(f"{Q}/manifest.json")
        if current is not None and world._named(Q, current):
            world.notes.add("mixed view before the quiet run")
        if any(k.startswith(f"{CLAIMS}/{Q}/") and k.endswith("/2.json") for k in world.store.keys):
            world.notes.add("claim taken over")
        newest_tag = json.loads(published[max(published)])["tag"] if published else "A"
        tag = newest_tag if rng.random() < 0.7 else rng.choice(tags)
        final = Run(0, tag, Actor("sim-0", 100, "sim-0", world.clock, LEASE), world.step, 1)
        world.runs.append(final)
        world.p_kill = world.p_stall = world.p_transit = world.p_dropped = 0.0
        world.schedule()
        world.check_rest(final)
    finally:
        world.unwind()
    world.violations = [f"seed {seed}: {v}" for v in world.violations]
    return world
