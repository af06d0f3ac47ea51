"""`deepdojo train DATA --task gan` end to end, and bad input as one line with exit 2."""

import json


from deepdojo.cli.main import main


def test_train_task_gan_on_builtin_digits_writes_both_networks_and_failure_fields(tmp_path, capsys):
    assert main(["train", "builtin:digits", "--task", "gan", "--epochs", "1", "--lr", "2e-3",
                 "--out", str(tmp_path / "runs")]) == 0
    run = next((tmp_path / "runs").iterdir())
    lines = [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]
    epoch = [r for r in lines if "gan_failures" in r][-1]
    assert epoch["d_loss"] > 0 and epoch["g_loss"] > 0 and epoch["gan_failures"] == []
    from safetensors.torch import load_file

    weights = load_file(next(run.glob("checkpoints/*.safetensors")))
    assert any(k.startswith("generator.") for k in weights) and any(k.startswith("discriminator.") for k in weights)
    assert (run / "report.html").exists()
    it = json.loads((run / "interpretation.json").read_text())
    assert it["kind"] == "gan" and it["frechet_distance"] > 0 and it["frechet_floor"] > 0
    assert 0 < it["coverage"] <= 1 and abs(sum(it["class_shares"].values()) - 1) < 1e-3
    html = (run / "report.html").read_text()
    assert (run / "samples.png").is_file() and "Generated samples" in html and "Fréchet distance" in html


def test_gan_on_vector_data_is_one_line_exit_2_and_writes_nothing(tmp_path, capsys):
    csv = tmp_path / "t.csv"
    csv.write_text("a,b,label\n" + "".join(f"{i},{i * 2},{i % 2}\n" for i in range(40)))
    assert main(["train", str(csv), "--task", "gan", "--epochs", "1", "--out", str(tmp_path / "runs")]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "needs images" in err
    assert not (tmp_path / "runs").exists() or not any((tmp_path / "runs").iterdir())


def test_gan_on_a_one_image_folder_is_one_line_exit_2(tmp_path, capsys):
    from PIL import Image

    (tmp_path / "imgs" / "cats").mkdir(parents=True)
    Image.new("RGB", (16, 16)).save(tmp_path / "imgs" / "cats" / "x.png")
    assert main(["train", str(tmp_path / "imgs"), "--task", "gan", "--out", str(tmp_path / "runs")]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "error" in err


def test_generate_writes_a_reproducible_png_grid_and_conditional_class_names(tmp_path, capsys):
    from PIL import Image

    assert main(["train", "builtin:digits", "--task", "cgan", "--epochs", "1", "--lr", "2e-3",
                 "--out", str(tmp_path / "runs")]) == 0
    run = str(next((tmp_path / "runs").iterdir()))
    a, b, c, d = (str(tmp_path / f"{k}.png") for k in "abcd")
    assert main(["generate", run, "--n", "16", "--seed", "0", "--out", a]) == 0
    assert main(["generate", run, "--n", "16", "--seed", "0", "--out", b]) == 0
    assert main(["generate", run, "--n", "16", "--seed", "1", "--out", c]) == 0
    assert main(["generate", run, "--n", "9", "--seed", "0", "--class", "3", "--out", d]) == 0
    pa, pb, pc = (open(p, "rb").read() for p in (a, b, c))
    assert pa == pb and pa != pc  # same seed, same bytes; another seed, other images
    assert Image.open(d).size[0] < Image.open(a).size[0]  # a 3x3 grid is narrower than a 4x4 one
    capsys.readouterr()
    assert main(["generate", run, "--class", "zebra", "--out", str(tmp_path / "e.png")]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "zebra" in err and not (tmp_path / "e.png").exists()
