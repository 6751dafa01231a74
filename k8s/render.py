#!/usr/bin/env python3
"""Render a kustomization with the small subset of kustomize that k8s/ uses.

Why this exists: neither kustomize nor a kubectl that embeds a current kustomize
is installable from the package registries this project may use (Debian's
kubernetes-client is kubectl 1.20 with kustomize v2.0.3, which predates the
`labels` and `patches` fields; the PyPI package called "kustomize" is an
unrelated library). k8s/validate.sh uses a real `kustomize` or
`kubectl kustomize` when one is on PATH, compares its output with this
renderer's, and falls back to this renderer otherwise. Operators deploy with
`kubectl apply -k`, never with this script.

Supported (everything else is rejected with an error, never ignored):
  kustomization keys: apiVersion, kind, resources, namespace, labels, images, patches
  resources:  local YAML files and local directories holding a kustomization
  namespace:  set on every namespaced resource (a Namespace object must carry
              the same name)
  labels:     pairs + includeSelectors: false + includeTemplates (metadata
              labels, and pod-template labels of workload kinds)
  images:     name + newName / newTag / digest (containers and initContainers
              of pod specs and pod templates)
  patches:    strategic-merge patches from `path` or `patch`, with an optional
              target (kind / name / group / version, matched as anchored regular
              expressions, like kustomize); maps merge recursively, null deletes,
              containers / initContainers / volumes / env / volumeMounts /
              imagePullSecrets merge by key (patch items first, as kustomize
              orders them), a few known atomic lists are
              replaced, any other list (or a $patch directive) is rejected
  transformer order and output order are kustomize's (patches, namespace,
  labels, images; "legacy" kind order).

Usage:
  render.py DIR                     print the rendered multi-document YAML
  render.py DIR --compare FILE      exit 1 unless FILE (e.g. `kubectl kustomize
                                    DIR` output) holds the same documents in the
                                    same order
"""

from __future__ import annotations

import argparse
import copy
import os
import re
import sys
from typing import Any

import yaml

KUSTOMIZATION_FILES = ("kustomization.yaml", "kustomization.yml", "Kustomization")
ALLOWED_KEYS = {"apiVersion", "kind", "resources", "namespace", "labels", "images", "patches"}

# kustomize's "legacy" resource order (api/resid/gvk.go).
ORDER_FIRST = [
    "Namespace", "ResourceQuota", "StorageClass", "CustomResourceDefinition",
    "ServiceAccount", "PodSecurityPolicy", "Role", "ClusterRole", "RoleBinding",
    "ClusterRoleBinding", "ConfigMap", "Secret", "Endpoints", "Service",
    "LimitRange", "PriorityClass", "PersistentVolume", "PersistentVolumeClaim",
    "Deployment", "StatefulSet", "CronJob", "PodDisruptionBudget",
]
ORDER_LAST = ["MutatingWebhookConfiguration", "ValidatingWebhookConfiguration"]

CLUSTER_SCOPED = {
    "Namespace", "Node", "PersistentVolume", "StorageClass", "ClusterRole",
    "ClusterRoleBinding", "CustomResourceDefinition", "PriorityClass",
    "IngressClass", "MutatingWebhookConfiguration", "ValidatingWebhookConfiguration",
    "APIService", "CSIDriver", "CSINode", "RuntimeClass", "VolumeAttachment",
    "PodSecurityPolicy", "CertificateSigningRequest", "ValidatingAdmissionPolicy",
    "ValidatingAdmissionPolicyBinding", "FlowSchema", "PriorityLevelConfiguration",
}
# Kinds whose references the real namespace transformer also rewrites: not supported.
NAMESPACE_UNSUPPORTED = {"RoleBinding", "ClusterRoleBinding", "MutatingWebhookConfiguration",
                         "ValidatingWebhookConfiguration", "APIService", "CustomResourceDefinition"}

# Pod templates that the labels transformer's includeTemplates reaches.
TEMPLATE_KINDS = {"Deployment", "ReplicaSet", "DaemonSet", "StatefulSet", "Job", "ReplicationController"}

# Strategic-merge list semantics that this renderer implements.
MERGE_KEYS = {
    "containers": "name",
    "initContainers": "name",
    "volumes": "name",
    "env": "name",
    "volumeMounts": "mountPath",
    "imagePullSecrets": "name",
}
ATOMIC_LISTS = {
    "rules", "tls", "hosts", "paths",          # Ingress
    "args", "command", "envFrom",              # Container
    "metrics", "policies",                     # HorizontalPodAutoscaler
    "add", "drop",                             # capabilities
}


class RenderError(Exception):
    pass


# ---------------------------------------------------------------------------
# loading
# ---------------------------------------------------------------------------

