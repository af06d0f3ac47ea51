"""Box annotations in the three formats people have: COCO JSON, YOLO txt, Pascal VOC XML.

:func:`read_boxes` detects the format of a folder, reads it into one
internal form and checks it; :func:`load_boxes` turns it into :class:`Data`
for the detection task (padded ``(N, M, 5)`` rows ``class, x0, y0, x1,
y1`` in pixels). Layouts:

- COCO: ``root/*.json`` (``images``, ``annotations`` with ``bbox = [x, y,
  w, h]``, ``categories``) and the images in ``root/images/`` or ``root/``;
- YOLO: ``root/images/NAME.png`` + ``root/labels/NAME.txt`` (one line per
  box: ``class cx cy w h``, normalized to 0..1) + ``root/classes.txt``;
- VOC: ``root/JPEGImages/`` (or ``images/``) + ``root/Annotations/NAME.xml``.

Every bad annotation is found before anything trains and named in one error
(file, and box or line): a box outside the image, a box of zero area, an
unknown class, an annotation without an image file, an unreadable file.

Example:
    >>> import tempfile, numpy as np
    >>> from PIL import Image
    >>> root = Path(tempfile.mkdtemp())
    >>> (root / "images").mkdir(); (root / "labels").mkdir()
    >>> _ = (root / "classes.txt").write_text("cat\\ndog\\n")
    >>> Image.fromarray(np.zeros((20, 40, 3), np.uint8)).save(root / "images" / "a.png")
    >>> _ = (root / "labels" / "a.txt").write_text("1 0.5 0.5 0.5 0.5\\n")
    >>> ann = read_boxes(root)
    >>> ann.format, ann.classes, ann.boxes["a"]
    ('yolo', ['cat', 'dog'], [(1, 10.0, 5.0, 30.0, 15.0)])
"""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch

from deepdojo.data.core import Data, tensor_fingerprint
from deepdojo.errors import DataError

IMAGE_EXTS = (".png", ".jpg", ".jpeg", ".bmp", ".webp", ".tif", ".tiff")


@dataclass
class Annotations:
    """The internal form: image files, their sizes ``(w, h)`` and boxes ``(class, x0, y0, x1, y1)`` in pixels."""

    format: str
    classes: list[str]
    images: dict[str, Path] = field(default_factory=dict)  # stem -> file
    sizes: dict[str, tuple[int, int]] = field(default_factory=dict)  # stem -> (w, h)
    boxes: dict[str, list[tuple]] = field(default_factory=dict)  # stem -> [(class, x0, y0, x1, y1)]


def detect_format(root: Path) -> str:
    """"coco", "yolo" or "voc" from the folder's layout; a DataError naming what was looked for otherwise."""
    if (root / "Annotations").is_dir():
        return "voc"
    if (root / "labels").is_dir():
        return "yolo"
    if list(root.glob("*.json")):
        return "coco"
    raise DataError("no box annotations found", where=str(root),
                    fix="add a COCO *.json, a labels/ folder of YOLO txt files, or an Annotations/ folder of VOC XML")


def _image_size(path: Path) -> tuple[int, int]:
    from PIL import Image

    with Image.open(path) as im:
        return im.size


def _find_images(folder: Path) -> dict[str, Path]:
    return {p.stem: p for p in sorted(folder.iterdir()) if p.suffix.lower() in IMAGE_EXTS} if folder.is_dir() else {}


def _check_box(where: str, cls, box, size, classes, problems: list[str]) -> bool:
    x0, y0, x1, y1 = box
    w, h = size
    if not (isinstance(cls, int) and 0 <= cls < len(classes)):
        problems.append(f"{where}: unknown class {cls!r} (classes: {', '.join(classes)})")
        return False
    if x1 <= x0 or y1 <= y0:
        problems.append(f"{where}: zero-area box {[round(v, 2) for v in box]}")
        return False
    tol = 1.0  # a pixel of slack for rounding in exported annotations
    if x0 < -tol or y0 < -tol or x1 > w + tol or y1 > h + tol:
        problems.append(f"{where}: box {[round(v, 2) for v in box]} lies outside the {w}x{h} image")
        return False
    return True


