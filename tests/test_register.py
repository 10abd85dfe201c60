"""The register of inboxes and the overview's rules, without Prefect (CONTRACT §8)."""

from __future__ import annotations

import json

import pytest

from flows.quarterly_reports import limit_names, split
from kvartal.quarters import Quarter
from kvartal.register import (
    RegisterDefaults,
    RegisterError,
    load_register,
    parse_register,
    slug,
)
from kvartal.storage import LocalStorage
from kvartal.summary import InboxOutcome, exit_status, summary_json, write_summary

GOOD = """
summary_to = "s3://drift/oversigt"

[[inbox]]
name = "København"
inbox = "s3://indbakker/koebenhavn"
publish_to = "s3://rapporter/koebenhavn"
review_to = "s3://drift/koebenhavn"

[[inbox]]
name = "Høje-Taastrup"
inbox = "indbakker/hoeje-taastrup"
publish_to = "/srv/rapporter/hoeje-taastrup"
review_to = "file://drift/ht"
"""
# KVARTAL_REVIEW_TO and KVARTAL_REVIEW_URL as the settings give them when none is set
UNSET = RegisterDefaults(review_to="out/review", review_url="")


def test_register_reads_s3_and_local_locations_relative_to_its_folder(tmp_path):
    reg = parse_register(GOOD, source="register.toml", base=tmp_path, defaults=UNSET)
    assert reg.summary_to == "s3://drift/oversigt"
    kbh, ht = reg.inboxes
    assert (kbh.name, kbh.inbox, kbh.publish_to, kbh.review_to) == (
        "København",
        "s3://indbakker/koebenhavn",
        "s3://rapporter/koebenhavn",
        "s3://drift/koebenhavn",
    )
    assert ht.inbox == str(tmp_path / "indbakker" / "hoeje-taastrup")
    assert ht.publish_to == "/srv/rapporter/hoeje-taastrup"
    assert ht.review_to == str(tmp_path / "drift" / "ht")
    assert ht.slug == "hoeje-taastrup"


def test_register_survives_the_trip_through_deployment_parameters(tmp_path):
    from kvartal.register import Register

    reg = parse_register(GOOD, source="register.toml", base=tmp_path, defaults=UNSET)
    assert Register.from_dict(json.loads(json.dumps(reg.to_dict()))) == reg


def test_register_without_review_to_gives_each_inbox_its_own_folder(tmp_path):
    reg = parse_register(
        'summary_to = "o"\n[[inbox]]\nname = "Ærø"\ninbox = "i"\npublish_to = "p"\n',
        source="r.toml",
        base=tmp_path,
        defaults=RegisterDefaults(review_to=str(tmp_path / "review"), review_url=""),
    )
    assert reg.inboxes[0].review_to == str(tmp_path / "review" / "aeroe")


def test_every_problem_of_a_register_is_named_at_once_in_danish(tmp_path):
    text = """
[[inbox]]
name = "Aalborg"
inbox = "a"
review_to = "r"

[[inbox]]
name = "aalborg"
inbox = "b"
publish_to = "p2"
review_to = "r2"
farve = "blå"
"""
    with pytest.raises(RegisterError) as caught:
        parse_register(text, source="reg.toml", base=tmp_path, defaults=UNSET)
    message = str(caught.value)
    assert "reg.toml: `summary_to` mangler" in message
    assert "reg.toml: indbakke nr. 1 (Aalborg): `publish_to` mangler eller er tom" in message
    assert "reg.toml: indbakke nr. 2 (aalborg): ukendte nøgler farve" in message


def test_duplicate_names_and_bad_toml_are_refused(tmp_path):
    twice = (
        'summary_to = "o"\n' + '[[inbox]]\nname = "Vejle"\ninbox = "i"\n'
        'publish_to = "p"\nreview_to = "r"\n' * 2
    )
    with pytest.raises(
        RegisterError,
        match=r"indbakke nr. 2 \(Vejle\): navnet 'Vejle' er "
        r"allerede brugt af indbakke nr. 1",
    ):
        parse_register(twice, source="r.toml", base=tmp_path, defaults=UNSET)
    with pytest.raises(RegisterError, match="r.toml: ikke gyldig TOML"):
        parse_register("summary_to = ", source="r.toml", base=tmp_path, defaults=UNSET)
    with pytest.raises(RegisterError, match="registret findes ikke"):
        load_register(tmp_path / "nope.toml", UNSET)
    with pytest.raises(RegisterError, match="ingen indbakker"):
        parse_register('summary_to = "o"\n', source="r.toml", base=tmp_path, defaults=UNSET)


def test_slug():
    assert slug("København") == "koebenhavn"
    assert slug("Lyngby-Taarbæk Kommune") == "lyngby-taarbaek-kommune"


