# make run   — set up .venv and start the web chat on the seed corpus (index built on first use)
# make test  — set up .venv (with test extras) and run the whole test suite
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV   := .venv
BIN    := $(VENV)/bin
PIP    := $(BIN)/pip install --disable-pip-version-check -q -c constraints.txt

.PHONY: setup setup-test run test index eval cmrc drcd cjrc cmrc-index drcd-index cjrc-index fit-answers reader-data fit-reader fit-reader-decisions fit-yes-no fit-scale bench bench-1m bench-milvus bench-ocr soak lint clean screenshots

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

# Public sets: converted (with a train/test split by document, qa/squad.py) and indexed once.
cmrc-index: setup
	$(BIN)/python -m qa.squad ../shared/benchmarks/cmrc2018_trial.json --out eval/cmrc
	$(BIN)/qa index eval/cmrc/corpus --index-dir eval/cmrc/index-300 --quiet
drcd-index: setup
	$(BIN)/python -m qa.squad ../shared/benchmarks/drcd_dev.json --out eval/drcd
	$(BIN)/qa index eval/drcd/corpus --index-dir eval/drcd/index --quiet
cjrc-index: setup
	$(BIN)/python -m qa.squad ../shared/benchmarks/cjrc_dev.json --out eval/cjrc
	$(BIN)/qa index eval/cjrc/corpus --index-dir eval/cjrc/index --quiet

# CMRC 2018 trial, 300-char passages, on the held-out split (and whole paragraphs, all questions).
cmrc: cmrc-index
	$(BIN)/qa eval eval/cmrc/questions.jsonl --index-dir eval/cmrc/index-300 --split test --mode all --report reports/cmrc-300
	$(BIN)/qa index eval/cmrc/corpus --index-dir eval/cmrc/index --max-chars 2000 --quiet
	$(BIN)/qa eval eval/cmrc/questions.jsonl --index-dir eval/cmrc/index --report reports/cmrc

# DRCD dev (Traditional Chinese Wikipedia), held-out split.
drcd: drcd-index
	$(BIN)/qa eval eval/drcd/questions.jsonl --index-dir eval/drcd/index --split test --mode all --report reports/drcd

# CJRC dev (court judgments, with unanswerable questions), held-out split: each question within
# its own judgment (how the set is scored), and over all 1,000 judgments.
cjrc: cjrc-index
	$(BIN)/qa eval eval/cjrc/questions.jsonl --index-dir eval/cjrc/index --split test --within-doc --report reports/cjrc-doc
	$(BIN)/qa eval eval/cjrc/questions.jsonl --index-dir eval/cjrc/index --split test --report reports/cjrc

# Refit the answer models (qa/models/answers.json) on the three sets' train split; prints and
# stores the test split's figures. About 25 minutes on 2 cores.
fit-answers: setup-test cmrc-index drcd-index cjrc-index index
	$(BIN)/qa fit-answers eval/cmrc/questions.jsonl=eval/cmrc/index-300 eval/drcd/questions.jsonl=eval/drcd/index \
		eval/cjrc/questions.jsonl=eval/cjrc/index@doc eval/seed_questions.jsonl=index

# The span reader (qa/reader.py): its training data from the three sets' and the seeds' train
# split, the fine-tune (about 5 minutes on one H200 GPU; on 2 CPU cores, with the CPU torch
# build, a day), then its sentence choice and abstain threshold on the held-out dev share of
# the train split (fit-reader-decisions alone: about 10 minutes on 2 cores, no GPU).
reader-data: setup cmrc-index drcd-index cjrc-index index
	$(BIN)/python -m qa.reader_data eval/cmrc/questions.jsonl=eval/cmrc/index-300 eval/drcd/questions.jsonl=eval/drcd/index \
		eval/cjrc/questions.jsonl=eval/cjrc/index@doc eval/seed_questions.jsonl=index --both-scripts --out reports/reader/bundle.npz
fit-reader: reader-data
	$(BIN)/python -m qa.reader_train reports/reader/bundle.npz --out qa/models/reader --config 1e-4:3 2e-4:3 1e-4:5
	$(MAKE) fit-reader-decisions
fit-reader-decisions: setup-test cmrc-index drcd-index cjrc-index index
	$(BIN)/python -m qa.reader_fit eval/cmrc/questions.jsonl=eval/cmrc/index-300 eval/drcd/questions.jsonl=eval/drcd/index \
		eval/cjrc/questions.jsonl=eval/cjrc/index@doc eval/seed_questions.jsonl=index

# Yes/no questions (qa/yes_no.py): evidence → answered? → yes or no, fitted on CJRC's train split
# (the one set with YES/NO gold answers and unanswerable questions). Under a minute.
fit-yes-no: setup-test cjrc-index
	$(BIN)/python -m qa.yes_no_fit eval/cjrc/questions.jsonl=eval/cjrc/index@doc

# Speed, memory and size: the seed corpus, the CMRC trial corpus, and synthetic 10k/100k corpora.
bench: setup
	$(BIN)/qa bench seeds --out reports/bench
	$(BIN)/qa bench cmrc --out reports/bench
	$(BIN)/qa bench --scale-only --scale 10000 --scale 100000 --out reports/bench

# The million-passage figures (several minutes, about 6 GB of memory).
bench-ocr: setup  # OCR pages/s and characters recognised on synthetic A4 scans
	$(BIN)/python -m qa.ocr_bench --pages 10

# The same tables on embedded Milvus (milvus-lite), beside the local store's (README, "The Milvus store").
bench-milvus: setup
	$(PIP) -e ".[milvus]"
	$(BIN)/qa bench seeds --store milvus --out reports/bench
	$(BIN)/qa bench --store milvus --scale-only --scale 100000 --out reports/bench

# 10,000 questions from 8 API callers on loopback: latency and server memory every 1,000 (CI runs 800).
soak: index
	$(BIN)/python -m qa.soak --questions 10000 --callers 8 --every 1000 --json reports/soak.json

bench-1m: setup
	$(BIN)/qa bench --scale-only --scale 1000000 --out reports/bench

# The synthetic corpus's noise and the vector index's calibration noise, fitted to real passages
# and questions (qa/scale_fit.py; about 10 minutes the first time, the sentence pool is then cached).
fit-scale: setup cmrc-index drcd-index cjrc-index index
	$(BIN)/python -m qa.scale_fit eval/cmrc/index-300=eval/cmrc/questions.jsonl eval/drcd/index=eval/drcd/questions.jsonl \
		eval/cjrc/index=eval/cjrc/questions.jsonl index --out reports/scale-fit.json

lint: setup-test
	$(BIN)/ruff check qa tests app.py

clean:
	rm -rf $(VENV) reports eval/cmrc eval/drcd eval/cjrc
	find index -mindepth 1 ! -name README.md -exec rm -rf {} +

# Refresh the README's screenshots from the browser tests.
screenshots: setup-test
	QA_SCREENSHOT_DIR=docs/screenshots $(BIN)/python -m pytest tests/test_web.py -q
