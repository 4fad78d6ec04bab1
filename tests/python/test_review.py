"""Release review (issue 14): a researcher asks, two custodians check, only then anything leaves.

The whole path with hand-made outputs and a researcher's SQL aggregate over the built marts:
request, one approval (not yet releasable), the requester's own approval (refused), a second
approval, release; a rejected request never released; outputs changed after approval
refused; an edited, removed or inserted audit-log line detected; a researcher's SQL that
tries to smuggle rows out refused at request time, with the reason.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from datetime import date
from pathlib import Path

import pandas as pd
import pytest

from conftest import BIN_DIR
from test_export import keys_in, standard_outputs, write_research_db
from wse_impact.review.audit_log import AuditLog
from wse_impact.release.researcher_query import QueryRefused, aggregate, connect_research_db
from wse_impact.review.workflow import Review, ReviewRefused, audit_problems, current_user

TODAY = date(2026, 6, 1)
RESEARCHER, OTHER_RESEARCHER = "alice", "bob"
CUSTODIANS = ["alice", "carol", "dave"]  # alice is also a custodian: her own request is still not hers to approve


def make_review(warehouse: Path, required: int = 2) -> Review:
    restricted = warehouse / "disclosure"
    restricted.mkdir(parents=True, exist_ok=True)
    (restricted / "roles.yml").write_text(
        f"researchers: [{RESEARCHER}, {OTHER_RESEARCHER}]\ncustodians: [{', '.join(CUSTODIANS)}]\n")
    return Review(restricted, approvals_required=required)


@pytest.fixture
def review(tmp_path) -> Review:
    write_research_db(tmp_path / "warehouse", standard_outputs())
    return make_review(tmp_path / "warehouse")


@pytest.fixture(scope="module")
def research_db(pipeline, tmp_path_factory) -> Path:
    """A copy of the built research database (marts and outputs), for researchers' SQL."""
    copy = tmp_path_factory.mktemp("research") / "wse_impact.duckdb"
    shutil.copy(pipeline.research_db, copy)
    return copy


def researcher_aggregate(research_db: Path, sql: str, dimensions: list[str], name: str = "employment_by_sex"):
    con = connect_research_db(research_db)
    try:
        return aggregate(con, name, sql, dimensions)
    finally:
        con.close()


SEX_BY_REGION = """
    select person_id, sex_code, region_code
    from marts.beneficiary_base
    where snapshot_quarter = '2019Q4'
"""


# ----------------------------------------------------------------------------- the whole path


def test_request_two_approvals_then_release(review, research_db, tmp_path):
    outputs = standard_outputs()
    mine = researcher_aggregate(research_db, SEX_BY_REGION, ["sex_code", "region_code"])
    request_id = review.create_request(
        RESEARCHER, {"socio_economic_position_by_quarter": outputs["socio_economic_position_by_quarter"],
                     mine.name: mine.table},
        {mine.name: mine.spec}, {"aggregates": [mine.definition()]}, today=TODAY)
    assert review.status(request_id)["status"] == "pending"
    exports = tmp_path / "exports"

    review.decide("carol", request_id, approve=True, comment="counts checked")
    assert review.status(request_id)["status"] == "pending", "one approval is not enough"
    with pytest.raises(ReviewRefused, match="1 of 2 approvals"):
        review.release_request("carol", request_id, export_dir=exports, today=TODAY)
    with pytest.raises(ReviewRefused, match="made request"):
        review.decide(RESEARCHER, request_id, approve=True, comment="mine, fine")
    with pytest.raises(ReviewRefused, match="already decided"):
        review.decide("carol", request_id, approve=True, comment="again")
    with pytest.raises(ReviewRefused, match="not one of the custodians"):
        review.decide(OTHER_RESEARCHER, request_id, approve=True, comment="looks fine")
    assert not exports.exists(), "nothing leaves before the second approval"

    review.decide("dave", request_id, approve=True, comment="second check")
    assert review.status(request_id)["status"] == "approved"
    folder = review.release_request(RESEARCHER, request_id, export_dir=exports, today=date(2026, 6, 3))
    assert folder == exports / "2026-06-03"
    assert sorted(p.name for p in folder.iterdir()) == [
        "SHA256SUMS", "checking_report.json", f"{mine.name}.csv", "retention.yml", "socio_economic_position_by_quarter.csv"]
    released = pd.read_csv(folder / f"{mine.name}.csv")
    assert list(released.columns) == ["sex_code", "region_code", "n_persons"]
    report = json.loads((folder / "checking_report.json").read_text())
    assert not keys_in(report) & {"suppressions", "reason", "rule", "intervals"}, "no per-cell reason leaves"
    assert (folder / "retention.yml").read_text() == "retain_until: 2026-12-31\n"
    assert review.status(request_id)["status"] == "released"
    with pytest.raises(ReviewRefused, match="released"):
        review.release_request("carol", request_id, export_dir=exports, today=date(2026, 6, 4))
    log = review.log.entries()
    assert [e["event"] for e in log] == ["request", "approve", "approve", "release"]
    assert [e["user"] for e in log] == [RESEARCHER, "carol", "dave", RESEARCHER]
    assert review.log.verify() == [] and audit_problems(review, exports) == []
    release_log = [json.loads(line) for line in (review.restricted / "release_log.jsonl").read_text().splitlines()]
    assert [e["folder"] for e in release_log] == ["2026-06-03"], "the release log records the release, not the request"


