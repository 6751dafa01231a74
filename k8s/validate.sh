#!/usr/bin/env bash
# Render every kustomization under k8s/ (base and each overlay) and validate
# every rendered document against the Kubernetes OpenAPI schemas, strictly
# (unknown fields are errors), offline, then run the cross-reference checks of
# k8s/check.py. The Secret template is validated as well.
#
# Tools go into <repo>/.tools/venv (created when missing): kubernetes-validate,
# whose wheel bundles the JSON schemas of Kubernetes 1.25 ... 1.37, and PyYAML.
#
# Rendering: a real renderer is preferred when one is on PATH: `kustomize`
# (v4.2+) or `kubectl kustomize` (embedded kustomize v4.2+). k8s/render.py (a
# kustomize subset) always renders too: with a real renderer present, both
# outputs must be identical (this keeps render.py honest); without one,
# render.py's output is what gets validated.
#
# Environment:
#   K8S_VERSIONS   Kubernetes versions to validate against (default "1.30.0 1.37.0")
#   K8S_RENDERER   auto (default) | kustomize | kubectl | python
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
K8S="$ROOT/k8s"
read -r -a VERSIONS <<<"${K8S_VERSIONS:-1.30.0 1.37.0}"
RENDERER="${K8S_RENDERER:-auto}"

die() {
    printf 'k8s/validate: ERROR: %s\n' "$*" >&2
    exit 1
}

# shellcheck source=deploy/lib/tools-venv.sh
. "$ROOT/deploy/lib/tools-venv.sh"
tools_venv_ensure "$ROOT" "kubernetes-validate==1.37.0:kubernetes_validate" "PyYAML==6.0.3:yaml"
PY="$TOOLS_PY"
KV="$(dirname "$PY")/kubernetes-validate"
[[ -x "$KV" ]] || die "kubernetes-validate is not installed in $(dirname "$PY")"

# --- pick the renderer -------------------------------------------------------

# "v5.5.0" -> success when >= 4.2
kustomize_version_ok() {
    local v="${1#v}" major minor
    major="${v%%.*}"
    minor="${v#*.}"
    minor="${minor%%.*}"
    [[ "$major" =~ ^[0-9]+$ && "$minor" =~ ^[0-9]+$ ]] || return 1
    ((major > 4 || (major == 4 && minor >= 2)))
}

REAL=()
REAL_DESC=""
detect_kustomize() {
    local v
    command -v kustomize >/dev/null 2>&1 || return 1
    v="$(kustomize version 2>/dev/null | grep -oE 'v[0-9]+\.[0-9]+\.[0-9]+' | head -n 1 || true)"
    kustomize_version_ok "$v" || {
        printf 'k8s/validate: ignoring kustomize %s (need v4.2+)\n' "${v:-of unknown version}" >&2
        return 1
    }
    REAL=(kustomize build)
    REAL_DESC="kustomize $v"
}
detect_kubectl() {
    local v
    command -v kubectl >/dev/null 2>&1 || return 1
    v="$(kubectl version --client 2>/dev/null | sed -n 's/^Kustomize Version: *//p' | head -n 1 || true)"
    kustomize_version_ok "$v" || {
        printf 'k8s/validate: ignoring kubectl (embedded kustomize %s; need v4.2+)\n' "${v:-unknown}" >&2
        return 1
    }
    REAL=(kubectl kustomize)
    REAL_DESC="kubectl kustomize (kustomize $v)"
}

case "$RENDERER" in
auto) detect_kustomize || detect_kubectl || true ;;
kustomize) detect_kustomize || die "K8S_RENDERER=kustomize but no kustomize v4.2+ on PATH" ;;
kubectl) detect_kubectl || die "K8S_RENDERER=kubectl but no kubectl with kustomize v4.2+ on PATH" ;;
python) ;;
*) die "K8S_RENDERER must be auto, kustomize, kubectl or python (got '$RENDERER')" ;;
esac

# --- render ------------------------------------------------------------------

TMP="$(mktemp -d)"
trap 'rm -rf "$TMP"' EXIT

TARGETS=(base)
for d in "$K8S"/overlays/*/; do
    [[ -f "$d/kustomization.yaml" ]] && TARGETS+=("overlays/$(basename "$d")")
done

RENDERED=()
CHECK_ARGS=()
for t in "${TARGETS[@]}"; do
    out="$TMP/${t//\//_}.yaml"
    if ! "$PY" "$K8S/render.py" "$K8S/$t" >"$TMP/python.yaml"; then
        die "k8s/render.py could not render $t"
    fi
    if ((${#REAL[@]})); then
        if ! "${REAL[@]}" "$K8S/$t" >"$out" 2>"$TMP/real.err"; then
            cat "$TMP/real.err" >&2
            die "${REAL_DESC} failed on $t"
        fi
        "$PY" "$K8S/render.py" "$K8S/$t" --compare "$out" ||
            die "k8s/render.py and ${REAL_DESC} disagree on $t: fix render.py or keep k8s/ within its subset"
    else
        mv "$TMP/python.yaml" "$out"
    fi
    RENDERED+=("$out")
    CHECK_ARGS+=("$t=$out")
done

# --- validate ------------------------------------------------------------------

count_docs() {
    "$PY" -c 'import sys, yaml; print(sum(1 for d in yaml.safe_load_all(open(sys.argv[1])) if d is not None))' "$1"
}

TOTAL=0
for i in "${!TARGETS[@]}"; do
    n="$(count_docs "${RENDERED[$i]}")"
    [[ "$n" -gt 0 ]] || die "${TARGETS[$i]} rendered no documents"
    TOTAL=$((TOTAL + n))
done

for v in "${VERSIONS[@]}"; do
    # --quiet prints only failures and warnings; the exit status is what counts.
    if ! "$KV" --strict --quiet -k "$v" "${RENDERED[@]}" "$K8S/base/secret.example.yaml" >"$TMP/kv.out" 2>&1; then
        # Name the rendering instead of the temporary file.
        sed "s|$TMP/||g" "$TMP/kv.out" >&2
        die "schema validation against Kubernetes $v failed"
    fi
    if grep -q . "$TMP/kv.out"; then
        sed "s|$TMP/||g" "$TMP/kv.out" >&2
    fi
done

"$PY" "$K8S/check.py" --secret-example "$K8S/base/secret.example.yaml" "${CHECK_ARGS[@]}" >"$TMP/check.out" ||
    { cat "$TMP/check.out"; die "cross-reference checks failed"; }

if ((${#REAL[@]})); then
    how="rendered with ${REAL_DESC}; k8s/render.py output identical"
else
    if [[ "$RENDERER" == python ]]; then
        how="rendered with k8s/render.py (kustomize subset; K8S_RENDERER=python)"
    else
        how="rendered with k8s/render.py (kustomize subset; no kustomize v4.2+ or kubectl on PATH)"
    fi
fi
printf 'k8s: %d documents valid (%s) + the Secret template, strict schemas of Kubernetes %s; %s; cross-reference checks passed\n' \
    "$TOTAL" "$(IFS=,; printf '%s' "${TARGETS[*]}" | sed 's/,/, /g')" "$(IFS=,; printf '%s' "${VERSIONS[*]}" | sed 's/,/, /g')" "$how"
