#!/usr/bin/env bash
# Python tools used by the test suite, in <repo>/.tools/venv:
#   aiosmtpd 1.4.6  a real SMTP server for mail tests:
#                   "$(deploy/test-tools.sh)" -m aiosmtpd -n -l 127.0.0.1:2525
#   schemathesis 4.32.5  property-based API testing against the served OpenAPI document
#                   (tests/api/schemathesis.rs): .tools/venv/bin/schemathesis run URL ...
# and the Node packages of tests/compat (the published @clawrent/provider SDK that
# tests/api/compat.rs drives), by `npm ci` from tests/compat/package-lock.json, skipped
# while tests/compat/node_modules matches that lock; and the redis-server binary (the Redis
# restart test runs a server of its own).
#
# Creates the venv when missing and installs what is missing; prints the venv's
# python path on stdout (progress goes to stderr), so callers can write
#   PY="$(deploy/test-tools.sh)"
# Idempotent; a fraction of a second when everything is in place.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
# shellcheck source=deploy/lib/tools-venv.sh
. "$ROOT/deploy/lib/tools-venv.sh"

tools_venv_ensure "$ROOT" "aiosmtpd==1.4.6:aiosmtpd.controller" "schemathesis==4.32.5:schemathesis"

# tests/compat: `npm ci` installs exactly the lock; a stamp with the lock's hash, written after a
# successful install, makes the next run a no-op until the lock changes (or node_modules goes).
compat_npm_ensure() {
    local dir="$ROOT/tests/compat"
    local stamp="$dir/node_modules/.clawrent-lock.sha256"
    local lock_fd="" want tool
    for tool in node npm; do
        command -v "$tool" >/dev/null 2>&1 || {
            printf 'test-tools: ERROR: %s not found (tests/compat needs Node 20 and npm, e.g. apt-get install -y nodejs npm)\n' "$tool" >&2
            return 1
        }
    done
    if command -v flock >/dev/null 2>&1; then
        mkdir -p "$ROOT/.tools"
        exec {lock_fd}>"$ROOT/.tools/compat-npm.lock"
        flock "$lock_fd"
    fi
    want="$(sha256sum "$dir/package-lock.json" | cut -d' ' -f1)"
    if [[ "$(cat "$stamp" 2>/dev/null)" != "$want" ]]; then
        printf 'test-tools: npm ci in tests/compat\n' >&2
        # No install scripts: the SDK and its dependencies are plain JavaScript.
        if ! (cd "$dir" && npm ci --ignore-scripts --no-audit --no-fund --loglevel=error) >&2; then
            printf 'test-tools: ERROR: npm ci in tests/compat failed (is the npm registry reachable?)\n' >&2
            return 1
        fi
        printf '%s\n' "$want" >"$stamp"
    fi
    if [[ -n "$lock_fd" ]]; then
        exec {lock_fd}>&-
    fi
}
compat_npm_ensure

# tests/api/realtime/redis_restart.rs starts and kills a Redis server of its own on a free port:
# it needs the redis-server binary even where Redis already answers as a service. Installed
# without starting the package's own service (RUNLEVEL=1), which would fight over port 6379.
redis_server_ensure() {
    command -v redis-server >/dev/null 2>&1 && return 0
    if [[ "$(id -u)" != 0 ]]; then
        printf 'test-tools: ERROR: redis-server not found (apt-get install -y redis-server)\n' >&2
        return 1
    fi
    printf 'test-tools: installing redis-server (the binary; its service is not started)\n' >&2
    apt-get update -qq >&2
    RUNLEVEL=1 DEBIAN_FRONTEND=noninteractive apt-get install -y -qq redis-server >&2
}
redis_server_ensure

printf '%s\n' "$TOOLS_PY"
