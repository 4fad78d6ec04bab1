"""The review's commands as clients of the release service: standard library only, so that
any account's Python runs them (`python3 -m wse_impact.review.client`, or this one file).

They send what the caller asks over the service's Unix socket (`$WSE_RELEASE_SOCKET`, else
/run/wse-release/release.sock) and print the answer; the service takes the caller's identity
from the kernel. A refusal of any kind is one line on stderr and exit code 2.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import socket
import sys

DEFAULT_SOCKET = "/run/wse-release/release.sock"
TIMEOUT_SECONDS = 1800  # a request runs the disclosure gate: minutes at most, at scale 1.0 seconds


class ServiceRefused(RuntimeError):
    """The service said no, or could not be reached; one line."""


class _UnixConnection(http.client.HTTPConnection):
    def __init__(self, socket_path: str, timeout: float):
        super().__init__("wse-release", timeout=timeout)
        self.socket_path = socket_path

    def connect(self):
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        sock.settimeout(self.timeout)
        sock.connect(self.socket_path)
        self.sock = sock


def connection_to(socket_path: str | None = None) -> http.client.HTTPConnection:
    """An HTTP connection to the service's socket: the argument, $WSE_RELEASE_SOCKET, or the default."""
    return _UnixConnection(socket_path or os.environ.get("WSE_RELEASE_SOCKET") or DEFAULT_SOCKET, TIMEOUT_SECONDS)


def call(method: str, path: str, body: dict | None = None, socket_path: str | None = None) -> dict:
    connection = connection_to(socket_path)
    socket_path = connection.socket_path
    try:
        data = json.dumps(body).encode("utf-8") if body is not None else None
        connection.request(method, path, body=data, headers={"Content-Type": "application/json"} if data else {})
        response = connection.getresponse()
        answer = json.loads(response.read() or b"{}")
    except (FileNotFoundError, ConnectionRefusedError) as error:
        raise ServiceRefused(f"the release service is not running at {socket_path} ({error.strerror}); "
                             "set WSE_RELEASE_SOCKET or ask the data custodian") from error
    except PermissionError as error:
        raise ServiceRefused(f"no access to the release service's socket {socket_path}") from error
    except (OSError, http.client.HTTPException, ValueError) as error:
        raise ServiceRefused(f"the release service at {socket_path} did not answer properly: {error}") from error
    finally:
        connection.close()
    if response.status != 200:
        raise ServiceRefused(answer.get("error") or f"refused ({response.status})")
    return answer


# --- the commands -----------------------------------------------------------------------------

def _request(args) -> str:
    if args.status:
        lines = []
        for entry in call("GET", "/v1/requests/mine", socket_path=args.socket)["requests"]:
            suppressed = "; ".join(f"{k}: {v} suppressed" for k, v in entry.get("suppressed", {}).items())
            lines.append(f"{entry['request']}: {entry['status']}, {entry['approvals']} approval(s)"
                         + (f" ({suppressed})" if suppressed else ""))
        return "\n".join(lines) or "no request yet"
    aggregates = []
    if args.aggregate:
        if not (args.sql_file and args.dimensions):
            raise ServiceRefused("--aggregate needs --sql-file and --dimensions")
        try:
            with open(args.sql_file, encoding="utf-8") as handle:
                sql = handle.read()
        except OSError as error:
            raise ServiceRefused(f"cannot read {args.sql_file}: {error.strerror}") from error
        aggregates.append({"name": args.aggregate, "sql": sql,
                           "dimensions": [d.strip() for d in args.dimensions.split(",") if d.strip()]})
    answer = call("POST", "/v1/requests", {"outputs": args.output or [], "aggregates": aggregates,
                                           "round_to": args.round_to}, socket_path=args.socket)
    for warning in answer.get("warnings", []):
        print(f"wse-impact request: warning: {warning}", file=sys.stderr)
    return (f"Request {answer['request']}: checked by the disclosure gate, waiting for {answer['approvals_required']} "
            "custodians' approval. See it with `wse-impact request --status`.")


