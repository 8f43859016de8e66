# Ephemera: every entry point a developer or CI needs. Scripts under scripts/ do the work;
# tools and Cassandra are cached under $(EPHEMERA_CACHE) (outside the checkout).
SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
export EPHEMERA_CACHE ?= $(HOME)/.cache/ephemera
export PATH := $(EPHEMERA_CACHE)/bin:$(PATH)

NODE_TESTS ?= test/*.test.ts

.PHONY: help deps build run serve migrate archive test lint typecheck test-unit test-node \
        k8s-build k8s-up k8s-down k8s-status test-k8s test-image \
        cassandra-up cassandra-down cassandra-status cassandra-reset cluster-up cluster-down cluster-status test-cluster \
        tools chart-test bench-archiver promtool-test prometheus-up prometheus-down image loadtest loadtest-smoke bench test-faults clean

help: ## list targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | sed -E 's/^([a-z-]+):.*## (.*)/  \1\t\2/' | expand -t 20

node_modules/.installed: package.json package-lock.json
	@echo "==> installing npm dependencies"
	npm ci --no-audit --no-fund --loglevel=error
	@touch $@

deps: node_modules/.installed ## install npm dependencies

build: deps ## compile TypeScript to dist/
	npx tsc -p tsconfig.build.json

cassandra-up: ## start (or reuse) the local Cassandra on 127.0.0.1:9042
	scripts/cassandra.sh up
cassandra-down: ## stop the local Cassandra (SIGTERM)
	scripts/cassandra.sh down
cassandra-status: ## say what runs where
	scripts/cassandra.sh status
cassandra-reset: ## stop Cassandra and wipe its data
	scripts/cassandra.sh reset

cluster-up: ## three-node Cassandra ring on 127.0.0.2-4 (CLUSTER_ADDRESSES), separate from cassandra-up
	scripts/cluster.sh up
cluster-down: ## stop the three nodes
	scripts/cluster.sh down
cluster-status: ## each node's pid, RSS and CQL answer, and the ring (UN/DN)
	scripts/cluster.sh status

migrate: build cassandra-up ## apply CQL migrations
	node dist/cli.js migrate

run: build cassandra-up ## start everything locally and serve the API on $$PORT (default 8080)
	node dist/cli.js migrate
	node --import ./dist/observability/instrument.js dist/cli.js serve --archive-every $${ARCHIVE_INTERVAL_SECONDS:-30}

archive: build cassandra-up ## one archiver pass against the local stack
	node dist/cli.js archive

lint: deps ## eslint
	npx eslint .

typecheck: deps ## tsc --noEmit
	npx tsc --noEmit

test-unit: deps ## the fast tier: pure rules, no Cassandra (seconds)
	node --import tsx --test --test-reporter=spec test/unit/*.test.ts

test-node: deps cassandra-up ## node:test suites against the real Cassandra
	node --import tsx --test --test-concurrency=1 --test-timeout=600000 --test-reporter=spec $(NODE_TESTS)

test-faults: deps cassandra-up ## fault injection: SIGKILLed service, Cassandra stopped and restarted
	node --import tsx --test --test-concurrency=1 --test-timeout=600000 --test-reporter=spec test/faults/*.test.ts

# Not part of `make test`: three JVMs on 2 cores. Starts the ring (or reuses it), stops it afterwards unless
# CLUSTER_KEEP=1, and keeps the test's exit status.
test-cluster: deps ## RF 3 at LOCAL_QUORUM: node killed, two nodes down, node partitioned, under load; history checked
	scripts/cluster.sh up
	rc=0; node --import tsx --test --test-concurrency=1 --test-timeout=1200000 --test-reporter=spec \
	  test/cluster/*.test.ts || rc=$$?; \
	if [[ -z "$${CLUSTER_KEEP:-}" ]]; then scripts/cluster.sh down; fi; exit $$rc

promtool-test: ## promtool check/test rules; every dashboard/alert/autoscaler PromQL parses
	scripts/promtool-test.sh

prometheus-up: ## real Prometheus scraping the local service (TARGET=127.0.0.1:8080)
	scripts/prometheus.sh start $${TARGET:-127.0.0.1:8080} $${PROM_PORT:-9090}

prometheus-down: ## stop it
	scripts/prometheus.sh stop

tools: ## install helm, kubeconform, helm-unittest, kubernetes-validate into $(EPHEMERA_CACHE)/bin
	scripts/tools.sh all

chart-test: ## Helm chart: lint, render, strict offline validation (k8s 1.31-1.34 + CRDs), helm-unittest
	scripts/tools.sh helm kubeconform helm-unittest kubernetes-validate
	scripts/chart-test.sh

bench-archiver: deps cassandra-up ## messages archived per second vs raw cold writes
	npx tsx scripts/bench-archiver.ts --messages $${MESSAGES:-20000}

loadtest-smoke: build cassandra-up ## k6 smoke (20 req/s, 10 s, shape checks) against a service it starts itself
	loadtest/run.sh smoke

loadtest: ## RATE (1000) req/s of the mix for DURATION (60s) against BASE_URL (default: make run on PORT)
	scripts/k6.sh run -e BASE_URL=$${BASE_URL:-http://127.0.0.1:$${PORT:-8080}} -e RATE=$${RATE:-1000} \
	  -e DURATION=$${DURATION:-60s} loadtest/mix.js

bench: build cassandra-up ## service vs raw data layer per endpoint + k6 steps, then the chart
	npx tsx scripts/bench.ts
	node scripts/perf-chart.mjs

k8s-build: ## build etcd, kube-apiserver, kube-controller-manager, kube-scheduler, kwok once (~23 CPU-minutes)
	scripts/k8s.sh build

k8s-up: ## local control plane on 127.0.0.1:6443 (K8S_KWOK=1: + scheduler, fake node); kubeconfig: scripts/k8s.sh kubeconfig
	scripts/k8s.sh up

k8s-down: ## stop it and drop its etcd data
	scripts/k8s.sh down

k8s-status: ## what runs where
	scripts/k8s.sh status

test-k8s: deps ## chart install/upgrade/uninstall, CronJob -> Job, archiver Lease on a real API server
	test/k8s/run.sh

image: ## build the container image offline with buildah (as root; base image built locally once)
	scripts/image.sh build

test-image: deps cassandra-up image ## run the image's entry point read-only as uid 10001: migrate, serve, probes, SIGTERM
	scripts/image.sh test

test: deps lint typecheck test-unit cassandra-up promtool-test chart-test test-node test-faults loadtest-smoke test-image ## everything CI runs
	@echo "==> make test: all green"

clean: ## remove build output
	rm -rf dist
