#!/usr/bin/env bash
# Make sure the local development services answer on loopback:
#   PostgreSQL on 127.0.0.1:5432 (user postgres, no password over TCP)
#   Redis      on 127.0.0.1:6379 (nothing kept on disk)
#
# For each service: if it already answers, nothing is done. Otherwise the Debian
# package is installed when missing (as root; otherwise the exact command is
# printed and the script exits 1), the server is started and the script waits
# (bounded) until it answers.
#
# Idempotent; takes well under a second when both services already answer.
# Environment:
#   LOCAL_SERVICES_WAIT_SECONDS   how long to wait for a started server (default 30)
#   LOCAL_SERVICES_SKIP_PG_AUTH   set to 1 to skip the "postgres@127.0.0.1 without
#                                 password" check (and any pg_hba.conf change)
#   LOCAL_SERVICES_PG_PORT, LOCAL_SERVICES_PG_CLUSTER, LOCAL_SERVICES_REDIS_PORT
#                                 only for testing this script on a scratch cluster
#                                 and port; the service expects 5432, main and 6379
set -euo pipefail

readonly PG_HOST=127.0.0.1
readonly PG_PORT="${LOCAL_SERVICES_PG_PORT:-5432}"
readonly PG_CLUSTER="${LOCAL_SERVICES_PG_CLUSTER:-main}"
readonly REDIS_HOST=127.0.0.1
readonly REDIS_PORT="${LOCAL_SERVICES_REDIS_PORT:-6379}"
readonly WAIT_SECONDS="${LOCAL_SERVICES_WAIT_SECONDS:-30}"
readonly HBA_MARKER="# clawrent deploy/local-services.sh: trust loopback TCP for local development"

APT_UPDATED=0

log() { printf '%s\n' "$*"; }
warn() { printf '%s\n' "$*" >&2; }
die() {
    printf 'local-services: ERROR: %s\n' "$*" >&2
    exit 1
}
have() { command -v "$1" >/dev/null 2>&1; }
is_root() { [[ "$(id -u)" -eq 0 ]]; }

if ! [[ "$WAIT_SECONDS" =~ ^[0-9]+$ ]] || [[ "$WAIT_SECONDS" -eq 0 ]]; then
    die "LOCAL_SERVICES_WAIT_SECONDS must be a positive integer (got '$WAIT_SECONDS')"
fi

# ---------------------------------------------------------------------------
# probes (each bounded in time; they work without the client tools too)
# ---------------------------------------------------------------------------

# A bare TCP connect, used only when the real client is not installed.
tcp_open() {
    # shellcheck disable=SC2016 # $1/$2 expand in the inner shell
    timeout 2 bash -c 'exec 3<>"/dev/tcp/$1/$2"' _ "$1" "$2" 2>/dev/null
}

pg_answers() {
    if have pg_isready; then
        # exit 0 = accepting connections (1 = rejecting, e.g. starting up; 2 = no answer)
        pg_isready -q -h "$PG_HOST" -p "$PG_PORT" -t 2
    else
        tcp_open "$PG_HOST" "$PG_PORT"
    fi
}

redis_answers() {
    local reply
    if have redis-cli; then
        reply="$(timeout 3 redis-cli -h "$REDIS_HOST" -p "$REDIS_PORT" ping 2>/dev/null || true)"
    else
        # Speak RESP directly: PING -> +PONG
        # shellcheck disable=SC2016 # $1/$2/$line expand in the inner shell
        reply="$(timeout 3 bash -c '
            exec 3<>"/dev/tcp/$1/$2" || exit 1
            printf "PING\r\n" >&3
            IFS= read -r -t 2 line <&3 || exit 1
            printf "%s" "$line"
        ' _ "$REDIS_HOST" "$REDIS_PORT" 2>/dev/null || true)"
        reply="${reply%$'\r'}"
        reply="${reply#+}"
    fi
    [[ "$reply" == "PONG" ]]
}

# Poll until "$1" succeeds or WAIT_SECONDS have passed; prints the elapsed seconds on success.
wait_until() {
    local probe="$1" deadline start end
    deadline=$((SECONDS + WAIT_SECONDS))
    start="$(date +%s%N)"
    while true; do
        if "$probe"; then
            end="$(date +%s%N)"
            printf '%d.%01d' $(((end - start) / 1000000000)) $((((end - start) / 100000000) % 10))
            return 0
        fi
        ((SECONDS < deadline)) || return 1
        sleep 0.25
    done
}

# ---------------------------------------------------------------------------
# packages
# ---------------------------------------------------------------------------

