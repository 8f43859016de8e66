# Ephemera: every entry point a developer or CI needs. Scripts do the work: scripts/dev/ (install, start, stop),
# scripts/check/ (checks of make test), loadtest/ (load tests, loadtest/bench/ benchmarks); tools and Cassandra
# are cached under $(EPHEMERA_CACHE) (outside the checkout).
SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
export EPHEMERA_CACHE ?= $(HOME)/.cache/ephemera
export PATH := $(EPHEMERA_CACHE)/bin:$(PATH)

NODE_TESTS ?= test/*.test.ts test/inbox/*.test.ts test/chats/*.test.ts test/archiver/*.test.ts

.PHONY: help deps build run serve migrate archive counts test lint typecheck test-unit test-node prometheus \
        k8s-build k8s-up k8s-down k8s-status test-k8s pods-up pods-down pods-status pods-check test-pods test-rollout test-pod-kill test-skaffold-dev test-autoscale test-image compose-config test-compose compose-up compose-down \
        cassandra-image opensearch-image versitygw-image skaffold skaffold-check \
        s3-up s3-down s3-status s3-reset sweep-bodies test-files bench-bodies \
        cassandra-up cassandra-down cassandra-status cassandra-reset cluster-up cluster-down cluster-status test-cluster test-cluster-soak \
        search-up search-down search-status search-reset test-search bench-search reindex bench-freshness bench-catchup \
        openapi-lint config-doc chromium docs-screenshot tools chart-test license-check k6-typecheck test-unit bench-archiver promtool-test prometheus-up prometheus-down dashboard dashboard-screenshot image loadtest loadtest-smoke bench bench-cpu bench-statements test-faults faketime clean

help: ## list targets
	@grep -E '^[a-z0-9-]+:.*## ' $(MAKEFILE_LIST) | sed -E 's/^([a-z0-9-]+):.*## (.*)/  \1\t\2/' | expand -t 20

node_modules/.installed: package.json package-lock.json
	@echo "==> installing npm dependencies"
	npm ci --no-audit --no-fund --loglevel=error
	@touch $@

deps: node_modules/.installed ## install npm dependencies

build: deps ## compile TypeScript to dist/
	npx tsc -p tsconfig.build.json

cassandra-up: ## start (or reuse) the local Cassandra on 127.0.0.1:9042
	scripts/dev/cassandra.sh up
cassandra-down: ## stop the local Cassandra (SIGTERM)
	scripts/dev/cassandra.sh down
cassandra-status: ## say what runs where
	scripts/dev/cassandra.sh status
cassandra-reset: ## stop Cassandra and wipe its data
	scripts/dev/cassandra.sh reset

cluster-up: ## three-node Cassandra ring on 127.0.0.2-4 (CLUSTER_ADDRESSES), separate from cassandra-up
	scripts/dev/cluster.sh up
cluster-down: ## stop the three nodes
	scripts/dev/cluster.sh down
cluster-status: ## each node's pid, RSS and CQL answer, and the ring (UN/DN)
	scripts/dev/cluster.sh status

search-up: ## start (or reuse) the local OpenSearch on 127.0.0.1:9200
	scripts/dev/opensearch.sh up
search-down: ## stop the local OpenSearch (SIGTERM)
	scripts/dev/opensearch.sh down
search-status: ## say what runs where
	scripts/dev/opensearch.sh status
search-reset: ## stop OpenSearch and wipe its data
	scripts/dev/opensearch.sh reset

s3-up: ## start (or reuse) the local S3 server (versitygw, built once) on 127.0.0.1:9700 with bucket ephemera
	scripts/dev/s3.sh up
s3-down: ## stop the local S3 server (SIGTERM)
	scripts/dev/s3.sh down
s3-status: ## say what runs where
	scripts/dev/s3.sh status
s3-reset: ## stop the S3 server and wipe its objects
	scripts/dev/s3.sh reset

migrate: build cassandra-up search-up ## apply CQL migrations and the search index migration
	node dist/cli.js migrate

run: build cassandra-up search-up s3-up ## start everything locally and serve the API on $$PORT (default 8080)
	node dist/cli.js migrate
	node --import ./dist/observability/instrument.js dist/cli.js serve --archive-every $${ARCHIVE_INTERVAL_SECONDS:-30} \
	  --counts-every $${COUNTS_INTERVAL_SECONDS:-5} --index-every $${INDEX_INTERVAL_SECONDS:-1} \
	  --sweep-every $${SWEEP_INTERVAL_SECONDS:-300} --generate-admin-token

sweep-bodies: build cassandra-up s3-up ## one pass of the message-body sweeper (orphans, deleted messages, expired versions)
	node dist/cli.js sweep-bodies

archive: build cassandra-up ## one archiver pass against the local stack
	node dist/cli.js archive

counts: build cassandra-up ## one chat counts pass and a full reconciliation against the local stack
	node dist/cli.js counts --once

reindex: build cassandra-up search-up ## rebuild the local search index from Cassandra (TOKEN=... for one application)
	node dist/cli.js reindex $${TOKEN:+--token $$TOKEN}

lint: deps ## eslint (floors), no import circle in src/, docs/configuration.md in step with src/config.ts
	npx eslint .
	node --import tsx scripts/check/import-cycles.ts
	node --import tsx scripts/check/config-doc.ts --check

config-doc: deps ## regenerate docs/configuration.md from the zod schema in src/config.ts
	node --import tsx scripts/check/config-doc.ts

typecheck: deps ## tsc --noEmit
	npx tsc --noEmit

test-unit: deps ## the fast tier: pure rules, no Cassandra (seconds)
	node --import tsx --test --test-reporter=spec test/unit/*.test.ts

openapi-lint: deps ## lint the OpenAPI document (default and CHAT_PATH_USERNAMES=true) with Redocly CLI
	scripts/check/openapi-lint.sh

chromium: ## install Debian's chromium for the /docs page test (once; no-op when /usr/bin/chromium exists)
	scripts/dev/chromium.sh

prometheus: ## install Debian's prometheus for the metrics and dashboard tests (once, with the promtool checks; no-op when present)
	@command -v prometheus >/dev/null || scripts/check/promtool-test.sh

docs-screenshot: deps cassandra-up chromium ## refresh docs/api-docs.png from the /docs page test
	DOCS_SCREENSHOT=$(CURDIR)/docs/api-docs.png node --import tsx --test --test-reporter=spec test/docs-page.test.ts

test-node: deps cassandra-up s3-up chromium prometheus ## node:test suites against the real Cassandra
	node --import tsx --test --test-concurrency=1 --test-timeout=600000 --test-reporter=spec $(NODE_TESTS)

# The chat and editing suites again with the other object backend (s3 is the default in every suite), plus the
# file-storage suites (test/files/: backends, history, sweeper, faults).
test-files: deps cassandra-up s3-up ## file storage: test/files/*, and the chat and editing suites with CHAT_BODY_STORE=fs
	node --import tsx --test --test-concurrency=1 --test-timeout=600000 --test-reporter=spec test/files/*.test.ts
	CHAT_BODY_STORE=fs node --import tsx --test --test-concurrency=1 --test-timeout=600000 --test-reporter=spec \
	  test/chats/api.test.ts test/chats/editing.test.ts test/chats/editing-faults.test.ts

test-search: deps cassandra-up search-up s3-up ## search suites (index, endpoint, indexer faults) against the real OpenSearch and Cassandra
	node --import tsx --test --test-concurrency=1 --test-timeout=600000 --test-reporter=spec test/search/*.test.ts

# libfaketime (Debian package faketime, GPL-2, a test tool only): the clock-skew nemesis shifts one service's clock.
faketime: ## install libfaketime if missing (root, apt-get)
	@dpkg -s libfaketime >/dev/null 2>&1 || apt-get install -y -q faketime >/dev/null

test-faults: deps cassandra-up s3-up faketime ## fault injection: SIGKILLed service, Cassandra stopped and restarted, clocks skewed, a service paused past its lease
	node --import tsx --test --test-concurrency=1 --test-timeout=600000 --test-reporter=spec test/faults/*.test.ts

# Not part of `make test`: three JVMs on 2 cores. Starts the ring (or reuses it), stops it afterwards unless
# CLUSTER_KEEP=1, and keeps the test's exit status.
test-cluster: deps s3-up ## RF 3 at LOCAL_QUORUM: node killed, two nodes down, node partitioned, under load; history checked
	scripts/dev/cluster.sh up
	rc=0; node --import tsx --test --test-concurrency=1 --test-timeout=1200000 --test-reporter=spec \
	  test/cluster/*.test.ts || rc=$$?; \
	if [[ -z "$${CLUSTER_KEEP:-}" ]]; then scripts/dev/cluster.sh down; fi; exit $$rc

# RUNS times each of SCENARIOS (test/cluster/<name>.test.ts; node-kill by default) on one ring, then one line of
# counts per run (test/cluster/soak-summary.ts); fails if a run failed or counted an anomaly. Each run takes
# minutes on a loaded 2-core machine. Every nemesis: SCENARIOS="node-kill node-pause partition quorum-loss".
test-cluster-soak: deps s3-up ## node-kill (or SCENARIOS) RUNS times (default 3), counts per run: lost, duplicated, numbers twice, edits lost, errors
	scripts/dev/cluster.sh up
	since=$$(date -u +%FT%T.000Z); rc=0; scenarios="$${SCENARIOS:-node-kill}"; \
	for i in $$(seq 1 $${RUNS:-3}); do \
	  for s in $$scenarios; do \
	    echo "==> $$s run $$i of $${RUNS:-3}"; \
	    node --import tsx --test --test-concurrency=1 --test-timeout=1200000 --test-reporter=spec \
	      test/cluster/$$s.test.ts || rc=$$?; \
	  done; \
	done; \
	node --import tsx test/cluster/soak-summary.ts "$$since" "$${RUNS:-3}" "$$scenarios" || rc=$$?; \
	if [[ -z "$${CLUSTER_KEEP:-}" ]]; then scripts/dev/cluster.sh down; fi; exit $$rc

promtool-test: ## promtool check/test rules; every dashboard/alert/autoscaler PromQL parses
	scripts/check/promtool-test.sh

prometheus-up: ## real Prometheus scraping the local service (TARGET=127.0.0.1:8080)
	scripts/dev/prometheus.sh start $${TARGET:-127.0.0.1:8080} $${PROM_PORT:-9090}

prometheus-down: ## stop it
	scripts/dev/prometheus.sh stop

# Debian's prometheus comes with promtool-test.sh's install step (as in make test, where it runs before test-node).
dashboard: deps prometheus ## the chart's dashboard drawn live on DASHBOARD_PORT (3000) from a local Prometheus scraping TARGET (make run); ARGS=--help
	npx tsx scripts/dev/dashboard/main.ts $${ARGS:-}

dashboard-screenshot: deps cassandra-up chromium prometheus ## refresh docs/dashboard.png (shown in the README) from the dashboard page test (DASHBOARD_TRAFFIC_SECONDS=90 of traffic)
	DASHBOARD_SCREENSHOT=$(CURDIR)/docs/dashboard.png DASHBOARD_TRAFFIC_SECONDS=$${DASHBOARD_TRAFFIC_SECONDS:-90} \
	  node --import tsx --test --test-reporter=spec test/dashboard-page.test.ts

tools: ## install helm, kubeconform, helm-unittest, kubernetes-validate, vegeta into $(EPHEMERA_CACHE)/bin
	scripts/dev/tools.sh all

skaffold: ## build skaffold v2.24.0 from its Go module once (~12 CPU-minutes); skaffold-check then runs
	scripts/dev/tools.sh skaffold

skaffold-check: ## skaffold diagnose, build --dry-run, render (validated like the chart); only if skaffold is built
	scripts/check/skaffold-check.sh

chart-test: ## Helm chart: lint, render, strict validation (k8s 1.31-1.34 + CRDs), dashboard model, helm-unittest
	scripts/dev/tools.sh helm kubeconform helm-unittest kubernetes-validate
	scripts/check/chart-test.sh

k6-typecheck: deps ## type-check loadtest/k6/ (for people with their own k6; not run here) against @types/k6
	npx tsc -p loadtest/k6/tsconfig.json

license-check: deps cassandra-up search-up ## every npm (production), Go, Maven and PyPI package the project installs has an allowed license
	scripts/dev/tools.sh helm kubeconform helm-unittest kubernetes-validate vegeta versitygw
	node --import tsx scripts/check/license/gate.ts

bench-archiver: deps cassandra-up ## messages archived per second vs raw cold writes
	npx tsx loadtest/bench/bench-archiver.ts --messages $${MESSAGES:-20000}

bench-search: deps search-up ## search index: bulk docs/s, apply-to-searchable p50/p99, search latency
	npx tsx loadtest/bench/bench-search.ts --messages $${MESSAGES:-20000}

bench-bodies: build cassandra-up s3-up ## message bodies s3 vs cassandra: create/edit/read p50/p99 and CPU per request for 1 KiB, 64 KiB, 4 MiB (N, N_LARGE, CONCURRENCY)
	npx tsx loadtest/bench/bench-bodies.ts

bench-freshness: build cassandra-up search-up ## search freshness: write answered -> search reflects it (creates, edits, deletes), CPU per write; RATE (50)/s, DURATION (30) s, OUTAGE (0) s
	npx tsx loadtest/bench/bench-freshness.ts --rate $${RATE:-50} --duration $${DURATION:-30} --outage $${OUTAGE:-0}

bench-catchup: deps search-up ## search fast path alone: an outage's backlog (BACKLOG, 12000) searchable how long after OpenSearch's return, RUNS (5) runs
	npx tsx loadtest/bench/bench-catchup.ts --runs $${RUNS:-5} --backlog $${BACKLOG:-12000}

loadtest-smoke: build cassandra-up s3-up ## vegeta smoke (20 req/s, 10 s, shape checks) against a service it starts itself
	loadtest/run.sh smoke

loadtest: deps ## vegeta: RATE (1000) req/s of the mix for DURATION (60s) against BASE_URL (default: make run on PORT)
	BASE_URL=$${BASE_URL:-http://127.0.0.1:$${PORT:-8080}} RATE=$${RATE:-1000} DURATION=$${DURATION:-60s} \
	  loadtest/run.sh mix

bench: build cassandra-up ## service vs raw data layer per endpoint + vegeta steps, then the chart
	scripts/dev/tools.sh vegeta
	npx tsx loadtest/bench/bench.ts
	node loadtest/bench/perf-chart.mjs

bench-cpu: build cassandra-up search-up ## CPU ms per request at RATE (300) req/s per endpoint (inbox + one hot chat: create, list, search): service, bare node:http handler, raw data layer
	scripts/dev/tools.sh vegeta
	npx tsx loadtest/bench/bench-cpu.ts
	node loadtest/bench/cpu-chart.mjs

bench-statements: build cassandra-up search-up ## CQL statements, LWTs and bytes per request per endpoint (N=100 each, one at a time), from the executor's metrics
	npx tsx loadtest/bench/bench-statements.ts

k8s-build: ## build etcd, kube-apiserver, kube-controller-manager, kube-scheduler, kwok once (~23 CPU-minutes)
	scripts/dev/k8s.sh build

k8s-up: ## local control plane on 127.0.0.1:6443 (K8S_KWOK=1: + scheduler, fake node); kubeconfig: scripts/dev/k8s.sh kubeconfig
	scripts/dev/k8s.sh up

k8s-down: ## stop it and drop its etcd data
	scripts/dev/k8s.sh down

k8s-status: ## what runs where
	scripts/dev/k8s.sh status

test-k8s: deps ## chart install/upgrade/uninstall, CronJob -> Job, archiver Lease on a real API server
	test/k8s/run.sh

pods-up: cassandra-up search-up ## EXPERIMENTAL (docs/pods.md): control plane + a node running real containers, the chart installed from make image; ends with the Service's loopback URL (PODS_INSTALL=0: node only)
	scripts/dev/pods.sh up
	@if [ "$${PODS_INSTALL:-1}" = 1 ]; then scripts/dev/image.sh build && scripts/dev/pods.sh import && scripts/dev/pods.sh install; fi

pods-down: ## stop the node and the control plane; leaves nothing on the host (test-pods checks)
	scripts/dev/pods.sh down

pods-status: ## node daemons with their memory, the node, every pod
	scripts/dev/pods.sh status

pods-check: ## no control plane needed: the node's namespaces + containerd, one pod sandbox and container via CRI (crictl), then all stopped (~2 s once built)
	scripts/dev/pods.sh check

test-pods: deps cassandra-up search-up ## EXPERIMENTAL (docs/pods.md; .ci/run runs it where the control plane is built): the chart on real pods: hook Job, Ready pods, API suites THROUGH the Service, archiver CronJob pod, clean teardown
	test/pods/run.sh

test-rollout: deps cassandra-up search-up ## EXPERIMENTAL (docs/pods.md): real pods; helm upgrade replaces every API pod under 200 req/s through the Service: 0 failed requests, every acknowledged create readable, each message delivered once (test-pods runs it too)
	PODS_ROLLOUT=1 test/pods/run.sh

test-pod-kill: deps cassandra-up search-up ## EXPERIMENTAL (docs/pods.md): real pods; one API pod's server SIGKILLed under 200 req/s through the Service: errors counted and bounded, nothing acknowledged lost (test-pods runs it too)
	PODS_KILL=1 test/pods/run.sh

test-skaffold-dev: cassandra-up search-up ## EXPERIMENTAL (docs/pods.md): skaffold dev -p pods (buildah build, containerd import, helm deploy) on the node of make pods-up, or on one it brings up and down itself; an edit of GET /healthz's answer rebuilt, redeployed, and answered through the Service (edit -> new answer timed)
	scripts/dev/pods/skaffold-dev-test.sh

test-autoscale: deps cassandra-up search-up ## EXPERIMENTAL (docs/pods.md): real pods + Prometheus + prometheus-adapter; vegeta load scales the chart's HPA 1 -> >=3 -> 1 on the request-rate metric; timeline in loadtest/data/autoscale-timeline.csv
	PODS_AUTOSCALE=1 test/pods/run.sh

image: ## build the container image offline with buildah (as root; base image built locally once)
	scripts/dev/image.sh build

test-image: deps cassandra-up image ## the image under podman (runc, read-only, uid 10001, no caps): migrate, serve, round trip, SIGTERM
	scripts/dev/image.sh test

cassandra-image: ## local stand-in for cassandra:5.0 from the cached Maven jars (for compose without a registry)
	scripts/dev/cassandra-image.sh

opensearch-image: ## local stand-in for opensearchproject/opensearch from the jars search-up resolved (for compose without a registry)
	scripts/dev/opensearch-image.sh

versitygw-image: ## local stand-in for the versitygw image from the binary s3-up runs (compose, the chart's versitygw.image)
	scripts/dev/versitygw-image.sh

compose-config: ## validate compose.yaml (+ compose.hostnet.yaml) with docker-compose config -q, and its rules (whole stack, no profile)
	scripts/dev/compose.sh config

test-compose: deps ## whole compose stack under podman's Docker API: up --wait, API conformance, archiver, search + S3 bodies + sweeper, down -v
	scripts/dev/compose.sh test

compose-up: ## the compose stack on this machine (host network; API on 127.0.0.1:18180), left running
	scripts/dev/compose.sh up

compose-down: ## stop it and drop its volumes
	scripts/dev/compose.sh down

test: deps lint typecheck k6-typecheck openapi-lint test-unit cassandra-up search-up s3-up promtool-test chart-test compose-config license-check test-node test-files test-search test-faults loadtest-smoke test-image skaffold-check ## everything CI runs
	@echo "==> make test: all green"

clean: ## remove build output
	rm -rf dist
