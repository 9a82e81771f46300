#!/usr/bin/env python3
"""The `lunadb bench vectors` workload on ChromaDB (PersistentClient) and raw hnswlib.

Same shape of synthetic clustered unit vectors (numpy re-implementation of the generator, not the
same numbers), same batch size, k=10 single-vector queries, recall@10 against exact search.
Like lunadb's bench, the data are produced batch by batch and produced again for the exact
search, so the process RSS is the engine's, not the input's. Prints one JSON object per engine
with lunadb's keys (wall and process CPU times).
"""
import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time

import numpy as np


class Clustered:
    def __init__(self, n, dim, seed):
        self.n, self.dim, self.seed = n, dim, seed
        rng = np.random.default_rng(seed)
        clusters = max(10, n // 200)
        self.centres = rng.standard_normal((clusters, dim)).astype(np.float32)
        self.centres /= np.linalg.norm(self.centres, axis=1, keepdims=True)
        self.noise = np.float32(0.35 / np.sqrt(dim))

    def _draw(self, rng, count):
        picks = rng.integers(0, len(self.centres), count)
        v = self.centres[picks] + self.noise * rng.standard_normal((count, self.dim)).astype(np.float32)
        return (v / np.linalg.norm(v, axis=1, keepdims=True)).astype(np.float32)

    def batch(self, begin, size):
        """Vectors begin..begin+size (begin a multiple of size): deterministic per batch."""
        return self._draw(np.random.default_rng([self.seed, 1, begin]), min(size, self.n - begin))

    def queries(self, count):
        return self._draw(np.random.default_rng([self.seed, 2]), count)


def status_mb(key):
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(key):
                return round(int(line.split()[1]) / 1024)
    return 0


def disk_mb(path):
    total = 0
    for root, _, files in os.walk(path):
        for name in files:
            total += os.path.getsize(os.path.join(root, name))
    return round(total / (1024 * 1024), 1)


def recall(found, source, queries, count, batch):
    q = queries[:count]
    best_d = np.full((len(q), 10), np.inf, dtype=np.float32)
    best_i = np.zeros((len(q), 10), dtype=np.int64)
    for b in range(0, source.n, batch):
        d = 1 - q @ source.batch(b, batch).T
        all_d = np.concatenate([best_d, d], axis=1)
        all_i = np.concatenate([best_i, np.broadcast_to(np.arange(b, b + d.shape[1]), d.shape)], axis=1)
        keep = np.argpartition(all_d, 9, axis=1)[:, :10]
        best_d = np.take_along_axis(all_d, keep, axis=1)
        best_i = np.take_along_axis(all_i, keep, axis=1)
    hits = 0
    for qi in range(len(q)):
        truth = {f"id{i}" for i in best_i[qi]}
        hits += len(truth & set(found[qi]))
    return hits / (10 * len(q))


def percentiles(latencies):
    lat = np.sort(np.array(latencies))
    p = lambda q: float(lat[min(len(lat) - 1, int(np.ceil(q * len(lat))) - 1)])
    return round(p(0.50)), round(p(0.99))


class Timer:
    """Wall and process CPU time (all threads) of a stretch, minus excluded parts."""

    def __init__(self):
        self.wall, self.cpu = time.perf_counter(), time.process_time()
        self.ex_wall = self.ex_cpu = 0.0

    def exclude(self, fn):
        w, c = time.perf_counter(), time.process_time()
        out = fn()
        self.ex_wall += time.perf_counter() - w
        self.ex_cpu += time.process_time() - c
        return out

    def done(self):
        return (time.perf_counter() - self.wall - self.ex_wall, time.process_time() - self.cpu - self.ex_cpu)


def timed_queries(run_one, queries):
    lat, cpu, found = [], [], []
    for q in queries:
        c0, t0 = time.process_time(), time.perf_counter()
        found.append(run_one(q))
        lat.append((time.perf_counter() - t0) * 1e6)
        cpu.append((time.process_time() - c0) * 1e6)
    return lat, cpu, found


def report(out, n, ingest, lat, cpu):
    wall, cpu_s = ingest
    p50, p99 = percentiles(lat)
    c50, c99 = percentiles(cpu)
    out.update({"ingest_per_s": round(n / wall), "ingest_cpu_s": round(cpu_s, 2), "ingest_per_cpu_s": round(n / cpu_s),
                "query_p50_us": p50, "query_p99_us": p99, "query_cpu_p50_us": c50, "query_cpu_p99_us": c99,
                "rss_mb": status_mb("VmRSS:"), "rss_peak_mb": status_mb("VmHWM:")})


def run_chroma(source, queries, args, path):
    import chromadb

    client = chromadb.PersistentClient(path=path)
    col = client.create_collection("bench", metadata={"hnsw:space": "cosine", "hnsw:M": args.m,
                                                      "hnsw:construction_ef": args.ef_construction,
                                                      "hnsw:search_ef": args.ef_search})
    timer = Timer()
    for b in range(0, source.n, args.batch):
        data = timer.exclude(lambda: source.batch(b, args.batch))
        ids = timer.exclude(lambda: [f"id{i}" for i in range(b, b + len(data))])
        col.add(ids=ids, embeddings=data)  # a numpy array: Chroma's cheapest input form
    ingest = timer.done()
    lat, cpu, found = timed_queries(
        lambda q: col.query(query_embeddings=[q.tolist()], n_results=10, include=["distances"])["ids"][0], queries)
    out = {"engine": "chromadb", "version": chromadb.__version__, "n": source.n, "dim": source.dim, "m": args.m,
           "ef_construction": args.ef_construction, "ef_search": args.ef_search}
    report(out, source.n, ingest, lat, cpu)
    del col, client
    # PersistentClient caches its system per path inside a process: a reopen here would reuse
    # the loaded index. A fresh process opens the files for real.
    chromadb.api.client.SharedSystemClient.clear_system_cache()
    out["recall_at_10"] = recall(found, source, queries, args.recall_queries, args.batch)
    out["disk_mb"] = disk_mb(path)
    again = subprocess.run([sys.executable, os.path.abspath(__file__), "--engine", "chromadb", "--reopen", path,
                            "--dim", str(source.dim)], check=True, capture_output=True, text=True)
    out.update(json.loads(again.stdout))
    return out


def reopen_chroma(path, dim):
    import chromadb  # not timed: lunadb's reopen does not load a Python runtime either

    q = np.random.default_rng(0).standard_normal(dim).astype(np.float32)
    c0, t0 = time.process_time(), time.perf_counter()
    client = chromadb.PersistentClient(path=path)
    col = client.get_collection("bench")
    col.query(query_embeddings=[q.tolist()], n_results=1)  # Chroma loads the index lazily
    return {"reopen_ms": round((time.perf_counter() - t0) * 1000), "reopen_cpu_ms": round((time.process_time() - c0) * 1000)}


def run_hnswlib(source, queries, args, path):
    import hnswlib

    n, dim = source.n, source.dim
    index = hnswlib.Index(space="cosine", dim=dim)
    index.init_index(max_elements=n, M=args.m, ef_construction=args.ef_construction)
    index.set_ef(args.ef_search)
    timer = Timer()
    for b in range(0, n, args.batch):
        data = timer.exclude(lambda: source.batch(b, args.batch))
        index.add_items(data, np.arange(b, b + len(data)))
    ingest = timer.done()

    def one(q):
        labels, _ = index.knn_query(q, k=10)
        return [f"id{i}" for i in labels[0]]

    lat, cpu, found = timed_queries(one, queries)
    out = {"engine": "hnswlib", "version": getattr(hnswlib, "__version__", "?"), "n": n, "dim": dim, "m": args.m,
           "ef_construction": args.ef_construction, "ef_search": args.ef_search}
    report(out, n, ingest, lat, cpu)
    out["recall_at_10"] = recall(found, source, queries, args.recall_queries, args.batch)
    file = os.path.join(path, "index.bin")
    index.save_index(file)  # no durability of its own: a raw dump, no records, no fsync
    out["disk_mb"] = disk_mb(path)
    c0, t0 = time.process_time(), time.perf_counter()
    again = hnswlib.Index(space="cosine", dim=dim)
    again.load_index(file, max_elements=n)
    again.knn_query(queries[0], k=1)
    out["reopen_ms"] = round((time.perf_counter() - t0) * 1000)
    out["reopen_cpu_ms"] = round((time.process_time() - c0) * 1000)
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--engine", choices=["chromadb", "hnswlib"], required=True)
    ap.add_argument("--n", type=int, default=10000)
    ap.add_argument("--dim", type=int, default=384)
    ap.add_argument("--queries", type=int, default=1000)
    ap.add_argument("--recall-queries", type=int, default=200)
    ap.add_argument("--batch", type=int, default=1000)
    # The graph parameters, the same for every engine (run_vectors.sh passes lunadb's defaults).
    ap.add_argument("--m", type=int, default=16)
    ap.add_argument("--ef-construction", type=int, default=100)
    ap.add_argument("--ef-search", type=int, default=100)
    ap.add_argument("--reopen", help=argparse.SUPPRESS)  # internal: time a fresh open of this store
    args = ap.parse_args()
    if args.reopen:
        print(json.dumps(reopen_chroma(args.reopen, args.dim)))
        return
    source = Clustered(args.n, args.dim, 42)
    queries = source.queries(args.queries)
    path = tempfile.mkdtemp(prefix=f"peer-{args.engine}-")
    try:
        run = run_chroma if args.engine == "chromadb" else run_hnswlib
        print(json.dumps(run(source, queries, args, path)))
    finally:
        shutil.rmtree(path, ignore_errors=True)


if __name__ == "__main__":
    main()
