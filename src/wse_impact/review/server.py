"""The release service on a Unix domain socket: who is calling comes from the kernel.

A WSGI application (`application`) trusts `REMOTE_USER` from its own server only; the server
(`PeerCredentialServer`) sets it from the socket's peer credentials (`SO_PEERCRED`: the
calling process's user id, as PostgreSQL's `peer` authentication does), never from anything
the caller sends: a client's `Remote-User` header arrives as `HTTP_REMOTE_USER` and is never
read. The socket is open to every local account (mode 0666); what each may do is the policy's.
"""

from __future__ import annotations

import json
import os
import pwd
import re
import signal
import socket
import socketserver
import struct
import sys
import traceback
from wsgiref.simple_server import WSGIRequestHandler

from wse_impact.review.roles import ReviewRefused
from wse_impact.review.service import ReleaseService

MAX_BODY = 4 * 2**20  # a request names outputs and carries SQL: never megabytes


def peer_user(connection: socket.socket) -> str:
    """The account of the process at the other end of a Unix socket, from the kernel."""
    _pid, uid, _gid = struct.unpack("3i", connection.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED,
                                                                struct.calcsize("3i")))
    try:
        return pwd.getpwuid(uid).pw_name
    except KeyError:
        return f"uid:{uid}"  # an account without a name has no role


class _Handler(WSGIRequestHandler):
    def setup(self):
        super().setup()
        self.client_address = ("local", 0)  # AF_UNIX has no address; wsgiref expects one

    def get_environ(self):
        environ = super().get_environ()
        environ["REMOTE_USER"] = peer_user(self.connection)
        return environ

    def log_message(self, format, *args):  # one line per call on the service's stderr
        sys.stderr.write(f"wse-release: {self.requestline!r} {args[1] if len(args) > 1 else ''}\n")


class PeerCredentialServer(socketserver.ThreadingMixIn, socketserver.UnixStreamServer):
    daemon_threads = True
    allow_reuse_address = False
    request_queue_size = 128  # many callers at once wait in the backlog (socketserver's 5 refused the sixth)

    def __init__(self, socket_path: str, app):
        self.app = app
        self.base_environ = {"SERVER_NAME": "wse-release", "SERVER_PORT": "0", "GATEWAY_INTERFACE": "CGI/1.1",
                             "SCRIPT_NAME": "", "CONTENT_LENGTH": "", "HTTP_HOST": "wse-release"}
        super().__init__(socket_path, _Handler)
        os.chmod(socket_path, 0o666)  # every account may ask; the policy says who may act

    def get_app(self):
        return self.app


def _json(start_response, status: str, body) -> list[bytes]:
    data = json.dumps(body, default=str).encode("utf-8")
    start_response(status, [("Content-Type", "application/json"), ("Content-Length", str(len(data))),
                            ("Cache-Control", "no-store")])
    return [data]


ROUTES = [
    ("GET", r"/v1/whoami", lambda s, user, body: {"user": user}),
    ("POST", r"/v1/requests", lambda s, user, body: s.request(user, list(body.get("outputs") or []),
                                                              list(body.get("aggregates") or []),
                                                              body.get("round_to"))),
    ("GET", r"/v1/requests/mine", lambda s, user, body: {"requests": s.requests_of(user)}),
    ("GET", r"/v1/requests", lambda s, user, body: {"requests": s.pending_requests(user),
                                                    "approvals_required": s.policy.approvals_required}),
    ("GET", r"/v1/requests/(?P<rid>R\d+)", lambda s, user, body, rid: s.describe_request(user, rid)),
    ("POST", r"/v1/requests/(?P<rid>R\d+)/decision",
     lambda s, user, body, rid: s.decide(user, rid, approve=bool(body.get("approve")), comment=str(body.get("comment") or ""))),
    ("POST", r"/v1/requests/(?P<rid>R\d+)/release",
     lambda s, user, body, rid: {"folder": str(s.release_request(user, rid))}),
    ("GET", r"/v1/audit", lambda s, user, body: {"problems": s.audit(user)}),
    ("POST", r"/v1/purge", lambda s, user, body: {"purged": s.purge(user)}),
]


def make_application(service: ReleaseService):
    def application(environ, start_response):
        user = environ.get("REMOTE_USER")
        if not user:  # only our own server sets it
            return _json(start_response, "401 Unauthorized", {"error": "no caller identity"})
        method, path = environ["REQUEST_METHOD"], environ.get("PATH_INFO", "")
        if path == "/web" or path.startswith("/web/"):
            from wse_impact.review import web

            return web.handle(service, environ, start_response, user)
        for route_method, pattern, action in ROUTES:
            match = re.fullmatch(pattern, path)
            if match and route_method == method:
                break
        else:
            return _json(start_response, "404 Not Found", {"error": f"no such call: {method} {path}"})
        try:
            length = int(environ.get("CONTENT_LENGTH") or 0)
            if length > MAX_BODY:
                return _json(start_response, "413 Payload Too Large", {"error": "request body too large"})
            body = json.loads(environ["wsgi.input"].read(length) or b"{}") if length else {}
            if not isinstance(body, dict):
                raise ValueError("the body must be a JSON object")
            return _json(start_response, "200 OK", action(service, user, body, **match.groupdict()))
        except ReviewRefused as refused:
            return _json(start_response, "409 Conflict", {"error": str(refused).replace("\n", " ")})
        except (ValueError, KeyError, TypeError) as bad:
            return _json(start_response, "400 Bad Request", {"error": f"malformed call: {bad}"})
        except Exception as error:  # noqa: BLE001 - the caller gets one line, the service log the traceback
            traceback.print_exc(file=sys.stderr)
            return _json(start_response, "500 Internal Server Error",
                         {"error": f"the release service failed: {type(error).__name__}: {str(error).splitlines()[0] if str(error) else ''}"})
    return application


def serve(service: ReleaseService, socket_path: str) -> None:
    """Serve until stopped (SIGTERM / Ctrl-C), removing the socket afterwards."""
    os.umask(0o077)  # everything the service writes is its own, unless it says otherwise
    if os.path.exists(socket_path):
        probe = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            probe.connect(socket_path)
            raise SystemExit(f"wse-impact serve: a service already listens on {socket_path}")
        except (ConnectionRefusedError, FileNotFoundError):
            os.unlink(socket_path)  # a socket left by a stopped service
        finally:
            probe.close()
    server = PeerCredentialServer(socket_path, make_application(service))

    def stop(_signum, _frame):
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, stop)
    print(f"wse-release: serving on {socket_path} as {pwd.getpwuid(os.geteuid()).pw_name}", file=sys.stderr, flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
        if os.path.exists(socket_path):
            os.unlink(socket_path)