def _o(name: str, status: str) -> InboxOutcome:
    return InboxOutcome(name, status)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("statuses", "expected"),
    [
        (["udgivet", "udgivet"], 0),
        (["udgivet", "blokeret"], 2),
        (["blokeret", "blokeret"], 2),
        (["udgivet", "fejl"], 1),
        (["blokeret", "fejl", "udgivet"], 1),
    ],
)
def test_exit_status_rule(statuses, expected):
    assert exit_status([_o(str(i), s) for i, s in enumerate(statuses)]) == expected


def test_lines_begin_with_name_and_status():
    assert (
        InboxOutcome("Vejle", "udgivet", version=2, report="/r/2009Q3/report.html").line()
        == "Vejle: udgivet version 2: /r/2009Q3/report.html"
    )
    assert (
        InboxOutcome("Vejle", "udgivet", version=1, already_published=True, report="/r").line()
        == "Vejle: udgivet version 1 (allerede udgivet med samme indhold): /r"
    )
    assert (
        InboxOutcome("Ry", "blokeret", errors=3, review="file:///v.html").line()
        == "Ry: blokeret: 3 fejl; se file:///v.html"
    )
    assert (
        InboxOutcome("Bo", "fejl", reason="Indbakken findes ikke").line()
        == "Bo: fejl: Indbakken findes ikke"
    )


def test_summary_files_list_every_inbox(tmp_path):
    outcomes = [
        InboxOutcome("Vejle", "udgivet", version=1, report="/r/report.html"),
        InboxOutcome("Ry", "blokeret", errors=3, review="/d/ry/2009Q3/validation.html"),
        InboxOutcome("Bo <b>", "fejl", reason="Indbakken findes ikke"),
    ]
    summary = summary_json(Quarter.parse("2009Q3"), outcomes, "r.toml")
    where = write_summary(LocalStorage(tmp_path), summary, "Europe/Copenhagen")
    assert where == str(tmp_path / "2009Q3" / "oversigt.html")
    data = json.loads((tmp_path / "2009Q3" / "oversigt.json").read_text("utf-8"))
    assert data["counts"] == {"udgivet": 1, "blokeret": 1, "fejl": 1}
    assert [(i["name"], i["status"]) for i in data["inboxes"]] == [
        ("Vejle", "udgivet"),
        ("Ry", "blokeret"),
        ("Bo <b>", "fejl"),
    ]
    html = (tmp_path / "2009Q3" / "oversigt.html").read_text("utf-8")
    assert 'href="file:///d/ry/2009Q3/validation.html"' in html
    assert "3 fejl blokerer udgivelsen" in html
    assert "Bo &lt;b&gt;" in html and "Bo <b>" not in html


def test_split_is_round_robin_and_never_empty(tmp_path):
    reg = parse_register(
        'summary_to = "o"\n'
        + "".join(
            f'[[inbox]]\nname = "n{i}"\ninbox = "i"\npublish_to = "p"\nreview_to = "r"\n'
            for i in range(5)
        ),
        source="r.toml",
        base=tmp_path,
        defaults=UNSET,
    )
    assert [[e.name for e in part] for part in split(reg.inboxes, 2)] == [
        ["n0", "n2", "n4"],
        ["n1", "n3"],
    ]
    assert len(split(reg.inboxes[:1], 4)) == 1


def test_limits_name_the_s3_endpoint_and_mail_server(tmp_path, monkeypatch):
    monkeypatch.setenv("AWS_ENDPOINT_URL_S3", "http://minio.local:9000")
    monkeypatch.setenv("KVARTAL_SMTP_HOST", "smtp.kommune.dk")
    kbh, ht = parse_register(GOOD, source="r.toml", base=tmp_path, defaults=UNSET).inboxes
    assert limit_names(kbh) == ["kvartal-s3-http:_minio.local:9000", "kvartal-smtp-smtp.kommune.dk"]
    assert limit_names(ht) == ["kvartal-smtp-smtp.kommune.dk"]


def test_deploy_register_needs_a_work_pool(tmp_path, capsys):
    from kvartal.cli import main

    (tmp_path / "r.toml").write_text(GOOD, "utf-8")
    assert main(["deploy", "--register", str(tmp_path / "r.toml")]) == 1
    assert "--register kræver --work-pool" in capsys.readouterr().err


