# Two commands: `make run` serves a demo node, `make test` runs every check.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
HOME_DIR ?= demo
PORT ?= 8000
CLUSTER_HOME ?= demo/cluster

.PHONY: run cluster cluster-stop test lint typecheck pytest bench clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip

$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install -q -e .
	touch $@

$(VENV)/.test-installed: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install -q -e ".[test]"
	touch $@ $(VENV)/.installed

run: $(VENV)/.installed
	@test -f $(HOME_DIR)/genesis.json || $(BIN)/ledger init $(HOME_DIR) --demo
	$(BIN)/ledger node --home $(HOME_DIR) --port $(PORT)

define CLUSTER_WAIT
import json, sys, time
import httpx
home = sys.argv[1]
nodes = json.load(open(f"{home}/node.json"))["validators"]
print(f"cluster in {home}: waiting for the nodes ...")
waiting, deadline = set(nodes), time.time() + 120
while waiting and time.time() < deadline:
    for v in sorted(waiting):
        try:
            if httpx.get(f"http://{nodes[v]['api']}/readyz", timeout=1).status_code == 200:
                waiting.discard(v)
        except httpx.HTTPError:
            pass
    time.sleep(0.3)
for v, e in sorted(nodes.items()):
    note = f"   NOT READY: see {home}/run/{v}.log" if v in waiting else ""
    print(f"  {v}: API http://{e['api']}   (p2p {e['p2p']}){note}")
first = nodes[min(nodes)]["api"]
print(f"logs: {home}/run/*.log   status: curl http://{first}/v1/checkpoint")
print("stop it with: make cluster-stop" + ("" if home == "demo/cluster" else f" CLUSTER_HOME={home}"))
endef
export CLUSTER_WAIT

# Four validators on loopback, each its own process and SQLite database (CLUSTER_HOME/nodes/),
# their p2p and API addresses from CLUSTER_HOME/node.json. Logs and pids in CLUSTER_HOME/run/.
cluster: $(VENV)/.installed
	@test -f $(CLUSTER_HOME)/genesis.json || $(BIN)/ledger init $(CLUSTER_HOME) --validators 4 --demo > /dev/null
	@mkdir -p $(CLUSTER_HOME)/run
	@for v in $$($(BIN)/python -c "import json; print(' '.join(sorted(json.load(open('$(CLUSTER_HOME)/node.json'))['validators'])))"); do \
		pid=$(CLUSTER_HOME)/run/$$v.pid; \
		if [ -f $$pid ] && kill -0 $$(cat $$pid) 2>/dev/null; then echo "$$v is already running (pid $$(cat $$pid))"; continue; fi; \
		nohup $(BIN)/ledger node --home $(CLUSTER_HOME) --validator $$v >> $(CLUSTER_HOME)/run/$$v.log 2>&1 & echo $$! > $$pid; \
	done
	@$(BIN)/python -c "$$CLUSTER_WAIT" $(CLUSTER_HOME)

cluster-stop:
	@for f in $(CLUSTER_HOME)/run/*.pid; do \
		[ -f $$f ] || continue; \
		kill $$(cat $$f) 2>/dev/null && echo "stopped $$(basename $$f .pid)"; \
		rm -f $$f; \
	done

lint: $(VENV)/.test-installed
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: $(VENV)/.test-installed
	$(BIN)/mypy ledger api consensus keys

pytest: $(VENV)/.test-installed
	$(BIN)/python -m pytest

test: lint typecheck pytest

bench: $(VENV)/.test-installed
	$(BIN)/python bench/bench.py

# Four validators as processes on loopback: committed tx/s and commit latency (docs/performance.md)
.PHONY: bench-cluster
bench-cluster: $(VENV)/.test-installed
	$(BIN)/python bench/cluster.py

clean:
	rm -rf $(VENV) build *.egg-info .mypy_cache .ruff_cache .pytest_cache
