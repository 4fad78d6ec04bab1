"""Release review (§24): a researcher asks, custodians check, only then anything leaves.

The path, after OpenSAFELY's Airlock and the SACRO/ACRO workflow:

1. **Request** (researcher): `create_request` names the outputs to release, output models of
   the research database or the researcher's own aggregates (`researcher_query.py`: SQL over
   the marts, grouped by named dimensions, persons counted by the tool). The disclosure gate
   runs at once (`export.check_release`): what would be released is written into the
   request's own folder on the restricted side, with the custodian's full report and the true
   counts behind every cell. A refused request is recorded with the gate's reasons.
2. **Review** (custodians): `pending_requests`, `describe_request` (outputs, the custodian's
   report, differences with earlier releases), then `decide`: approve or reject with a comment.
   A release needs `release_approvals_required` approvals (dbt_project.yml vars, default 2) by
   distinct custodians other than the requester; one rejection ends the request.
3. **Release**: `release_request` writes an approved request, unchanged since it was approved,
   to `exports/<date>/` (outputs, released report without per-cell reasons, SHA256SUMS,
   retention date), after checking differencing again against every release made since the
   request, and records it in the release log.

Every step is an entry of the hash-chained audit log (`audit_log.py`), the one record of who
did what; a request's status is read from it. Who is who: the operating-system user, and the
roles file `roles.yml` kept on the restricted side (README, "Release review").
"""

from __future__ import annotations

import hashlib
import json
import os
import pwd
import shutil
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import yaml

from wse_impact.review.audit_log import AuditLog
from wse_impact.landing.checksums import sha256_of
from wse_impact.settings import export_dir as default_export_dir
from wse_impact.release.export import CHECKSUMS, REPORT

ROLES_FILE = "roles.yml"
AUDIT_LOG = "audit_log.jsonl"
REQUESTS = "requests"
STAGED = "staged"  # what would leave, exactly as it would leave
REQUEST_FILE = "request.json"
CUSTODIAN_FILE = "custodian_report.json"
TRUE_COUNTS_FILE = "release_log_entry.json"
PERSON_SETS_FILE = "person_sets.bin"  # the persons behind every cell that would be published
DEFAULT_APPROVALS_REQUIRED = 2


class ReviewRefused(RuntimeError):
    """A step of the review that may not be taken; the message says why."""


def current_user() -> str:
    """The operating-system user running the command (its user id, not $USER, which anyone
    can set)."""
    return pwd.getpwuid(os.geteuid()).pw_name


