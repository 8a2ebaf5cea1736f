# ntpwatch: `make demo` shows it at work on a sample capture, `make test` checks everything.
GO        ?= go
BIN       := bin
FUZZTIME  ?= 20s
export CGO_ENABLED := 1

.PHONY: all build demo test check-fmt vet lint deps bench fuzz pcaps kafka-dev external-pcaps clean

all: build

# libpcap-dev is the one system package the build needs (gopacket/pcap uses cgo). Install it
# when it is missing and we can (root with apt); otherwise say what to do.
deps:
	@if ! [ -f /usr/include/pcap.h ] && ! [ -f /usr/include/pcap/pcap.h ]; then \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	    echo "installing libpcap-dev"; \
	    (apt-get install -y -qq libpcap-dev >/dev/null 2>&1 || \
	     (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq libpcap-dev >/dev/null)) || exit 1; \
	  else \
	    echo "libpcap headers are missing: install them (Debian/Ubuntu: sudo apt-get install libpcap-dev;" \
	         "Fedora: sudo dnf install libpcap-devel; macOS: they come with Xcode's tools)" >&2; exit 1; \
	  fi; \
	fi

build: deps
	$(GO) build -buildvcs=auto -o $(BIN)/ntpwatch ./cmd/ntpwatch
	$(GO) build -o $(BIN)/ntpgen ./cmd/ntpgen

# The main job on the bundled sample: a home NTP server used as a monlist reflector.
demo: build
	$(BIN)/ntpwatch read pcaps/reflection.pcap

check-fmt:
	@out=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go')); \
	if [ -n "$$out" ]; then echo "gofmt would change:"; echo "$$out"; exit 1; fi

vet: deps
	$(GO) vet ./...

# staticcheck with every check on: the linter configuration is this line. It is fetched from
# the Go module proxy at this version the first time, then cached.
STATICCHECK ?= $(GO) run honnef.co/go/tools/cmd/staticcheck@v0.8.2
lint: deps
	$(STATICCHECK) -checks all ./...

test: deps check-fmt vet lint
	$(GO) test -race -count=1 -timeout 15m ./...

# Rewrite the sample captures from cmd/ntpgen (then `go test ./... -update` for the goldens).
pcaps:
	$(GO) run ./cmd/ntpgen pcaps -dir pcaps

# Real captures of the protocols beyond NTP for the decode and quiet-traffic tests: the test
# captures of Debian's tcpdump and ndpi source packages (tests/*.pcap, tests/pcap/*), fetched
# with apt-get source (it needs a deb-src entry; .ci/run adds one) into build/external, which
# git ignores, and read there in place: never copied into the repository. The tests skip,
# naming this target, when they are absent. ndpi's Debian patch is missing from the archive
# for bookworm (apt-get source fails on it after fetching the upstream tarball, which is all
# that is needed).
EXTERNAL := build/external
external-pcaps:
	@mkdir -p $(EXTERNAL)
	@set -e; cd $(EXTERNAL); for p in tcpdump ndpi; do \
	  if ! ls $${p}_*.orig.tar.* >/dev/null 2>&1; then \
	    echo "apt-get source --download-only $$p"; apt-get source --download-only $$p >/dev/null 2>&1 || true; \
	  fi; \
	  ls $${p}_*.orig.tar.* >/dev/null 2>&1 || { echo "apt-get source $$p fetched nothing: is there a deb-src entry?" >&2; exit 1; }; \
	done; \
	mkdir -p tcpdump ndpi; \
	tar -xzf tcpdump_*.orig.tar.gz -C tcpdump --strip-components=2 --wildcards '*/tests/*.pcap' '*/tests/*.pcapng'; \
	tar -xzf ndpi_*.orig.tar.gz -C ndpi --strip-components=3 --wildcards '*/tests/pcap/*'; \
	echo "$$(ls tcpdump | wc -l) tcpdump and $$(ls ndpi | wc -l) ndpi captures in $(EXTERNAL)"

# An in-memory Kafka broker on 127.0.0.1:9092 for trying --sink kafka (README, "Outputs").
kafka-dev:
	$(GO) run ./cmd/ntpgen kafka -listen 127.0.0.1:9092

# Package benchmarks, then ntpwatch against tcpdump, the limit loop and tshark on big generated
# captures (written once into build/bench, about 3.6 GB), then live on a replay into a veth
# pair when run as root: the tables of README "Performance" and docs/performance.md.
BENCHRUNS ?= 3
bench: build
	$(GO) test -run '^$$' -bench . -benchmem ./decode ./detect ./cmd/ntpwatch
	$(BIN)/ntpgen bench -dir build/bench -runs $(BENCHRUNS) -ntpwatch $(BIN)/ntpwatch

# Every fuzz target for FUZZTIME each (go test runs one target per invocation). Minimizing
# a new input may take FUZZMINIMIZE at most: go's default, 60 s per input, left FuzzOpen
# minimizing for most of its time and fuzzing for seconds.
FUZZMINIMIZE ?= 2s
fuzz: deps
	@set -e; for pkg in $$($(GO) list ./...); do \
	  for t in $$($(GO) test -list '^Fuzz' $$pkg | grep '^Fuzz' || true); do \
	    echo "== $$pkg $$t"; \
	    $(GO) test -run '^$$' -fuzz "^$$t$$" -fuzztime $(FUZZTIME) -fuzzminimizetime $(FUZZMINIMIZE) $$pkg; \
	  done; \
	done

clean:
	rm -rf $(BIN)
