"""The live page's web server: only the loopback address, only the fixed routes.

The standard library's http.server, on its own thread, on 127.0.0.1; vgg/serve.py starts
and stops it and fills the Board it serves from. Any other request target (traversal,
%2e%2e, double encoding, a query string, an absolute URL) is a 404 because the target must
equal a route byte for byte. A Host header other than the page's own is a 404 too, so
another web site cannot reach the page by DNS rebinding. Each request gets HEAD_SECONDS to
send at most MAX_HEAD bytes of request line and headers (414 or 431 beyond), may carry no
body (413), and gets SEND_SECONDS to take the answer; at most MAX_CLIENTS connections are
served at once, the rest are closed. One request per connection. The page may run only its
own inline script and style, and talk to this server only (POLICY): the browser itself
enforces "nothing external".
"""
import base64
import hashlib
import io
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from .serve_page import PAGE, SCRIPT, STYLE

HOST = "127.0.0.1"
MAX_HEAD = 8192          # bytes: the request line and the headers together
HEAD_SECONDS = 2.0       # to send them
SEND_SECONDS = 5.0       # to take an answer
MAX_CLIENTS = 8          # connections served at once


def _sha256(text):
    return "'sha256-" + base64.b64encode(hashlib.sha256(text.encode()).digest()).decode() + "'"


# The page may run its own inline script and style (named by their hashes) and talk to
# this server only: the browser itself enforces "nothing external".

POLICY = (f"default-src 'none'; script-src {_sha256(SCRIPT)}; style-src {_sha256(STYLE)}; "
          "img-src 'self' blob: data:; connect-src 'self'; base-uri 'none'; form-action 'none'; "
          "frame-ancestors 'none'")


class Handler(BaseHTTPRequestHandler):
    """One request per connection, read with limits, answered from the Board."""
    server_version = "stylize.py"
    protocol_version = "HTTP/1.0"
    default_request_version = "HTTP/1.0"    # every answer has a status line, even to HTTP/0.9
    timeout = HEAD_SECONDS

    def handle(self):
        """Read the head within the limits, then let http.server parse it and call do_GET."""
        self.close_connection = True
        head = self.read_head()
        if head is not None:
            raw, self.rfile = self.rfile, io.BytesIO(head)
            raw.close()
            self.handle_one_request()

    def parse_request(self):
        """http.server's parser, keeping the request target exactly as sent (it would turn
        //x into /x): routes are matched against that, byte for byte."""
        words = self.raw_requestline.split()
        self.target = words[1].decode("latin-1") if len(words) >= 2 else ""
        return super().parse_request()

    def read_head(self):
        """The request line and headers: at most MAX_HEAD bytes within HEAD_SECONDS, else None."""
        deadline, head = time.monotonic() + HEAD_SECONDS, b""
        while b"\r\n\r\n" not in head and b"\n\n" not in head:
            left = deadline - time.monotonic()
            if left <= 0:
                return None                           # too slow: drop the connection
            self.connection.settimeout(left)
            try:
                chunk = self.connection.recv(4096)
            except OSError:
                return None
            if not chunk:
                return None                           # the client hung up
            head += chunk
            if len(head) > MAX_HEAD:
                self.refuse(414 if b"\n" not in head else 431)
                return None
        return head

    def refuse(self, code):
        """An error answer before (or instead of) parsing the request."""
        self.request_version, self.command, self.requestline = "HTTP/1.0", "GET", ""
        self.send_error(code)

    def do_HEAD(self):
        self.do_GET()

    def do_GET(self):
        board, port = self.server.board, self.server.server_address[1]
        host = self.headers.get("Host")
        if host is not None and host not in (f"{HOST}:{port}", f"localhost:{port}"):
            return self.send_error(404)               # another site's name for this address
        if self.headers.get("Content-Length", "0").strip() != "0" or "Transfer-Encoding" in self.headers:
            return self.send_error(413)               # these routes take no body
        board.last_request = time.monotonic()
        if self.target == "/":
            self.answer(PAGE.encode(), "text/html; charset=utf-8")
        elif self.target == "/state.json":
            body = board.state()
            self.answer(body, "application/json")
            if board.final_image is None and board.run["state"] not in ("loading", "running"):
                board.final_served.set()              # ended without an image: the state is all
        elif self.target == "/inputs.json":
            self.answer(board.inputs, "application/json")
        elif self.target == "/image.png":
            version, body = board.png()
            if body is None:
                return self.send_error(404)           # no image yet
            self.answer(body, "image/png", {"X-Image-Version": str(version)})
            if version == board.final_image:
                board.final_served.set()
        else:
            self.send_error(404)

    def answer(self, body, kind, extra=()):
        self.connection.settimeout(SEND_SECONDS)
        self.send_response(200)
        for name, value in [("Content-Type", kind), ("Content-Length", str(len(body))),
                            ("Cache-Control", "no-store"), ("X-Content-Type-Options", "nosniff"),
                            ("Content-Security-Policy", POLICY), ("Referrer-Policy", "no-referrer"),
                            *dict(extra).items()]:
            self.send_header(name, value)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def send_error(self, code, message=None, explain=None):
        self.connection.settimeout(SEND_SECONDS)
        super().send_error(code, message, explain)

    def version_string(self):
        return self.server_version                    # no Python version for the world to see

    def log_message(self, format, *args):
        pass                                          # the terminal shows the progress bar


class Server(ThreadingHTTPServer):
    """http.server on 127.0.0.1, a thread per connection, at most MAX_CLIENTS at once."""
    daemon_threads = True          # a stuck connection never keeps the process alive ...
    block_on_close = False         # ... nor delays the end of the run

    def __init__(self, port, board):
        self.board = board
        self.slots = threading.BoundedSemaphore(MAX_CLIENTS)
        super().__init__((HOST, port), Handler)       # binds now: a port in use raises OSError

    def process_request(self, request, client_address):
        if not self.slots.acquire(blocking=False):
            self.shutdown_request(request)            # too many at once: close the newcomer
            return
        super().process_request(request, client_address)

    def process_request_thread(self, request, client_address):
        try:
            super().process_request_thread(request, client_address)
        finally:
            self.slots.release()

    def handle_error(self, request, client_address):
        """A client that hung up or timed out is not an error; anything else is a bug: one line."""
        error = sys.exc_info()[1]
        if not isinstance(error, OSError):
            print(f"stylize.py: warning: the live page failed to answer: {error!r}", file=sys.stderr)
