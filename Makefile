# Two set-up commands: `make demo` and `make test`. Both create .venv and install what they need.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-stamp
# Two cores: keep OpenMP/BLAS from oversubscribing them.
export OMP_NUM_THREADS ?= 2
export OPENBLAS_NUM_THREADS ?= 2
export MKL_NUM_THREADS ?= 2

.PHONY: install demo test check lint typecheck bench clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[dev]"
	touch $(STAMP)

install: $(STAMP)

demo: install
	$(BIN)/lookalike demo -o demo-output --force

lint: install
	$(BIN)/ruff check src tests benchmarks
	$(BIN)/ruff format --check src tests benchmarks

typecheck: install
	$(BIN)/mypy

test: install lint typecheck
	$(BIN)/python -m pytest --doctest-modules src tests

# Long: the neural peers take up to hours on two cores. See README for running a part.
bench: install
	bash benchmarks/setup.sh
	nice -n 10 .venv-bench/bin/python benchmarks/run.py --datasets adult,default_credit,diabetes_brfss --synths lookalike,cart,gaussian_copula,ctgan,tvae,tabularargn --out benchmarks/out/
	.venv-bench/bin/python benchmarks/run.py --scaling

clean:
	rm -rf $(VENV) .venv-bench demo-output .pytest_cache .mypy_cache .ruff_cache