def _review(args) -> str:
    if args.web:
        from wse_impact.review import relay

        relay.run(args.socket, args.port)
        return "stopped"
    if args.action in (None, "list"):
        answer = call("GET", "/v1/requests", socket_path=args.socket)
        return "\n".join(f"{e['request']}: {e['status']}, by {e['requester']}, approved by "
                         f"{', '.join(e['approvals']) or 'nobody yet'} ({len(e['approvals'])} of "
                         f"{answer['approvals_required']})" for e in answer["requests"]) or "no request waiting"
    if not args.request:
        raise ServiceRefused(f"review {args.action} needs a request id")
    if args.action == "show":
        return json.dumps(call("GET", f"/v1/requests/{args.request}", socket_path=args.socket), indent=2)
    entry = call("POST", f"/v1/requests/{args.request}/decision",
                 {"approve": args.action == "approve", "comment": args.comment}, socket_path=args.socket)
    return f"{args.request}: {entry['event']} by {entry['user']} recorded (audit log entry {entry['seq']})"


def _release(args) -> str:
    return f"{args.request} released to {call('POST', f'/v1/requests/{args.request}/release', {}, args.socket)['folder']}"


def _audit(args) -> str:
    problems = call("GET", "/v1/audit", socket_path=args.socket)["problems"]
    if problems:
        raise AuditFailed(problems)
    return "Audit log whole; every release present matches its record."


def _purge(args) -> str:
    purged = call("POST", "/v1/purge", {}, socket_path=args.socket)["purged"]
    return "\n".join(f"purged {name}" for name in purged) or "nothing to purge"


class AuditFailed(RuntimeError):
    def __init__(self, problems: list[str]):
        self.problems = problems
        super().__init__("The audit log or a release does not match its record:\n"
                         + "\n".join(f"  - {p}" for p in problems))


def add_commands(sub) -> None:
    """The review's subcommands, for `wse-impact` and for this module run on its own."""
    where = {"default": None, "help": f"the service's socket (default: $WSE_RELEASE_SOCKET or {DEFAULT_SOCKET})"}
    req = sub.add_parser("request", help="researcher: ask for outputs to be released; the release service runs the "
                                         "disclosure gate now and keeps what would leave for the custodians")
    req.add_argument("--output", action="append", metavar="MODEL", help="an output model of the research database")
    req.add_argument("--aggregate", metavar="NAME", help="a researcher's own aggregate, named")
    req.add_argument("--sql-file", help="its SQL over the research database: rows with person_id and the dimensions")
    req.add_argument("--dimensions", help="comma-separated columns to group by (the tool counts distinct persons)")
    req.add_argument("--round-to", type=int, default=None, metavar="BASE", help="round published counts to BASE (e.g. 5)")
    req.add_argument("--status", action="store_true", help="list your own requests and their status")
    req.add_argument("--socket", **where)
    req.set_defaults(func=_run, action_of=_request, command_name="request")

    rev = sub.add_parser("review", help="custodian: list pending requests, show one, approve or reject it")
    rev.add_argument("action", nargs="?", choices=["list", "show", "approve", "reject"], default="list")
    rev.add_argument("request", nargs="?", help="request id, e.g. R0001")
    rev.add_argument("--comment", default="", help="why (required to approve or reject)")
    rev.add_argument("--web", action="store_true", help="open the review's pages: a page on 127.0.0.1 that acts as "
                                                        "you, its first URL printed with a one-time token")
    rev.add_argument("--port", type=int, default=0, help="with --web: the port (default: a free one)")
    rev.add_argument("--socket", **where)
    rev.set_defaults(func=_run, action_of=_review, command_name="review")

    rel = sub.add_parser("release", help="release an approved request, unchanged since approval, to exports/<date>/")
    rel.add_argument("request", help="request id, e.g. R0001")
    rel.add_argument("--socket", **where)
    rel.set_defaults(func=_run, action_of=_release, command_name="release")

    aud = sub.add_parser("audit", help="check the audit log's chain, the release log and every release folder "
                                       "against the record; exit 1 naming what was edited, removed or added")
    aud.add_argument("--socket", **where)
    aud.set_defaults(func=_run, action_of=_audit, command_name="audit")

    purge = sub.add_parser("purge", help="custodian: delete the released folders once the retention date has passed")
    purge.add_argument("--socket", **where)
    purge.set_defaults(func=_run, action_of=_purge, command_name="purge")


def _run(args) -> int:
    try:
        print(args.action_of(args))
    except AuditFailed as failed:
        print(failed, file=sys.stderr)
        return 1
    except ServiceRefused as refused:
        print(f"wse-impact {args.command_name}: {refused}", file=sys.stderr)
        return 2
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="wse-impact", description=__doc__)
    add_commands(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(argv)
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