def test_a_rejected_request_is_never_released(review, tmp_path):
    request_id = review.create_request(RESEARCHER, {"beneficiaries_by_profile": standard_outputs()["beneficiaries_by_profile"]},
                                       today=TODAY)
    review.decide("carol", request_id, approve=True, comment="fine")
    review.decide("dave", request_id, approve=False, comment="the amif cells are too specific")
    assert review.status(request_id)["status"] == "rejected"
    with pytest.raises(ReviewRefused, match="rejected"):
        review.decide("alice", request_id, approve=True, comment="overrule")  # alice is requester anyway
    with pytest.raises(ReviewRefused, match="rejected"):
        review.release_request("carol", request_id, export_dir=tmp_path / "exports", today=TODAY)
    assert not (tmp_path / "exports").exists()


@pytest.mark.parametrize("change", ["edit a released csv", "add a file", "edit the request",
                                    "lower the true counts the release is checked with"])
def test_outputs_changed_after_approval_are_not_released(review, tmp_path, change):
    request_id = review.create_request(RESEARCHER, {"beneficiaries_by_profile": standard_outputs()["beneficiaries_by_profile"]},
                                       today=TODAY)
    review.decide("carol", request_id, approve=True, comment="fine")
    review.decide("dave", request_id, approve=True, comment="fine")
    folder = review.restricted / "requests" / request_id
    if change == "edit a released csv":
        csv = folder / "staged" / "beneficiaries_by_profile.csv"
        before = csv.read_text()
        csv.write_text(before.replace("vop", "vop_detail", 1))
        assert csv.read_text() != before
    elif change == "add a file":
        (folder / "staged" / "extra.csv").write_text("person_id\n1\n")
    elif change == "edit the request":
        request = json.loads((folder / "request.json").read_text())
        (folder / "request.json").write_text(json.dumps({**request, "outputs": ["something else"]}))
    else:  # so that differencing at release would compare with other numbers
        entry = json.loads((folder / "release_log_entry.json").read_text())
        for cells in entry["cells"].values():
            for values in cells.values():
                values[0] = 1000.0
        (folder / "release_log_entry.json").write_text(json.dumps(entry))
    with pytest.raises(ReviewRefused, match="changed"):
        review.release_request("carol", request_id, export_dir=tmp_path / "exports", today=TODAY)
    assert not (tmp_path / "exports").exists()