def _read_yolo(root: Path, problems: list[str]) -> Annotations:
    from deepdojo.data.mask_folder import read_classes

    classes = read_classes(root)
    ann = Annotations("yolo", classes, _find_images(root / "images"))
    for txt in sorted((root / "labels").glob("*.txt")):
        if txt.stem not in ann.images:
            problems.append(f"{txt}: no image {txt.stem}.* in {root / 'images'}")
            continue
        size = ann.sizes.setdefault(txt.stem, _image_size(ann.images[txt.stem]))
        rows = ann.boxes.setdefault(txt.stem, [])
        for n, line in enumerate(txt.read_text().splitlines(), 1):
            if not line.strip():
                continue
            parts = line.split()
            try:
                cls, cx, cy, bw, bh = int(parts[0]), *map(float, parts[1:])
                if len(parts) != 5:
                    raise ValueError
            except ValueError:
                problems.append(f"{txt}, line {n}: expected 'class cx cy w h', got {line.strip()!r}")
                continue
            w, h = size
            box = ((cx - bw / 2) * w, (cy - bh / 2) * h, (cx + bw / 2) * w, (cy + bh / 2) * h)
            if _check_box(f"{txt}, line {n}", cls, box, size, classes, problems):
                rows.append((cls, *box))
    return ann


def _read_voc(root: Path, problems: list[str]) -> Annotations:
    img_dir = root / "JPEGImages" if (root / "JPEGImages").is_dir() else root / "images"
    images = _find_images(img_dir)
    parsed = []
    for xml in sorted((root / "Annotations").glob("*.xml")):
        try:
            tree = ET.parse(xml).getroot()
        except ET.ParseError as exc:
            problems.append(f"{xml}: not valid XML ({exc})")
            continue
        parsed.append((xml, tree))
    names = sorted({(o.findtext("name") or "").strip() for _, t in parsed for o in t.iter("object")})
    classes_file = [p for p in (root / "classes.txt", root / "codes.txt") if p.is_file()]
    if classes_file:
        from deepdojo.data.mask_folder import read_classes

        classes = read_classes(root)
    else:
        classes = names
    ann = Annotations("voc", classes, images)
    for xml, tree in parsed:
        stem = Path(tree.findtext("filename") or xml.stem).stem
        if stem not in images:
            problems.append(f"{xml}: no image {stem}.* in {img_dir}")
            continue
        size = ann.sizes.setdefault(stem, _image_size(images[stem]))
        rows = ann.boxes.setdefault(stem, [])
        for i, obj in enumerate(tree.iter("object")):
            name = (obj.findtext("name") or "").strip()
            bb = obj.find("bndbox")
            try:
                box = tuple(float(bb.findtext(k)) for k in ("xmin", "ymin", "xmax", "ymax"))
            except (AttributeError, TypeError, ValueError):
                problems.append(f"{xml}, object {i} ({name!r}): bndbox needs numeric xmin, ymin, xmax, ymax")
                continue
            box = (box[0] - 1, box[1] - 1, box[2], box[3])  # VOC pixels are 1-based and inclusive
            cls = classes.index(name) if name in classes else name
            if _check_box(f"{xml}, object {i}", cls, box, size, classes, problems):
                rows.append((cls, *box))
    return ann