@dataclass
class Review:
    """The review's state on the restricted side of one warehouse."""

    restricted: Path  # <warehouse>/disclosure: next to the release log and custodian reports
    approvals_required: int = DEFAULT_APPROVALS_REQUIRED

    @classmethod
    def of(cls, warehouse_dir: str | Path | None = None, project: str | Path | None = None) -> "Review":
        from wse_impact.settings import restricted_dir_of
        from wse_impact.project import project_vars

        required = int(project_vars(project).get("release_approvals_required", DEFAULT_APPROVALS_REQUIRED))
        if required < 1:
            raise ValueError("vars: release_approvals_required must be at least 1")
        return cls(restricted_dir_of(warehouse_dir), required)

    # --- where things are

    @property
    def log(self) -> AuditLog:
        return AuditLog(self.restricted / AUDIT_LOG)

    def folder(self, request_id: str) -> Path:
        folder = self.restricted / REQUESTS / request_id
        if not request_id.startswith("R") or not (folder / REQUEST_FILE).is_file():
            raise ReviewRefused(f"no request {request_id!r}")
        return folder

    # --- roles

    def roles(self) -> dict[str, set[str]]:
        path = self.restricted / ROLES_FILE
        if not path.is_file():
            raise ReviewRefused(f"no roles file at {path}: the data custodian writes it (README, 'Release review'): "
                                "researchers: [user, ...] and custodians: [user, ...]")
        doc = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        return {role: {str(u) for u in (doc.get(role) or [])} for role in ("researchers", "custodians")}

    def require(self, user: str, role: str) -> None:
        if user not in self.roles()[role]:
            raise ReviewRefused(f"{user} is not one of the {role} in {self.restricted / ROLES_FILE}")

    # --- state, read from the audit log

    def entries(self) -> list[dict]:
        """The audit log's entries, only from a whole log: no status is read from a log that
        was edited, and nothing is decided or released until a custodian restores it."""
        entries, problems = self.log.read()
        if problems:
            raise ReviewRefused(f"the audit log {self.log.path} is broken; nothing is decided or released until it "
                                "is restored:\n" + "\n".join(f"  - {p}" for p in problems))
        return entries

    def status(self, request_id: str, entries: list[dict] | None = None) -> dict:
        """A request's state, from the audit log's entries (read now unless given)."""
        events = [e for e in (self.entries() if entries is None else entries) if e.get("request") == request_id]
        created = next((e for e in events if e["event"] == "request"), None)
        if created is None:
            refused = next((e for e in events if e["event"] == "request refused"), None)
            return {"status": "refused by the gate" if refused else "unknown", "approvals": [], "events": events}
        content = created["content_sha256"]
        approvals = sorted({e["user"] for e in events if e["event"] == "approve" and e["content_sha256"] == content})
        if any(e["event"] == "release" for e in events):
            state = "released"
        elif any(e["event"] == "reject" for e in events):
            state = "rejected"
        elif len(approvals) >= self.approvals_required:
            state = "approved"
        else:
            state = "pending"
        return {"status": state, "requester": created["user"], "content_sha256": content, "approvals": approvals,
                "events": events}

    def content_sha256(self, request_id: str) -> str:
        """One hash over the request, every file that would leave (SHA256SUMS lists them
        all), the custodian's report and the true counts the release is checked again with:
        any change after the request, or after an approval, changes it."""
        folder = self.folder(request_id)
        staged = folder / STAGED
        problems = _checksum_problems(staged)
        if problems:
            raise ReviewRefused(f"request {request_id}: its outputs changed since the request: " + "; ".join(problems))
        digest = hashlib.sha256()
        for path in (folder / REQUEST_FILE, staged / CHECKSUMS, folder / CUSTODIAN_FILE, folder / TRUE_COUNTS_FILE,
                     folder / PERSON_SETS_FILE):
            digest.update(path.read_bytes())
        return digest.hexdigest()

    # --- 1. request

    def create_request(self, user: str, outputs: dict, specs: dict | None = None, definition: dict | None = None,
                       today: date | None = None, rules=None, person_sets: dict | None = None) -> str:
        """Run the gate on `outputs` (name -> table; `person_sets`: name -> the persons behind
        its cells) and keep what would be released; returns the request id. Raises
        `ReviewRefused` (recorded in the audit log) when the gate refuses."""
        from wse_impact.release.export import ExportRefused, check_release
        from wse_impact.release.person_sets import dump_cells
        from wse_impact.project import output_specs

        self.require(user, "researchers")
        # every declared link: between outputs of the request the protection models it; to an
        # output an earlier release holds, the gate refuses (export.linked_apart_problems)
        _declared, links = output_specs()
        request_id = self._next_id()
        folder = self.restricted / REQUESTS / request_id
        folder.mkdir(parents=True)
        try:
            kwargs = {"rules": rules} if rules is not None else {}
            prepared = check_release(outputs=outputs, specs=specs or {}, links=links, into=folder / STAGED, today=today,
                                     restricted_dir=self.restricted, source=f"request {request_id}",
                                     person_sets=person_sets, **kwargs)
        except ExportRefused as refused:
            shutil.rmtree(folder)
            self.log.append("request refused", user, request=request_id, reason=refused.headline,
                            problems=refused.problems)
            raise ReviewRefused(f"request {request_id} refused by the disclosure gate: "
                                f"{_reasons_for(refused, user, self.roles())}") from refused
        record = {"id": request_id, "requester": user, "outputs": sorted(outputs), **(definition or {})}
        (folder / REQUEST_FILE).write_text(json.dumps(record, indent=2, sort_keys=True, default=str) + "\n")
        (folder / CUSTODIAN_FILE).write_text(json.dumps(prepared.custodian, indent=2, default=str) + "\n")
        (folder / TRUE_COUNTS_FILE).write_text(json.dumps(prepared.log_entry, default=str) + "\n")
        (folder / PERSON_SETS_FILE).write_bytes(dump_cells(prepared.person_sets))
        self.log.append("request", user, request=request_id, outputs=sorted(outputs),
                        content_sha256=self.content_sha256(request_id))
        return request_id

    def _next_id(self) -> str:
        taken = [e.get("request", "") for e in self.entries()]
        folders = [p.name for p in (self.restricted / REQUESTS).glob("R*")] if (self.restricted / REQUESTS).exists() else []
        numbers = [int(x[1:]) for x in [*taken, *folders] if x[1:].isdigit()]
        return f"R{max(numbers, default=0) + 1:04d}"

    def requests_of(self, user: str) -> list[dict]:
        """A researcher's own requests (never another's), with status and what was suppressed."""
        self.require(user, "researchers")
        entries = self.entries()
        mine = sorted({e["request"] for e in entries
                       if e.get("user") == user and e["event"] in ("request", "request refused")})
        out = []
        for request_id in mine:
            status = self.status(request_id, entries)
            entry = {"request": request_id, "status": status["status"], "approvals": len(status["approvals"])}
            report_path = self.restricted / REQUESTS / request_id / STAGED / REPORT
            if report_path.is_file():
                report = json.loads(report_path.read_text())
                entry["suppressed"] = {name: f"{o['cells_suppressed']} of {o['cells']} cells"
                                       for name, o in report["outputs"].items()}
            out.append(entry)
        return out

    # --- 2. review

    def pending_requests(self, user: str) -> list[dict]:
        self.require(user, "custodians")
        entries = self.entries()
        ids = sorted({e["request"] for e in entries if e["event"] == "request"})
        statuses = {i: self.status(i, entries) for i in ids}
        return [{"request": i, **{k: v for k, v in status.items() if k != "events"}}
                for i, status in statuses.items() if status["status"] in ("pending", "approved")]

    def describe_request(self, user: str, request_id: str) -> dict:
        """What a custodian reads before deciding: the request, its outputs, the full
        checking report, and how its true counts differ from every earlier release."""
        self.require(user, "custodians")
        folder = self.folder(request_id)
        staged = folder / STAGED
        return {
            "request": json.loads((folder / REQUEST_FILE).read_text()),
            "status": {k: v for k, v in self.status(request_id).items() if k != "events"},
            "files": sorted(p.name for p in staged.iterdir()),
            "outputs": {p.stem: p.read_text(encoding="utf-8") for p in sorted(staged.glob("*.csv"))},
            "custodian_report": json.loads((folder / CUSTODIAN_FILE).read_text()),
            "differences_with_earlier_releases": self._differences(request_id),
        }

    def _differences(self, request_id: str) -> list[str]:
        from wse_impact.release.export import release_log_entries

        now = json.loads((self.folder(request_id) / TRUE_COUNTS_FILE).read_text())
        lines = []
        for earlier in release_log_entries(self.restricted):
            for name, cells in earlier.get("cells", {}).items():
                for key, (true_before, _published) in cells.items():
                    true_now = now.get("cells", {}).get(name, {}).get(key, [None])[0]
                    if true_now is not None and true_before is not None and true_now != true_before:
                        lines.append(f"{name} {key}: {true_before:g} in the release of {earlier['export_date']}, "
                                     f"{true_now:g} now")
        return lines

    def decide(self, user: str, request_id: str, approve: bool, comment: str) -> dict:
        self.require(user, "custodians")
        status = self.status(request_id)
        if status["status"] not in ("pending", "approved"):
            raise ReviewRefused(f"request {request_id} is {status['status']}: no more decisions")
        if user == status["requester"]:
            raise ReviewRefused(f"{user} made request {request_id} and may not decide on it")
        if any(e["user"] == user and e["event"] in ("approve", "reject") for e in status["events"]):
            raise ReviewRefused(f"{user} has already decided on request {request_id}")
        if not comment.strip():
            raise ReviewRefused("a decision needs a comment")
        content = self.content_sha256(request_id)  # refuses when the outputs changed
        if content != status["content_sha256"]:
            raise ReviewRefused(f"request {request_id} changed since it was made: it cannot be decided on")
        return self.log.append("approve" if approve else "reject", user, request=request_id, comment=comment,
                               content_sha256=content)

    # --- 3. release

    def release_request(self, user: str, request_id: str, export_dir: str | Path | None = None,
                        today: date | None = None) -> Path:
        from wse_impact.release.export import ExportRefused, publish_release
        from wse_impact.release.person_sets import load_cells, open_file_store

        roles = self.roles()
        if user not in roles["custodians"] | roles["researchers"]:
            raise ReviewRefused(f"{user} has no role in {self.restricted / ROLES_FILE}")
        status = self.status(request_id)
        if status["status"] != "approved":
            raise ReviewRefused(f"request {request_id} is {status['status']} "
                                f"({len(status['approvals'])} of {self.approvals_required} approvals): it cannot be released")
        content = self.content_sha256(request_id)
        if content != status["content_sha256"]:
            raise ReviewRefused(f"request {request_id} changed after it was approved: it cannot be released")
        folder = self.folder(request_id)
        try:
            released = publish_release(
                staged=folder / STAGED,
                custodian=json.loads((folder / CUSTODIAN_FILE).read_text()),
                log_entry=json.loads((folder / TRUE_COUNTS_FILE).read_text()),
                export_dir=export_dir, restricted_dir=self.restricted, today=today,
                person_sets=load_cells((folder / PERSON_SETS_FILE).read_bytes())).folder
        except ExportRefused as refused:
            self.log.append("release refused", user, request=request_id, reason=refused.headline,
                            problems=refused.problems)
            raise ReviewRefused(f"request {request_id} cannot be released: "
                                f"{_reasons_for(refused, user, roles)}") from refused
        files = {p.name: sha256_of(p) for p in sorted(released.iterdir())}
        connection, store = open_file_store(self.restricted)  # until the release service owns it
        try:
            with connection:
                store.add(request_id, load_cells((folder / PERSON_SETS_FILE).read_bytes()))
        finally:
            connection.close()
        self.log.append("release", user, request=request_id, folder=released.name, files=files,
                        content_sha256=content, approvals=status["approvals"])
        return released


