# Set-up, demo and tests. Every target creates the virtual environment first.
VENV ?= .venv
BIN := $(VENV)/bin

.PHONY: install demo test

$(BIN)/.installed: pyproject.toml
	python3 -m venv $(VENV)
	# torch and torchvision first, as a matched pair: timm imports torchvision.
	$(BIN)/pip install --quiet torch==2.14.1 torchvision==0.29.1
	$(BIN)/pip install --quiet -e '.[test]'
	touch $@

install: $(BIN)/.installed

# The whole chain on the embedded ELPV solar cells, with default settings throughout.
demo: install
	$(BIN)/synth train
	$(BIN)/synth generate
	$(BIN)/detector fit --epochs 4
	$(BIN)/detector evaluate --output runs/elpv/metrics.json

test: install
	$(BIN)/python -m pytest
