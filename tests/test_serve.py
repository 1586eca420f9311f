"""stylize.py --serve (vgg/serve.py, vgg/serve_http.py): the routes, the 404s, the limits, the run never waiting,
the port freed however the run ends, and the page in a real browser (headless Chromium).

The page's server is tested in-process on a real 32 px run over random VGG weights, with
raw sockets so that every byte of a request is the test's own (no client library fixes a
path up before it leaves). The runs of stylize.py itself are subprocesses, as a user
starts them; the browser test skips where Chromium is not installed (.ci/run installs it).
"""
import io
import json
import re
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time

import numpy as np
import pytest
from PIL import Image

from vgg import serve_http
from vgg.model import VGG19
from vgg.run import Settings, Stylization
from vgg.serve import LivePage
from vgg.serve_page import PAGE

from .helpers import ROOT, quick


# ----------------------------------------------------------------------------- helpers

def exchange(port, raw, timeout=10):
    """Send raw bytes to 127.0.0.1:port; (status, headers, body) of the answer."""
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as s:
        s.sendall(raw)
        answer = b""
        while chunk := s.recv(65536):
            answer += chunk
    head, _, body = answer.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    headers = dict(line.split(": ", 1) for line in lines[1:] if ": " in line)
    return int(lines[0].split()[1]), headers, body


def get(port, target, host=None):
    host = host or f"127.0.0.1:{port}"
    return exchange(port, f"GET {target} HTTP/1.1\r\nHost: {host}\r\n\r\n".encode("latin-1"))


def port_is_closed(port):
    try:
        socket.create_connection(("127.0.0.1", port), timeout=2).close()
    except ConnectionRefusedError:
        return True
    return False


def state_of(port):
    status, _, body = get(port, "/state.json")
    assert status == 200
    return json.loads(body)


def open_run(files, extra_settings=None):
    """A real run at 32 px, its steps done, and a LivePage that has seen each of them."""
    settings = Settings(size=32, iters=3)
    stylization = Stylization(VGG19.load(files / "random.h5"), settings,
                              Image.open(files / "content.png").convert("RGB"),
                              [Image.open(files / "style.jpg").convert("RGB")])
    live = LivePage.open(0, {"size": 32, "iters": 3, "scales": 1, "content_weight": 0.1,
                             "style_weight": 1.0, "tv_weight": 0.1, **(extra_settings or {})})
    reports = []
    for r in stylization.reports():
        live.next_image = 0.0                        # every step's image, for the test
        live.report(r, stylization)
        reports.append(r)
    return live, live.server.server_address[1], stylization, reports


def close_unwatched(live):
    if live.thread.is_alive():
        live.board.last_request = 0.0                # no page watching: close at once
        live.close(0)


@pytest.fixture(scope="module")
def page(files):
    """One running page for the tests that only ask it questions."""
    opened = open_run(files)
    yield opened
    close_unwatched(opened[0])


@pytest.fixture
def run(files):
    """A page of its own, for the tests that load it or close it."""
    opened = open_run(files)
    yield opened
    close_unwatched(opened[0])


def start_stylize(*args, hooks=()):
    """stylize.py in a subprocess (under tests/hooked.py with `hooks`); (process, port) once it
    has printed its page's address."""
    program = ["-m", "tests.hooked", *hooks, "--"] if hooks else [str(ROOT / "stylize.py")]
    # -X faulthandler: a SIGABRT prints every thread's stack (ended_within says where it hung)
    p = subprocess.Popen([sys.executable, "-X", "faulthandler", *program, *map(str, args)],
                         stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                         text=True, cwd=ROOT)
    line = p.stderr.readline()
    match = re.search(r"http://127\.0\.0\.1:(\d+)/", line)
    assert match, line + p.stderr.read()
    p.said = []                                                       # the rest of its stderr
    p.drain = threading.Thread(target=lambda: p.said.extend(iter(p.stderr.readline, "")), daemon=True)
    p.drain.start()
    return p, int(match.group(1))


def ended_within(p, seconds):
    """p's exit status; if it has not ended in `seconds`, fail with its threads' stacks."""
    try:
        return p.wait(seconds)
    except subprocess.TimeoutExpired:
        p.send_signal(signal.SIGABRT)
        p.wait(30)
        p.drain.join(10)                                              # its stderr, to the end
        pytest.fail(f"still running {seconds} s later; its stderr and threads:\n" + "".join(p.said)[-6000:])


