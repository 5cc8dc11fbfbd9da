# Whistle (吹哨). `make run` builds and starts the demo district; `make test` runs every test.
GO        ?= go
BIN       := bin/whistle
VERSION   ?= $(shell git describe --always --dirty 2>/dev/null || echo dev)
LDFLAGS   := -X main.version=$(VERSION)
PG_URL    ?= postgres://postgres@127.0.0.1:5432/test?sslmode=disable

# Use the local PostgreSQL for the store tests when it answers, unless the
# caller chose a URL (or an empty one to skip): `make test` is green either way.
ifeq ($(origin WHISTLE_TEST_POSTGRES), undefined)
  ifeq ($(shell pg_isready -q -h 127.0.0.1 -p 5432 2>/dev/null && echo up),up)
    export WHISTLE_TEST_POSTGRES := $(PG_URL)
  endif
endif

VENDOR    := internal/web/static/vendor

.PHONY: all assets build run test vet lint bench clean

# The longest package (cmd/whistle: the end-to-end and browser tests) takes
# about 10 minutes on a quiet 2-core machine; the limit is per package and
# leaves room for a slower CPU, so that a slow machine is not a red run.
TEST_TIMEOUT ?= 30m

all: build

# Front-end packages come from npm (web/package-lock.json) and are embedded
# in the binary: no CDN, and it works on an intranet.
assets: $(VENDOR)/htmx.min.js $(VENDOR)/echarts.min.js $(VENDOR)/leaflet.js $(VENDOR)/leaflet.css $(VENDOR)/axe.min.js

# axe.min.js is for the accessibility browser test (TestUXBrowser/Accessibility),
# which injects it into the pages; no page loads it.
$(VENDOR)/htmx.min.js $(VENDOR)/echarts.min.js $(VENDOR)/leaflet.js $(VENDOR)/leaflet.css $(VENDOR)/axe.min.js: web/package.json web/package-lock.json
	cd web && npm ci --no-audit --no-fund --loglevel=error
	mkdir -p $(VENDOR)
	cp web/node_modules/htmx.org/dist/htmx.min.js web/node_modules/echarts/dist/echarts.min.js web/node_modules/axe-core/axe.min.js $(VENDOR)/
	cp web/node_modules/leaflet/dist/leaflet.js web/node_modules/leaflet/dist/leaflet.css $(VENDOR)/

build: assets
	$(GO) build -ldflags "$(LDFLAGS)" -o $(BIN) ./cmd/whistle

# The demo district with a year of history (20,000 cases, generated once)
# for the queues and the big screen.
run: build
	./$(BIN) demo --cases 20000 --people 100000

vet:
	$(GO) vet ./...

# The linter (.golangci.yml: rowserrcheck, sqlclosecheck, staticcheck,
# ineffassign) is built once from the module proxy at a pinned version into
# bin/tools; later runs reuse it and golangci-lint's own cache.
LINT_VERSION := v2.15.0
LINT         := bin/tools/golangci-lint-$(LINT_VERSION)

$(LINT):
	mkdir -p bin/tools
	GOBIN=$(CURDIR)/bin/tools $(GO) install github.com/golangci/golangci-lint/v2/cmd/golangci-lint@$(LINT_VERSION)
	mv bin/tools/golangci-lint $@

lint: $(LINT)
	./$(LINT) run --allow-parallel-runners ./...

test: assets vet lint
	@echo "PostgreSQL tests: $${WHISTLE_TEST_POSTGRES:-skipped (WHISTLE_TEST_POSTGRES unset)}"
	$(GO) test -count=1 -timeout $(TEST_TIMEOUT) ./...

# Benchmarks: runs each COUNT times (default 5), keeps the raw outputs in
# bench-out/ and rewrites docs/BENCHMARKS.md from them (medians, spreads,
# ratios to baselines). COUNT=1 make bench for a quick pass; BENCH_ONLY,
# BENCH_CASES and BENCH_OUT are described in scripts/bench.sh.
bench:
	bash scripts/bench.sh

