"""Downloadable datasets, tested only against a local HTTP server on 127.0.0.1 (never the internet).

The server serves generated files in the real formats (MNIST idx.gz, CIFAR-10
binary tarball, an Imagenette-style tgz of JPEG folders), honours ``Range``
requests, and can cut a connection mid-way to exercise resume.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import socket
import tarfile
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import numpy as np
import pytest
from PIL import Image

from deepdojo.cli.main import main
from deepdojo.data import download
from deepdojo.data.download import RemoteDataset, RemoteFile, load_download, read_cifar_binary
from deepdojo.data.remote import DownloadError, fetch
from deepdojo.vision import load_data


class FileServer(ThreadingHTTPServer):
    """Serves ``files`` (name -> bytes). ``cut[name] = n`` ends the next response for ``name`` after n bytes."""

    daemon_threads = True

    def __init__(self):
        super().__init__(("127.0.0.1", 0), Handler)
        self.files: dict[str, bytes] = {}
        self.cut: dict[str, int] = {}
        self.requests: list[tuple[str, str | None]] = []  # (name, Range header)
        self.honour_range = True

    def url(self, name: str) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}/{name}"


class Handler(BaseHTTPRequestHandler):
    def log_message(self, *args):  # keep test output quiet
        pass

    def do_GET(self):
        srv: FileServer = self.server
        name = self.path.lstrip("/")
        rng = self.headers.get("Range")
        srv.requests.append((name, rng))
        if name not in srv.files:
            self.send_error(404)
            return
        body, start = srv.files[name], 0
        if rng and srv.honour_range:
            start = int(rng.split("=")[1].rstrip("-"))
            if start >= len(body):
                self.send_response(416)
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            self.send_response(206)
            self.send_header("Content-Range", f"bytes {start}-{len(body) - 1}/{len(body)}")
        else:
            self.send_response(200)
        payload = body[start:]
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        if name in srv.cut:  # announce everything, send a part, drop the connection
            self.wfile.write(payload[: srv.cut.pop(name)])
            self.wfile.flush()
            self.connection.shutdown(socket.SHUT_RDWR)
            return
        self.wfile.write(payload)


@pytest.fixture(autouse=True)
def _own_cache(tmp_path, monkeypatch):
    """Each test downloads into its own cache: a file cached by one test must not satisfy another."""
    monkeypatch.setenv("DEEPDOJO_CACHE", str(tmp_path / "cache"))


@pytest.fixture
def server():
    srv = FileServer()
    thread = threading.Thread(target=srv.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    yield srv
    srv.shutdown()
    srv.server_close()


def sha(b: bytes) -> str:
    return hashlib.sha256(b).hexdigest()


def idx_bytes(a: np.ndarray) -> bytes:
    header = bytes([0, 0, 8, a.ndim]) + b"".join(int(d).to_bytes(4, "big") for d in a.shape)
    return gzip.compress(header + a.astype(np.uint8).tobytes())


def tar_bytes(members: dict[str, bytes]) -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as tar:
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return buf.getvalue()


def publish(server, monkeypatch, key, files: dict[str, bytes], reader, **kw):
    """Serve ``files`` and point catalogue entry ``key`` at them (with their true digests)."""
    server.files.update(files)
    entry = RemoteDataset(files=tuple(RemoteFile(server.url(n), sha(b), size=len(b)) for n, b in files.items()),
                          reader=reader, **kw)
    monkeypatch.setitem(download.CATALOGUE, key, entry)
    return entry


def mnist_files(rng, n_train=120, n_test=30):
    xtr, xte = rng.integers(0, 256, (n_train, 28, 28)), rng.integers(0, 256, (n_test, 28, 28))
    ytr, yte = np.arange(n_train) % 10, np.arange(n_test) % 10
    files = {"train-images-idx3-ubyte.gz": idx_bytes(xtr), "train-labels-idx1-ubyte.gz": idx_bytes(ytr),
             "t10k-images-idx3-ubyte.gz": idx_bytes(xte), "t10k-labels-idx1-ubyte.gz": idx_bytes(yte)}
    return files, (xtr, ytr, xte, yte)


def test_mnist_downloads_parses_and_splits(server, monkeypatch, tmp_path):
    files, (xtr, ytr, xte, yte) = mnist_files(np.random.default_rng(0))
    publish(server, monkeypatch, "mnist", files, "idx", classes=tuple(str(d) for d in range(10)))
    data = load_data("download:mnist", batch_size=16, augment="none")
    assert data.input_shape == (1, 28, 28) and data.num_classes == 10 and data.info["name"] == "download:mnist"
    assert data.info["sizes"] == {"train": 100, "valid": 20, "test": 30}
    train_idx = data.info["splits"]["train"]
    assert np.array_equal(data.train.x[: len(train_idx)].numpy()[:, 0], xtr[train_idx].astype(np.uint8))
    assert np.array_equal(data.train.y.numpy(), ytr[train_idx])
    # cached: a second load asks the server for nothing
    before = len(server.requests)
    load_data("download:mnist", batch_size=16)
    assert len(server.requests) == before == 4


def test_cifar10_binary_tarball_is_read_without_unpickling(tmp_path):
    rng = np.random.default_rng(1)
    batches, labels = {}, []
    for i, name in enumerate([f"data_batch_{k}.bin" for k in range(1, 6)] + ["test_batch.bin"]):
        y = rng.integers(0, 10, 7)
        x = rng.integers(0, 256, (7, 3072))
        batches[f"cifar-10-batches-bin/{name}"] = np.concatenate([y[:, None], x], 1).astype(np.uint8).tobytes()
        labels.append((y, x))
    batches["cifar-10-batches-bin/batches.meta.txt"] = b"airplane\nautomobile\nbird\ncat\ndeer\ndog\nfrog\nhorse\nship\ntruck\n\n"
    (tmp_path / "c.tar.gz").write_bytes(tar_bytes(batches))
    out = read_cifar_binary(tmp_path / "c.tar.gz")
    assert out["classes"][:2] == ["airplane", "automobile"] and len(out["classes"]) == 10
    assert out["train"][0].shape == (35, 3, 32, 32) and out["test"][0].shape == (7, 3, 32, 32)
    assert np.array_equal(out["train"][1][:7], labels[0][0]) and np.array_equal(out["test"][1], labels[5][0])
    # R plane first, row-major 32x32: pixel (row 0, col 1) of the green plane is byte 1 + 1024 + 1
    assert out["test"][0][3, 1, 0, 1] == labels[5][1][3, 1024 + 1]


def test_image_tgz_becomes_an_image_folder_with_readable_names(server, monkeypatch):
    rng = np.random.default_rng(2)
    members = {}
    for split, n in (("train", 6), ("val", 2)):
        for wnid in ("n01440764", "n02102040"):
            for i in range(n):
                buf = io.BytesIO()
                Image.fromarray(rng.integers(0, 256, (20, 24, 3), dtype=np.uint8)).save(buf, "JPEG")
                members[f"imagenette2-160/{split}/{wnid}/{i}.JPEG"] = buf.getvalue()
    publish(server, monkeypatch, "imagenette160", {"imagenette2-160.tgz": tar_bytes(members)}, "image_tgz",
            class_names=download.IMAGENETTE_CLASSES)
    data = load_data("download:imagenette", size=16, augment="none")
    assert data.classes == ["tench", "English springer"] and data.input_shape == (3, 16, 16)
    assert data.info["sizes"]["test"] == 4 and data.info["sizes"]["train"] + data.info["sizes"]["valid"] == 12


def test_resume_from_a_truncated_part_asks_only_for_the_rest(server, tmp_path):
    body = np.random.default_rng(3).bytes(300_000)
    server.files["big.bin"] = body
    dest = tmp_path / "big.bin"
    (tmp_path / "big.bin.part").write_bytes(body[:100_000])
    fetch(server.url("big.bin"), dest, sha256=sha(body), size=len(body), log=lambda m: None)
    assert dest.read_bytes() == body and not (tmp_path / "big.bin.part").exists()
    assert server.requests == [("big.bin", "bytes=100000-")]


def test_a_cut_connection_is_resumed_with_range(server, tmp_path):
    body = np.random.default_rng(4).bytes(200_000)
    server.files["big.bin"], server.cut["big.bin"] = body, 50_000
    fetch(server.url("big.bin"), tmp_path / "big.bin", sha256=sha(body), log=lambda m: None)
    assert (tmp_path / "big.bin").read_bytes() == body
    assert server.requests == [("big.bin", None), ("big.bin", "bytes=50000-")]


def test_a_server_ignoring_range_restarts_the_file(server, tmp_path):
    body = b"0123456789" * 1000
    server.files["f.bin"], server.honour_range = body, False
    (tmp_path / "f.bin.part").write_bytes(b"garbage!")
    fetch(server.url("f.bin"), tmp_path / "f.bin", sha256=sha(body), log=lambda m: None)
    assert (tmp_path / "f.bin").read_bytes() == body


def test_hash_mismatch_deletes_the_download_and_says_so(server, tmp_path):
    server.files["f.bin"] = b"tampered bytes"
    with pytest.raises(DownloadError, match=r"corrupt download \(SHA256 [0-9a-f]{64}, expected 0{64}\); deleted it"):
        fetch(server.url("f.bin"), tmp_path / "f.bin", sha256="0" * 64, log=lambda m: None)
    assert list(tmp_path.iterdir()) == []


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_offline_is_one_line_with_the_manual_path_and_exit_2(monkeypatch, tmp_path, capsys):
    port = closed_port()
    entry = RemoteDataset(files=(RemoteFile(f"http://127.0.0.1:{port}/train-images-idx3-ubyte.gz", "0" * 64),),
                          reader="idx")
    monkeypatch.setitem(download.CATALOGUE, "mnist", entry)
    with pytest.raises(DownloadError) as err:
        load_download("mnist")
    msg = str(err.value)
    assert msg.startswith(f"cannot reach 127.0.0.1:{port}: ") and "\n" not in msg
    assert "download it elsewhere and put it at " in msg and "downloads/mnist/train-images-idx3-ubyte.gz" in msg
    assert "builtin:" in msg
    code = main(["train", "download:mnist", "--out", str(tmp_path), "--epochs", "1"])
    err_text = capsys.readouterr().err
    assert code == 2 and f"cannot reach 127.0.0.1:{port}" in err_text and "Traceback" not in err_text


def test_unknown_name_lists_the_catalogue():
    with pytest.raises(Exception, match="use one of cifar10, fashion_mnist, imagenette160, mnist"):
        load_download("mnits")


def test_a_hand_placed_file_is_checked_against_the_catalogue_before_use(server, monkeypatch, tmp_path, capsys):
    """What the offline message tells users to do: the file they put there must be the published one."""
    import os

    files, (xtr, *_) = mnist_files(np.random.default_rng(7))
    publish(server, monkeypatch, "mnist", files, "idx", classes=tuple("0123456789"))
    folder = tmp_path / "cache" / "downloads" / "mnist"
    folder.mkdir(parents=True)
    for name, body in files.items():
        (folder / name).write_bytes(body)
    wrong = bytearray(files["train-images-idx3-ubyte.gz"])
    wrong[-5] ^= 0xFF  # same size, other content: the size check alone would pass it
    (folder / "train-images-idx3-ubyte.gz").write_bytes(bytes(wrong))
    with pytest.raises(DownloadError, match=r"this file is not the published one \(SHA256 [0-9a-f]{64}, expected"):
        load_download("mnist")
    code = main(["train", "download:mnist", "--out", str(tmp_path / "runs"), "--epochs", "1"])
    err = capsys.readouterr().err
    assert code == 2 and "train-images-idx3-ubyte.gz: this file is not the published one" in err
    assert server.requests == []  # a file in place is never silently replaced or trusted
    (folder / "train-images-idx3-ubyte.gz").write_bytes(files["train-images-idx3-ubyte.gz"])
    data = load_download("mnist", augment="none")
    assert data.info["sizes"]["train"] + data.info["sizes"]["valid"] == len(xtr) and server.requests == []
    # checked once, remembered; a later change to the file (same size) is caught again
    path = folder / "train-images-idx3-ubyte.gz"
    assert (folder / ".train-images-idx3-ubyte.gz.verified").exists()
    path.write_bytes(bytes(wrong))
    os.utime(path, ns=(path.stat().st_atime_ns, path.stat().st_mtime_ns + 10**9))
    with pytest.raises(DownloadError, match="not the published one"):
        load_download("mnist")


@pytest.mark.parametrize("kind, word", [(tarfile.FIFOTYPE, "FIFO"), (tarfile.CHRTYPE, "device"),
                                        (tarfile.BLKTYPE, "device")])
def test_a_tar_with_a_device_or_fifo_member_is_refused_in_one_line(tmp_path, kind, word):
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as tar:
        ok = tarfile.TarInfo("set/train/a/0.png")
        data = b"not really a png"
        ok.size = len(data)
        tar.addfile(ok, io.BytesIO(data))
        special = tarfile.TarInfo("set/train/a/pipe")
        special.type = kind
        tar.addfile(special)
    archive = tmp_path / "set.tgz"
    archive.write_bytes(buf.getvalue())
    with pytest.raises(download.DataError, match=f"archive member 'set/train/a/pipe' is a {word}, not a file or folder"):
        download.extract_tgz(archive, tmp_path / "out")
    assert not (tmp_path / "out" / "set").exists()