def wait_until(condition, seconds=60):
    """True once condition() holds (polled every 50 ms), False after `seconds`."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            if condition():
                return True
        except (OSError, IndexError):                    # refused, or closed unanswered: retry
            pass
        time.sleep(0.05)
    return False


def wait_for_evals(port, n, seconds=120):
    deadline = time.time() + seconds
    while time.time() < deadline:
        state = state_of(port)
        if state["evals"] >= n:
            return state
        time.sleep(0.2)
    raise AssertionError(f"fewer than {n} evaluations after {seconds} s")


# ----------------------------------------------------------------------------- routes

def test_the_three_routes_answer_from_memory(page):
    live, port, stylization, reports = page
    status, headers, body = get(port, "/")
    assert status == 200 and headers["Content-Type"].startswith("text/html")
    assert body.decode() == PAGE and "default-src 'none'" in headers["Content-Security-Policy"]
    assert headers["Cache-Control"] == "no-store"

    state = state_of(port)
    assert state["run"]["state"] == "running"
    assert state["step"] == reports[-1].step and state["evals"] == reports[-1].evals == 3
    assert state["curves"]["evals"] == [r.evals for r in reports]
    # the page's curves are the run's numbers, weighted by the same products, through JSON
    # (which writes a float so that it reads back the same): exactly equal
    assert state["curves"]["total"][-1] == reports[-1].loss
    assert state["curves"]["style"][-1] == 1.0 * reports[-1].terms["style"]
    assert state["curves"]["content"][-1] == 0.1 * reports[-1].terms["content"]
    assert set(state["layers"]["style"]) == set(Settings().style_layers)
    assert state["layers"]["content"]["conv4_2"] == reports[-1].layers["content"]["conv4_2"]

    status, headers, body = get(port, "/image.png")
    assert status == 200 and headers["Content-Type"] == "image/png"
    assert int(headers["X-Image-Version"]) == state["image"] == len(reports)
    image = Image.open(io.BytesIO(body))
    assert image.size == stylization.image(reports[-1].image).size
    assert np.array_equal(np.asarray(image), np.asarray(stylization.image(reports[-1].image)))

    status, headers, body = exchange(port, f"HEAD /state.json HTTP/1.0\r\nHost: 127.0.0.1:{port}\r\n\r\n".encode())
    assert status == 200 and body == b"" and int(headers["Content-Length"]) > 0


def test_the_page_needs_nothing_from_outside():
    for attribute in re.findall(r'(?:src|href)="([^"]*)"', PAGE):
        assert attribute.startswith("data:"), attribute
    addresses = set(re.findall(r"https?://[^\s\"'<>]+", PAGE))
    assert addresses == {"http://www.w3.org/2000/svg"}        # a namespace name, never fetched
    assert "<link" not in PAGE.replace('<link rel="icon" href="data:,">', "")
    assert "@import" not in PAGE and "url(" not in PAGE


@pytest.mark.parametrize("target", [
    "/index.html", "/STATE.JSON", "/state.json/", "/image.png?v=2", "/state.json#x", "//state.json",
    "/./state.json", "/../", "/../../../../etc/passwd", "/..%2f..%2fetc%2fpasswd", "/%2e%2e/",
    "/%2E%2E/%2E%2E/etc/passwd", "/%252e%252e/%252e%252e/etc/passwd", "/%2fetc%2fpasswd",
    "/..\\..\\windows\\win.ini", "/%00", "/vgg/serve.py", "/stylize.py", "/favicon.ico", "*",
    "state.json", "http://127.0.0.1/state.json", "http://example.com/", "/" + "a" * 4000])
def test_anything_else_is_404(page, target):
    live, port, _, _ = page
    if target.startswith("http://127.0.0.1/"):
        target = target.replace("127.0.0.1", f"127.0.0.1:{port}")
    status, headers, body = get(port, target)
    assert status == 404, target
    assert b"root:" not in body and b"import" not in body


def test_another_sites_name_for_the_address_is_404(page):
    # DNS rebinding: a web page at evil.example re-pointed to 127.0.0.1 sends its own Host.
    # Only the page's own names pass, whole: not a name that merely starts or ends like one.
    live, port, _, _ = page
    for host in (f"evil.example:{port}", f"localhost.evil.example:{port}",
                 f"127.0.0.1.evil.example:{port}", f"localhost:{port}.evil.example",
                 f"localhost:{port + 1}", "localhost", f"evil.localhost:{port}"):
        assert get(port, "/state.json", host=host)[0] == 404, host
    assert get(port, "/state.json", host=f"localhost:{port}")[0] == 200
    assert get(port, "/state.json", host=f"127.0.0.1:{port}")[0] == 200


def test_the_page_listens_on_the_loopback_address_only(page):
    live, port, _, _ = page
    assert live.server.server_address[0] == "127.0.0.1"
    assert live.url == f"http://127.0.0.1:{port}/"


def test_requests_are_size_limited(page):
    live, port, _, _ = page
    assert exchange(port, b"GET /" + b"a" * 20000 + b" HTTP/1.1\r\n\r\n")[0] == 414
    headers = b"".join(b"X-%d: %s\r\n" % (i, b"b" * 100) for i in range(100))
    assert exchange(port, b"GET / HTTP/1.1\r\n" + headers + b"\r\n")[0] == 431
    # a body is refused unread: the server answers without waiting for the megabyte
    # (a server that waited for the body would answer only at its time limit, HEAD_SECONDS:
    # well before that, on however busy a machine, is "without waiting")
    t = time.perf_counter()
    status = exchange(port, b"GET / HTTP/1.1\r\nContent-Length: 1000000\r\n\r\n")[0]
    assert status == 413 and time.perf_counter() - t < serve_http.HEAD_SECONDS / 2
    assert exchange(port, b"POST / HTTP/1.1\r\nContent-Length: 3\r\n\r\nabc")[0] == 501
    assert exchange(port, b"GET / HTTP/2.0\r\n\r\n")[0] == 505
    assert get(port, "/")[0] == 200                                      # and it still answers


def test_a_silent_client_is_dropped_after_the_time_limit(page):
    live, port, _, _ = page
    with socket.create_connection(("127.0.0.1", port)) as s:
        s.sendall(b"GET / HTTP/1.1\r\n")                                  # ... and nothing more
        s.settimeout(serve_http.HEAD_SECONDS + 60)         # dropped at its limit, however busy
        t = time.perf_counter()
        assert s.recv(100) == b""                                         # closed by the server
        assert serve_http.HEAD_SECONDS - 0.5 < time.perf_counter() - t


def test_clients_that_never_read_or_send_do_not_stall_the_run(run):
    live, port, stylization, reports = run
    # A large image, so that an answer cannot fit in the socket buffers of a client that
    # never reads; then every slot taken by clients that connect and send nothing.
    big = Image.fromarray(np.random.default_rng(0).integers(0, 256, (1500, 1500, 3), dtype=np.uint8))
    live.board.report(reports[-1], big)
    hogs = []
    reader = socket.socket()
    reader.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    reader.connect(("127.0.0.1", port))
    reader.sendall(f"GET /image.png HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n\r\n".encode())
    hogs.append(reader)
    for _ in range(serve_http.MAX_CLIENTS + 4):
        hogs.append(socket.create_connection(("127.0.0.1", port)))
    try:
        # The server takes connections in order: once it has closed the last one (no slot
        # left for it), every slot before it is held by a silent client. An event, not a sleep.
        hogs[-1].settimeout(60)
        assert hogs[-1].recv(1) == b""
        # A report that waited on the server would wait for a client's time limit (at least
        # HEAD_SECONDS); a report's own work is a few milliseconds, slower on a busy machine.
        longest = 0.0
        for _ in range(20):                              # the run goes on reporting regardless
            live.next_image = 0.0                        # with an image each time
            t = time.perf_counter()
            live.report(reports[-1], stylization)
            longest = max(longest, time.perf_counter() - t)
        assert longest < serve_http.HEAD_SECONDS / 2, f"a report waited {longest:.3f} s on the server"
        # once the silent ones have timed out, the page is served again
        assert wait_until(lambda: get(port, "/state.json")[0] == 200)
    finally:
        for s in hogs:
            s.close()
    live.board.last_request = 0.0                        # no page to linger for, so ...
    t = time.perf_counter()
    live.close(0)                                        # ... the end waits on none of them
    assert time.perf_counter() - t < serve_http.HEAD_SECONDS / 2
    assert port_is_closed(port)


def test_the_end_reaches_a_watching_page_then_the_port_closes(run):
    live, port, stylization, reports = run
    seen = {}

    watching = threading.Event()

    def page():                                          # what the page's script does
        while True:
            state = state_of(port)
            watching.set()                               # it has asked at least once
            if state["run"]["state"] != "running":
                seen["state"] = state
                status, headers, body = get(port, "/image.png")
                seen["image"] = int(headers["X-Image-Version"])
                return
            time.sleep(0.1)

    watcher = threading.Thread(target=page)
    watcher.start()
    assert watching.wait(60)                             # the page is watching: the end lingers for it
    live.close(0, "out.png", stylization.image())
    watcher.join(60)
    state = seen["state"]
    assert state["run"]["state"] == "done" and state["run"]["saved"] == "out.png"
    assert "saved in out.png" in state["run"]["message"] and "3 evaluations" in state["run"]["message"]
    assert seen["image"] == state["image"] == len(reports) + 1     # each step's, then the final
    assert port_is_closed(port)


# ----------------------------------------------------------------------------- stylize.py --serve

def test_a_served_run_ends_and_frees_its_port_with_silent_clients_connected(files, tmp_path):
    # The run waits before its first step until the clients are connected (tests/hooked.py:
    # an event, not a sleep), so a fast machine cannot end it before they arrive.
    p, port = start_stylize(*quick(files, "--iters", 8, "-o", tmp_path / "out.png",
                                   "--serve", 0, "--no-browser"), hooks=["--at", "step", "wait"])
    silent = [socket.create_connection(("127.0.0.1", port)) for _ in range(serve_http.MAX_CLIENTS + 2)]
    try:
        p.stdin.write("go\n")
        p.stdin.flush()
        assert ended_within(p, 120) == 0
        assert port_is_closed(port)                      # with those still connected
    finally:
        for s in silent:
            s.close()
    assert (tmp_path / "out.png").exists()


@pytest.mark.parametrize("extra,status,state", [((), 0, "done"),
                                                (("--optimizer", "adam", "--lr", "1e38"), 1, "stopped")])
def test_a_watching_page_learns_how_the_run_ended_and_where_it_saved(files, tmp_path, extra, status, state):
    out = tmp_path / "out.png"
    p, port = start_stylize(*quick(files, "--iters", 30, "-o", out, "--serve", 0, "--no-browser", *extra))
    last, image = None, None
    while True:                                          # what the page's script does
        try:
            last = state_of(port)
        except OSError:
            break                                        # the port has closed
        if last["run"]["state"] not in ("loading", "running"):
            image = get(port, "/image.png")
            break
        time.sleep(0.1)
    assert ended_within(p, 60) == status
    assert last["run"]["state"] == state and last["run"]["saved"] == str(out)
    assert f"saved in {out}" in last["run"]["message"]
    assert image[0] == 200 and int(image[1]["X-Image-Version"]) == last["image"]
    assert np.array_equal(np.asarray(Image.open(io.BytesIO(image[2]))), np.asarray(Image.open(out)))
    assert port_is_closed(port)


@pytest.mark.parametrize("how,status", [(signal.SIGINT, 130), (signal.SIGTERM, 143)])
def test_ctrl_c_and_sigterm_free_the_port(files, tmp_path, how, status):
    p, port = start_stylize(*quick(files, "--iters", 100000, "-o", tmp_path / "out.png",
                                   "--serve", 0, "--no-browser"))
    wait_for_evals(port, 2)
    p.send_signal(how)
    assert ended_within(p, 60) == status
    assert port_is_closed(port)
    assert (tmp_path / "out.png").exists()


def test_a_port_in_use_is_refused_before_loading(files, tmp_path):
    (tmp_path / "corrupt.h5").write_bytes(b"\x89HDF\r\n\x1a\n" + b"\0" * 100)
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        r = subprocess.run([sys.executable, str(ROOT / "stylize.py"), "--content", str(files / "content.png"),
                            "--style", str(files / "style.jpg"), "--weights", str(tmp_path / "corrupt.h5"),
                            "-o", str(tmp_path / "out.png"), "--serve", str(port), "--no-browser"],
                           capture_output=True, text=True, timeout=60, cwd=ROOT)
    assert r.returncode == 2
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"stylize.py: error: --serve {port}:"), r.stderr
    assert "in use" in lines[0] and "--serve 0" in lines[0]
    assert "weights" not in r.stderr                     # refused before the weights were read
    assert not (tmp_path / "out.png").exists()


def test_a_port_number_out_of_range_is_refused(files, tmp_path):
    r = subprocess.run([sys.executable, str(ROOT / "stylize.py"), *map(str, quick(files)),
                        "-o", str(tmp_path / "o.png"), "--serve", "70000"],
                       capture_output=True, text=True, timeout=60, cwd=ROOT)
    assert r.returncode == 2 and r.stderr.count("\n") == 1 and "--serve" in r.stderr


# ----------------------------------------------------------------------------- a real browser

def chromium():
    for name in ("chromium", "chromium-browser", "google-chrome"):
        if shutil.which(name):
            return shutil.which(name)
    pytest.skip("headless Chromium is not installed (apt-get install chromium; .ci/run does)")


def browse(browser, url, tmp_path, *extra):
    """Load url in headless Chromium and let its script run for 3 s of (virtual) time."""
    r = subprocess.run([browser, "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
                        f"--user-data-dir={tmp_path / 'chromium-profile'}", "--hide-scrollbars",
                        "--virtual-time-budget=3000", *extra, url],
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr[-2000:]
    return r.stdout


def attribute(dom, element, name):
    tag = re.search(rf'<[a-z]+ [^>]*id="{element}"[^>]*>', dom)
    assert tag, f"no #{element} in the page"
    return re.search(rf'{name}="([^"]*)"', tag.group(0)).group(1)


@pytest.mark.slow
def test_the_page_in_a_real_browser(files, tmp_path):
    browser = chromium()
    p, port = start_stylize("--content", files / "content.png", "--style", files / "style.jpg",
                            "--weights", files / "random.h5", "--size", 64, "--iters", 100000, "--quiet",
                            "-o", tmp_path / "out.png", "--serve", 0, "--no-browser")
    url = f"http://127.0.0.1:{port}/"
    try:
        wait_for_evals(port, 2)
        first = browse(browser, url, tmp_path, "--dump-dom")
        evals = int(attribute(first, "counter", "data-evals"))
        wait_for_evals(port, evals + 5)
        second = browse(browser, url, tmp_path, "--dump-dom")
        shot = tmp_path / "page.png"
        browse(browser, url, tmp_path, f"--screenshot={shot}", "--window-size=1200,850")
    finally:
        p.send_signal(signal.SIGINT)
        assert ended_within(p, 60) == 130
    assert port_is_closed(port)
    for dom in (first, second):
        assert attribute(dom, "status", "data-state") == "running"
        assert int(attribute(dom, "curves", "data-points")) >= 2          # the curves are drawn
        assert len(re.findall(r"<polyline ", dom)) >= 3                   # alpha c, beta s, tv, total
        assert int(attribute(dom, "image", "data-version")) >= 1          # the image is shown
        assert re.search(r'id="image"[^>]*src="blob:', dom)
        assert dom.count('class="bar ') == 6                              # conv4_2 and 5 style layers
        assert "conv5_1" in dom and "normalization" in dom                 # layers and settings
        assert float(attribute(dom, "left", "data-seconds")) > 0           # the time left
        assert re.search(r'id="left"[^>]*>about [^<]* left<', dom)
        assert int(attribute(dom, "inputs", "data-count")) == 2            # photo and painting
        assert len(re.findall(r'<img src="data:image/jpeg;base64,', dom)) == 2
        assert "photo: " in dom and "painting: " in dom and "content.png" in dom
    # the counter and the image advanced between the two visits
    assert int(attribute(second, "counter", "data-evals")) > evals
    assert int(attribute(second, "image", "data-version")) > int(attribute(first, "image", "data-version"))
    assert int(attribute(second, "curves", "data-points")) > int(attribute(first, "curves", "data-points"))
    picture = np.asarray(Image.open(shot).convert("RGB"), np.float32)
    assert picture.shape == (850, 1200, 3) and picture.std() > 10        # a page, not a blank


@pytest.mark.parametrize("extra", [1, 2], ids=["7 settings", "8 settings"])
def test_the_page_draws_with_a_short_last_row_of_settings(files, tmp_path, extra):
    # The settings are laid out three to a row; with 28 of them (--jitter made them so) the
    # short last row once stopped the page's script before the curves were drawn.
    browser = chromium()
    live, port, *_ = open_run(files, {f"setting_{k}": k for k in range(extra)})
    try:
        dom = browse(browser, f"http://127.0.0.1:{port}/", tmp_path, "--dump-dom")
    finally:
        close_unwatched(live)
    assert int(attribute(dom, "curves", "data-points")) >= 1
    assert all(f"setting {k}" in dom for k in range(extra))
