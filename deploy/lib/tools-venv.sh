# shellcheck shell=bash
# Shared helper for the project's Python tool venv at <repo>/.tools/venv.
# Sourced by deploy/test-tools.sh and k8s/validate.sh; not meant to be run.
#
#   tools_venv_ensure <repo-root> <dist==version[:import_name]>...
#
# Creates the venv with `python3 -m venv` when missing (or broken), installs the
# pinned distributions that are missing or at another version, and sets
# TOOLS_PY to the venv's python. All progress goes to stderr. Concurrent callers
# are serialised with flock(1) when it is available. Set TOOLS_PYTHON to choose
# the interpreter that creates the venv (default: python3).

tools_venv_ensure() {
    local root="$1"
    shift
    local venv="$root/.tools/venv"
    local py="$venv/bin/python"
    local base_python="${TOOLS_PYTHON:-python3}"
    local lock_fd="" missing

    mkdir -p "$root/.tools"
    if command -v flock >/dev/null 2>&1; then
        exec {lock_fd}>"$root/.tools/venv.lock"
        flock "$lock_fd"
    fi

    # A venv whose interpreter no longer runs (e.g. the base python was upgraded) is rebuilt.
    if ! "$py" -c '' >/dev/null 2>&1; then
        if [[ -e "$venv" ]]; then
            printf 'tools-venv: %s is broken; recreating it\n' "$venv" >&2
            rm -rf "$venv"
        fi
        command -v "$base_python" >/dev/null 2>&1 || {
            printf 'tools-venv: ERROR: %s not found (install python3, e.g. apt-get install -y python3 python3-venv)\n' "$base_python" >&2
            return 1
        }
        printf 'tools-venv: creating %s with %s\n' "$venv" "$("$base_python" -c 'import sys; print(sys.executable, sys.version.split()[0])')" >&2
        if ! "$base_python" -m venv "$venv" >&2; then
            rm -rf "$venv"
            printf 'tools-venv: ERROR: "%s -m venv" failed; on Debian install the venv module with: apt-get install -y python3-venv\n' "$base_python" >&2
            return 1
        fi
    fi

    # One interpreter start decides what is missing: a distribution is present only
    # when its installed version is exactly the pinned one and its module imports.
    missing="$("$py" - "$@" <<'PY'
import importlib
import importlib.metadata as md
import sys

missing = []
for spec in sys.argv[1:]:
    req, _, module = spec.partition(":")
    name, _, version = req.partition("==")
    try:
        ok = md.version(name) == version
        if ok and module:
            importlib.import_module(module)
    except Exception:  # not installed, or installed but broken
        ok = False
    if not ok:
        missing.append(req)
print(" ".join(missing))
PY
)" || return 1

    if [[ -n "$missing" ]]; then
        local -a reqs
        read -r -a reqs <<<"$missing"
        printf 'tools-venv: pip install %s\n' "${reqs[*]}" >&2
        if ! "$py" -m pip install --disable-pip-version-check --no-input --quiet "${reqs[@]}" >&2; then
            printf 'tools-venv: ERROR: pip install %s failed (is PyPI reachable?)\n' "${reqs[*]}" >&2
            return 1
        fi
    fi

    if [[ -n "$lock_fd" ]]; then
        exec {lock_fd}>&-
    fi
    # shellcheck disable=SC2034 # read by the sourcing script
    TOOLS_PY="$py"
}
