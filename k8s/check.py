#!/usr/bin/env python3
"""Cross-reference and policy checks on rendered clawrent manifests.

Schema validation (kubernetes-validate) proves each document is well formed;
this proves the documents fit together and keep the deployment rules of
docs/deployment.md: selectors match pods, references resolve, probes and the
shutdown timing agree with the ConfigMap, pods are hardened, no Secret is ever
rendered, and the Secret template only holds placeholders.

Usage: check.py [--secret-example FILE] NAME=RENDERED.yaml ...
Prints one line per rendering; exits 1 listing every problem found.
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

import yaml

SECRET_NAME = "clawrent-secrets"
SECRET_KEYS = {"DATABASE_URL", "REDIS_URL", "JWT_SECRET", "JWT_PREVIOUS_SECRET", "SMTP_URL",
               "PLATFORM_OPERATOR_TOKEN"}
REQUIRED_EGRESS = {("UDP", 53), ("TCP", 53), ("TCP", 5432), ("TCP", 6379),
                   ("TCP", 587), ("TCP", 465), ("TCP", 25)}
EXPECTED_CONFIG = {
    "AUTO_MIGRATE": "false",
    "HOST": "0.0.0.0",
    "CLAWRENT_ENV": "production",
    "TRUST_PROXY_HEADERS": "true",
    "SHUTDOWN_DELAY_SECONDS": "5",
}
# Per rendering: the HPA minimum each environment promises.
MIN_REPLICAS = {"base": 2, "overlays/dev": 2, "overlays/prod": 3}


def selects(selector: dict[str, str] | None, labels: dict[str, str] | None) -> bool:
    return bool(selector) and all((labels or {}).get(k) == v for k, v in selector.items())


class Checker:
    def __init__(self, name: str, docs: list[dict[str, Any]]):
        self.name = name
        self.docs = docs
        self.problems: list[str] = []

    def fail(self, msg: str) -> None:
        self.problems.append(f"{self.name}: {msg}")

    def all(self, kind: str) -> list[dict[str, Any]]:
        return [d for d in self.docs if d.get("kind") == kind]

    def one(self, kind: str) -> dict[str, Any] | None:
        found = self.all(kind)
        if len(found) != 1:
            self.fail(f"expected exactly one {kind}, found {len(found)}")
            return None
        return found[0]

    # -- pods -----------------------------------------------------------------
    def check_pod(self, owner: str, tmpl: dict[str, Any], config: dict[str, str]) -> None:
        spec = tmpl.get("spec") or {}
        psc = spec.get("securityContext") or {}
        if psc.get("runAsNonRoot") is not True:
            self.fail(f"{owner}: pod securityContext.runAsNonRoot must be true")
        if not isinstance(psc.get("runAsUser"), int) or psc["runAsUser"] == 0:
            self.fail(f"{owner}: pod securityContext.runAsUser must be a non-zero number")
        if (psc.get("seccompProfile") or {}).get("type") != "RuntimeDefault":
            self.fail(f"{owner}: seccompProfile must be RuntimeDefault")
        if spec.get("automountServiceAccountToken") is not False:
            self.fail(f"{owner}: automountServiceAccountToken must be false")
        if spec.get("enableServiceLinks") is not False:
            self.fail(f"{owner}: enableServiceLinks must be false")
        volumes = {v.get("name"): v for v in spec.get("volumes") or []}
        for c in spec.get("containers") or []:
            cname = f"{owner}/{c.get('name')}"
            sc = c.get("securityContext") or {}
            if sc.get("readOnlyRootFilesystem") is not True:
                self.fail(f"{cname}: readOnlyRootFilesystem must be true")
            if sc.get("allowPrivilegeEscalation") is not False:
                self.fail(f"{cname}: allowPrivilegeEscalation must be false")
            if "ALL" not in ((sc.get("capabilities") or {}).get("drop") or []):
                self.fail(f"{cname}: capabilities must drop ALL")
            res = c.get("resources") or {}
            for part in ("requests", "limits"):
                for r in ("cpu", "memory"):
                    if r not in (res.get(part) or {}):
                        self.fail(f"{cname}: resources.{part}.{r} missing")
            tmp = [m for m in c.get("volumeMounts") or [] if m.get("mountPath") == "/tmp"]
            if not tmp or "emptyDir" not in volumes.get(tmp[0].get("name"), {}):
                self.fail(f"{cname}: /tmp must be an emptyDir mount (read-only root filesystem)")
            refs = c.get("envFrom") or []
            cms = [r["configMapRef"]["name"] for r in refs if "configMapRef" in r]
            secrets = [r["secretRef"]["name"] for r in refs if "secretRef" in r]
            if not cms or secrets != [SECRET_NAME]:
                self.fail(f"{cname}: envFrom must reference the ConfigMap and Secret {SECRET_NAME}")
            for cm in cms:
                if cm not in {d["metadata"]["name"] for d in self.all("ConfigMap")}:
                    self.fail(f"{cname}: envFrom references missing ConfigMap {cm}")
            if (c.get("lifecycle") or {}).get("preStop"):
                self.fail(f"{cname}: no preStop hook (SHUTDOWN_DELAY_SECONDS does the waiting)")

    # -- the whole rendering ----------------------------------------------------
    def run(self) -> None:
        if self.all("Secret"):
            self.fail("a Secret is rendered: secrets are created out of band, never applied with -k")

        cm = self.one("ConfigMap")
        config = {str(k): str(v) for k, v in ((cm or {}).get("data") or {}).items()}
        for key, want in EXPECTED_CONFIG.items():
            if config.get(key) != want:
                self.fail(f"ConfigMap {key} must be {want!r}, is {config.get(key)!r}")
        leaked = SECRET_KEYS & set(config)
        if leaked:
            self.fail(f"ConfigMap holds secret keys {sorted(leaked)}: they belong in {SECRET_NAME}")

        dep = self.one("Deployment")
        job = self.one("Job")
        if not dep or not job:
            return
        dname = f"Deployment/{dep['metadata']['name']}"
        dspec = dep["spec"]
        tmpl = dspec["template"]
        pod_labels = tmpl["metadata"].get("labels") or {}
        if not selects(dspec["selector"].get("matchLabels"), pod_labels):
            self.fail(f"{dname}: selector does not match its pod template labels")
        if "replicas" in dspec:
            self.fail(f"{dname}: spec.replicas must be absent (the HPA owns the replica count)")
        self.check_pod(dname, tmpl, config)

        containers = tmpl["spec"]["containers"]
        api = containers[0]
        if api.get("args") != ["serve"]:
            self.fail(f"{dname}: the container must run `serve`")
        ports = {p.get("name"): p.get("containerPort") for p in api.get("ports") or []}
        if ports.get("http") != int(config.get("PORT", "0")):
            self.fail(f"{dname}: containerPort 'http' must equal ConfigMap PORT")

        def probe_path(p: str) -> str | None:
            return ((api.get(p) or {}).get("httpGet") or {}).get("path")

        if probe_path("livenessProbe") != "/healthz":
            self.fail(f"{dname}: livenessProbe must GET /healthz")
        if probe_path("readinessProbe") != "/readyz":
            self.fail(f"{dname}: readinessProbe must GET /readyz")
        if probe_path("startupProbe") != "/healthz":
            self.fail(f"{dname}: startupProbe must GET /healthz")
        grace = tmpl["spec"].get("terminationGracePeriodSeconds", 30)
        budget = int(config.get("SHUTDOWN_DELAY_SECONDS", "0")) + int(config.get("SHUTDOWN_GRACE_SECONDS", "30"))
        if grace <= budget:
            self.fail(f"{dname}: terminationGracePeriodSeconds {grace} must exceed "
                      f"SHUTDOWN_DELAY_SECONDS + SHUTDOWN_GRACE_SECONDS = {budget}")

        jname = f"Job/{job['metadata']['name']}"
        jtmpl = job["spec"]["template"]
        self.check_pod(jname, jtmpl, config)
        mig = jtmpl["spec"]["containers"][0]
        if mig.get("args") != ["migrate"]:
            self.fail(f"{jname}: the container must run `migrate`")
        if mig.get("image") != api.get("image"):
            self.fail(f"{jname}: image {mig.get('image')} differs from the Deployment's {api.get('image')}")
        if jtmpl["spec"].get("restartPolicy") not in ("Never", "OnFailure"):
            self.fail(f"{jname}: restartPolicy must be Never or OnFailure")
        if self.name != "base":
            image = api.get("image", "")
            if "/" not in image or not (":" in image.rsplit("/", 1)[1] or "@" in image) \
                    or image.endswith(":latest"):
                self.fail(f"{dname}: image {image!r} must be a registry image pinned to a tag or digest")

        svc = self.one("Service")
        if svc:
            if not selects(svc["spec"].get("selector"), pod_labels):
                self.fail("Service selector does not match the API pods")
            if selects(svc["spec"].get("selector"), jtmpl["metadata"].get("labels")):
                self.fail("Service selector also matches the migration Job's pods")
            for p in svc["spec"].get("ports") or []:
                tp = p.get("targetPort")
                if tp not in ports and tp not in ports.values():
                    self.fail(f"Service targetPort {tp!r} is not a container port")

        hpa = self.one("HorizontalPodAutoscaler")
        if hpa:
            ref = hpa["spec"]["scaleTargetRef"]
            if (ref.get("kind"), ref.get("name")) != ("Deployment", dep["metadata"]["name"]):
                self.fail("HPA scaleTargetRef does not point at the Deployment")
            want = MIN_REPLICAS.get(self.name, 2)
            if hpa["spec"].get("minReplicas", 1) < want:
                self.fail(f"HPA minReplicas must be >= {want}")
            if hpa["spec"]["maxReplicas"] < hpa["spec"].get("minReplicas", 1):
                self.fail("HPA maxReplicas < minReplicas")
            if not any((m.get("resource") or {}).get("name") == "cpu" for m in hpa["spec"].get("metrics") or []):
                self.fail("HPA must scale on CPU")

        pdb = self.one("PodDisruptionBudget")
        if pdb:
            if not selects(pdb["spec"].get("selector", {}).get("matchLabels"), pod_labels):
                self.fail("PodDisruptionBudget selector does not match the API pods")
            if hpa and pdb["spec"].get("minAvailable", 0) >= hpa["spec"].get("minReplicas", 1):
                self.fail("PodDisruptionBudget minAvailable must be below HPA minReplicas (drains would block)")

        ing = self.one("Ingress")
        if ing and svc:
            ann = ing["metadata"].get("annotations") or {}
            for a in ("proxy-read-timeout", "proxy-send-timeout"):
                v = ann.get(f"nginx.ingress.kubernetes.io/{a}")
                if v is None or int(v) < 3600:
                    self.fail(f"Ingress {a} must be >= 3600 s (WebSockets)")
            svc_ports = {p.get("name") for p in svc["spec"]["ports"]} | {p.get("port") for p in svc["spec"]["ports"]}
            rule_hosts = set()
            for rule in ing["spec"].get("rules") or []:
                rule_hosts.add(rule.get("host"))
                for path in (rule.get("http") or {}).get("paths") or []:
                    backend = (path.get("backend") or {}).get("service") or {}
                    if backend.get("name") != svc["metadata"]["name"]:
                        self.fail(f"Ingress backend {backend.get('name')} is not the Service")
                    port = backend.get("port") or {}
                    if port.get("name", port.get("number")) not in svc_ports:
                        self.fail(f"Ingress backend port {port} is not a Service port")
            tls_hosts = {h for t in ing["spec"].get("tls") or [] for h in t.get("hosts") or []}
            if tls_hosts != rule_hosts:
                self.fail(f"Ingress TLS hosts {sorted(tls_hosts)} differ from rule hosts {sorted(rule_hosts)}")

        np_ = self.one("NetworkPolicy")
        if np_:
            sel = np_["spec"].get("podSelector", {}).get("matchLabels")
            if not selects(sel, pod_labels) or not selects(sel, jtmpl["metadata"].get("labels")):
                self.fail("NetworkPolicy must select the API pods and the migration Job's pods")
            if set(np_["spec"].get("policyTypes") or []) != {"Ingress", "Egress"}:
                self.fail("NetworkPolicy must restrict both Ingress and Egress")
            ingress_ports = {(p.get("protocol", "TCP"), p.get("port"))
                             for r in np_["spec"].get("ingress") or [] for p in r.get("ports") or []}
            if ingress_ports != {("TCP", ports.get("http"))} and ingress_ports != {("TCP", "http")}:
                self.fail(f"NetworkPolicy ingress must allow only the HTTP port, allows {sorted(ingress_ports, key=str)}")
            for r in np_["spec"].get("ingress") or []:
                if not r.get("from"):
                    self.fail("NetworkPolicy ingress rule without `from` admits everyone")
            egress = {(p.get("protocol", "TCP"), p.get("port"))
                      for r in np_["spec"].get("egress") or [] for p in r.get("ports") or []}
            missing = REQUIRED_EGRESS - egress
            if missing:
                self.fail(f"NetworkPolicy egress lacks {sorted(missing)}")

        if self.name != "base":
            ns_objs = self.all("Namespace")
            namespaces = {d["metadata"].get("namespace") for d in self.docs if d["kind"] != "Namespace"}
            if len(ns_objs) != 1 or namespaces != {ns_objs[0]["metadata"]["name"]}:
                self.fail("an overlay must create one Namespace and put every resource in it")
            elif (ns_objs[0]["metadata"].get("labels") or {}).get("pod-security.kubernetes.io/enforce") != "restricted":
                self.fail("the Namespace must enforce the restricted Pod Security Standard")


def check_secret_example(path: str) -> list[str]:
    problems = []
    with open(path, encoding="utf-8") as f:
        docs = [d for d in yaml.safe_load_all(f) if d is not None]
    if len(docs) != 1 or docs[0].get("kind") != "Secret" or docs[0]["metadata"].get("name") != SECRET_NAME:
        return [f"{path}: must hold exactly the Secret {SECRET_NAME}"]
    data = docs[0].get("stringData") or {}
    if docs[0].get("data"):
        problems.append(f"{path}: use stringData placeholders, not data")
    for key in sorted({"DATABASE_URL", "REDIS_URL", "JWT_SECRET"} - set(data)):
        problems.append(f"{path}: missing {key}")
    for key, value in data.items():
        if "REPLACE_ME" not in str(value):
            problems.append(f"{path}: {key} must be an obvious placeholder containing REPLACE_ME")
    if len(str(data.get("JWT_SECRET", "")).encode()) >= 32:
        problems.append(f"{path}: the JWT_SECRET placeholder must be shorter than 32 bytes, "
                        "so that a forgotten placeholder stops the service from starting")
    if len(str(data.get("PLATFORM_OPERATOR_TOKEN", ""))) >= 24:
        problems.append(f"{path}: the PLATFORM_OPERATOR_TOKEN placeholder must be shorter than 24 "
                        "characters, so that a forgotten placeholder stops the service from starting")
    return problems


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--secret-example")
    ap.add_argument("renderings", nargs="+", metavar="NAME=FILE")
    args = ap.parse_args()
    problems: list[str] = []
    for item in args.renderings:
        name, _, path = item.partition("=")
        with open(path, encoding="utf-8") as f:
            docs = [d for d in yaml.safe_load_all(f) if d is not None]
        c = Checker(name, docs)
        c.run()
        problems += c.problems
        print(f"check: {name}: {len(docs)} documents, {'OK' if not c.problems else f'{len(c.problems)} problem(s)'}")
    if args.secret_example:
        sp = check_secret_example(args.secret_example)
        problems += sp
        print(f"check: {args.secret_example}: {'OK' if not sp else f'{len(sp)} problem(s)'}")
    for p in problems:
        print(f"check: FAIL {p}", file=sys.stderr)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
