"""The release service's pages (issue 20): custodians check a request where they can see it.

Plain WSGI and Jinja2 templates (`templates/`), served by the service's own peer-credential
server, so a page knows its reader the way every command does: from the kernel (a browser
reaches the socket through `relay.py`, started by the custodian as themself). Why not Django
or Starlette: the identity comes from `SO_PEERCRED` on a Unix socket, which neither's server
gives; a WSGI application behind the service's own server keeps that path a few lines long,
and the pages need no database of their own. Every page works without JavaScript.

Custodians: the requests waiting; one request with each table rendered (dimensions as row
and column headers where there is one count), suppressed cells marked with their rule and
reason, the audit's intervals, the researcher's SQL, the plot, what differs from the last
release of the same output, the history; approve or reject with a comment, release once
approved (never the buttons on one's own request). Researchers: their own requests, status
and what was suppressed, never a true count or a per-cell reason. Forms carry a token only
the service can compute for that reader and action (cross-site request forgery), and no page
may be cached.
"""

from __future__ import annotations

import csv
import hmac
import io
import json
import re
from pathlib import Path
from urllib.parse import parse_qs

from jinja2 import Environment, FileSystemLoader, select_autoescape

from wse_impact.review.roles import ReviewRefused, Role
from wse_impact.review.states import ALLOWED_IN, AuditEvent

TEMPLATES = Environment(loader=FileSystemLoader(Path(__file__).parent / "templates"),
                        autoescape=select_autoescape(["html"]))
MAX_PIVOT_COLUMNS = 15
DONE = {"approve": "Your approval is recorded.", "reject": "Your rejection is recorded.",
        "release": "Released to the export folder."}
# a new list per response: wsgiref adds Content-Length to the list it is given
HTML_HEADERS = [("Content-Type", "text/html; charset=utf-8"), ("Cache-Control", "no-store"),
                ("X-Frame-Options", "DENY"), ("Content-Security-Policy", "default-src 'self'; style-src 'unsafe-inline'"),
                ("Referrer-Policy", "same-origin")]


def handle(service, environ, start_response, user: str) -> list[bytes]:
    """The /web/ pages, for `user` (the kernel's name of the caller)."""
    method, path = environ["REQUEST_METHOD"], environ.get("PATH_INFO", "")
    query = parse_qs(environ.get("QUERY_STRING", ""))
    try:
        if method == "GET" and path in ("/web", "/web/"):
            return _page(start_response, "requests.html", _requests_page(service, user, query))
        if method == "GET" and path == "/web/audit":
            return _page(start_response, "audit.html", _audit_page(service, user))
        match = re.fullmatch(r"/web/requests/(R\d+)(/plot\.png|/decision|/release)?", path)
        if match and method == "GET" and match.group(2) is None:
            return _page(start_response, "request.html", _request_page(service, user, match.group(1), query))
        if match and method == "GET" and match.group(2) == "/plot.png":
            return _plot(service, user, match.group(1), start_response)
        if match and method == "POST" and match.group(2) in ("/decision", "/release"):
            return _post(service, user, match.group(1), match.group(2)[1:], environ, start_response)
        start_response("404 Not Found", list(HTML_HEADERS))
        return [b"<p>No such page.</p>"]
    except ReviewRefused as refused:
        start_response("403 Forbidden" if "is not one of" in str(refused) else "409 Conflict", list(HTML_HEADERS))
        return [TEMPLATES.get_template("base.html").render(user=user, custodian=False, message=str(refused)).encode()]


def csrf_token(service, user: str, request_id: str, action: str) -> str:
    return service.store.token(f"csrf:{user}:{request_id}:{action}")


def _page(start_response, template: str, context: dict) -> list[bytes]:
    start_response("200 OK", list(HTML_HEADERS))
    return [TEMPLATES.get_template(template).render(**context).encode("utf-8")]


def _common(service, user: str, query: dict) -> dict:
    return {"user": user, "custodian": service.policy.has_role(user, Role.CUSTODIAN),
            "message": DONE.get((query.get("done") or [""])[0]), "required": service.policy.approvals_required}


def _requests_page(service, user: str, query: dict) -> dict:
    context = _common(service, user, query)
    if not context["custodian"] and not service.policy.has_role(user, Role.RESEARCHER):
        raise ReviewRefused(f"{user} is not one of the researchers or custodians of the release service")
    context["waiting"], context["mine"] = [], None
    if context["custodian"]:
        entries = {e["request"]: e for e in service.store.entries() if e["event"] == AuditEvent.REQUEST}
        for pending in service.pending_requests(user):
            report = _released_report(service, pending["request"])
            context["waiting"].append({
                **pending, "at": entries[pending["request"]]["at"], "outputs": sorted(report["outputs"]),
                "cells": sum(o["cells"] for o in report["outputs"].values()),
                "suppressed": sum(o["cells_suppressed"] for o in report["outputs"].values())})
    if service.policy.has_role(user, Role.RESEARCHER):
        context["mine"] = service.requests_of(user)
    return context


def _released_report(service, request_id: str) -> dict:
    return json.loads((service.staged_dir(request_id) / "checking_report.json").read_text())


