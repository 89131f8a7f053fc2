# chainwire: make demo (end-to-end demonstration), make test (everything CI runs).
GO      ?= go
BIN     := bin
PREFIX  ?= /usr/local

.PHONY: build test unit e2e demo bench install deb clean deps

build:
	$(GO) build -o $(BIN)/ ./cmd/...

# Unit tests, the fuzzers for a few seconds each (input from the switch is
# untrusted), then the end-to-end tests on real OVS (root; `make deps` first
# on a fresh machine).
FUZZTIME ?= 5s
FUZZ := ./controller:FuzzSwitchMessage ./controller:FuzzReadBack ./geneve:FuzzDecodeFrame \
	./topology/expr:FuzzCompile ./topology/expr:FuzzSemantics

test: build
	$(GO) vet ./...
	$(GO) test -count=1 -timeout 20m ./...
	@# A failing input is saved under testdata/fuzz and replayed (shown, and
	@# the target fails). A run that fails with no such input is the fuzz
	@# engine's own failure: its output is shown and the run tried once more.
	@for f in $(FUZZ); do \
		name=$${f#*:}; pkg=$${f%%:*}; \
		echo "fuzz $$name ($(FUZZTIME))"; \
		for try in 1 2; do \
			if out=$$($(GO) test -run XXX -fuzz "^$$name\$$" -fuzztime $(FUZZTIME) $$pkg 2>&1); then break; fi; \
			if ! $(GO) test -run XXX -fuzz "^$$name\$$" -fuzztime 1x $$pkg >/dev/null 2>&1; then \
				$(GO) test -run XXX -fuzz "^$$name\$$" -fuzztime 1x $$pkg; exit 1; \
			fi; \
			echo "fuzz $$name failed with no failing input (try $$try):"; echo "$$out" | tail -20; \
			if [ $$try = 2 ]; then exit 1; fi; \
		done; \
	done

unit:
	$(GO) test -count=1 $$($(GO) list ./... | grep -v /e2e)

e2e: build
	$(GO) test -count=1 -timeout 20m -v ./e2e/...

demo: deps build
	$(BIN)/chainwire-lab demo
	$(BIN)/chainwire-lab demo router

# Render benchmarks, then programming and data-plane measurements on emulated hypervisors;
# writes docs/BENCHMARKS.md (root; takes a few minutes).
bench: build
	@./deploy/install-deps.sh --bench
	mkdir -p bench
	$(GO) test -run XXX -bench BenchmarkRender -benchmem -count 5 ./pipeline/ | tee bench/render.txt
	$(GO) test -run XXX -bench 'BenchmarkCompile4000|BenchmarkRefuse|BenchmarkOverlaps' -count 5 ./topology/expr/ | tee bench/inputs.txt
	$(GO) test -run XXX -bench BenchmarkUnrelatedWrite -count 5 ./topology/ | tee -a bench/inputs.txt
	$(BIN)/chainwire-lab bench --render bench/render.txt --inputs bench/inputs.txt --out docs/BENCHMARKS.md --runs 5

# Debian packages the lab and the tests drive.
deps:
	@./deploy/install-deps.sh

install: build
	install -D -m 0755 $(BIN)/chainwired $(DESTDIR)$(PREFIX)/bin/chainwired
	install -D -m 0755 $(BIN)/chainctl $(DESTDIR)$(PREFIX)/bin/chainctl
	install -D -m 0644 deploy/chainwired.service $(DESTDIR)/etc/systemd/system/chainwired.service
	install -D -m 0644 deploy/chainwire_nb.ovsschema $(DESTDIR)$(PREFIX)/share/chainwire/chainwire_nb.ovsschema
	install -D -m 0755 deploy/chainwire-nb $(DESTDIR)$(PREFIX)/share/chainwire/chainwire-nb
	install -D -m 0644 deploy/chainwire-nb.service $(DESTDIR)/etc/systemd/system/chainwire-nb.service
	test -e $(DESTDIR)/etc/chainwire/chainwired.yaml || \
		install -D -m 0644 deploy/chainwired.yaml $(DESTDIR)/etc/chainwire/chainwired.yaml

# The Debian package chainwire into dist/, with dpkg-deb alone, then lintian on it
# (deploy/build-deb.sh; it installs lintian and man-db if missing, as root).
# VERSION=1.2.0-1 sets the version (default from git describe); LINTIAN=no skips the check.
LINTIAN ?= yes
DIST    ?= dist
deb:
	GO="$(GO)" VERSION="$(VERSION)" LINTIAN="$(LINTIAN)" DIST="$(DIST)" ./deploy/build-deb.sh

clean:
	rm -rf $(BIN) bench dist