clean:
	rm -rf bin $(VENDOR) web/node_modules

# Crash test: kill -9 the server at random moments under load and check that
# nothing acknowledged was lost (SQLite, then PostgreSQL). The SQLite server
# runs under strace, and every acknowledged write must have been fsync'd
# before its answer. Then the same check must FAIL on a build whose SQLite
# runs with synchronous=OFF (built with -overlay from a patched copy of
# internal/db/db.go; nothing in the real binary can switch it off). Last,
# the two-replica timer test with 75 s of load after the kill (make test
# runs it with 5 s): the dead replica's leases expire and the other takes
# its timers over.
SOAK_KILLS ?= 20
# The crash test's server publishes to this external NATS, and the test
# checks every case event on the change feed reached it.
SOAK_NATS ?= nats://127.0.0.1:4222
.PHONY: soak soak-unsynced
soak: build
	@command -v strace >/dev/null || (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq strace >/dev/null)
	./$(BIN) bench crash --kills $(SOAK_KILLS) --nats "$(SOAK_NATS)" --db "$${WHISTLE_TEST_POSTGRES:-$(PG_URL)}"
	$(MAKE) soak-unsynced
	WHISTLE_TEST_POSTGRES="$${WHISTLE_TEST_POSTGRES:-$(PG_URL)}" WHISTLE_TEST_REPLICA_SECONDS=75 \
	  $(GO) test -count=1 -v -run '^TestTwoReplicasFireEachTimerOnce$$' ./cmd/whistle

soak-unsynced: build
	@set -e; tmp=$$(mktemp -d); \
	sed 's/synchronous(FULL)/synchronous(OFF)/g' internal/db/db.go > $$tmp/db.go; \
	grep -q 'synchronous(OFF)' $$tmp/db.go || { echo "soak-unsynced: internal/db/db.go no longer says synchronous(FULL)"; exit 1; }; \
	printf '{"Replace":{"%s":"%s"}}' "$$PWD/internal/db/db.go" "$$tmp/db.go" > $$tmp/overlay.json; \
	$(GO) build -overlay $$tmp/overlay.json -o $$tmp/whistle-unsynced ./cmd/whistle; \
	echo "== the crash test on a build with synchronous=OFF: it must fail"; \
	if ./$(BIN) bench crash --bin $$tmp/whistle-unsynced --sqlite --kills 3 --min-fired 0 --data $$tmp/run > $$tmp/out.txt 2>&1; then \
	  cat $$tmp/out.txt; echo "FAIL: the crash test passed a build with synchronous=OFF"; exit 1; fi; \
	grep -qE 'FAIL: fsync: [0-9]+ of [0-9]+ acknowledged writes were answered without' $$tmp/out.txt || \
	  { cat $$tmp/out.txt; echo "FAIL: the synchronous=OFF build failed, but not for want of an fsync"; exit 1; }; \
	grep -E '^crash test: the SQLite|^crash test sqlite:|^  [0-9]+ kills|FAIL: fsync' $$tmp/out.txt | cut -c1-400; \
	echo "ok: the synchronous=OFF build fails the fsync check"; rm -rf $$tmp

# Fuzz every Fuzz target for FUZZTIME each; crashers land in testdata/fuzz.
FUZZTIME ?= 30s
.PHONY: fuzz
fuzz:
	@set -e; for f in $$(grep -rl --include='*_test.go' '^func Fuzz' internal | sort); do \
	  pkg=./$$(dirname $$f); \
	  for name in $$(sed -n 's/^func \(Fuzz[A-Za-z0-9_]*\)(.*/\1/p' $$f); do \
	    echo "== $$name ($$pkg) for $(FUZZTIME)"; \
	    $(GO) test $$pkg -run '^$$' -fuzz "^$$name\$$" -fuzztime $(FUZZTIME); \
	  done; \
	done

# Mutation test of the data scope: every scope-removing mutation listed in
# scripts/mutations must make the authorization tests fail (scripts/mutate.sh).
.PHONY: mutate
mutate: assets
	bash scripts/mutate.sh
