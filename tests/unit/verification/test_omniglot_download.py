"""download:omniglot against a local HTTP server (never the internet): synthetic zips of the published layout."""

from __future__ import annotations

import hashlib
import io
import threading
import zipfile
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import numpy as np
import pytest
from PIL import Image

from deepdojo.data import download
from deepdojo.data.download import RemoteDataset, RemoteFile, load_download
from deepdojo.data.remote import DownloadError


@pytest.fixture(autouse=True)
def _own_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("DEEPDOJO_CACHE", str(tmp_path / "cache"))


def omniglot_zip(top: str, alphabets: list[str], chars: int, drawings: int = 3) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        for a in alphabets:
            for c in range(1, chars + 1):
                for k in range(1, drawings + 1):
                    img = Image.new("1", (105, 105), 1)  # white page
                    img.paste(0, (5 * c, 5 * k, 5 * c + 30, 5 * k + 30))  # a black stroke that differs per character
                    png = io.BytesIO()
                    img.save(png, "PNG")
                    z.writestr(f"{top}/{a}/character{c:02d}/{c:04d}_{k:02d}.png", png.getvalue())
    return buf.getvalue()


class Serve(BaseHTTPRequestHandler):
    files: dict[str, bytes] = {}

    def log_message(self, *args):
        pass

    def do_GET(self):
        body = self.files.get(self.path.lstrip("/"))
        if body is None:
            self.send_error(404)
            return
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


@pytest.fixture
def server():
    srv = ThreadingHTTPServer(("127.0.0.1", 0), Serve)
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    yield srv
    srv.shutdown()


def publish(monkeypatch, base: str, files: dict[str, bytes], md5s: dict[str, str] | None = None):
    Serve.files = files
    entry = RemoteDataset(files=tuple(RemoteFile(f"{base}/{n}", md5=(md5s or {}).get(n) or hashlib.md5(b).hexdigest())
                                      for n, b in files.items()), reader="omniglot")
    monkeypatch.setitem(download.CATALOGUE, "omniglot", entry)


def test_catalogue_pins_torchvisions_md5s():
    files = {f.name: f.md5 for f in download.CATALOGUE["omniglot"].files}
    assert files == {"images_background.zip": "68d2efa1b9178cc56df9314c21c6e718",
                     "images_evaluation.zip": "6b91aef0f799c5bb55b94e3f2daec811"}


def test_omniglot_downloads_and_holds_out_alphabets(server, monkeypatch):
    files = {"images_background.zip": omniglot_zip("images_background", ["Latin", "Greek"], 4),
             "images_evaluation.zip": omniglot_zip("images_evaluation", ["Tengwar"], 3)}
    publish(monkeypatch, f"http://127.0.0.1:{server.server_address[1]}", files)
    data = load_download("omniglot", valid_pct=0.25, seed=0)
    assert data.task == "verification" and data.input_shape == (1, 28, 28)
    assert data.info.sizes == {"train": 18, "valid": 6, "test": 9}  # 8 background characters: 6 train, 2 valid
    train = set(data.train.source_y[data.train.index].tolist())
    valid = set(data.valid.source_y[data.valid.index].tolist())
    assert not train & valid
    test_names = {data.classes[i] for i in range(len(data.classes)) if i not in train | valid}
    assert test_names == {f"Tengwar/character{c:02d}" for c in (1, 2, 3)}
    x = data.train.source_x[data.train.index].numpy()
    assert x.dtype == np.uint8 and x.max() > 200 and np.median(x) == 0  # white ink on black


def test_corrupt_download_is_refused(server, monkeypatch):
    files = {"images_background.zip": b"not a zip", "images_evaluation.zip": b"nor this"}
    publish(monkeypatch, f"http://127.0.0.1:{server.server_address[1]}", files,
            md5s={"images_background.zip": "0" * 32, "images_evaluation.zip": "0" * 32})
    with pytest.raises(DownloadError, match="images_background.zip"):
        load_download("omniglot")


def test_offline_error_names_the_file_and_where_to_put_it(monkeypatch, tmp_path):
    publish(monkeypatch, "http://127.0.0.1:9", {"images_background.zip": b"x", "images_evaluation.zip": b"y"})
    with pytest.raises(DownloadError) as e:
        load_download("omniglot")
    msg = str(e.value)
    assert "images_background.zip" in msg and str(tmp_path / "cache") in msg and "\n" not in msg
