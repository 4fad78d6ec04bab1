"""`wse-impact review --web`: the service's pages in the custodian's browser, as that custodian.

A browser cannot show kernel credentials, so the custodian starts this relay as themself: it
listens on 127.0.0.1 on a free port and passes each page on to the service's socket, where
the kernel names the relay's account, the custodian's. Only the custodian's browser may use
it (as Jupyter does): the first URL carries a one-time token, exchanged for a session cookie
(HttpOnly, SameSite=Strict) that every later request must carry; without it another account
on the machine gets 403. A request naming another host (DNS rebinding) or posted from another
origin is refused too. Standard library only, like the commands.
"""

from __future__ import annotations

import hmac
import secrets
import sys
import threading
from http.cookies import SimpleCookie
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

COOKIE = "wse_relay"
PASSED_HEADERS = ("Content-Type", "Cache-Control", "Location", "X-Frame-Options", "Content-Security-Policy",
                  "Referrer-Policy")


class Relay(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, socket_path: str | None, port: int = 0):
        super().__init__(("127.0.0.1", port), _Handler)
        self.socket_path = socket_path
        self.token = secrets.token_urlsafe(32)  # once, in the first URL
        self.session = secrets.token_urlsafe(32)  # the cookie it is exchanged for
        self.token_used = False
        self._token_lock = threading.Lock()  # two requests with the token at once: one session only

    def use_token(self, token: str) -> bool:
        """True once, for the right token."""
        with self._token_lock:
            if self.token_used or not hmac.compare_digest(token, self.token):
                return False
            self.token_used = True
            return True

    @property
    def origin(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"

    @property
    def first_url(self) -> str:
        return f"{self.origin}/?token={self.token}"


class _Handler(BaseHTTPRequestHandler):
    server: Relay

    def log_message(self, format, *args):  # quiet: the custodian's terminal shows the URL only
        pass

    def _refuse(self, status: int, text: str) -> None:
        body = f"<p>{text}</p>".encode()
        self.send_response(status)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Cache-Control", "no-store")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def _allowed(self) -> bool:
        if self.headers.get("Host") != self.server.origin.removeprefix("http://"):
            self._refuse(403, "wrong host")
            return False
        query = parse_qs(urlsplit(self.path).query)
        token = (query.get("token") or [""])[0]
        if token:
            if not self.server.use_token(token):
                self._refuse(403, "this link has been used or is not valid: start `wse-impact review --web` again")
                return False
            self.send_response(303)
            self.send_header("Set-Cookie", f"{COOKIE}={self.server.session}; HttpOnly; SameSite=Strict; Path=/")
            self.send_header("Location", "/web/")
            self.send_header("Content-Length", "0")
            self.end_headers()
            return False
        cookie = SimpleCookie(self.headers.get("Cookie") or "").get(COOKIE)
        if cookie is None or not hmac.compare_digest(cookie.value, self.server.session):
            self._refuse(403, "this page belongs to another session: open the link `wse-impact review --web` printed")
            return False
        origin = self.headers.get("Origin")
        if self.command == "POST" and origin is not None and origin != self.server.origin:
            self._refuse(403, "a form from another site")
            return False
        return True

    def _relay(self) -> None:
        if not self._allowed():
            return
        path = self.path if self.path.startswith("/web") else "/web/"
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else None
        from wse_impact.review.client import ServiceRefused, connection_to

        try:
            connection = connection_to(self.server.socket_path)
            connection.request(self.command, path, body=body,
                               headers={"Content-Type": self.headers.get("Content-Type", "text/plain")})
            response = connection.getresponse()
            data = response.read()
        except (OSError, ServiceRefused) as error:
            self._refuse(502, f"the release service did not answer: {error}")
            return
        self.send_response(response.status)
        for name in PASSED_HEADERS:
            if response.getheader(name):
                self.send_header(name, response.getheader(name))
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)
        connection.close()

    do_GET = _relay
    do_POST = _relay


def run(socket_path: str | None, port: int = 0) -> int:
    relay = Relay(socket_path, port)
    print(f"Open {relay.first_url} in your browser (the pages act as you; Ctrl-C to stop).", flush=True)
    try:
        relay.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        relay.server_close()
    return 0


if __name__ == "__main__":
    sys.exit(run(None))
