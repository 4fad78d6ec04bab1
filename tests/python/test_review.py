"""Release review through the release service (issues 14 and 18): a researcher asks, two
custodians check, only then anything leaves.

The whole path with hand-made outputs and a researcher's SQL aggregate over the built marts,
on a service in this process (the caller named by the test): request, one approval (not yet
releasable), the requester's own approval (refused), a second approval, release; a rejected
request never released; outputs changed after approval refused; the record attacked by
someone who can write the service's database but not read its key: every edit, insertion,
removal and cut named by the audit. Real accounts and the socket: test_release_service.py.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import shutil
import sqlite3
import subprocess
from datetime import date
from pathlib import Path

import pandas as pd
import pytest

from conftest import BIN_DIR, release_service
from test_export import keys_in, standard_outputs, write_research_db
from wse_impact.release.researcher_query import QueryRefused, aggregate, connect_research_db
from wse_impact.review.roles import ReviewRefused
from wse_impact.review.service import ReleaseService, initialise_state
from wse_impact.review.store import Store

TODAY = date(2026, 6, 1)
RESEARCHER, OTHER_RESEARCHER = "alice", "bob"
CUSTODIANS = ["alice", "carol", "dave"]  # alice is also a custodian: her own request is still not hers to approve


def make_service(root: Path, required: int | None = None) -> ReleaseService:
    initialise_state(root / "state", [RESEARCHER, OTHER_RESEARCHER], CUSTODIANS, approvals_required=required,
                     today=TODAY.isoformat())
    return ReleaseService(root / "state", root / "warehouse", root / "exports")


def on(service: ReleaseService, day: date) -> ReleaseService:
    """The service's date is its own setting (policy.yml); a test moves it."""
    service.policy = dataclasses.replace(service.policy, today=day)
    return service


@pytest.fixture
def review(tmp_path) -> ReleaseService:
    write_research_db(tmp_path / "warehouse", standard_outputs())
    return make_service(tmp_path)


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


def profile_request(review, user=RESEARCHER, **outputs_args) -> str:
    return review.create_request(user, {"beneficiaries_by_profile":
                                        standard_outputs(**outputs_args)["beneficiaries_by_profile"]})


def approved(review, request_id: str) -> str:
    review.decide("carol", request_id, approve=True, comment="fine")
    review.decide("dave", request_id, approve=True, comment="fine")
    return request_id


# ----------------------------------------------------------------------------- the whole path


def test_request_two_approvals_then_release(review, research_db, tmp_path):
    outputs = standard_outputs()
    mine = researcher_aggregate(research_db, SEX_BY_REGION, ["sex_code", "region_code"])
    request_id = review.create_request(
        RESEARCHER, {"socio_economic_position_by_quarter": outputs["socio_economic_position_by_quarter"],
                     mine.name: mine.table},
        {mine.name: mine.spec}, {"aggregates": [mine.definition()]})
    assert review.status(request_id)["status"] == "pending"
    exports = review.export_dir

    review.decide("carol", request_id, approve=True, comment="counts checked")
    assert review.status(request_id)["status"] == "pending", "one approval is not enough"
    with pytest.raises(ReviewRefused, match="1 of 2 approvals"):
        review.release_request("carol", request_id)
    with pytest.raises(ReviewRefused, match="made request"):
        review.decide(RESEARCHER, request_id, approve=True, comment="mine, fine")
    with pytest.raises(ReviewRefused, match="already decided"):
        review.decide("carol", request_id, approve=True, comment="again")
    with pytest.raises(ReviewRefused, match="not one of the custodians"):
        review.decide(OTHER_RESEARCHER, request_id, approve=True, comment="looks fine")
    assert not exports.exists(), "nothing leaves before the second approval"

    review.decide("dave", request_id, approve=True, comment="second check")
    assert review.status(request_id)["status"] == "approved"
    folder = on(review, date(2026, 6, 3)).release_request(RESEARCHER, request_id)
    assert folder == exports / "2026-06-03"
    assert sorted(p.name for p in folder.iterdir()) == [
        "SHA256SUMS", "checking_report.json", f"{mine.name}.csv", "release_record.json", "retention.yml",
        "socio_economic_position_by_quarter.csv"]
    released = pd.read_csv(folder / f"{mine.name}.csv")
    assert list(released.columns) == ["sex_code", "region_code", "n_persons"]
    report = json.loads((folder / "checking_report.json").read_text())
    assert not keys_in(report) & {"suppressions", "reason", "rule", "intervals"}, "no per-cell reason leaves"
    assert (folder / "retention.yml").read_text() == "retain_until: 2026-12-31\n"
    assert review.status(request_id)["status"] == "released"
    with pytest.raises(ReviewRefused, match="released"):
        on(review, date(2026, 6, 4)).release_request("carol", request_id)
    log = review.store.entries()
    assert [e["event"] for e in log] == ["request", "approve", "approve", "release"]
    assert [e["user"] for e in log] == [RESEARCHER, "carol", "dave", RESEARCHER]
    assert review.audit("carol") == []
    assert [e["folder"] for e in review.store.release_log()] == ["2026-06-03"], \
        "the release log records the release, not the request"
    record = json.loads((folder / "release_record.json").read_text())
    assert (record["audit_seq"], record["audit_mac"]) == (log[-1]["seq"], log[-1]["mac"])


