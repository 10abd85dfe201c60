"""A disk that fills up in the middle of a publication: on a small tmpfs where the machine
lets the tests mount one (root on Linux), else on a folder whose writes fail with ENOSPC
once a byte budget is spent. Either way the folder stays consistent, holds no temporary
files, and once space is freed the next attempt publishes."""

from __future__ import annotations

import errno
import json
import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from kvartal.publish import latest_version
from kvartal.storage import LocalStorage
from tests.support import publish_child
from tests.support.consistency import local_debris, violations

Q = "2009Q3"
# publish_child's files take about 50 kB a version, three times while it is published (the
# staged files, versions/<n>/ and the copy; the staged ones are removed at the end), and the
# trend pages at the root about 10 kB; more on tmpfs, which counts whole pages: the budgets
# run out at different points of version 2
BUDGETS_KB = [200, 210, 220, 230, 240, 250, 260, 275]


class BudgetStorage(LocalStorage):
    """A local folder whose disk holds only `budget` more bytes: the fallback full disk."""

    def __init__(self, root: Path, budget: int) -> None:
        super().__init__(root)
        self.budget = budget

    def _write(self, path: Path, key: str, data: bytes, create_only: bool) -> None:
        if len(data) > self.budget:  # as the operating system says it: no location
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        self.budget -= len(data)
        super()._write(path, key, data, create_only)


def _mount(where: Path, kb: int) -> bool:
    where.mkdir(parents=True, exist_ok=True)
    try:
        done = subprocess.run(
            ["mount", "-t", "tmpfs", "-o", f"size={kb}k", "tmpfs", str(where)], capture_output=True
        )
    except FileNotFoundError:  # no mount(8) here
        return False
    return done.returncode == 0


@pytest.fixture
def disks(tmp_path: Path) -> Iterator[list[Path]]:
    mounted: list[Path] = []
    yield mounted
    for m in mounted:
        subprocess.run(["umount", "-l", str(m)], check=False)


def _publish(storage: LocalStorage, fp: str, tag: str) -> int:
    from kvartal.publish import publish

    return publish(
        storage,
        Q,
        fingerprint=fp,
        render=publish_child.render_for(tag),
        manifest_extra={"tag": tag},
        index_renderer=publish_child.index,
    ).version


def test_a_full_disk_mid_publication_is_finished_once_space_is_freed(
    tmp_path: Path, disks: list[Path]
) -> None:
    failures = 0
    for kb in BUDGETS_KB:
        where = tmp_path / f"disk-{kb}"
        tmpfs = _mount(where, kb)
        if tmpfs:
            disks.append(where)
            storage = LocalStorage(where)
        else:
            storage = BudgetStorage(where, kb * 1024)
        _publish(storage, "fp-1", "a")  # version 1 fits
        try:
            _publish(storage, "fp-2", "b")
        except OSError as exc:
            assert exc.errno == errno.ENOSPC
            # the message names the place that is full, in Danish
            assert f"Disken er fuld ved {where.resolve()}/" in str(exc), str(exc)
            failures += 1
        assert violations(storage, Q) == [], f"{kb} kB"
        assert local_debris(where) == [], f"{kb} kB"

        # space is freed: the next attempt finishes version 2
        if tmpfs:
            subprocess.run(["mount", "-o", "remount,size=4m", str(where)], check=True)
        else:
            storage = BudgetStorage(where, 1 << 22)
        assert _publish(storage, "fp-2", "b") == 2
        latest = latest_version(storage, Q)
        assert latest is not None and latest[1]["tag"] == "b"
        assert storage.read(f"{Q}/manifest.json") == storage.read(f"{Q}/versions/2/manifest.json")
        assert violations(storage, Q) == [] and local_debris(where) == []
        assert [v for v, _ in json.loads(storage.read("index.html"))[0][1]] == [2, 1]
    assert failures >= 4  # the disk really filled up, at several different points
