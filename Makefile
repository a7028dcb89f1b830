# make run   — set up .venv and start the web chat on the seed corpus (index built on first use)
# make test  — set up .venv (with test extras) and run the whole test suite
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV   := .venv
BIN    := $(VENV)/bin
PIP    := $(BIN)/pip install --disable-pip-version-check -q -c constraints.txt

.PHONY: setup setup-test run test index eval cmrc drcd cjrc bench bench-1m lint clean screenshots

$(VENV)/.installed: pyproject.toml constraints.txt
	$(PYTHON) -m venv $(VENV)
	# torch first, pinned to the local CPU build, so nothing later pulls CUDA wheels
	$(PIP) torch==2.13.0
	$(PIP) -e .
	touch $@

$(VENV)/.installed-test: $(VENV)/.installed
	$(PIP) -e ".[test]"
	touch $@

setup: $(VENV)/.installed
setup-test: $(VENV)/.installed-test

run: setup
	$(BIN)/python app.py

test: setup-test
	$(BIN)/python -m pytest

index: setup
	$(BIN)/qa index

eval: setup
	$(BIN)/qa eval eval/seed_questions.jsonl --mode all --report reports/seed

# CMRC 2018 trial: passages = whole paragraphs (the dataset's unit), and the default 300-char chunks.
cmrc: setup
	$(BIN)/python -m qa.squad ../shared/benchmarks/cmrc2018_trial.json --out eval/cmrc
	$(BIN)/qa index eval/cmrc/corpus --index-dir eval/cmrc/index --max-chars 2000 --quiet
	$(BIN)/qa eval eval/cmrc/questions.jsonl --index-dir eval/cmrc/index --mode all --report reports/cmrc
	$(BIN)/qa index eval/cmrc/corpus --index-dir eval/cmrc/index-300 --quiet
	$(BIN)/qa eval eval/cmrc/questions.jsonl --index-dir eval/cmrc/index-300 --mode all --report reports/cmrc-300

# DRCD dev (Traditional Chinese Wikipedia, SQuAD format like CMRC), default 300-char passages.
drcd: setup
	$(BIN)/python -m qa.squad ../shared/benchmarks/drcd_dev.json --out eval/drcd
	$(BIN)/qa index eval/drcd/corpus --index-dir eval/drcd/index --quiet
	$(BIN)/qa eval eval/drcd/questions.jsonl --index-dir eval/drcd/index --split test --mode all --report reports/drcd

# CJRC dev (court judgments, with unanswerable questions), scored on its held-out test split.
cjrc: setup
	$(BIN)/python -m qa.squad ../shared/benchmarks/cjrc_dev.json --out eval/cjrc
	$(BIN)/qa index eval/cjrc/corpus --index-dir eval/cjrc/index --quiet
	$(BIN)/qa eval eval/cjrc/questions.jsonl --index-dir eval/cjrc/index --split test --report reports/cjrc

# Speed, memory and size: the seed corpus, the CMRC trial corpus, and synthetic 10k/100k corpora.
bench: setup
	$(BIN)/qa bench seeds --out reports/bench
	$(BIN)/qa bench cmrc --out reports/bench
	$(BIN)/qa bench --scale-only --scale 10000 --scale 100000 --out reports/bench

# The million-passage figures (several minutes, about 6 GB of memory).
bench-1m: setup
	$(BIN)/qa bench --scale-only --scale 1000000 --out reports/bench

lint: setup-test
	$(BIN)/ruff check qa tests app.py

clean:
	rm -rf $(VENV) reports eval/cmrc eval/drcd eval/cjrc
	find index -mindepth 1 ! -name README.md -exec rm -rf {} +

# Refresh the README's screenshots from the browser tests.
screenshots: setup-test
	QA_SCREENSHOT_DIR=docs/screenshots $(BIN)/python -m pytest tests/test_web.py -q