def load_docs(path: str) -> list[dict[str, Any]]:
    with open(path, encoding="utf-8") as f:
        docs = [d for d in yaml.safe_load_all(f) if d is not None]
    for d in docs:
        if not isinstance(d, dict) or "kind" not in d or "metadata" not in d:
            raise RenderError(f"{path}: every document must be a Kubernetes object")
        if d["kind"] in ("List",) or d["kind"].endswith("List"):
            raise RenderError(f"{path}: List objects are not supported")
    return docs


def find_kustomization(directory: str) -> str:
    for name in KUSTOMIZATION_FILES:
        p = os.path.join(directory, name)
        if os.path.isfile(p):
            return p
    raise RenderError(f"{directory}: no kustomization.yaml")


def gvk(obj: dict[str, Any]) -> tuple[str, str, str]:
    api = obj.get("apiVersion", "")
    group, _, version = api.rpartition("/")
    return group, version, obj["kind"]


def res_id(obj: dict[str, Any]) -> tuple[str, str, str, str, str]:
    g, v, k = gvk(obj)
    md = obj.get("metadata") or {}
    return g, v, k, md.get("namespace") or "", md.get("name") or ""


# ---------------------------------------------------------------------------
# transformers
# ---------------------------------------------------------------------------

def smp(base: Any, patch: Any, path: str = "") -> Any:
    """Strategic-merge `patch` into `base` (the supported subset)."""
    if not isinstance(patch, dict) or not isinstance(base, dict):
        return copy.deepcopy(patch)
    out = copy.deepcopy(base)
    for key, pval in patch.items():
        here = f"{path}.{key}" if path else key
        if isinstance(key, str) and key.startswith("$"):
            raise RenderError(f"patch directive {here} is not supported")
        if pval is None:
            out.pop(key, None)
            continue
        if isinstance(pval, list):
            if key in MERGE_KEYS:
                out[key] = merge_list(out.get(key) or [], pval, MERGE_KEYS[key], here)
            elif key in ATOMIC_LISTS:
                out[key] = copy.deepcopy(pval)
            else:
                raise RenderError(
                    f"patching the list {here} is not supported by render.py "
                    "(unknown strategic-merge semantics): patch a map field instead")
            continue
        if isinstance(pval, dict) and isinstance(out.get(key), dict):
            out[key] = smp(out[key], pval, here)
        else:
            out[key] = copy.deepcopy(pval)
    return out


def merge_list(base: list[Any], patch: list[Any], key: str, path: str) -> list[Any]:
    """Merge by key, ordered like kustomize: the patch's items first (merged with
    their originals), then the original items the patch does not mention."""
    for item in patch:
        if not isinstance(item, dict) or key not in item:
            raise RenderError(f"{path}: every patch item needs the merge key '{key}'")
    originals = {item[key]: item for item in base if isinstance(item, dict) and key in item}
    patched_keys = [item[key] for item in patch]
    out = []
    for item in patch:
        if item[key] in originals:
            out.append(smp(originals[item[key]], item, f"{path}[{key}={item[key]}]"))
        else:
            out.append(copy.deepcopy(item))
    out.extend(copy.deepcopy(item) for item in base
               if not (isinstance(item, dict) and item.get(key) in patched_keys))
    return out


def target_matches(target: dict[str, Any], obj: dict[str, Any]) -> bool:
    unsupported = set(target) - {"group", "version", "kind", "name"}
    if unsupported:
        raise RenderError(f"patch target fields {sorted(unsupported)} are not supported")
    g, v, k = gvk(obj)
    actual = {"group": g, "version": v, "kind": k, "name": obj["metadata"].get("name", "")}
    return all(re.fullmatch(str(pat), actual[f]) for f, pat in target.items())


def apply_patches(resources: list[dict[str, Any]], patches: list[Any], kdir: str) -> None:
    for entry in patches:
        if not isinstance(entry, dict) or set(entry) - {"path", "patch", "target"}:
            raise RenderError(f"{kdir}: patches entries may only have path, patch and target")
        if ("path" in entry) == ("patch" in entry):
            raise RenderError(f"{kdir}: a patches entry needs exactly one of path or patch")
        if "path" in entry:
            source = os.path.join(kdir, entry["path"])
            with open(source, encoding="utf-8") as f:
                docs = [d for d in yaml.safe_load_all(f) if d is not None]
        else:
            source = f"{kdir} (inline patch)"
            docs = [d for d in yaml.safe_load_all(entry["patch"]) if d is not None]
        if len(docs) != 1 or not isinstance(docs[0], dict):
            raise RenderError(f"{source}: only single-document strategic-merge patches are supported "
                              "(JSON 6902 patches are not)")
        patch = docs[0]
        pkind = patch.get("kind")
        pname = (patch.get("metadata") or {}).get("name")
        if not pkind or not pname:
            raise RenderError(f"{source}: the patch needs kind and metadata.name")
        target = entry.get("target") or {"kind": re.escape(pkind), "name": re.escape(pname)}
        hits = 0
        for i, obj in enumerate(resources):
            if not target_matches(target, obj):
                continue
            if obj["kind"] != pkind or obj["metadata"].get("name") != pname:
                raise RenderError(f"{source}: the patch names {pkind}/{pname} but its target "
                                  f"selects {obj['kind']}/{obj['metadata'].get('name')}")
            body = {k: v for k, v in patch.items() if k not in ("apiVersion", "kind")}
            body["metadata"] = {k: v for k, v in patch["metadata"].items() if k != "name"}
            if not body["metadata"]:
                del body["metadata"]
            resources[i] = smp(obj, body)
            hits += 1
        if hits == 0:
            raise RenderError(f"{source}: the patch target {target} matches no resource")