install_packages() { # install_packages pkg...
    if ! is_root; then
        warn "local-services: the Debian package(s) '$*' are missing and this script is not running as root."
        warn "Install them with:"
        warn ""
        warn "    sudo apt-get update && sudo DEBIAN_FRONTEND=noninteractive apt-get install -y $*"
        warn ""
        warn "then run $0 again."
        exit 1
    fi
    have apt-get || die "packages '$*' are missing and apt-get is not available; install them with your package manager"
    if [[ "$APT_UPDATED" -eq 0 ]]; then
        log "local-services: apt-get update"
        DEBIAN_FRONTEND=noninteractive apt-get update -qq || die "apt-get update failed"
        APT_UPDATED=1
    fi
    log "local-services: apt-get install -y $*"
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >/dev/null ||
        die "apt-get install -y $* failed"
}

pg_server_installed() {
    have pg_ctlcluster && compgen -G '/usr/lib/postgresql/*/bin/postgres' >/dev/null
}

# ---------------------------------------------------------------------------
# PostgreSQL
# ---------------------------------------------------------------------------

# The version directory of the local development cluster, as in the canonical
# start command `pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) main start`.
# With several versions installed, the newest one that has a `main` cluster wins
# (`main` = $PG_CLUSTER).
pg_cluster_version() {
    local f
    for f in /etc/postgresql/*/"$PG_CLUSTER"/postgresql.conf; do
        [[ -f "$f" ]] || continue
        f="${f#/etc/postgresql/}"
        printf '%s\n' "${f%%/*}"
    done | sort -V | tail -n 1
}

pg_newest_installed_version() {
    local d
    for d in /usr/lib/postgresql/*/bin/postgres; do
        d="${d#/usr/lib/postgresql/}"
        printf '%s\n' "${d%%/*}"
    done | sort -V | tail -n 1
}

# Can we log in as postgres@127.0.0.1 over TCP without a password? Prints the error on failure.
pg_tcp_login_ok() {
    local out
    if out="$(env -u PGPASSWORD -u PGSERVICE PGPASSFILE=/dev/null PGCONNECT_TIMEOUT=3 \
        psql -w -X -Atq -h "$PG_HOST" -p "$PG_PORT" -U postgres -d postgres -c 'select 1' 2>&1)"; then
        return 0
    fi
    printf '%s' "$out"
    return 1
}

# Only called when a TCP login as postgres without a password failed with an
# authentication error: make the local development cluster trust loopback TCP.
pg_trust_loopback() {
    local ver="$1" hba backup
    hba="/etc/postgresql/$ver/$PG_CLUSTER/pg_hba.conf"
    [[ -f "$hba" ]] || die "cannot find $hba to allow passwordless TCP logins; configure PostgreSQL so that postgres@$PG_HOST:$PG_PORT needs no password"
    if ! is_root; then
        warn "local-services: PostgreSQL refuses postgres@$PG_HOST without a password."
        warn "As root, add these lines at the TOP of $hba and reload:"
        warn ""
        warn "    host all all 127.0.0.1/32 trust"
        warn "    host all all ::1/128 trust"
        warn ""
        warn "    sudo pg_ctlcluster --skip-systemctl-redirect $ver $PG_CLUSTER reload"
        exit 1
    fi
    if grep -qF "$HBA_MARKER" "$hba"; then
        die "$hba already trusts loopback TCP (added by this script) but the login still fails; inspect the file and the server log"
    fi
    backup="$hba.clawrent-backup.$(date +%Y%m%d%H%M%S)"
    cp -p "$hba" "$backup"
    {
        printf '%s\n' "$HBA_MARKER"
        printf 'host    all    all    127.0.0.1/32    trust\n'
        printf 'host    all    all    ::1/128         trust\n'
        printf '# end clawrent\n\n'
        cat "$backup"
    } >"$hba"
    pg_ctlcluster --skip-systemctl-redirect "$ver" "$PG_CLUSTER" reload >/dev/null 2>&1 ||
        die "pg_ctlcluster $ver $PG_CLUSTER reload failed after editing $hba (backup: $backup)"
    warn "!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!"
    warn "!! local-services: CHANGED $hba"
    warn "!!   it now TRUSTS every TCP login from 127.0.0.1/32 and ::1/128 (no password)."
    warn "!!   Local development only. Backup of the previous file: $backup"
    warn "!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!"
    # A reload is asynchronous: give the postmaster a moment to pick it up.
    local i
    for ((i = 0; i < 20; i++)); do
        pg_tcp_login_ok >/dev/null && return 0
        sleep 0.25
    done
    die "still cannot log in as postgres@$PG_HOST:$PG_PORT without a password after trusting loopback in $hba"
}

