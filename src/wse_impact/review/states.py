"""The review's words and its transitions, declared once (after OpenSAFELY Airlock's
`enums.py` and `policies.py`).

A request's status is never stored: it is read from its audit-log events, so the record of
what happened is the only state there is.
"""

from __future__ import annotations

from enum import StrEnum


class RequestStatus(StrEnum):
    PENDING = "pending"
    APPROVED = "approved"
    REJECTED = "rejected"
    RELEASED = "released"
    REFUSED = "refused by the gate"
    UNKNOWN = "unknown"


class AuditEvent(StrEnum):
    REQUEST = "request"
    REQUEST_REFUSED = "request refused"
    APPROVE = "approve"
    REJECT = "reject"
    RELEASE = "release"
    RELEASE_REFUSED = "release refused"
    PURGE = "purge"


# which status allows which decision or release; everything else is refused
ALLOWED_IN = {
    AuditEvent.APPROVE: {RequestStatus.PENDING, RequestStatus.APPROVED},
    AuditEvent.REJECT: {RequestStatus.PENDING, RequestStatus.APPROVED},
    AuditEvent.RELEASE: {RequestStatus.APPROVED},
}

# the statuses a custodian still has to look at
OPEN = (RequestStatus.PENDING, RequestStatus.APPROVED)


def status_of(events: list[dict], approvals_required: int) -> dict:
    """A request's status from its audit events (oldest first): the requester, the content
    hash its decisions must match, and the custodians who approved that content."""
    created = next((e for e in events if e["event"] == AuditEvent.REQUEST), None)
    if created is None:
        refused = any(e["event"] == AuditEvent.REQUEST_REFUSED for e in events)
        return {"status": RequestStatus.REFUSED if refused else RequestStatus.UNKNOWN, "approvals": [],
                "events": events}
    content = created["content_sha256"]
    kinds = {e["event"] for e in events}
    approvals = sorted({e["user"] for e in events
                        if e["event"] == AuditEvent.APPROVE and e.get("content_sha256") == content})
    if AuditEvent.RELEASE in kinds:
        status = RequestStatus.RELEASED
    elif AuditEvent.REJECT in kinds:
        status = RequestStatus.REJECTED
    elif len(approvals) >= approvals_required:
        status = RequestStatus.APPROVED
    else:
        status = RequestStatus.PENDING
    return {"status": status, "requester": created["user"], "content_sha256": content, "approvals": approvals,
            "events": events}