def apply_namespace(resources: list[dict[str, Any]], namespace: str) -> None:
    for obj in resources:
        kind = obj["kind"]
        if kind in NAMESPACE_UNSUPPORTED:
            raise RenderError(f"namespace: with a {kind} is not supported by render.py")
        if kind == "Namespace":
            if obj["metadata"].get("name") != namespace:
                raise RenderError(f"Namespace {obj['metadata'].get('name')} differs from "
                                  f"namespace: {namespace} (not supported by render.py)")
            continue
        if kind in CLUSTER_SCOPED:
            continue
        obj["metadata"]["namespace"] = namespace


def apply_labels(resources: list[dict[str, Any]], entries: list[Any], kdir: str) -> None:
    for entry in entries:
        if not isinstance(entry, dict) or set(entry) - {"pairs", "includeSelectors", "includeTemplates"}:
            raise RenderError(f"{kdir}: labels entries may only have pairs, includeSelectors, includeTemplates")
        if entry.get("includeSelectors", False):
            raise RenderError(f"{kdir}: labels with includeSelectors: true are not supported: "
                              "write selectors out in the manifests")
        pairs = {str(k): str(v) for k, v in (entry.get("pairs") or {}).items()}
        for obj in resources:
            md = obj.setdefault("metadata", {})
            md["labels"] = {**(md.get("labels") or {}), **pairs}
            if entry.get("includeTemplates", False):
                if obj["kind"] == "CronJob":
                    raise RenderError("labels includeTemplates on a CronJob is not supported by render.py")
                if obj["kind"] in TEMPLATE_KINDS:
                    tmd = obj.setdefault("spec", {}).setdefault("template", {}).setdefault("metadata", {})
                    tmd["labels"] = {**(tmd.get("labels") or {}), **pairs}


def split_image(image: str) -> tuple[str, str]:
    """'repo/name:tag' -> ('repo/name', ':tag'); 'name@sha256:..' -> ('name', '@sha256:..')."""
    if "@" in image:
        name, _, digest = image.partition("@")
        return name, "@" + digest
    slash = image.rfind("/")
    colon = image.rfind(":")
    if colon > slash:
        return image[:colon], image[colon:]
    return image, ""


def apply_images(resources: list[dict[str, Any]], entries: list[Any], kdir: str) -> None:
    for entry in entries:
        if not isinstance(entry, dict) or "name" not in entry or \
                set(entry) - {"name", "newName", "newTag", "digest"}:
            raise RenderError(f"{kdir}: images entries need name and may have newName, newTag, digest")
    for obj in resources:
        spec = obj.get("spec") or {}
        pod_specs = [spec] if obj["kind"] == "Pod" else []
        tmpl = (spec.get("template") or {}).get("spec")
        if isinstance(tmpl, dict):
            pod_specs.append(tmpl)
        if obj["kind"] == "CronJob" and spec.get("jobTemplate"):
            raise RenderError("images on a CronJob are not supported by render.py")
        for pod in pod_specs:
            for field in ("containers", "initContainers"):
                for c in pod.get(field) or []:
                    if "image" not in c:
                        continue
                    name, suffix = split_image(c["image"])
                    for entry in entries:
                        if entry["name"] != name:
                            continue
                        new_name = entry.get("newName", name)
                        if entry.get("digest"):
                            suffix = "@" + entry["digest"]
                        elif "newTag" in entry:
                            suffix = ":" + str(entry["newTag"])
                        c["image"] = new_name + suffix
                        break


# ---------------------------------------------------------------------------
# kustomization
# ---------------------------------------------------------------------------

