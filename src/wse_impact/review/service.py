"""The release service (§24): the only reader and writer of the review's restricted state.

It runs under its own account (`wse-release`); researchers and custodians reach it only
through its socket (`server.py`), which names the caller from the kernel. Its state folder
(mode 0700) holds the database (`store.py`: audit log, requests, release log), the audit
key, the policy (`roles.py`), what each request would release (`requests/<id>/staged/`), and
it alone writes the export folder. The disclosure gate and a researcher's aggregate run here,
in the service's process, on the research database it opens read-only.

The path, after OpenSAFELY's Airlock and the SACRO/ACRO workflow:
1. request (researcher): the gate runs at once on exactly what would be released;
2. review (custodians): `approvals_required` approvals by custodians other than the
   requester, each on the request's content hash; one rejection ends it;
3. release: only an approved, unchanged request, after differencing is checked again
   against every release made since; the folder carries its audit entry's number and MAC.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import uuid
import warnings
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from wse_impact import settings
from wse_impact.landing.checksums import sha256_of
from wse_impact.release.export import CHECKSUMS, REPORT, RETENTION_FILE, ExportRefused
from wse_impact.review import roles
from wse_impact.review.roles import POLICY_FILE, Policy, ReviewRefused
from wse_impact.review.record_checks import (
    RELEASE_RECORD,
    record_of,
    release_folder_problems,
    release_log_problems,
    checksum_problems,
)
from wse_impact.review.states import ALLOWED_IN, OPEN, AuditEvent, status_of
from wse_impact.review.store import AuditChainBroken, Store, canonical

REQUESTS = "requests"
STAGED = "staged"  # what would leave, exactly as it would leave


@dataclass
class ReleaseService:
    state_dir: Path
    warehouse_dir: Path
    export_dir: Path
    engine: str = "duckdb"

    def __post_init__(self):
        self.state_dir, self.warehouse_dir, self.export_dir = map(Path, (self.state_dir, self.warehouse_dir,
                                                                         self.export_dir))
        self.store = Store(self.state_dir)
        self.policy = Policy.read(self.state_dir / POLICY_FILE)
        # the store's lock: a check of the state and the write that follows it are one step
        # (the gate runs outside it)
        self.lock = self.store.lock

    # --- state, read from the audit log

    def _entries(self, whole_record: bool = False) -> list[dict]:
        """The audit log's entries, only from an unbroken chain. Before anything is decided
        or released (`whole_record`), also the release log and person sets the chain vouches
        for, which differencing reads (a request is checked again at release): reading every
        released set is left out of listings, which read only the chain."""
        entries, problems = self.store.read()
        if whole_record:
            problems += self._record_problems(entries)
        if problems:
            raise ReviewRefused(str(AuditChainBroken(problems)))
        return entries

    def _record_problems(self, entries: list[dict]) -> list[str]:
        """Release-log rows and person sets removed, changed or added, against the release
        entries that vouch for them."""
        problems = release_log_problems(entries, self.store.release_rows())
        con = self.store.connect()
        try:
            releases = {e["request"]: e for e in entries if e["event"] == AuditEvent.RELEASE}
            for request_id, entry in releases.items():
                if self.store.person_sets_digest(con, request_id) != entry.get("person_sets_sha256"):
                    problems.append(f"release of {request_id} ({entry['folder']}): the persons behind its cells were "
                                    "removed or changed")
            problems += [f"person sets recorded for {r} with no release in the audit log (added)"
                         for r in self.store.person_set_releases(con) if r not in releases]
        finally:
            con.close()
        return problems

    def status(self, request_id: str, entries: list[dict] | None = None, whole_record: bool = False) -> dict:
        entries = self._entries(whole_record) if entries is None else entries
        return status_of([e for e in entries if e.get("request") == request_id], self.policy.approvals_required)

    def _folder(self, request_id: str) -> Path:
        if self.store.request_row(request_id) is None:
            raise ReviewRefused(f"no request {request_id!r}")
        return self.state_dir / REQUESTS / request_id

    def staged_dir(self, request_id: str) -> Path:
        """What a request would release, exactly as it would leave (restricted)."""
        return self._folder(request_id) / STAGED

    def content_sha256(self, request_id: str) -> str:
        """One hash over the request, every file that would leave (SHA256SUMS lists them all),
        the custodian's report and the true counts the release is checked again with."""
        row = self.store.request_row(request_id)
        staged = self._folder(request_id) / STAGED
        problems = checksum_problems(staged)
        if problems:
            raise ReviewRefused(f"request {request_id}: its outputs changed since the request: " + "; ".join(problems))
        return _content_hash(row["record"], (staged / CHECKSUMS).read_bytes(), row["custodian_report"], row["log_entry"],
                             row["person_sets"])

    # --- 1. request

    def request(self, user: str, outputs: list[str], aggregates: list[dict], round_to: int | None = None) -> dict:
        """A researcher's request as the client sends it: output model names, and aggregates
        (name, SQL text, dimensions) run here on the research database."""
        from wse_impact.release.researcher_query import QueryRefused

        roles.check_user_can_request(self.policy, user)
        if not outputs and not aggregates:
            raise ReviewRefused("name what to release: --output MODEL and/or --aggregate NAME --sql-file FILE "
                                "--dimensions ...")
        try:
            tables, specs, definition, person_sets = self._tables_of(outputs, aggregates)
        except QueryRefused as refused:  # on the record, the offending value for the custodians
            request_id = self._record_refusal(AuditEvent.REQUEST_REFUSED, user, None, refused)
            raise ReviewRefused(f"request {request_id} refused: {refused}") from refused
        except ExportRefused as refused:  # no research database
            raise ReviewRefused(str(refused)) from refused
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            request_id = self.create_request(user, tables, specs, definition, round_to=round_to,
                                             person_sets=person_sets)
        return {"request": request_id, "approvals_required": self.policy.approvals_required,
                "warnings": [str(w.message) for w in caught]}

    def _tables_of(self, outputs: list[str], aggregates: list[dict]):
        """The tables asked for, their specs, what was asked, and the persons behind every cell."""
        from wse_impact.engines import NoBuild, NoTables, engine
        from wse_impact.project import output_specs
        from wse_impact.release.output_persons import OutputPersons, read_output_persons
        from wse_impact.release.researcher_query import aggregate, connect_research_db

        built = engine(self.engine)
        tables, specs, person_sets = {}, {}, {}
        definition = {"outputs_requested": list(outputs), "aggregates": []}
        if outputs:
            try:
                available = built.read_outputs(self.warehouse_dir)
            except (NoBuild, NoTables) as missing:
                raise ReviewRefused(f"no output models to read: {missing}") from missing
            unknown = sorted(set(outputs) - set(available))
            if unknown:
                raise ReviewRefused(f"no output model {', '.join(unknown)} (there are: {', '.join(sorted(available))})")
            tables.update({name: available[name] for name in outputs})
            if built.name == "duckdb":  # a Spark build: differencing on true counts by name
                declared, _links = output_specs()
                with built.research_connection(self.warehouse_dir) as con:
                    person_sets.update(read_output_persons(con, {n: declared[n] for n in outputs if n in declared}))
        if aggregates and built.name != "duckdb":
            raise ReviewRefused("a researcher's aggregate runs on the DuckDB research database; on a Spark build "
                                "request output models only")
        for asked in aggregates:
            con = connect_research_db(settings.research_db_path(self.warehouse_dir))
            try:
                result = aggregate(con, str(asked["name"]), str(asked["sql"]), [str(d) for d in asked["dimensions"]])
            finally:
                con.close()
            if result.name in tables:
                raise ReviewRefused(f"{result.name} is asked twice, or is also an output model's name")
            tables[result.name], specs[result.name] = result.table, result.spec
            person_sets[result.name] = OutputPersons(result.persons)
            definition["aggregates"].append(result.definition())
        return tables, specs, definition, person_sets

    def create_request(self, user: str, outputs: dict[str, pd.DataFrame], specs: dict | None = None,
                       definition: dict | None = None, round_to: int | None = None,
                       person_sets: dict | None = None) -> str:
        """Run the gate on `outputs` (name -> table; `person_sets`: name -> the persons behind
        its cells) and keep what would be released; returns the request id. A refusal is
        recorded, and raised as `ReviewRefused`."""
        from wse_impact.project import output_specs
        from wse_impact.release.disclosure import DisclosureRules
        from wse_impact.release.export import check_release
        from wse_impact.release.person_sets import PersonSetStore, dump_cells

        roles.check_user_can_request(self.policy, user)
        _declared, links = output_specs()
        rules = DisclosureRules(**{**self.policy.disclosure_rules, **({"rounding_base": round_to} if round_to else {})})
        work = self.state_dir / REQUESTS / f".new-{uuid.uuid4().hex}"
        work.mkdir(parents=True)
        reader = self.store.connect()
        try:
            prepared = check_release(outputs=outputs, specs=specs or {}, links=links, into=work / STAGED,
                                     today=self.policy.date_today(), rules=rules, retain_until=self._retain_until(),
                                     history=self.store.release_log(reader), person_sets=person_sets or {},
                                     person_set_store=PersonSetStore(reader),
                                     source="a request to the release service")
        except ExportRefused as refused:
            shutil.rmtree(work)
            request_id = self._record_refusal(AuditEvent.REQUEST_REFUSED, user, None, refused)
            raise ReviewRefused(f"request {request_id} refused by the disclosure gate: "
                                f"{self._reasons_for(refused, user)}") from refused
        except BaseException:
            shutil.rmtree(work, ignore_errors=True)
            raise
        finally:
            reader.close()
        sets = dump_cells(prepared.person_sets)
        with self.lock, self.store.transaction() as con:
            request_id = _next_id(self.store.request_ids(con))
            record = {"id": request_id, "requester": user, "outputs": sorted(outputs), **(definition or {})}
            self.store.insert_request(con, request_id, user, record, prepared.custodian, prepared.log_entry, sets)
            content = _content_hash(canonical(record), (work / STAGED / CHECKSUMS).read_bytes(),
                                    canonical(prepared.custodian), canonical(prepared.log_entry), sets)
            self.store.append(con, AuditEvent.REQUEST, user, request_id, outputs=sorted(outputs),
                              content_sha256=content)
            work.rename(self.state_dir / REQUESTS / request_id)
        return request_id

    def _retain_until(self):
        from wse_impact.project import retain_until

        return self.policy.retain_until or retain_until()

    def requests_of(self, user: str) -> list[dict]:
        """A researcher's own requests (never another's): status, approvals, and per output
        how many cells were suppressed; never a true count or a per-cell reason."""
        roles.check_user_can_request(self.policy, user)
        entries = self._entries()
        mine = sorted({e["request"] for e in entries
                       if e["user"] == user and e["event"] in (AuditEvent.REQUEST, AuditEvent.REQUEST_REFUSED)})
        out = []
        for request_id in mine:
            status = self.status(request_id, entries)
            entry = {"request": request_id, "status": str(status["status"]), "approvals": len(status["approvals"])}
            report_path = self.state_dir / REQUESTS / request_id / STAGED / REPORT
            if report_path.is_file():
                report = json.loads(report_path.read_text())
                entry["suppressed"] = {name: f"{o['cells_suppressed']} of {o['cells']} cells"
                                       for name, o in report["outputs"].items()}
            out.append(entry)
        return out

    # --- 2. review

    def pending_requests(self, user: str) -> list[dict]:
        roles.check_user_can_review(self.policy, user)
        entries = self._entries()
        ids = sorted({e["request"] for e in entries if e["event"] == AuditEvent.REQUEST})
        statuses = {i: self.status(i, entries) for i in ids}
        return [{"request": i, **{k: str(v) if k == "status" else v for k, v in s.items() if k != "events"}}
                for i, s in statuses.items() if s["status"] in OPEN]

    def describe_request(self, user: str, request_id: str) -> dict:
        """What a custodian reads before deciding: the request, its outputs, the full
        checking report, and how its true counts differ from earlier releases."""
        roles.check_user_can_review(self.policy, user)
        row = self.store.request_row(request_id)
        staged = self._folder(request_id) / STAGED
        status = self.status(request_id)
        return {
            "request": json.loads(row["record"]),
            "status": {k: str(v) if k == "status" else v for k, v in status.items() if k != "events"},
            "history": status["events"],
            "files": sorted(p.name for p in staged.iterdir()),
            "outputs": {p.stem: p.read_text(encoding="utf-8") for p in sorted(staged.glob("*.csv"))},
            "custodian_report": json.loads(row["custodian_report"]),
            "differences_with_earlier_releases": _differences(json.loads(row["log_entry"]), self.store.release_log()),
        }

    def decide(self, user: str, request_id: str, approve: bool, comment: str) -> dict:
        roles.check_user_can_review(self.policy, user)
        with self.lock:
            status = self.status(request_id, whole_record=True)
            event = AuditEvent.APPROVE if approve else AuditEvent.REJECT
            if status["status"] not in ALLOWED_IN[event]:
                raise ReviewRefused(f"request {request_id} is {status['status']}: no more decisions")
            roles.check_user_can_decide(self.policy, user, request_id, status)
            if not comment.strip():
                raise ReviewRefused("a decision needs a comment")
            content = self.content_sha256(request_id)  # refuses when the outputs changed
            if content != status["content_sha256"]:
                raise ReviewRefused(f"request {request_id} changed since it was made: it cannot be decided on")
            with self.store.transaction() as con:
                return self.store.append(con, event, user, request_id, comment=comment, content_sha256=content)

    # --- 3. release

    def release_request(self, user: str, request_id: str) -> Path:
        from wse_impact.release.export import retention_status
        from wse_impact.release.person_sets import load_cells

        roles.check_user_can_release(self.policy, user)
        with self.lock:
            status = self.status(request_id, whole_record=True)
            if status["status"] not in ALLOWED_IN[AuditEvent.RELEASE]:
                raise ReviewRefused(f"request {request_id} is {status['status']} ({len(status['approvals'])} of "
                                    f"{self.policy.approvals_required} approvals): it cannot be released")
            content = self.content_sha256(request_id)
            if content != status["content_sha256"]:
                raise ReviewRefused(f"request {request_id} changed after it was approved: it cannot be released")
            row = self.store.request_row(request_id)
            log_entry, cells = json.loads(row["log_entry"]), load_cells(row["person_sets"])
            today = self.policy.date_today()
            state, message = retention_status(today, self._retain_until())
            if state == "expired":
                self._refuse_release(user, request_id, ExportRefused("release refused: retention period passed",
                                                                     [message]))
            problems = self._differencing_since(log_entry, cells)
            if problems:
                self._refuse_release(user, request_id, ExportRefused(
                    "release refused: differencing with a release made since the check would reveal small groups",
                    problems, names_counts=True))
            return self._publish(user, request_id, status, content, log_entry, cells, today)

    def _differencing_since(self, log_entry: dict, cells: list) -> list[str]:
        """Differencing again, against every release recorded now: on person sets, under any
        name; by name on true counts for outputs without the persons behind their cells."""
        from wse_impact.release.export import differencing_problems, person_set_problems
        from wse_impact.release.person_sets import PersonSetStore

        threshold = int(log_entry["threshold"])
        with_sets = {label.split(" ", 1)[0] for label, _count, _persons in cells}
        by_name = {**log_entry, "cells": {n: c for n, c in log_entry.get("cells", {}).items() if n not in with_sets},
                   "attributes": {n: a for n, a in log_entry.get("attributes", {}).items() if n not in with_sets}}
        reader = self.store.connect()
        try:
            problems = differencing_problems(by_name, self.store.release_log(reader), threshold)
            return problems + person_set_problems(cells, PersonSetStore(reader), threshold,
                                                  project_outputs=log_entry.get("project_outputs", ()))
        finally:
            reader.close()

    def _refuse_release(self, user: str, request_id: str, refused: ExportRefused):
        self._record_refusal(AuditEvent.RELEASE_REFUSED, user, request_id, refused)
        raise ReviewRefused(f"request {request_id} cannot be released: {self._reasons_for(refused, user)}")

    def _record_refusal(self, event: AuditEvent, user: str, request_id: str | None, refused) -> str:
        """A refusal on the record with its reasons (for the custodians); a refused request
        takes the next id. Returns the request id."""
        with self.lock, self.store.transaction() as con:
            request_id = request_id or _next_id(self.store.request_ids(con))
            self.store.append(con, event, user, request_id, reason=refused.headline, problems=refused.problems)
        return request_id

    def _publish(self, user, request_id, status, content, log_entry, cells, today) -> Path:
        from wse_impact.release.person_sets import PersonSetStore

        # exports/<date>/, and a second release of the day beside it, named by its request
        folder = self.export_dir / today.isoformat()
        if folder.exists():
            folder = self.export_dir / f"{today.isoformat()}-{request_id}"
        if folder.exists():
            raise ReviewRefused(f"release refused: {folder} already exists (a release is never overwritten)")
        self.export_dir.mkdir(parents=True, exist_ok=True)
        partial = self.export_dir / f".{today.isoformat()}.partial-{uuid.uuid4().hex}"
        shutil.copytree(self._folder(request_id) / STAGED, partial)
        renamed = committed = False
        try:
            files = {p.name: sha256_of(p) for p in sorted(partial.iterdir())}
            entry_json = canonical({**log_entry, "report_sha256": files[REPORT]})
            with self.store.transaction() as con:
                PersonSetStore(con).add(request_id, cells)
                entry = self.store.append(con, AuditEvent.RELEASE, user, request_id, folder=folder.name, files=files,
                                          content_sha256=content, approvals=status["approvals"],
                                          release_log_sha256=hashlib.sha256(entry_json.encode()).hexdigest(),
                                          person_sets_sha256=self.store.person_sets_digest(con, request_id))
                self.store.insert_release(con, entry["seq"], request_id, today.isoformat(), folder.name, entry_json)
                (partial / RELEASE_RECORD).write_text(canonical({"request": request_id, "audit_seq": entry["seq"],
                                                                 "audit_mac": entry["mac"]}) + "\n")
                for path in [partial, *partial.iterdir()]:
                    path.chmod(0o755 if path.is_dir() else 0o644)  # released: anonymous, for the researchers
                partial.rename(folder)
                renamed = True
            committed = True
        finally:
            if not committed:  # nothing recorded: nothing released
                shutil.rmtree(folder if renamed else partial, ignore_errors=True)
        return folder

    # --- audit and purge

    def audit(self, user: str) -> list[str]:
        """Breaks of the audit chain; release-log rows removed, changed or added; releases
        whose folder is missing (not purged), changed, or carries another entry; folders in
        the export folder that no release recorded; entries cut from the end."""
        roles.check_user_can_audit(self.policy, user)
        with self.lock:
            entries, problems = self.store.read()
            problems += self._record_problems(entries)
        last_seq = entries[-1]["seq"] if entries else 0
        releases = {e["seq"]: e for e in entries if e["event"] == AuditEvent.RELEASE}
        purged = {f for e in entries if e["event"] == AuditEvent.PURGE for f in e.get("folders", [])}
        by_folder = {e["folder"]: e for e in releases.values()}
        for name, entry in by_folder.items():
            problems += release_folder_problems(self.export_dir / name, entry, name in purged)
        if self.export_dir.is_dir():
            for folder in sorted(p for p in self.export_dir.iterdir() if p.is_dir() and not p.name.startswith(".")):
                record = record_of(folder)
                if record and record.get("audit_seq", 0) > last_seq:
                    problems.append(f"{folder.name}: carries audit entry {record['audit_seq']}, but the log ends at "
                                    f"{last_seq}: entries were cut from the end")
                elif folder.name not in by_folder:
                    problems.append(f"{folder.name}: a folder in the export folder that no release in the audit log "
                                    "records (added, or its release entry removed)")
        return problems

    def purge(self, user: str) -> list[str]:
        """Delete every release folder once the retention date has passed (custodians only);
        recorded in the audit log."""
        roles.check_user_can_purge(self.policy, user)
        retain_until, today = self._retain_until(), self.policy.date_today()
        if today <= retain_until:
            raise ReviewRefused(f"the retention period runs until {retain_until.isoformat()}: nothing may be purged "
                                "before it has passed")
        with self.lock:
            folders = sorted(p for p in self.export_dir.iterdir() if p.is_dir() and (p / RETENTION_FILE).exists()) \
                if self.export_dir.is_dir() else []
            if not folders:
                return []
            with self.store.transaction() as con:
                self.store.append(con, AuditEvent.PURGE, user, None, folders=[p.name for p in folders],
                                  retain_until=retain_until.isoformat(), purged_on=today.isoformat())
                for folder in folders:
                    shutil.rmtree(folder)
            return [p.name for p in folders]

    def _reasons_for(self, refused: ExportRefused, user: str) -> str:
        """Reasons naming cells with true counts or bounds go to custodians only (a researcher
        learns from them what the suppression hides); everyone else reads the headline."""
        if refused.names_counts and not self.policy.has_role(user, roles.Role.CUSTODIAN):
            return (f"{refused.headline} ({len(refused.problems)} reason(s) naming cells and true counts: "
                    "recorded in the audit log for the custodians)")
        return str(refused).replace("\n  - ", "; ")


