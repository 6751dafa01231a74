#!/usr/bin/env bash
# Python tools used by the test suite, in <repo>/.tools/venv:
#   aiosmtpd 1.4.6  a real SMTP server for mail tests:
#                   "$(deploy/test-tools.sh)" -m aiosmtpd -n -l 127.0.0.1:2525
#   schemathesis 4.32.5  property-based API testing against the served OpenAPI document
#                   (tests/api/schemathesis.rs): .tools/venv/bin/schemathesis run URL ...
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
printf '%s\n' "$TOOLS_PY"
