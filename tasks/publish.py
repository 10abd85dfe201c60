from __future__ import annotations

from prefect import task
from prefect.cache_policies import NONE

from kvartal.publish import PublishResult, latest_version, publish
from kvartal.quarters import Quarter
from kvartal.report import IndexQuarter, IndexVersion, render_index
from kvartal.storage import open_storage


@task(name="plan-version", retries=2, retry_delay_seconds=[2, 10], cache_policy=NONE)
def plan_version(publish_to: str, quarter: Quarter, fingerprint: str) -> tuple[int, bool]:
    """(version, already published): the same inputs again publish nothing."""
    latest = latest_version(open_storage(publish_to), str(quarter))
    if latest is None:
        return 1, False
    n, manifest = latest
    if manifest.get("fingerprint") == fingerprint:
        return n, True
    return n + 1, False


@task(name="publish", retries=3, retry_delay_seconds=[2, 10, 30], cache_policy=NONE)
def publish_report(publish_to: str, quarter: Quarter, version: int, files: dict[str, bytes],
                   fingerprint: str, manifest_extra: dict) -> PublishResult:
    """Retried because object storage fails in transit; create-only writes make a retry safe."""

    def render(n: int) -> dict[str, bytes]:
        if n != version or not files:
            raise RuntimeError(
                f"Version {version} af {quarter} blev udgivet af en anden kørsel imens; "
                "kør igen.")
        return files

    return publish(open_storage(publish_to), str(quarter), fingerprint=fingerprint,
                   render=render, manifest_extra=manifest_extra, index_renderer=_index)


def _index(entries: list) -> bytes:
    return render_index([
        IndexQuarter(quarter=e.quarter,
                     versions=[IndexVersion(version=v[0], published_at=v[1],
                                            href=f"{e.quarter}/versions/{v[0]}/report.html")
                               for v in e.versions])
        for e in entries])