def _content_hash(record: str, checksums: bytes, custodian: str, log_entry: str, person_sets: bytes) -> str:
    digest = hashlib.sha256()
    for part in (record.encode(), checksums, custodian.encode(), log_entry.encode(), person_sets):
        digest.update(hashlib.sha256(part).digest())
    return digest.hexdigest()


def _next_id(taken: list[str]) -> str:
    numbers = [int(x[1:]) for x in taken if x and x[1:].isdigit()]
    return f"R{max(numbers, default=0) + 1:04d}"


def _differences(now: dict, earlier_releases: list[dict]) -> list[str]:
    lines = []
    for earlier in earlier_releases:
        for name, cells in earlier.get("cells", {}).items():
            for key, (true_before, _published) in cells.items():
                true_now = now.get("cells", {}).get(name, {}).get(key, [None])[0]
                if true_now is not None and true_before is not None and true_now != true_before:
                    lines.append(f"{name} {key}: {true_before:g} in the release of {earlier['export_date']}, "
                                 f"{true_now:g} now")
    return lines


def initialise_state(state_dir: Path, researchers: list[str], custodians: list[str],
                     approvals_required: int | None = None, today: str | None = None, demo: bool = False,
                     project: str | Path | None = None) -> None:
    """The service's state folder (mode 0700), audit key, database and policy. The policy is
    written once, seeded from dbt_project.yml's vars; after that it is the service's own file."""
    import os
    import pwd
    from datetime import date

    from wse_impact.project import project_vars, retain_until

    state_dir = Path(state_dir)
    Store.initialise(state_dir)
    (state_dir / REQUESTS).mkdir(mode=0o700, exist_ok=True)
    policy_path = state_dir / POLICY_FILE
    if policy_path.exists():
        if researchers or custodians or approvals_required or today:
            raise ReviewRefused(f"{policy_path} exists: the service's policy is changed there, by its account")
        return
    if demo:
        me = pwd.getpwuid(os.geteuid()).pw_name
        researchers, custodians = [*researchers, me], [*custodians, me]
    required = approvals_required or int(project_vars(project).get("release_approvals_required", 2))
    policy = Policy(frozenset(researchers), frozenset(custodians), required, retain_until(project),
                    today=date.fromisoformat(today) if today else None)
    policy.write(policy_path)
    os.chmod(policy_path, 0o600)