def test_a_rejected_request_is_never_released(review):
    request_id = profile_request(review)
    review.decide("carol", request_id, approve=True, comment="fine")
    review.decide("dave", request_id, approve=False, comment="the amif cells are too specific")
    assert review.status(request_id)["status"] == "rejected"
    with pytest.raises(ReviewRefused, match="rejected"):
        review.decide("alice", request_id, approve=True, comment="overrule")  # alice is requester anyway
    with pytest.raises(ReviewRefused, match="rejected"):
        review.release_request("carol", request_id)
    assert not review.export_dir.exists()


@pytest.mark.parametrize("change", ["edit a released csv", "add a file", "edit the request",
                                    "lower the true counts the release is checked with"])
def test_outputs_changed_after_approval_are_not_released(review, change):
    request_id = approved(review, profile_request(review))
    staged = review.state_dir / "requests" / request_id / "staged"
    con = sqlite3.connect(review.state_dir / "review.sqlite")
    if change == "edit a released csv":
        csv = staged / "beneficiaries_by_profile.csv"
        before = csv.read_text()
        csv.write_text(before.replace("vop", "vop_detail", 1))
        assert csv.read_text() != before
    elif change == "add a file":
        (staged / "extra.csv").write_text("person_id\n1\n")
    elif change == "edit the request":
        (record,) = con.execute("select record from requests where id = ?", (request_id,)).fetchone()
        con.execute("update requests set record = ? where id = ?",
                    (json.dumps({**json.loads(record), "outputs": ["something else"]}), request_id))
    else:  # so that differencing at release would compare with other numbers
        (entry,) = con.execute("select log_entry from requests where id = ?", (request_id,)).fetchone()
        entry = json.loads(entry)
        for cells in entry["cells"].values():
            for values in cells.values():
                values[0] = 1000.0
        con.execute("update requests set log_entry = ? where id = ?", (json.dumps(entry), request_id))
    con.commit()
    con.close()
    with pytest.raises(ReviewRefused, match="changed"):
        review.release_request("carol", request_id)
    assert not review.export_dir.exists()


def test_a_request_that_differs_from_a_release_made_since_by_one_person_is_refused(review):
    """Two requests checked before either is released: each passes alone; once the first is
    released, the second would reveal one person by difference and is refused, naming the cells."""
    first = profile_request(review, vop_total=60)
    second = profile_request(review, OTHER_RESEARCHER, vop_total=61)
    for request_id in (first, second):
        approved(review, request_id)
    review.release_request("carol", first)
    with pytest.raises(ReviewRefused, match=r'cell \["vop".*differs from the release of 2026-06-01 by 1 persons'):
        on(review, date(2026, 6, 2)).release_request("carol", second)
    assert not (review.export_dir / "2026-06-02").exists()
    assert review.store.entries()[-1]["event"] == "release refused"


def test_a_refusal_tells_the_researcher_no_true_count(review):
    """Differencing and audit refusals name cells with true counts and bounds: a researcher
    asking again with one person more learns from them what the suppression hides. The
    researcher reads the headline; the reasons go to the audit log, for the custodians."""
    review.release_request("carol", approved(review, profile_request(review, vop_total=60)))
    with pytest.raises(ReviewRefused) as refused:
        profile_request(on(review, date(2026, 6, 2)), OTHER_RESEARCHER, vop_total=61)
    message = str(refused.value)
    assert "differencing with an earlier release" in message and "recorded in the audit log" in message
    assert "persons" not in message and "vop" not in message, message
    (entry,) = [e for e in review.store.entries() if e["event"] == "request refused"]
    assert entry["user"] == OTHER_RESEARCHER and any("by 1 persons" in p for p in entry["problems"])


