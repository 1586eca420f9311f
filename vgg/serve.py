"""Watch it paint: a live page in the browser for a running stylization (stylize.py --serve).

    live = LivePage.open(8000, settings={"size": 256, ...})      # binds the port, serves
    for report in stylization.reports():
        live.report(report, stylization)     # cheap: hands the server a snapshot, never waits
    live.close(status, "out.png", image)     # how it ended, to the page; then the port is freed

The page (vgg/serve_page.py) polls two routes and draws the rest itself:

    GET /            the page: HTML with its script and style inline (no CDN, nothing external)
    GET /state.json  the run: step, evaluations, the weighted loss curves, each layer's own
                     term, the settings, and at the end how the run ended and where it saved
    GET /image.png   the latest image, as PNG (its number in the X-Image-Version header)
    GET /inputs.json the photo and the paintings as small thumbnails (data: URLs) with their
                     file names, once the run has loaded them (state.json's "inputs" says so)

Everything is served from memory; no file is ever read from disk. The design keeps two
promises, one to the run and one to the machine:

The optimiser never waits on the server. The run and the server share one small slot
(Board) behind a lock that each side holds only to swap references. The run puts in
the numbers of each step and, at most every IMAGE_SECONDS, a copy of the image as a
PIL image (deprocessing is about a millisecond at 256 px); the server thread encodes
the PNG and the JSON itself, once per version, outside the lock.

Only the loopback address, only the fixed routes: vgg/serve_http.py, the standard
library's http.server on its own thread, on 127.0.0.1, with limits on every request.
"""
import base64
import io
import json
import math
import os
import sys
import threading
import time
import webbrowser

from .console import Stop
from .serve_http import HOST, Server

IMAGE_SECONDS = 0.5      # the run copies its image for the page at most this often
LINGER_SECONDS = 3.0     # at the end, how long a watching page gets to fetch the final state


def finite(v):
    """A float for JSON, None for NaN and infinities (which JSON cannot carry)."""
    v = float(v)
    return v if math.isfinite(v) else None


# ----------------------------------------------------------------------------- the slot

LOADING = {"state": "loading", "message": "loading the network and the images", "saved": None}
RUNNING = {"state": "running", "message": "painting: each step moves the image down the loss",
           "saved": None}


class Board:
    """The one thing the run and the server share: the run's latest state, behind a lock.

    The run (report, finish) writes; the server threads (state, png) read. Each side
    holds the lock only to copy or swap references; JSON and PNG are made outside it.
    """

    def __init__(self, settings):
        self._lock = threading.Lock()
        self._encode = threading.Lock()               # server threads only: one encoder at a time
        self.settings = settings
        self.weights = {"content": settings.get("content_weight", 1.0),
                        "style": settings.get("style_weight", 1.0),
                        "tv": settings.get("tv_weight", 1.0)}
        self.total = settings.get("iters", 0) * settings.get("scales", 1)
        self.version = self.image_version = 0
        self.now = {"step": 0, "evals": 0, "scale": 0, "seconds": 0.0, "loss": None, "layers": {}}
        self.curves = {"evals": [], "content": [], "style": [], "tv": [], "total": []}
        self.layer_max = {}                           # each layer's largest term so far
        self.run = LOADING                            # then RUNNING, then how it ended
        self.image = None                             # PIL image, a copy the run no longer touches
        self._json = (-1, b"")                        # (version, bytes): made once per version
        self._png = (-1, b"")
        self.last_request = 0.0                       # time.monotonic() of the page's last request
        self.final_image = None                       # the final image's version, once ended
        self.final_served = threading.Event()         # the page has fetched the end
        self.inputs = b"{}"                           # /inputs.json, once the images are loaded
        self.has_inputs = False

    # -- the run's side (main thread)

    def report(self, r, image=None):
        """One optimiser step (vgg/run.py's Report); image: a PIL copy, or None to keep the last."""
        w = self.weights
        point = {"evals": r.evals, "content": finite(w["content"] * r.terms["content"]),
                 "style": finite(w["style"] * r.terms["style"]), "tv": finite(w["tv"] * r.terms["tv"]),
                 "total": finite(r.loss)}
        layers = {kind: {name: finite(v) for name, v in terms.items()}
                  for kind, terms in r.layers.items()}
        with self._lock:
            for key, value in point.items():
                self.curves[key].append(value)
            for kind, terms in layers.items():
                for name, v in terms.items():
                    key = f"{kind} {name}"
                    if v is not None and v > self.layer_max.get(key, 0.0):
                        self.layer_max[key] = v
            self.now = {"step": r.step, "evals": r.evals, "scale": r.scale, "seconds": r.seconds,
                        "loss": finite(r.loss), "layers": layers}
            self.run = RUNNING
            if image is not None:
                self.image, self.image_version = image, self.image_version + 1
            self.version += 1

    def show_inputs(self, inputs):
        """The thumbnails of the photo and the paintings (thumbnails()), made by the run once."""
        body = json.dumps(inputs).encode()
        with self._lock:
            self.inputs, self.has_inputs = body, True
            self.version += 1

    def finish(self, state, message, image=None, saved=None):
        """The end of the run: how it ended, its final image and where that was saved."""
        with self._lock:
            self.run = {"state": state, "message": message, "saved": saved}
            if image is not None:
                self.image, self.image_version = image, self.image_version + 1
            self.final_image = self.image_version if image is not None else None
            self.version += 1

    # -- the server's side (its threads)

    def state(self):
        """The page's /state.json, as bytes (JSON), made once per version."""
        with self._lock:
            version, cached = self._json
            if version == self.version:
                return cached
            version = self.version
            snapshot = {"run": dict(self.run), "settings": self.settings, "total": self.total,
                        "inputs": self.has_inputs,
                        "weights": self.weights, "image": self.image_version, **self.now,
                        "curves": {k: list(v) for k, v in self.curves.items()},
                        "layer_max": dict(self.layer_max)}
        body = json.dumps(snapshot, allow_nan=False).encode()
        with self._lock:
            if version > self._json[0]:
                self._json = (version, body)
        return body

    def png(self):
        """(version, PNG bytes) of the latest image, encoded once per version; (0, None) if none yet."""
        with self._encode:                            # the run never takes this lock
            with self._lock:
                version, image = self.image_version, self.image
                if self._png[0] == version:
                    return self._png
            if image is None:
                return 0, None
            buffer = io.BytesIO()
            image.save(buffer, format="PNG", compress_level=0)   # stored: half the time of level 1,
                                                                 # and it only crosses loopback
            with self._lock:
                self._png = (version, buffer.getvalue())
                return self._png


