#!/usr/bin/env bash
# Fuzzes the API with schemathesis, a client nobody here wrote, against a real `tandem serve`:
# as an admin (every operation but the few that would end its own session) and as a customer
# (the customer operations on its own conversation), on SQLite and, when
# TANDEM_TEST_POSTGRES_URL is set, on PostgreSQL. Any 5xx, undocumented status, content type,
# header or response body that breaks the schema fails the run.
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=${BIN:-.build/debug/tandem}
VENV=${SCHEMATHESIS_VENV:-.build/schemathesis}
VERSION=4.32.5
EXAMPLES=${FUZZ_EXAMPLES:-25}
CHECKS=not_a_server_error,status_code_conformance,content_type_conformance,response_schema_conformance,response_headers_conformance

if [ ! -x "$VENV/bin/st" ] || [ "$("$VENV/bin/st" --version 2>/dev/null)" != "st, version $VERSION" ]; then
    echo "installing schemathesis $VERSION into $VENV"
    python3 -m venv "$VENV"
    "$VENV/bin/pip" install -q "schemathesis==$VERSION"
fi

json() { python3 -c "import sys, json; d = json.load(sys.stdin); print($1)"; }

fuzz() {  # fuzz LABEL PORT [DATABASE_URL]
    local label=$1 port=$2 url=${3:-} data schema="" pid base log
    data=$(mktemp -d)
    base="http://127.0.0.1:$port"
    log="$data/server.log"
    if [ -n "$url" ]; then schema="fuzz_$$_$port"; fi
    env TANDEM_DATA_DIR="$data" TANDEM_PORT="$port" TANDEM_RATE_LIMITS=off TANDEM_BCRYPT_COST=4 \
        ${url:+DATABASE_URL="$url" TANDEM_DATABASE_SCHEMA="$schema"} "$BIN" serve >"$log" 2>&1 &
    pid=$!
    trap 'kill $pid 2>/dev/null || true' RETURN
    for _ in $(seq 1 120); do curl -sf "$base/ready" >/dev/null 2>&1 && break; sleep 0.5; done
    curl -sf "$base/ready" >/dev/null || { echo "$label: the server did not become ready"; cat "$log"; return 1; }

    local admin conversation cid ctoken config
    admin=$(curl -sf -X POST "$base/api/v1/auth/login" -H 'content-type: application/json' \
        -d '{"email": "admin@demo.tandem", "password": "tandem-demo"}' | json 'd["token"]')
    conversation=$(curl -sf -X POST "$base/api/v1/conversations" -H 'content-type: application/json' -d '{"name": "Fuzz"}')
    cid=$(echo "$conversation" | json 'd["conversation"]["id"]')
    ctoken=$(echo "$conversation" | json 'd["token"]')
    config="$data/schemathesis.toml"
    printf '[parameters]\n"path.id" = "%s"\n' "$cid" >"$config"

    local status=0 common=(--checks "$CHECKS" --max-examples "$EXAMPLES" --phases examples,coverage,fuzzing
                           --exclude-path-regex '.*/events$' --seed 1 --no-color)
    echo "== $label: as an admin"
    "$VENV/bin/st" run "$base/api/v1/openapi.json" -H "Authorization: Bearer $admin" "${common[@]}" \
        --exclude-operation-id logout --exclude-operation-id changePassword --exclude-operation-id revokeAgentSessions \
        --exclude-operation-id updateAgent --exclude-operation-id resetAgentPassword >"$data/admin.txt" 2>&1 || status=1
    grep -E "Tested:|generated" "$data/admin.txt" || true
    echo "== $label: as a customer"
    "$VENV/bin/st" --config-file "$config" run "$base/api/v1/openapi.json" -H "Authorization: Bearer $ctoken" "${common[@]}" \
        --include-tag Customer >"$data/customer.txt" 2>&1 || status=1
    grep -E "Tested:|generated" "$data/customer.txt" || true
    if [ $status -ne 0 ]; then
        echo "$label: schemathesis found problems:"; sed -n '/FAILURES/,$p' "$data/admin.txt" "$data/customer.txt" | head -200
    fi
    kill $pid 2>/dev/null || true; wait $pid 2>/dev/null || true
    if [ -n "$schema" ]; then psql "$url" -q -c "DROP SCHEMA IF EXISTS $schema CASCADE" >/dev/null 2>&1 || true; fi
    rm -rf "$data"
    return $status
}

fuzz SQLite 18431
if [ -n "${TANDEM_TEST_POSTGRES_URL:-}" ]; then fuzz PostgreSQL 18432 "$TANDEM_TEST_POSTGRES_URL"; fi
echo "schemathesis: no failures"