def test_the_researcher_sees_only_their_own_requests(review):
    mine = profile_request(review)
    review.create_request(OTHER_RESEARCHER, {"socio_economic_position_by_quarter":
                                             standard_outputs()["socio_economic_position_by_quarter"]})
    seen = review.requests_of(RESEARCHER)
    assert [e["request"] for e in seen] == [mine]
    assert seen[0]["status"] == "pending" and "beneficiaries_by_profile" in seen[0]["suppressed"]
    with pytest.raises(ReviewRefused, match="not one of the custodians"):
        review.pending_requests(OTHER_RESEARCHER)
    shown = review.describe_request("carol", mine)
    assert shown["custodian_report"]["outputs"]["beneficiaries_by_profile"]["suppressions"], \
        "the custodian sees every suppression with its rule and reason"


def test_the_gate_refusing_a_request_is_recorded(review):
    with pytest.raises(ReviewRefused, match="refused by the disclosure gate"):
        review.create_request(RESEARCHER, {"microdata": pd.DataFrame({"person_id": [1, 2], "n_persons": [1, 1]})})
    (entry,) = review.store.entries()
    assert entry["event"] == "request refused" and entry["user"] == RESEARCHER
    assert not (review.state_dir / "requests" / entry["request"]).exists()


def test_purge_is_for_custodians_after_the_retention_date(review):
    folder = review.release_request("carol", approved(review, profile_request(review)))
    with pytest.raises(ReviewRefused, match="retention period runs until 2026-12-31"):
        review.purge("carol")
    on(review, date(2027, 1, 1))
    for user in (RESEARCHER.replace("alice", "bob"), "mallory"):
        with pytest.raises(ReviewRefused, match="not one of the custodians"):
            review.purge(user)
    assert folder.exists()
    assert review.purge("carol") == ["2026-06-01"] and not folder.exists()
    assert review.store.entries()[-1]["event"] == "purge" and review.audit("carol") == []


# ----------------------------------------------------------------------------- the record


@pytest.fixture
def logged(review) -> ReleaseService:
    """A release and a rejection on record."""
    review.release_request("carol", approved(review, profile_request(review)))
    rejected = profile_request(review)
    review.decide("carol", rejected, approve=True, comment="fine")
    review.decide("dave", rejected, approve=False, comment="no")
    assert review.audit("carol") == []
    return review


def database(review) -> sqlite3.Connection:
    """The database as someone who can write it but cannot read the service's key."""
    return sqlite3.connect(review.state_dir / "review.sqlite", isolation_level=None)


def test_an_edited_audit_entry_is_detected(logged):
    with database(logged) as con:
        con.execute("update audit set event = 'approve', body = replace(body, '\"no\"', '\"yes\"') where seq = 7")
    problems = logged.audit("carol")
    assert any("audit entry 7 was edited or written without the service's key" in p for p in problems), problems
    with pytest.raises(ReviewRefused, match="broken"):
        logged.decide("carol", "R0001", approve=True, comment="after the edit")
    with pytest.raises(ReviewRefused, match="broken"):
        logged.pending_requests("carol")


def test_approvals_forged_with_a_plain_hash_chain_are_detected(logged):
    """The old attack: append approvals chained by plain SHA-256 in the custodians' names."""
    request_id = profile_request(logged)
    with database(logged) as con:
        (seq, previous), = con.execute("select seq, mac from audit order by seq desc limit 1").fetchall()
        (content,) = con.execute("select body from audit where seq = ?", (seq,)).fetchone()
        for user in ("carol", "dave"):
            seq += 1
            body = json.dumps({"comment": "ok", "content_sha256": json.loads(content)["content_sha256"]})
            mac = hashlib.sha256(f"{seq}{user}{body}{previous}".encode()).hexdigest()
            con.execute("insert into audit values (?, '2026-06-01T00:00:00+00:00', ?, 'approve', ?, ?, ?, ?)",
                        (seq, user, request_id, body, previous, mac))
            previous = mac
    assert any("written without the service's key" in p for p in logged.audit("carol"))
    with pytest.raises(ReviewRefused, match="broken"):
        logged.release_request("carol", request_id)


def test_removed_entries_are_detected(logged):
    with database(logged) as con:
        con.execute("delete from audit where seq = 2")
    assert any("entry 2 is missing" in p for p in logged.audit("carol"))


def test_entries_cut_from_the_end_are_detected(logged):
    with database(logged) as con:
        con.execute("delete from audit where seq >= 6")  # the last entries: a valid shorter chain
    assert any("cut from the end" in p for p in logged.audit("carol"))


def test_a_release_cut_from_the_end_is_named_by_its_folder(review):
    folder = review.release_request("carol", approved(review, profile_request(review)))
    with database(review) as con:
        con.execute("delete from release_log")
        con.execute("delete from audit where event = 'release'")
    (review.state_dir / "audit.head").unlink()  # and the head file too
    problems = review.audit("carol")
    assert any(f"{folder.name}: carries audit entry 4, but the log ends at 3" in p for p in problems), problems


