"""download:omniglot and download:oxford_pets against a local HTTP server (never the internet): synthetic archives of the published layouts."""

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


def tgz(members: dict[str, bytes]) -> bytes:
    import tarfile

    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as tar:
        for name, body in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(body)
            tar.addfile(info, io.BytesIO(body))
    return buf.getvalue()


def png(array: np.ndarray, fmt: str = "PNG") -> bytes:
    buf = io.BytesIO()
    Image.fromarray(array).save(buf, fmt)
    return buf.getvalue()


def test_oxford_pets_trimaps_become_a_mask_folder(server, monkeypatch, tmp_path):
    from deepdojo.data.download import load_download

    images, trimaps = {}, {}
    for i in range(6):
        h, w = 40 + 8 * i, 60 - 4 * i  # every photo its own size, as in the real set
        photo = np.zeros((h, w, 3), np.uint8)
        photo[h // 4: 3 * h // 4, w // 4: 3 * w // 4] = 200
        tri = np.full((h, w), 2, np.uint8)  # background
        tri[h // 4: 3 * h // 4, w // 4: 3 * w // 4] = 1  # pet
        tri[h // 4, w // 4: 3 * w // 4] = 3  # border
        images[f"images/Breed_{i}.jpg"] = png(photo, "JPEG")
        trimaps[f"annotations/trimaps/Breed_{i}.png"] = png(tri)
    files = {"images.tar.gz": tgz(images), "annotations.tar.gz": tgz(trimaps)}
    Serve.files = files
    base = f"http://127.0.0.1:{server.server_address[1]}"
    entry = RemoteDataset(files=tuple(RemoteFile(f"{base}/{n}", md5=hashlib.md5(b).hexdigest()) for n, b in files.items()),
                          reader="pets_trimaps")
    monkeypatch.setitem(download.CATALOGUE, "oxford_pets", entry)
    data = load_download("pets", size=32, valid_pct=0.34, seed=0)
    assert data.task == "segmentation" and data.classes == ["background", "pet", "border"]
    y = data.train.y
    assert y.shape[1:] == (32, 32) and set(y.unique().tolist()) == {0, 1, 2}
    centre = y[:, 16, 16]
    assert (centre == 1).all() and (y[:, 0, 0] == 0).all()  # pet in the middle, background in the corner


def test_catalogue_pins_torchvisions_pet_md5s():
    assert {f.name: f.md5 for f in download.CATALOGUE["oxford_pets"].files} == {
        "images.tar.gz": "5c4f3ee8e5d25df40f4fd59a7f44e54c", "annotations.tar.gz": "95a8c909bbe2e81eed6a22bccdf3f68f"}


def test_pennfudan_is_never_fetched_unverified_and_reads_a_zip_put_by_hand(monkeypatch, tmp_path):
    from deepdojo.data.download import downloads_dir

    with pytest.raises(DownloadError) as e:  # no server is contacted: the entry has no digest
        load_download("pennfudan")
    msg = str(e.value)
    target = downloads_dir() / "pennfudan" / "PennFudanPed.zip"
    assert "no checksum is published" in msg and str(target) in msg and "\n" not in msg
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        for i in range(5):
            h, w = 60 + 10 * i, 50
            inst = np.zeros((h, w), np.uint8)
            inst[10:40, 5:20], inst[10:40, 30:45] = 1, 2  # two pedestrians
            z.writestr(f"PennFudanPed/PNGImages/FudanPed{i:05d}.png", png(np.full((h, w, 3), 90, np.uint8)))
            z.writestr(f"PennFudanPed/PedMasks/FudanPed{i:05d}_mask.png", png(inst))
    target.parent.mkdir(parents=True)
    target.write_bytes(buf.getvalue())
    data = load_download("penn-fudan", size=24, valid_pct=0.4)
    assert data.task == "segmentation" and data.classes == ["background", "person"]
    assert set(data.train.y.unique().tolist()) == {0, 1} and data.train.y.shape[1:] == (24, 24)