def render_dir(directory: str, stack: tuple[str, ...] = ()) -> list[dict[str, Any]]:
    directory = os.path.realpath(directory)
    if directory in stack:
        raise RenderError(f"cycle through {directory}")
    kpath = find_kustomization(directory)
    with open(kpath, encoding="utf-8") as f:
        k = yaml.safe_load(f) or {}
    unknown = set(k) - ALLOWED_KEYS
    if unknown:
        raise RenderError(f"{kpath}: {sorted(unknown)} not supported by k8s/render.py "
                          "(keep k8s/ within its kustomize subset, or render with real kustomize)")
    if k.get("kind", "Kustomization") != "Kustomization":
        raise RenderError(f"{kpath}: kind must be Kustomization")

    resources: list[dict[str, Any]] = []
    for entry in k.get("resources") or []:
        if not isinstance(entry, str) or "://" in entry or entry.startswith(("github.com", "git@")):
            raise RenderError(f"{kpath}: only local resources are supported ({entry!r})")
        p = os.path.join(directory, entry)
        if os.path.isdir(p):
            resources.extend(render_dir(p, stack + (directory,)))
        elif os.path.isfile(p):
            resources.extend(copy.deepcopy(load_docs(p)))
        else:
            raise RenderError(f"{kpath}: resource {entry} not found")

    seen: set[tuple[str, ...]] = set()
    for obj in resources:
        rid = res_id(obj)
        if rid in seen:
            raise RenderError(f"{kpath}: duplicate resource {rid}")
        seen.add(rid)

    apply_patches(resources, k.get("patches") or [], directory)
    if k.get("namespace"):
        apply_namespace(resources, str(k["namespace"]))
    apply_labels(resources, k.get("labels") or [], directory)
    apply_images(resources, k.get("images") or [], directory)
    return resources


def legacy_key(obj: dict[str, Any]) -> tuple[Any, ...]:
    g, v, kind = gvk(obj)
    if kind in ORDER_FIRST:
        rank = ORDER_FIRST.index(kind) - len(ORDER_FIRST)
    elif kind in ORDER_LAST:
        rank = 1 + ORDER_LAST.index(kind)
    else:
        rank = 0
    gvk_string = f"{g or '~G'}_{v or '~V'}_{kind}"
    md = obj.get("metadata") or {}
    return rank, gvk_string, md.get("namespace") or "", md.get("name") or ""


def render(directory: str) -> list[dict[str, Any]]:
    return sorted(render_dir(directory), key=legacy_key)


def dump(docs: list[dict[str, Any]]) -> str:
    return "---\n".join(yaml.safe_dump(d, sort_keys=True, default_flow_style=False) for d in docs)


def describe(obj: dict[str, Any]) -> str:
    md = obj.get("metadata") or {}
    ns = md.get("namespace")
    return f"{obj.get('kind')}/{(ns + '/') if ns else ''}{md.get('name')}"


def first_difference(a: Any, b: Any, path: str = "") -> str | None:
    if isinstance(a, dict) and isinstance(b, dict):
        for key in sorted(set(a) | set(b), key=str):
            if key not in a:
                return f"{path}.{key}: only in the reference"
            if key not in b:
                return f"{path}.{key}: only in render.py output"
            d = first_difference(a[key], b[key], f"{path}.{key}")
            if d:
                return d
        return None
    if isinstance(a, list) and isinstance(b, list):
        if len(a) != len(b):
            return f"{path}: {len(a)} items (render.py) vs {len(b)} (reference)"
        for i, (x, y) in enumerate(zip(a, b)):
            d = first_difference(x, y, f"{path}[{i}]")
            if d:
                return d
        return None
    if a != b:
        return f"{path}: {a!r} (render.py) vs {b!r} (reference)"
    return None


def compare(mine: list[dict[str, Any]], reference_file: str) -> list[str]:
    with open(reference_file, encoding="utf-8") as f:
        ref = [d for d in yaml.safe_load_all(f) if d is not None]
    problems = []
    if [describe(d) for d in mine] != [describe(d) for d in ref]:
        problems.append("documents or order differ:\n  render.py: "
                        + ", ".join(describe(d) for d in mine)
                        + "\n  reference: " + ", ".join(describe(d) for d in ref))
        return problems
    for a, b in zip(mine, ref):
        d = first_difference(a, b)
        if d:
            problems.append(f"{describe(a)}: {d}")
    return problems


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("directory")
    ap.add_argument("--compare", metavar="FILE",
                    help="compare with FILE (e.g. kubectl kustomize output) instead of printing")
    args = ap.parse_args()
    try:
        docs = render(args.directory)
    except (RenderError, OSError, yaml.YAMLError) as e:
        print(f"render.py: {e}", file=sys.stderr)
        return 2
    if args.compare:
        problems = compare(docs, args.compare)
        for p in problems:
            print(f"render.py: {args.directory}: differs from {args.compare}: {p}", file=sys.stderr)
        return 1 if problems else 0
    sys.stdout.write(dump(docs))
    return 0


if __name__ == "__main__":
    sys.exit(main())