def test_a_removed_release_log_entry_is_detected_and_stops_releases(logged):
    """Differencing reads the release log: a removed entry would let a request through."""
    with database(logged) as con:
        con.execute("delete from release_log")
    assert any("its release-log entry was removed" in p for p in logged.audit("carol"))
    again = profile_request(logged, vop_total=61)
    with pytest.raises(ReviewRefused, match="release-log entry was removed"):
        approved(logged, again)
    with pytest.raises(ReviewRefused, match="release-log entry was removed"):
        on(logged, date(2026, 6, 2)).release_request("carol", again)


def test_a_removed_or_added_release_folder_is_detected(logged):
    folder = logged.export_dir / "2026-06-01"
    shutil.copytree(folder, logged.export_dir / "2026-06-09")
    shutil.rmtree(folder)
    problems = logged.audit("carol")
    assert "release of R0001 (2026-06-01): the folder is missing, not purged" in problems
    assert any(p.startswith("2026-06-09: a folder in the export folder that no release") for p in problems)


def test_a_released_file_changed_afterwards_is_detected(review):
    request_id = approved(review, profile_request(review))
    folder = review.release_request("carol", request_id)
    assert review.audit("carol") == []
    (folder / "beneficiaries_by_profile.csv").write_text("measure_code,n_persons\nvop,3\n")
    assert review.audit("carol") == [f"release of {request_id} (2026-06-01): beneficiaries_by_profile.csv changed"]


def test_concurrent_writers_are_serialised(tmp_path):
    """Twenty threads append at once: each entry recorded once, the chain whole."""
    from concurrent.futures import ThreadPoolExecutor

    Store.initialise(tmp_path)
    store = Store(tmp_path)

    def append(n):
        with store.transaction() as con:
            return store.append(con, "note", "carol", None, n=n)["seq"]

    with ThreadPoolExecutor(20) as pool:
        seqs = list(pool.map(append, range(20)))
    assert sorted(seqs) == list(range(1, 21))
    entries, problems = store.read()
    assert problems == [] and sorted(e["n"] for e in entries) == list(range(20))


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
    """The researcher's and the custodian's commands as the README gives them, through the
    service's socket, as this OS user (real accounts: test_release_service.py)."""
    warehouse = tmp_path / "warehouse"
    warehouse.mkdir()
    shutil.copy(research_db, warehouse / "wse_impact.duckdb")
    me = subprocess.run(["id", "-un"], capture_output=True, text=True).stdout.strip()
    sql = tmp_path / "mine.sql"
    sql.write_text(SEX_BY_REGION)
    with release_service(tmp_path / "service", warehouse, [me], [me, "carol"]) as (service, socket_path):
        env = {**os.environ, "WSE_RELEASE_SOCKET": socket_path}

        def run(*args):
            return subprocess.run([str(BIN_DIR / "wse-impact"), *args], capture_output=True, text=True, env=env)

        asked = run("request", "--output", "socio_economic_position_by_quarter", "--aggregate", "sex_by_region",
                    "--sql-file", str(sql), "--dimensions", "sex_code,region_code")
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
        assert own.returncode == 2 and "may not decide on it" in own.stderr and "Traceback" not in own.stderr
        early = run("release", "R0001")
        assert early.returncode == 2 and "0 of 2 approvals" in early.stderr
        smuggled = tmp_path / "rows.sql"
        smuggled.write_text("select person_id, person_id as p from marts.control_base")
        refused = run("request", "--aggregate", "rows", "--sql-file", str(smuggled), "--dimensions", "p")
        assert refused.returncode == 2 and "not a column whose domain the project declares" in refused.stderr
        (entry,) = [e for e in service.store.entries() if e["event"] == "request refused"]
        assert entry["user"] == me, "a refused aggregate is on the record too"
        audit = run("audit")
        assert audit.returncode == 0, audit.stderr
        with sqlite3.connect(service.state_dir / "review.sqlite") as con:
            con.execute("update audit set event = 'requested' where seq = 1")
        broken = run("audit")
        assert broken.returncode == 1 and "was edited" in broken.stderr
    gone = subprocess.run([str(BIN_DIR / "wse-impact"), "request", "--status"], capture_output=True, text=True,
                          env={**os.environ, "WSE_RELEASE_SOCKET": socket_path})
    assert gone.returncode == 2 and "not running" in gone.stderr and "Traceback" not in gone.stderr
