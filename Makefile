# Every command a person types. CI runs `make test` (see .ci/run).
PYTHON ?= python3.11
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-stamp
SHARED ?= ../shared/benchmarks

.PHONY: install install-tools peer-txtai index serve page-shots milvus soak bench bench-scale eval eval-beir eval-squad eval-fusion eval-chunking int8-emulated test lint typecheck clean

# Re-installs only when the dependency files change. torch goes first, pinned to the CPU
# build: installing anything that depends on torch before it pulls GBs of CUDA wheels.
$(STAMP): pyproject.toml constraints.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet -c constraints.txt torch
	$(BIN)/python -m pip install --quiet -c constraints.txt -e '.[dev]'
	touch $@

install: $(STAMP)

## txtai 9.14's API in its own virtualenv (.venv-txtai), the peer `make bench` measures beside
## Byline: the same CPU torch and shared versions, by constraints.txt.
PEER_VENV  := .venv-txtai
PEER_STAMP := $(PEER_VENV)/.installed-stamp
$(PEER_STAMP): eval/peers/txtai/requirements.txt constraints.txt
	test -x $(PEER_VENV)/bin/python || $(PYTHON) -m venv $(PEER_VENV)
	$(PEER_VENV)/bin/python -m pip install --quiet -c constraints.txt torch
	$(PEER_VENV)/bin/python -m pip install --quiet -c constraints.txt -r eval/peers/txtai/requirements.txt
	touch $@

peer-txtai: $(PEER_STAMP)

## Programs the tests use besides Python packages: strace (what the server connects to), wrk (load),
## Chromium (the search page, driven by Playwright: its own browser download cannot work offline).
install-tools:
	command -v strace >/dev/null && command -v wrk >/dev/null && command -v chromium >/dev/null || \
	  { apt-get update -qq && apt-get install -y -qq strace wrk chromium; }

## Index the seed articles (incremental: unchanged articles are not embedded again).
index: install
	$(BIN)/byline index

## Build the seed index if there is none, then serve on 127.0.0.1:8000.
serve: install
	$(BIN)/byline index --if-missing
	$(BIN)/byline serve

## The search page's screenshots in docs/ (README), and its load time and size, from the browser tests.
page-shots: install install-tools
	BYLINE_PAGE_SHOTS=docs $(BIN)/pytest tests/service/test_page.py -k screenshots -s -q

## A Milvus Lite server on 127.0.0.1:19530, data in data/milvus (for BYLINE_STORE=milvus).
milvus: install
	$(BIN)/milvus-lite server --data-dir data/milvus --host 127.0.0.1 --port 19530

## Mixed load for 60 s at 16 clients: throughput, latency, errors, RSS over time.
soak: install
	$(BIN)/byline soak --seconds 60 --clients 16

## Speed and memory on this machine, and txtai under the same load: a table, and JSON under
## eval/reports/.
bench: install install-tools peer-txtai
	$(BIN)/byline bench --peer txtai

## Vector search at 10k, 100k and 1M passages: latency, recall@10 against exact, memory (minutes).
bench-scale: install
	$(BIN)/byline scale --squad $(SHARED)/squad-dev/dev-v1.1.json.gz

## Retrieval quality on the public benchmarks (minutes each; embeddings cached in eval/cache/).
eval-beir: install
	$(BIN)/byline eval --beir $(SHARED)/scifact --split test

eval-squad: install
	$(BIN)/byline eval --squad $(SHARED)/squad-dev/dev-v1.1.json.gz --questions 1000

## Every fusion method and weight on SciFact train, SQuAD and the seeds; the choice, and SciFact test.
## In fp32, as README's fusion table: auto would pick int8 on VNNI CPUs, one seed question apart.
eval-fusion: install
	BYLINE_EMBED_PRECISION=fp32 $(BIN)/byline eval --fusion-table --beir $(SHARED)/scifact --squad $(SHARED)/squad-dev/dev-v1.1.json.gz

## int8 on the kernels of an AVX2-only CPU, on this machine: ONNX Runtime under qemu-user
## emulating a Haswell (`apt-get install qemu-user`; not part of `make test`). Emulated, the
## model takes about a second a token: the default sample takes hours (docs/int8.md).
INT8_CPU     ?= Haswell-v4
INT8_OUT     ?= eval/reports/int8-kernels
INT8_SAMPLES ?= --samples squad-questions scifact-queries squad-paragraphs --limit 100
INT8_DATA    := --scifact $(SHARED)/scifact --squad $(SHARED)/squad-dev/dev-v1.1.json.gz
INT8         := $(BIN)/python -m eval.int8_kernels
QEMU         := nice -n 10 qemu-x86_64 -cpu $(INT8_CPU)
int8-emulated: install
	command -v qemu-x86_64 >/dev/null || { echo "needs qemu-user: apt-get install -y qemu-user" >&2; exit 2; }
	$(INT8) dump --precision fp32 --out $(INT8_OUT)/native-fp32 $(INT8_SAMPLES) $(INT8_DATA)
	$(INT8) dump --precision int8 --out $(INT8_OUT)/native-int8 $(INT8_SAMPLES) $(INT8_DATA)
	$(INT8) op $(INT8_OUT)/op-native
	$(QEMU) $(INT8) op $(INT8_OUT)/op-emulated
	$(QEMU),-avx2 $(INT8) op $(INT8_OUT)/op-emulated-no-avx2
	$(INT8) op-check $(INT8_OUT)/op-native $(INT8_OUT)/op-emulated $(INT8_OUT)/op-emulated-no-avx2
	$(QEMU) $(INT8) dump --precision fp32 --out $(INT8_OUT)/emulated-fp32 --samples squad-questions --limit 5 $(INT8_DATA)
	$(QEMU) $(INT8) dump --precision int8 --out $(INT8_OUT)/emulated-int8 $(INT8_SAMPLES) $(INT8_DATA)
	$(INT8) compare $(INT8_OUT)/native-fp32 $(INT8_OUT)/emulated-fp32
	$(INT8) compare $(INT8_OUT)/native-fp32 $(INT8_OUT)/native-int8
	$(INT8) compare $(INT8_OUT)/native-fp32 $(INT8_OUT)/emulated-int8
	$(INT8) compare $(INT8_OUT)/native-int8 $(INT8_OUT)/emulated-int8

## The labelled seed questions (seconds).
eval: install
	$(BIN)/byline eval

## Retrieval quality by passage size on SQuAD dev (minutes): how the chunking target was chosen.
eval-chunking: install
	$(BIN)/byline chunk-sweep

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/hadolint Dockerfile

typecheck: install
	$(BIN)/mypy

test: lint typecheck install-tools
	$(BIN)/pytest

clean:
	rm -rf $(VENV) $(PEER_VENV) data .mypy_cache .ruff_cache .pytest_cache