# Sets AUTH_NOTE (a suffix for the status line), or exits on an unfixable problem.
# Never call it in a command substitution: its exits must end the script.
AUTH_NOTE=""
pg_check_auth() {
    local err ver
    if [[ "${LOCAL_SERVICES_SKIP_PG_AUTH:-0}" == 1 ]]; then
        AUTH_NOTE="; TCP login check skipped (LOCAL_SERVICES_SKIP_PG_AUTH=1)"
        return 0
    fi
    if ! have psql; then
        AUTH_NOTE="; psql not installed, TCP login not checked"
        return 0
    fi
    if err="$(pg_tcp_login_ok)"; then
        AUTH_NOTE="; postgres@$PG_HOST logs in without a password"
        return 0
    fi
    if ! grep -qiE 'password|authentication failed|no pg_hba.conf entry' <<<"$err"; then
        die "PostgreSQL answers on $PG_HOST:$PG_PORT but a login as postgres failed: $err"
    fi
    ver="$(pg_cluster_version)"
    [[ -n "$ver" ]] || die "PostgreSQL on $PG_HOST:$PG_PORT wants a password for postgres and is not a Debian-managed cluster ($err); configure it to accept postgres@$PG_HOST without a password, or set LOCAL_SERVICES_SKIP_PG_AUTH=1 and a DATABASE_URL with credentials"
    pg_trust_loopback "$ver"
    AUTH_NOTE="; pg_hba.conf CHANGED to trust loopback TCP (see warning above)"
}

ensure_postgres() {
    local ver out elapsed created="" installed=""
    if pg_answers; then
        pg_check_auth
        log "postgres: already answering on $PG_HOST:$PG_PORT$AUTH_NOTE"
        return 0
    fi

    if ! pg_server_installed; then
        install_packages postgresql
        installed="installed package postgresql, "
        # The package's maintainer script may have started the new cluster already.
        if pg_answers; then
            pg_check_auth
            log "postgres: installed package postgresql (started by the package); answering on $PG_HOST:$PG_PORT$AUTH_NOTE"
            return 0
        fi
    fi

    ver="$(pg_cluster_version)"
    if [[ -z "$ver" ]]; then
        ver="$(pg_newest_installed_version)"
        [[ -n "$ver" ]] || die "no PostgreSQL server binaries under /usr/lib/postgresql"
        is_root || die "no PostgreSQL cluster exists; create one as root with: pg_createcluster $ver $PG_CLUSTER --port $PG_PORT"
        out="$(pg_createcluster "$ver" "$PG_CLUSTER" --port "$PG_PORT" 2>&1)" ||
            die "pg_createcluster $ver $PG_CLUSTER --port $PG_PORT failed: $out"
        created="created cluster $ver/$PG_CLUSTER, "
    fi

    # The canonical start command (see dependencies.md §9).
    if ! out="$(pg_ctlcluster --skip-systemctl-redirect "$ver" "$PG_CLUSTER" start 2>&1)"; then
        # "already running" is not an error for us: the wait below decides.
        if ! grep -qi 'already running' <<<"$out"; then
            die "pg_ctlcluster --skip-systemctl-redirect $ver $PG_CLUSTER start failed: $out"
        fi
    fi
    if ! elapsed="$(wait_until pg_answers)"; then
        warn "$(pg_lsclusters 2>&1 || true)"
        die "PostgreSQL did not answer on $PG_HOST:$PG_PORT within ${WAIT_SECONDS}s after 'pg_ctlcluster --skip-systemctl-redirect $ver $PG_CLUSTER start' (is cluster $ver/$PG_CLUSTER configured for port $PG_PORT? see /var/log/postgresql/postgresql-$ver-$PG_CLUSTER.log)"
    fi
    pg_check_auth
    log "postgres: ${installed}${created}started cluster $ver/$PG_CLUSTER (pg_ctlcluster --skip-systemctl-redirect $ver $PG_CLUSTER start); answering on $PG_HOST:$PG_PORT after ${elapsed}s$AUTH_NOTE"
}

# ---------------------------------------------------------------------------
# Redis
# ---------------------------------------------------------------------------

ensure_redis() {
    local out elapsed installed=""
    if redis_answers; then
        log "redis: already answering on $REDIS_HOST:$REDIS_PORT"
        return 0
    fi

    if ! have redis-server; then
        install_packages redis-server
        installed="installed package redis-server, "
        if redis_answers; then
            log "redis: ${installed}answering on $REDIS_HOST:$REDIS_PORT (started by the package)"
            return 0
        fi
    fi

    # The canonical start command (see dependencies.md §9). Started from / so that
    # the daemon does not keep the caller's working directory busy.
    if ! out="$(cd / && redis-server --daemonize yes --bind 127.0.0.1 -::1 --port "$REDIS_PORT" --save "" --appendonly no 2>&1)"; then
        die "redis-server --daemonize yes --bind 127.0.0.1 -::1 --port $REDIS_PORT --save \"\" --appendonly no failed: $out"
    fi
    if ! elapsed="$(wait_until redis_answers)"; then
        die "Redis did not answer PING on $REDIS_HOST:$REDIS_PORT within ${WAIT_SECONDS}s after starting redis-server (is something else listening on port $REDIS_PORT? try: ss -ltnp 'sport = :$REDIS_PORT')"
    fi
    log "redis: ${installed}started redis-server --daemonize yes --bind 127.0.0.1 -::1 --port $REDIS_PORT --save \"\" --appendonly no; answering on $REDIS_HOST:$REDIS_PORT after ${elapsed}s"
}

ensure_postgres
ensure_redis