def test_a_request_that_differs_from_a_release_made_since_by_one_person_is_refused(review, tmp_path):
    """Two requests checked before either is released: each passes alone; once the first is
    released, the second would reveal one person by difference and is refused, naming the cells."""
    first = review.create_request(RESEARCHER, {"beneficiaries_by_profile": standard_outputs(vop_total=60)["beneficiaries_by_profile"]},
                                  today=TODAY)
    second = review.create_request(OTHER_RESEARCHER,
                                   {"beneficiaries_by_profile": standard_outputs(vop_total=61)["beneficiaries_by_profile"]},
                                   today=TODAY)
    for request_id in (first, second):
        review.decide("carol", request_id, approve=True, comment="fine")
        review.decide("dave", request_id, approve=True, comment="fine")
    review.release_request("carol", first, export_dir=tmp_path / "exports", today=TODAY)
    with pytest.raises(ReviewRefused, match=r'cell \["vop".*differs from the release of 2026-06-01 by 1 persons'):
        review.release_request("carol", second, export_dir=tmp_path / "exports", today=date(2026, 6, 2))
    assert not (tmp_path / "exports" / "2026-06-02").exists()


def test_a_refusal_tells_the_researcher_no_true_count(review, tmp_path):
    """Differencing and audit refusals name cells with true counts and bounds: a researcher
    asking again with one person more learns from them what the suppression hides. The
    researcher reads the headline; the reasons go to the audit log, for the custodians."""
    first = review.create_request(RESEARCHER, {"beneficiaries_by_profile": standard_outputs(vop_total=60)["beneficiaries_by_profile"]},
                                  today=TODAY)
    review.decide("carol", first, approve=True, comment="fine")
    review.decide("dave", first, approve=True, comment="fine")
    review.release_request("carol", first, export_dir=tmp_path / "exports", today=TODAY)
    with pytest.raises(ReviewRefused) as refused:
        review.create_request(OTHER_RESEARCHER,
                              {"beneficiaries_by_profile": standard_outputs(vop_total=61)["beneficiaries_by_profile"]},
                              today=date(2026, 6, 2))
    message = str(refused.value)
    assert "differencing with an earlier release" in message and "recorded in the audit log" in message
    assert "persons" not in message and "vop" not in message, message
    (entry,) = [e for e in review.log.entries() if e["event"] == "request refused"]
    assert entry["user"] == OTHER_RESEARCHER and any("by 1 persons" in p for p in entry["problems"])


def test_the_researcher_sees_only_their_own_requests(review):
    mine = review.create_request(RESEARCHER, {"beneficiaries_by_profile": standard_outputs()["beneficiaries_by_profile"]},
                                 today=TODAY)
    review.create_request(OTHER_RESEARCHER, {"socio_economic_position_by_quarter":
                                             standard_outputs()["socio_economic_position_by_quarter"]}, today=TODAY)
    seen = review.requests_of(RESEARCHER)
    assert [e["request"] for e in seen] == [mine]
    assert seen[0]["status"] == "pending" and "beneficiaries_by_profile" in seen[0]["suppressed"]
    with pytest.raises(ReviewRefused, match="not one of the custodians"):
        review.pending_requests(RESEARCHER if RESEARCHER not in CUSTODIANS else OTHER_RESEARCHER)
    shown = review.describe_request("carol", mine)
    assert shown["custodian_report"]["outputs"]["beneficiaries_by_profile"]["suppressions"], \
        "the custodian sees every suppression with its rule and reason"


def test_the_gate_refusing_a_request_is_recorded(review):
    with pytest.raises(ReviewRefused, match="refused by the disclosure gate"):
        review.create_request(RESEARCHER, {"microdata": pd.DataFrame({"person_id": [1, 2], "n_persons": [1, 1]})},
                              today=TODAY)
    (entry,) = review.log.entries()
    assert entry["event"] == "request refused" and entry["user"] == RESEARCHER
    assert not (review.restricted / "requests" / entry["request"]).exists()


# ----------------------------------------------------------------------------- the audit log


@pytest.fixture
def logged(review) -> Review:
    request_id = review.create_request(RESEARCHER, {"beneficiaries_by_profile": standard_outputs()["beneficiaries_by_profile"]},
                                       today=TODAY)
    review.decide("carol", request_id, approve=True, comment="fine")
    review.decide("dave", request_id, approve=False, comment="no")
    assert review.log.verify() == []
    return review