# ----------------------------------------------------------------------------- the run's handle

ENDINGS = {0: ("done", "done"),                       # stylize.py's exit status: the state
           130: ("interrupted", "interrupted (Ctrl-C)"),  # and what the page says
           143: ("stopped", "stopped (SIGTERM)"),
           129: ("stopped", "stopped (SIGHUP: the terminal was closed)"),
           131: ("stopped", "stopped (SIGQUIT)"),
           152: ("stopped", "stopped (SIGXCPU: the CPU-time limit)"),
           1: ("stopped", "stopped on an error (the terminal says which)")}
THUMBNAIL = 160          # longest side of the inputs' thumbnails on the page, pixels


def thumbnails(stylization, settings):
    """{"content": {"name", "src"} or None, "styles": [...]}: the run's photo and paintings,
    small, as data: URLs (JPEG), with the file names the user gave."""
    def one(image, name):
        small = image.copy()
        small.thumbnail((THUMBNAIL, THUMBNAIL))
        buffer = io.BytesIO()
        small.save(buffer, format="JPEG", quality=85)
        return {"name": os.path.basename(str(name)), "path": str(name),
                "src": "data:image/jpeg;base64," +
                base64.b64encode(buffer.getvalue()).decode()}
    content = stylization.content
    names = settings.get("style") or []
    return {"content": one(content, settings.get("content")) if content is not None else None,
            "styles": [one(image, name) for image, name in zip(stylization.styles, names)]}


class LivePage:
    """The live page of one run: open before loading, report each step, close at the end."""

    def __init__(self, server):
        self.server, self.board = server, server.board
        self.url = f"http://{HOST}:{server.server_address[1]}/"
        self.stylization = None
        self.next_image = 0.0
        self.thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.2},
                                       name="live page", daemon=True)
        self.thread.start()

    @classmethod
    def open(cls, port, settings):
        """Bind 127.0.0.1:port (0: any free port) and serve; OSError if it cannot be bound.

        settings: what the page lists (JSON-able; content_weight, style_weight, tv_weight,
        iters and scales are also used to weight the curves)."""
        return cls(Server(port, Board(settings)))

    def open_browser(self):
        """Open the page in the user's browser, in the background; False where no desktop is
        found (there webbrowser would start a console browser that takes over the terminal)."""
        if sys.platform.startswith(("linux", "freebsd", "openbsd")) and \
                not (os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY")):
            return False
        threading.Thread(target=webbrowser.open, args=(self.url,), daemon=True).start()
        return True

    def report(self, r, stylization):
        """One step of the run: its numbers every time, a copy of its image at most every
        IMAGE_SECONDS. Called by the run's thread; takes the Board's lock only to swap."""
        if self.stylization is None:
            self.board.show_inputs(thumbnails(stylization, self.board.settings))
        self.stylization = stylization
        image = None
        if time.monotonic() >= self.next_image:
            image = stylization.image(r.image)        # a fresh PIL image: the run may move on
            self.next_image = time.monotonic() + IMAGE_SECONDS
        self.board.report(r, image)

    def close(self, status, saved=None, image=None):
        """Tell the page how the run ended (status: stylize.py's exit status, None for an
        error it raised; saved: where the result went, image: that result as a PIL image),
        let a watching page fetch that for up to LINGER_SECONDS, then stop and free the port."""
        try:
            self.finish(status, saved, image)
            if time.monotonic() - self.board.last_request < 2.0:      # a page is watching
                self.board.final_served.wait(LINGER_SECONDS)
        except (KeyboardInterrupt, Stop):
            pass                                      # another Ctrl-C or SIGTERM: stop waiting
        finally:
            self.server.shutdown()
            self.server.server_close()                # the port is free from here on
            self.thread.join()

    def finish(self, status, saved, image):
        state, message = ENDINGS.get(status, ("failed", "stopped on an error (see the terminal)"))
        evals = self.stylization.evals if self.stylization else 0
        message += f" after {evals} evaluations" if evals else " before the first step"
        what = "the result" if status == 0 else "the image"
        message += f"; {what} is saved in {saved}" if saved else "; no image was saved"
        self.board.finish(state, message, image if saved else None, str(saved) if saved else None)
