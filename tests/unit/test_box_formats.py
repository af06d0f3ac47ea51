"""COCO JSON, YOLO txt and Pascal VOC XML: detected, read to one form (round trips), bad annotations named."""

from __future__ import annotations

import json

import numpy as np
import pytest
from PIL import Image

from deepdojo.data.box_formats import load_boxes, read_boxes
from deepdojo.errors import DataError

CLASSES = ["cat", "dog"]
TRUTH = {"a": [(0, 2.0, 3.0, 20.0, 13.0), (1, 10.0, 1.0, 39.0, 19.0)], "b": [(1, 0.0, 0.0, 40.0, 20.0)], "c": []}


def _images(folder):
    folder.mkdir(parents=True, exist_ok=True)
    for stem in TRUTH:
        Image.fromarray(np.zeros((20, 40, 3), np.uint8)).save(folder / f"{stem}.png")


def write_yolo(root, truth=TRUTH):
    _images(root / "images")
    (root / "labels").mkdir()
    (root / "classes.txt").write_text("\n".join(CLASSES) + "\n")
    for stem, rows in truth.items():
        lines = [f"{c} {(x0 + x1) / 80} {(y0 + y1) / 40} {(x1 - x0) / 40} {(y1 - y0) / 20}" for c, x0, y0, x1, y1 in rows]
        (root / "labels" / f"{stem}.txt").write_text("\n".join(lines) + "\n")


def write_voc(root, truth=TRUTH):
    _images(root / "JPEGImages")
    (root / "Annotations").mkdir()
    (root / "classes.txt").write_text("\n".join(CLASSES) + "\n")
    for stem, rows in truth.items():
        objs = "".join(f"<object><name>{CLASSES[c]}</name><bndbox><xmin>{x0 + 1:g}</xmin><ymin>{y0 + 1:g}</ymin>"
                       f"<xmax>{x1:g}</xmax><ymax>{y1:g}</ymax></bndbox></object>" for c, x0, y0, x1, y1 in rows)
        (root / "Annotations" / f"{stem}.xml").write_text(f"<annotation><filename>{stem}.png</filename>{objs}</annotation>")


def write_coco(root, truth=TRUTH, extra_anns=()):
    _images(root / "images")
    images = [{"id": 100 + 5 * i, "file_name": f"{s}.png", "width": 40, "height": 20} for i, s in enumerate(truth)]
    anns = [{"id": 7 + len(images) * i + j, "image_id": 100 + 5 * i, "category_id": 11 + 2 * c,
             "bbox": [x0, y0, x1 - x0, y1 - y0]}
            for i, rows in enumerate(truth.values()) for j, (c, x0, y0, x1, y1) in enumerate(rows)]
    cats = [{"id": 11 + 2 * c, "name": n} for c, n in enumerate(CLASSES)]  # ids not starting at 1, with gaps
    (root / "instances.json").write_text(json.dumps({"images": images, "annotations": anns + list(extra_anns),
                                                     "categories": cats}))


@pytest.mark.parametrize("fmt,writer", [("yolo", write_yolo), ("voc", write_voc), ("coco", write_coco)])
def test_each_format_is_detected_and_reads_back_the_same_boxes(tmp_path, fmt, writer):
    writer(tmp_path)
    ann = read_boxes(tmp_path)
    assert ann.format == fmt and ann.classes == CLASSES
    assert set(ann.boxes) == set(TRUTH)
    for stem, rows in TRUTH.items():
        np.testing.assert_allclose(np.asarray(ann.boxes[stem], float).reshape(-1, 5), np.asarray(rows).reshape(-1, 5),
                                   atol=1e-5)
    data = load_boxes(tmp_path, valid_pct=0.0)
    assert data.task == "detection" and data.train.y.shape == (3, 2, 5)
    assert data.info["box_format"] == fmt


def test_resizing_scales_the_boxes(tmp_path):
    write_yolo(tmp_path)
    data = load_boxes(tmp_path, size=10, valid_pct=0.0)
    assert data.input_shape == (3, 10, 10)
    b = data.train.y[data.info["ids"].index("b")][0].tolist()
    assert b == [1.0, 0.0, 0.0, 10.0, 10.0]


def test_bad_yolo_annotations_are_all_named(tmp_path):
    bad = {"a": [(0, -10.0, 3.0, 20.0, 13.0), (5, 1.0, 1.0, 5.0, 5.0)], "b": [(1, 4.0, 4.0, 4.0, 9.0)], "c": []}
    write_yolo(tmp_path, bad)
    (tmp_path / "labels" / "ghost.txt").write_text("0 0.5 0.5 0.1 0.1\n")
    with (tmp_path / "labels" / "c.txt").open("a") as f:
        f.write("0 0.5 oops\n")
    with pytest.raises(DataError) as err:
        read_boxes(tmp_path)
    msg = str(err.value)
    assert "5 bad annotation(s) (yolo)" in msg
    for part in ("a.txt, line 1: box", "outside the 40x20 image", "a.txt, line 2: unknown class 5",
                 "b.txt, line 1: zero-area box", "ghost.txt: no image ghost.*", "c.txt, line 2: expected 'class cx cy w h'"):
        assert part in msg, part


def test_bad_coco_and_voc_annotations_are_named(tmp_path):
    coco = tmp_path / "coco"
    coco.mkdir()
    write_coco(coco, extra_anns=[{"id": 900, "image_id": 100, "category_id": 4, "bbox": [1, 1, 2, 2]},
                                 {"id": 901, "image_id": 555, "category_id": 11, "bbox": [1, 1, 2, 2]}])
    (coco / "images" / "c.png").unlink()
    with pytest.raises(DataError) as err:
        read_boxes(coco)
    msg = str(err.value)
    for part in ("annotation 900: unknown class 'id 4'", "annotation 901: image id 555 is not in images",
                 "image id 110 names 'c.png', which is not in"):
        assert part in msg, part
    voc = tmp_path / "voc"
    voc.mkdir()
    write_voc(voc, {"a": [(0, 2.0, 3.0, 20.0, 13.0)], "b": [], "c": []})
    (voc / "Annotations" / "b.xml").write_text("<annotation><filename>b.png</filename><object><name>horse</name>"
                                               "<bndbox><xmin>1</xmin><ymin>1</ymin><xmax>5</xmax><ymax>5</ymax></bndbox>"
                                               "</object></annotation>")
    (voc / "Annotations" / "c.xml").write_text("<annotation><oops>")
    with pytest.raises(DataError) as err:
        read_boxes(voc)
    msg = str(err.value)
    assert "b.xml, object 0: unknown class 'horse'" in msg and "c.xml: not valid XML" in msg


def test_no_annotations_is_a_one_line_error(tmp_path):
    with pytest.raises(DataError, match="no box annotations found"):
        read_boxes(tmp_path)


def test_load_data_routes_annotated_folders(tmp_path):
    from deepdojo.vision import load_data

    write_voc(tmp_path)
    data = load_data(tmp_path, valid_pct=0.0)
    assert data.task == "detection" and data.info["box_format"] == "voc"