def test_an_edited_audit_log_line_is_detected(logged):
    path = logged.log.path
    lines = path.read_text().splitlines()
    lines[2] = lines[2].replace('"no"', '"yes"').replace('"reject"', '"approve"')
    path.write_text("\n".join(lines) + "\n")
    problems = logged.log.verify()
    assert any("line 3: entry 3 was edited" in p for p in problems), problems
    with pytest.raises(ReviewRefused, match="broken"):
        logged.decide("carol", "R0001", approve=True, comment="after the edit")
    with pytest.raises(ReviewRefused, match="broken"):
        logged.pending_requests("carol")


def test_a_removed_audit_log_line_is_detected(logged):
    path = logged.log.path
    lines = path.read_text().splitlines()
    path.write_text("\n".join([lines[0], lines[2]]) + "\n")
    assert any("does not follow the entry before it" in p for p in logged.log.verify())
    path.write_text("\n".join(lines[:2]) + "\n")  # the last line removed: a valid shorter chain
    assert any("removed from the end" in p for p in logged.log.verify())


def test_a_rewritten_chain_still_fails_the_head(logged):
    """An attacker who recomputes every hash after editing an entry still leaves the head file."""
    from wse_impact.review.audit_log import _digest

    path = logged.log.path
    entries = [json.loads(line) for line in path.read_text().splitlines()]
    entries[2]["event"] = "approve"
    previous = "0" * 64
    for entry in entries:
        entry["previous"] = previous
        entry["hash"] = _digest(entry)
        previous = entry["hash"]
    path.write_text("".join(json.dumps(e, sort_keys=True) + "\n" for e in entries))
    assert any("head file" in p for p in logged.log.verify())


def test_a_released_file_changed_afterwards_is_detected(review, tmp_path):
    request_id = review.create_request(RESEARCHER, {"beneficiaries_by_profile": standard_outputs()["beneficiaries_by_profile"]},
                                       today=TODAY)
    review.decide("carol", request_id, approve=True, comment="fine")
    review.decide("dave", request_id, approve=True, comment="fine")
    folder = review.release_request("carol", request_id, export_dir=tmp_path / "exports", today=TODAY)
    assert audit_problems(review, tmp_path / "exports") == []
    (folder / "beneficiaries_by_profile.csv").write_text("measure_code,n_persons\nvop,3\n")
    assert audit_problems(review, tmp_path / "exports") == [
        f"release of {request_id} (2026-06-01): beneficiaries_by_profile.csv changed"]


def test_audit_log_alone(tmp_path):
    log = AuditLog(tmp_path / "audit.jsonl")
    for n in range(3):
        log.append("note", "carol", n=n)
    assert log.verify() == [] and [e["seq"] for e in log.entries()] == [1, 2, 3]
    (tmp_path / "audit.jsonl").unlink()
    assert log.verify() == ["audit.jsonl: missing, but its head file records entries"]


# ----------------------------------------------------------------------------- researchers' SQL


def test_the_tool_counts_distinct_persons_and_the_totals(research_db):
    result = researcher_aggregate(research_db, """
        select person_id, sex_code, socio_economic_position_code
        from marts.beneficiary_base
    """, ["sex_code"], name="sex_over_all_quarters")
    con = connect_research_db(research_db)
    try:
        persons = dict(con.execute("select cast(sex_code as varchar), count(distinct person_id) "
                                   "from marts.beneficiary_base group by 1").fetchall())
        everyone = con.execute("select count(distinct person_id) from marts.beneficiary_base").fetchone()[0]
    finally:
        con.close()
    table = result.table.set_index("sex_code")["n_persons"].to_dict()
    assert table == {**persons, "Total": everyone}, "distinct persons per cell, never rows (36 per person)"
    assert result.spec.additive == ("sex_code",), "one sex per person: the Total is the sum of its parts"
    by_quarter = researcher_aggregate(research_db, """
        select person_id, snapshot_quarter from marts.beneficiary_base where snapshot_quarter like '2019%'
    """, ["snapshot_quarter"], name="persons_by_quarter")
    assert by_quarter.spec.union == ("snapshot_quarter",), "a person is in every quarter: not additive"