def _reasons_for(refused, user: str, roles: dict[str, set[str]]) -> str:
    """Why the gate refused, as the user may read it: reasons naming cells with their true
    counts or bounds go to custodians only (a researcher learns from them what the
    suppression hides); everyone else reads the headline, the reasons stay in the audit log."""
    if refused.names_counts and user not in roles["custodians"]:
        return (f"{refused.headline} ({len(refused.problems)} reason(s) naming cells and true counts: "
                "recorded in the audit log for the custodians)")
    return str(refused)


def _checksum_problems(folder: Path) -> list[str]:
    """Files of a staged release that differ from its SHA256SUMS, are missing, or were added."""
    sums_path = folder / CHECKSUMS
    if not sums_path.is_file():
        return [f"{CHECKSUMS} missing"]
    listed = {}
    for line in sums_path.read_text().splitlines():
        digest, name = line.split("  ", 1)
        listed[name] = digest
    problems = [f"{name} changed" for name, digest in listed.items()
                if not (folder / name).is_file() or sha256_of(folder / name) != digest]
    extra = sorted(p.name for p in folder.iterdir() if p.name not in listed and p.name != CHECKSUMS)
    problems += [f"{name} added" for name in extra]
    return problems


def audit_problems(review: Review, export_dir: str | Path | None = None) -> list[str]:
    """Breaks of the audit log's chain, and releases whose files no longer match the hashes
    the log recorded when they were released (a purged release is gone, not changed)."""
    problems = review.log.verify()
    export_dir = default_export_dir(export_dir)
    from wse_impact.release.export import read_release_log

    purged = {e.get("folder") for e in read_release_log(review.restricted) if e.get("event") == "purge"}
    for entry in review.log.entries():
        if entry.get("event") != "release":
            continue
        folder = export_dir / entry["folder"]
        if not folder.exists():
            if entry["folder"] not in purged:
                problems.append(f"release of {entry['request']} ({entry['folder']}): the folder is missing, not purged")
            continue
        now = {p.name: sha256_of(p) for p in sorted(folder.iterdir())}
        for name in sorted(set(now) | set(entry["files"])):
            if now.get(name) != entry["files"].get(name):
                problems.append(f"release of {entry['request']} ({entry['folder']}): {name} "
                                + ("added" if name not in entry["files"] else "missing" if name not in now else "changed"))
    return problems

