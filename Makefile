# Two commands that work on a fresh machine with only Python 3.11:
#   make demo   -> .venv, install, train on built-in digits, write a report
#   make test   -> .venv, install with test extras, run the test suite
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
PIP := $(BIN)/python -m pip install --disable-pip-version-check -q -c constraints.txt

.PHONY: demo test bench install install-test clean

$(BIN)/python:
	$(PY) -m venv $(VENV)

install: $(BIN)/python
	$(PIP) -e .

install-test: $(BIN)/python
	$(PIP) -e ".[test,search,export]"

demo: install
	$(BIN)/deepdojo quickstart --out demo

test: install-test
	$(BIN)/python -m pytest -n 2 --dist loadfile

bench: install-test
	$(PIP) -e ".[bench]"
	$(BIN)/python benchmarks/overhead.py
	$(BIN)/python benchmarks/digits.py
	$(BIN)/python benchmarks/checkpoint_overhead.py
	$(BIN)/python benchmarks/export_latency.py
	$(BIN)/python benchmarks/speed_options.py
	$(BIN)/python benchmarks/gan_digits.py
	$(BIN)/python benchmarks/loader.py
	$(BIN)/python benchmarks/scratch_speed.py
	$(BIN)/python benchmarks/transfer_digits.py
	$(BIN)/python benchmarks/startup.py
	$(BIN)/python benchmarks/cli_phases.py
	$(BIN)/python benchmarks/sequence_defaults.py
	$(BIN)/python benchmarks/box_augment.py
	$(BIN)/python benchmarks/real_data.py
	$(BIN)/python benchmarks/shakespeare_char.py --data ../shared/data/tinyshakespeare.txt --out benchmarks/results
	$(BIN)/python benchmarks/shakespeare_cli.py --data ../shared/data/tinyshakespeare.txt --threads 2
	$(BIN)/python benchmarks/dates_seq2seq.py --out benchmarks/results
	$(BIN)/python benchmarks/nms.py
	$(BIN)/python benchmarks/collab.py
	$(BIN)/python benchmarks/one_shot.py
	$(BIN)/python benchmarks/missing_labels.py
	$(BIN)/python benchmarks/detection_shapes.py
	$(BIN)/python benchmarks/segmentation_shapes.py
	$(BIN)/python benchmarks/style_transfer.py --size 256 --steps 300 --threads 2
	$(BIN)/python benchmarks/sliding_window.py

clean:
	rm -rf $(VENV) demo runs .pytest_cache