def _read_coco(root: Path, problems: list[str]) -> Annotations:
    files = sorted(root.glob("*.json"))
    if len(files) != 1:
        raise DataError(f"{len(files)} JSON files", where=str(root), fix="keep exactly one COCO annotation file")
    try:
        doc = json.loads(files[0].read_text())
        cats = sorted(doc["categories"], key=lambda c: c["id"])
        imgs = {im["id"]: im for im in doc["images"]}
        anns = doc.get("annotations", [])
    except (json.JSONDecodeError, KeyError, TypeError) as exc:
        raise DataError(f"not a COCO file ({type(exc).__name__}: {exc})", where=str(files[0]),
                        fix="it needs images, annotations and categories") from None
    classes = [c["name"] for c in cats]
    cat_index = {c["id"]: i for i, c in enumerate(cats)}  # any ids (not 1-based, gaps) -> 0..K-1
    img_dir = root / "images" if (root / "images").is_dir() else root
    files_by_name = {p.name: p for p in img_dir.iterdir() if p.suffix.lower() in IMAGE_EXTS}
    ann = Annotations("coco", classes)
    stems = {}
    for iid, im in imgs.items():
        name = Path(im.get("file_name", "")).name
        if name not in files_by_name:
            problems.append(f"{files[0].name}: image id {iid} names {name!r}, which is not in {img_dir}")
            continue
        stem = Path(name).stem
        stems[iid] = stem
        ann.images[stem] = files_by_name[name]
        ann.sizes[stem] = (int(im.get("width") or 0), int(im.get("height") or 0)) if im.get("width") else \
            _image_size(files_by_name[name])
        ann.boxes[stem] = []
    for k, a in enumerate(anns):
        where = f"{files[0].name}, annotation {a.get('id', k)}"
        if a.get("image_id") not in imgs:
            problems.append(f"{where}: image id {a.get('image_id')!r} is not in images")
            continue
        if a["image_id"] not in stems:
            continue  # its image is missing: reported once above
        try:
            x, y, w, h = map(float, a["bbox"])
        except (KeyError, TypeError, ValueError):
            problems.append(f"{where}: bbox must be [x, y, w, h]")
            continue
        cls = cat_index.get(a.get("category_id"), a.get("category_id"))
        stem = stems[a["image_id"]]
        if _check_box(where, cls if isinstance(cls, int) and a.get("category_id") in cat_index else f"id {cls}",
                      (x, y, x + w, y + h), ann.sizes[stem], classes, problems):
            ann.boxes[stem].append((cls, x, y, x + w, y + h))
    return ann


def read_boxes(root: str | Path, format: str = "auto", max_errors: int = 30) -> Annotations:
    """Read and check a folder of box annotations (``format``: auto, coco, yolo, voc)."""
    root = Path(root)
    fmt = detect_format(root) if format == "auto" else format
    readers = {"coco": _read_coco, "yolo": _read_yolo, "voc": _read_voc}
    if fmt not in readers:
        raise DataError(f"unknown box format {fmt!r}", where=str(root), fix="use auto, coco, yolo or voc")
    problems: list[str] = []
    ann = readers[fmt](root, problems)
    if problems:
        more = f" (and {len(problems) - max_errors} more)" if len(problems) > max_errors else ""
        raise DataError(f"{len(problems)} bad annotation(s) ({fmt}): " + "; ".join(problems[:max_errors]) + more,
                        where=str(root), fix="fix or remove the annotations named")
    if not ann.boxes:
        raise DataError("no annotated images", where=str(root), fix="annotate some images")
    return ann


def load_boxes(root: str | Path, format: str = "auto", size: int | None = None, valid_pct: float = 0.2,
               seed: int = 0, batch_size: int = 16) -> Data:
    """Annotated images as :class:`Data` for the detection task; ``size`` resizes to ``size x size`` (boxes scaled)."""
    from PIL import Image

    ann = read_boxes(root, format)
    stems = sorted(ann.boxes)
    xs = []
    for s in stems:
        with Image.open(ann.images[s]) as im:
            im = im.convert("RGB")
            if size is not None:
                im = im.resize((size, size), Image.Resampling.BILINEAR)
            xs.append(np.asarray(im))
    shapes = {x.shape for x in xs}
    if len(shapes) > 1:
        raise DataError(f"images have {len(shapes)} different sizes", where=str(root), fix="pass size=N to resize them")
    m = max(1, max(len(ann.boxes[s]) for s in stems))
    y = np.full((len(stems), m, 5), -1, np.float32)
    for i, s in enumerate(stems):
        rows = np.asarray(ann.boxes[s], np.float32).reshape(-1, 5)
        if size is not None and len(rows):
            w, h = ann.sizes[s]
            rows[:, [1, 3]] *= size / w
            rows[:, [2, 4]] *= size / h
        if len(rows):
            w, h = xs[i].shape[1], xs[i].shape[0]
            rows[:, [1, 3]] = rows[:, [1, 3]].clip(0, w)
            rows[:, [2, 4]] = rows[:, [2, 4]].clip(0, h)
        y[i, : len(rows)] = rows
    x = torch.from_numpy(np.stack(xs)).permute(0, 3, 1, 2).contiguous()
    yt = torch.from_numpy(y)
    data = Data.from_tensors(x, yt, valid_pct=valid_pct, seed=seed, batch_size=batch_size, task="detection",
                             classes=ann.classes, name=str(root), ids=stems, fingerprint=tensor_fingerprint(x, yt))
    data.info["box_format"] = ann.format
    return data