@pytest.mark.parametrize("sql, dimensions, reason", [
    ("select person_id, sex_code from marts.beneficiary_base", [], "no dimension named"),
    ("select person_id, sex_code from marts.beneficiary_base", ["person_id"], "person_id cannot be a dimension"),
    ("select person_id, person_id + 0 as row_id from marts.beneficiary_base", ["row_id"],
     "not a column whose domain the project declares"),
    ("select person_id, cast(person_id as varchar) as sex_code from marts.beneficiary_base", ["sex_code"],
     "outside its declared domain"),
    ("select person_id, cast(person_id % 7 as decimal(12, 2)) * 1234.56 as amount_eur from marts.beneficiary_base",
     ["amount_eur"], "not a column whose domain the project declares"),
    ("select person_id, current_date as snapshot_quarter from marts.beneficiary_base", ["snapshot_quarter"],
     "outside its declared domain"),
    ("select sex_code from marts.beneficiary_base", ["sex_code"], "must carry person_id"),
    ("select person_id, sex_code from marts.beneficiary_base; drop table marts.beneficiary_base", ["sex_code"],
     "exactly one SELECT"),
    ("select 1 as person_id, column0 as line from read_csv('/etc/passwd', header = false)", ["line"],
     "does not run on the research database"),
    ("select person_id, 'Total' as sex_code from marts.beneficiary_base", ["sex_code"], "outside its declared domain"),
])
def test_a_query_that_smuggles_rows_out_is_refused(research_db, sql, dimensions, reason):
    with pytest.raises(QueryRefused, match=reason):
        researcher_aggregate(research_db, sql, dimensions)


# ----------------------------------------------------------------------------- the commands


def test_commands_in_the_order_they_are_used(research_db, tmp_path):
    """The researcher's and the custodian's commands as the README gives them, as this OS user."""
    warehouse = tmp_path / "warehouse"
    warehouse.mkdir()
    shutil.copy(research_db, warehouse / "wse_impact.duckdb")
    me = current_user()
    (warehouse / "disclosure").mkdir()
    (warehouse / "disclosure" / "roles.yml").write_text(f"researchers: [{me}]\ncustodians: [{me}, carol]\n")
    sql = tmp_path / "mine.sql"
    sql.write_text(SEX_BY_REGION)

    def run(*args):
        return subprocess.run([str(BIN_DIR / "wse-impact"), *args, "--warehouse-dir", str(warehouse)],
                              capture_output=True, text=True)

    asked = run("request", "--output", "socio_economic_position_by_quarter", "--aggregate", "sex_by_region",
                "--sql-file", str(sql), "--dimensions", "sex_code,region_code", "--today", "2026-06-01")
    assert asked.returncode == 0, asked.stderr
    assert "Request R0001" in asked.stdout
    status = run("request", "--status")
    assert status.returncode == 0 and status.stdout.startswith("R0001: pending, 0 approval(s)")
    listed = run("review")
    assert "R0001: pending, by " + me in listed.stdout
    shown = run("review", "show", "R0001")
    assert shown.returncode == 0 and json.loads(shown.stdout)["request"]["aggregates"][0]["dimensions"] == \
        ["sex_code", "region_code"]
    own = run("review", "approve", "R0001", "--comment", "mine")
    assert own.returncode == 2 and "may not decide on it" in own.stderr
    early = run("release", "R0001", "--export-dir", str(tmp_path / "exports"))
    assert early.returncode == 2 and "0 of 2 approvals" in early.stderr
    smuggled = tmp_path / "rows.sql"
    smuggled.write_text("select person_id, person_id as p from marts.control_base")
    refused = run("request", "--aggregate", "rows", "--sql-file", str(smuggled), "--dimensions", "p")
    assert refused.returncode == 2 and "not a column whose domain the project declares" in refused.stderr
    audit = run("audit", "--export-dir", str(tmp_path / "exports"))
    assert audit.returncode == 0, audit.stderr
    log = warehouse / "disclosure" / "audit_log.jsonl"
    log.write_text(log.read_text().replace('"request"', '"requested"', 1))
    broken = run("audit", "--export-dir", str(tmp_path / "exports"))
    assert broken.returncode == 1 and "was edited" in broken.stderr