def _request_page(service, user: str, request_id: str, query: dict) -> dict:
    described = service.describe_request(user, request_id)  # custodians only
    status = described["status"]
    custodian_report = described["custodian_report"]
    staged = service.staged_dir(request_id)
    decided = any(e["user"] == user and e["event"] in (AuditEvent.APPROVE, AuditEvent.REJECT)
                  for e in described["history"])
    own = user == status["requester"]
    last_release = _last_release_differences(service, request_id, described)
    tables = [dict(_rendered_table(name, text, custodian_report["outputs"][name]),
                   differences=last_release.get(name, []))
              for name, text in described["outputs"].items()]
    return {**_common(service, user, query), "request_id": request_id, "status": status,
            "asked_at": described["history"][0]["at"], "record": described["request"], "tables": tables,
            "intervals": custodian_report["audit"]["intervals"], "history": described["history"],
            "plot": (staged / "employment_around_measure.png").exists(), "own_request": own,
            "can_decide": not own and not decided and status["status"] in ALLOWED_IN[AuditEvent.APPROVE],
            "can_release": status["status"] in ALLOWED_IN[AuditEvent.RELEASE],
            "csrf_decision": csrf_token(service, user, request_id, "decision"),
            "csrf_release": csrf_token(service, user, request_id, "release")}


def _last_release_differences(service, request_id: str, described: dict) -> dict[str, list[str]]:
    """Per output, how its true counts differ from the last release that held it."""
    releases = service.store.release_log()
    found = {}
    for name in described["outputs"]:
        last = next((r for r in reversed(releases) if name in r.get("cells", {})), None)
        if last is not None:
            found[name] = [line for line in described["differences_with_earlier_releases"]
                           if line.startswith(f"{name} ") and f"release of {last['export_date']}" in line] \
                or [f"the same true counts as the release of {last['export_date']}"]
    return found


def _rendered_table(name: str, text: str, checked: dict) -> dict:
    """A staged CSV as rows of cells, the suppressed ones marked with why; pivoted on the last
    dimension when the output has one count and several dimensions."""
    spec = checked["spec"]
    dims, count = list(spec["dimensions"]), spec["count"]
    rows = list(csv.DictReader(io.StringIO(text)))
    header = list(rows[0]) if rows else [*dims, count]
    why = {(tuple(str(s["cell"].get(d)) for d in dims), s["column"]): (s["rule"], s["reason"])
           for s in checked.get("suppressions", [])}

    def cell(row, column):
        value = row.get(column, "")
        key = (tuple(row[d] for d in dims), column)
        if value == "" and column not in dims:
            rule, reason = why.get(key, ("suppressed", ""))
            return {"suppressed": True, "rule": rule, "why": f"{rule}: {reason}"}
        return {"value": value, "dim": column in dims}

    values = [c for c in header if c not in dims]
    # across: the last dimension with a few values, when there is one count to show
    pivot_on = next((d for d in reversed(dims) if 2 <= len({r[d] for r in rows}) <= MAX_PIVOT_COLUMNS), None) \
        if len(dims) >= 2 and values == [count] else None
    across = list(dict.fromkeys(r[pivot_on] for r in rows)) if pivot_on else []
    base = {"name": name, "cells": checked["cells"], "suppressed": checked["cells_suppressed"],
            "rules": checked.get("suppressions_by_rule", {})}
    if pivot_on:
        across.sort(key=lambda v: (v == "Total", v))
        down = [d for d in dims if d != pivot_on]
        grouped: dict[tuple, dict] = {}
        for row in rows:
            grouped.setdefault(tuple(row[d] for d in down), {})[row[pivot_on]] = row
        body = [[{"value": v, "dim": True} for v in key]
                + [cell(by[a], count) if a in by else {"value": "", "dim": False} for a in across]
                for key, by in grouped.items()]
        return {**base, "header": [*down, *[f"{pivot_on} = {a}" for a in across]], "rows": body,
                "n_dims": len(down)}
    return {**base, "header": header, "rows": [[cell(r, c) for c in header] for r in rows], "n_dims": len(dims)}


def _audit_page(service, user: str) -> dict:
    problems = service.audit(user)
    if not service.policy.has_role(user, Role.CUSTODIAN):
        raise ReviewRefused(f"{user} is not one of the custodians of the release service")
    entries, _ = service.store.read()
    return {**_common(service, user, {}), "problems": problems, "entries": entries}


def _plot(service, user: str, request_id: str, start_response) -> list[bytes]:
    service.describe_request(user, request_id)  # custodians only
    data = (service.staged_dir(request_id) / "employment_around_measure.png").read_bytes()
    start_response("200 OK", [("Content-Type", "image/png"), ("Cache-Control", "no-store")])
    return [data]


def _post(service, user: str, request_id: str, action: str, environ, start_response) -> list[bytes]:
    length = int(environ.get("CONTENT_LENGTH") or 0)
    form = parse_qs(environ["wsgi.input"].read(min(length, 65536)).decode("utf-8")) if length else {}
    token = (form.get("csrf") or [""])[0]
    if not hmac.compare_digest(token, csrf_token(service, user, request_id, action)):
        raise ReviewRefused("the form's token does not match: reload the page and try again")
    if action == "decision":
        decision = (form.get("decision") or [""])[0]
        if decision not in ("approve", "reject"):
            raise ReviewRefused("approve or reject")
        service.decide(user, request_id, approve=decision == "approve", comment=(form.get("comment") or [""])[0])
        done = decision
    else:
        service.release_request(user, request_id)
        done = "release"
    start_response("303 See Other", [("Location", f"/web/requests/{request_id}?done={done}"),
                                     ("Cache-Control", "no-store"), ("Content-Length", "0")])
    return [b""]