def test_each_inbox_links_its_own_review_location(tmp_path):
    """KVARTAL_REVIEW_URL serves KVARTAL_REVIEW_TO: an inbox's folder under it has the same
    path under the URL; an entry's own review_url wins; a folder elsewhere gets none."""
    drift = RegisterDefaults(str(tmp_path / "drift"), "https://drift.kommune.dk/kvartal/")
    reg = parse_register(
        """
summary_to = "drift/oversigt"
[[inbox]]
name = "Høje-Taastrup"
inbox = "a"
publish_to = "b"
[[inbox]]
name = "Vejen"
inbox = "a"
publish_to = "b"
review_to = "drift/vejen/gennemsyn"
[[inbox]]
name = "Billund"
inbox = "a"
publish_to = "b"
review_to = "s3://andet/billund"
review_url = "https://billund.example/gennemsyn"
[[inbox]]
name = "Ikast"
inbox = "a"
publish_to = "b"
review_to = "/srv/andetsteds/ikast"
""",
        source="r.toml",
        base=tmp_path,
        defaults=drift,
    )
    assert [e.review_url for e in reg.inboxes] == [
        "https://drift.kommune.dk/kvartal/hoeje-taastrup",
        "https://drift.kommune.dk/kvartal/vejen/gennemsyn",
        "https://billund.example/gennemsyn",
        "",
    ]
    from kvartal.register import Register

    assert Register.from_dict(reg.to_dict()) == reg


def test_a_review_url_that_is_no_web_address_is_refused(tmp_path):
    with pytest.raises(RegisterError) as refused:
        parse_register(
            'summary_to = "o"\n[[inbox]]\nname = "Vejen"\ninbox = "a"\npublish_to = "b"\n'
            'review_to = "c"\nreview_url = "drift/vejen"\n',
            source="r.toml",
            base=tmp_path,
            defaults=UNSET,
        )
    assert "r.toml: indbakke nr. 1 (Vejen): `review_url` 'drift/vejen' er ikke en http(s)" in (
        str(refused.value)
    )


def test_an_inbox_decided_later_updates_its_line_of_the_overview(tmp_path):
    from kvartal.summary import update_inbox

    storage = LocalStorage(str(tmp_path))
    waiting = InboxOutcome(
        "Vejen", "blokeret", errors=1, reason="venter", run_url="http://ui/runs/flow-run/1"
    )
    outcomes = [InboxOutcome("Vejle", "udgivet", version=1, report="r"), waiting]
    summary = summary_json(Quarter(2009, 3), outcomes, "r.toml")
    summary["created"] = "2009-10-10T04:00:00+00:00"
    write_summary(storage, summary, "Europe/Copenhagen")
    html = (tmp_path / "2009Q3" / "oversigt.html").read_text()
    assert "Dannet 10.10.2009 kl. 06:00." in html  # Danish summer time, not UTC
    assert '<a href="http://ui/runs/flow-run/1">Kørslen i Prefect</a>' in html

    counted = {"expected": 6, "delivered": 5, "on_time": 4, "without_errors": 3}
    summary = json.loads((tmp_path / "2009Q3" / "oversigt.json").read_text())
    summary["inboxes"][1]["summary"] = counted
    write_summary(storage, summary, "Europe/Copenhagen")
    assert (
        "<td>5 af 6 afleveret, 4 til tiden, 3 uden fejl</td>"
        in (tmp_path / "2009Q3" / "oversigt.html").read_text()
    )

    update_inbox(
        storage,
        "2009Q3",
        InboxOutcome("Vejen", "udgivet", version=1, report="v"),
        "Europe/Copenhagen",
    )
    after = json.loads((tmp_path / "2009Q3" / "oversigt.json").read_text())
    # the decision changes the inbox's status, not what its centres delivered
    assert after["inboxes"][1]["summary"] == counted
    assert after["counts"] == {"udgivet": 2, "blokeret": 0, "fejl": 0}
    assert [(i["name"], i["status"]) for i in after["inboxes"]] == [
        ("Vejle", "udgivet"),
        ("Vejen", "udgivet"),
    ]
    # an inbox the overview does not list is not added
    assert update_inbox(storage, "2009Q3", InboxOutcome("Ikast", "fejl"), "UTC") is None


def test_operator_mails_name_the_inbox_and_count_in_danish():
    from datetime import UTC, datetime

    from kvartal import operator_mail

    q = Quarter(2009, 3)
    subject, text = operator_mail.decided(
        q, "godkend", "Olsen", "tastefejl", ["2009Q3/a.csv:D4:ikke_tal"], "rec", None, "Vejen"
    )
    assert subject == "kvartal: Vejen, 3. kvartal 2009 godkendt af Olsen"
    assert text.startswith("Olsen har godkendt 1 afvigelse for Vejen, 3. kvartal 2009;")
    subject, _ = operator_mail.timed_out(
        q, datetime(2009, 10, 13, tzinfo=UTC), "rec", None, "Vejen", zone="Europe/Copenhagen"
    )
    assert subject == "kvartal: fristen for Vejen, 3. kvartal 2009 er overskredet"
    subject, _ = operator_mail.failed(q, "x", None)
    assert subject == "kvartal: 3. kvartal 2009 kan ikke udgives"  # a lone inbox: no name
