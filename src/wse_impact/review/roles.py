"""Who may act (after Airlock's `permissions.py`), and the policy the service acts on.

The policy is the service's own file (`policy.yml` in its state folder, mode 0600): the
roles, the approvals a release needs, the retention date, the disclosure rules and, for a
test only, the date the service takes as today. `dbt_project.yml`'s vars seed it once
(`wse-impact serve --init`); after that nothing a client sends, nor any file in a client's
working directory, can change it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from enum import StrEnum
from pathlib import Path

import yaml

POLICY_FILE = "policy.yml"
DEFAULT_APPROVALS_REQUIRED = 2


class ReviewRefused(RuntimeError):
    """A step of the review that may not be taken; the message says why, in one line for
    the caller (details for custodians go to the audit log)."""


class Role(StrEnum):
    RESEARCHER = "researchers"
    CUSTODIAN = "custodians"


@dataclass(frozen=True)
class Policy:
    researchers: frozenset[str]
    custodians: frozenset[str]
    approvals_required: int = DEFAULT_APPROVALS_REQUIRED
    retain_until: date | None = None
    disclosure_rules: dict = field(default_factory=dict)  # DisclosureRules' parameters, beyond its defaults
    today: date | None = None  # a test's fixed date; never set in production

    def __post_init__(self):
        if self.approvals_required < 1:
            raise ValueError("approvals_required must be at least 1")

    @classmethod
    def read(cls, path: Path) -> "Policy":
        doc = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        as_date = lambda v: v if isinstance(v, date) or v is None else date.fromisoformat(str(v))  # noqa: E731
        return cls(researchers=frozenset(str(u) for u in doc.get("researchers") or ()),
                   custodians=frozenset(str(u) for u in doc.get("custodians") or ()),
                   approvals_required=int(doc.get("approvals_required", DEFAULT_APPROVALS_REQUIRED)),
                   retain_until=as_date(doc.get("retain_until")),
                   disclosure_rules=dict(doc.get("disclosure_rules") or {}),
                   today=as_date(doc.get("today")))

    def write(self, path: Path) -> None:
        doc = {"researchers": sorted(self.researchers), "custodians": sorted(self.custodians),
               "approvals_required": self.approvals_required,
               "retain_until": self.retain_until.isoformat() if self.retain_until else None,
               "disclosure_rules": self.disclosure_rules}
        if self.today:
            doc["today"] = self.today.isoformat()
        path.write_text(yaml.safe_dump(doc, sort_keys=False), encoding="utf-8")

    def date_today(self) -> date:
        return self.today or date.today()

    def has_role(self, user: str, role: Role) -> bool:
        return user in (self.researchers if role is Role.RESEARCHER else self.custodians)

    def require(self, user: str, *roles: Role) -> None:
        if not any(self.has_role(user, role) for role in roles):
            names = " or ".join(f"one of the {role.value}" for role in roles)
            raise ReviewRefused(f"{user} is not {names} of the release service")


# who may do what: every command checks one of these before it reads or writes anything
def check_user_can_request(policy: Policy, user: str) -> None:
    policy.require(user, Role.RESEARCHER)


def check_user_can_review(policy: Policy, user: str) -> None:
    policy.require(user, Role.CUSTODIAN)


def check_user_can_release(policy: Policy, user: str) -> None:
    policy.require(user, Role.CUSTODIAN, Role.RESEARCHER)


def check_user_can_audit(policy: Policy, user: str) -> None:
    policy.require(user, Role.CUSTODIAN, Role.RESEARCHER)


def check_user_can_purge(policy: Policy, user: str) -> None:
    policy.require(user, Role.CUSTODIAN)


def check_user_can_decide(policy: Policy, user: str, request_id: str, status: dict) -> None:
    """A custodian other than the requester, who has not decided on this request yet."""
    check_user_can_review(policy, user)
    if user == status["requester"]:
        raise ReviewRefused(f"{user} made request {request_id} and may not decide on it")
    if any(e["user"] == user and e["event"] in ("approve", "reject") for e in status["events"]):
        raise ReviewRefused(f"{user} has already decided on request {request_id}")
