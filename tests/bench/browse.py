#!/usr/bin/env python3
"""Browse latency at catalogue scale: p50/p99 of GET /api/marketplace/browse (page of 20, with
auth) against a 1k-agent and a 1M-agent catalogue, measured A/B alternately on this machine.

Usage: tests/bench/browse.py [--requests 200] [--rounds 3]
Needs the release binary (cargo build --release -p clawrent-api); creates/uses the databases
clawrent_bench_1k and clawrent_bench_1m (seeded with `clawrent admin seed-catalogue`)."""
import argparse, http.client, json, os, statistics, subprocess, sys, time, datetime, socket

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BIN = os.path.join(ROOT, "target/release/clawrent")
PG = "postgres://postgres@127.0.0.1:5432"
SHAPES = [
    ("newest", "/api/marketplace/browse?page=1&limit=20"),
    ("price_asc", "/api/marketplace/browse?sort=price_asc&limit=20"),
    ("popularity", "/api/marketplace/browse?sort=popularity&limit=20"),
    ("search", "/api/marketplace/browse?search=translator&limit=20"),
    ("typo_search", "/api/marketplace/browse?search=kubernetis&limit=20"),
    ("category_currency", "/api/marketplace/browse?category=devops&currency=USD&limit=20"),
    ("online", "/api/marketplace/browse?online=true&limit=20"),
]

def run(args, env=None):
    return subprocess.run(args, env={**os.environ, **(env or {})}, capture_output=True, text=True)

def count_listed(db):
    out = run(["psql", "-h", "127.0.0.1", "-U", "postgres", "-d", db, "-qAt", "-c",
               "SELECT coalesce(sum(listed),0) FROM listing_counts"])
    return int(out.stdout.strip() or 0) if out.returncode == 0 else 0

def ensure(db, count):
    env = {"DATABASE_URL": f"{PG}/{db}", "RUST_LOG": "warn"}
    have = count_listed(db)
    if have < count:
        print(f"seeding {db}: {count - have} agents", file=sys.stderr)
        r = run([BIN, "admin", "seed-catalogue", "--count", str(count - have)], env)
        if r.returncode: sys.exit(r.stderr)
    run([BIN, "admin", "seed-demo"], env)

def free_port():
    s = socket.socket(); s.bind(("127.0.0.1", 0)); p = s.getsockname()[1]; s.close(); return p

def start(db):
    port = free_port()
    env = {"DATABASE_URL": f"{PG}/{db}", "PORT": str(port), "RUST_LOG": "warn", "AUTO_MIGRATE": "false",
           "JWT_SECRET": "bench-secret-that-is-long-enough-0123456789", "REDIS_PREFIX": f"bench{port}"}
    log = open(f"/tmp/clawrent-bench-{db}.log", "w")
    proc = subprocess.Popen([BIN, "serve"], env={**os.environ, **env}, stdout=log, stderr=subprocess.STDOUT)
    deadline = time.time() + 30
    while True:
        try:
            probe = http.client.HTTPConnection("127.0.0.1", port, timeout=1); probe.request("GET", "/healthz")
            if probe.getresponse().status == 200: break
        except OSError:
            pass
        if time.time() > deadline or proc.poll() is not None: sys.exit(f"server for {db} did not start")
        time.sleep(0.2)
    conn = http.client.HTTPConnection("127.0.0.1", port)
    body = json.dumps({"email": "demo-consumer@clawrent.local", "password": "clawrent-demo-password"})
    conn.request("POST", "/api/auth/login", body, {"content-type": "application/json"})
    token = json.loads(conn.getresponse().read())["token"]
    return proc, conn, token

def measure(conn, token, path, n):
    conn = http.client.HTTPConnection(conn.host, conn.port)  # a fresh keep-alive connection per point
    samples = []
    headers = {"authorization": f"Bearer {token}"}
    for _ in range(5):  # warm-up
        conn.request("GET", path, headers=headers); conn.getresponse().read()
    for _ in range(n):
        t = time.perf_counter()
        conn.request("GET", path, headers=headers)
        r = conn.getresponse(); r.read()
        samples.append((time.perf_counter() - t) * 1000)
        if r.status != 200: sys.exit(f"{path}: HTTP {r.status}")
    samples.sort()
    return statistics.median(samples), samples[int(len(samples) * 0.99) - 1]

def main():
    ap = argparse.ArgumentParser(); ap.add_argument("--requests", type=int, default=200); ap.add_argument("--rounds", type=int, default=3)
    a = ap.parse_args()
    if not os.path.exists(BIN): sys.exit("build the release binary first: cargo build --release -p clawrent-api")
    ensure("clawrent_bench_1k", 1000); ensure("clawrent_bench_1m", 1000000)
    small, large = start("clawrent_bench_1k"), start("clawrent_bench_1m")
    results = {name: {"1k": [], "1m": []} for name, _ in SHAPES}
    try:
        for _ in range(a.rounds):  # A B A B: the two catalogues alternate under the same machine load
            for name, path in SHAPES:
                results[name]["1k"].append(measure(small[1], small[2], path, a.requests))
                results[name]["1m"].append(measure(large[1], large[2], path, a.requests))
    finally:
        small[0].terminate(); large[0].terminate()
    commit = run(["git", "-C", ROOT, "rev-parse", "--short", "HEAD"]).stdout.strip()
    load = os.getloadavg()[0]
    rows = []
    for name, _ in SHAPES:
        p50_1k = statistics.median(x[0] for x in results[name]["1k"]); p50_1m = statistics.median(x[0] for x in results[name]["1m"])
        spread_1m = (min(x[0] for x in results[name]["1m"]), max(x[0] for x in results[name]["1m"]))
        p99_1m = statistics.median(x[1] for x in results[name]["1m"])
        ratio = p50_1m / p50_1k
        verdict = "ok" if ratio <= 1.3 else ("watch" if ratio <= 2.0 else "ALARM")
        rows.append({"shape": name, "p50_1k_ms": round(p50_1k, 2), "p50_1m_ms": round(p50_1m, 2), "p99_1m_ms": round(p99_1m, 2),
                     "spread_1m_ms": [round(spread_1m[0], 2), round(spread_1m[1], 2)], "ratio": round(ratio, 2), "verdict": verdict})
    report = {"commit": commit, "date": datetime.datetime.utcnow().isoformat(timespec="seconds") + "Z", "load_avg_1m": round(load, 2),
              "requests_per_point": a.requests, "rounds": a.rounds, "rows": rows}
    json.dump(report, open(os.path.join(ROOT, "docs/benchmarks-browse.json"), "w"), indent=2)
    print(json.dumps(report, indent=2))

if __name__ == "__main__":
    main()
