#!/usr/bin/env python3
"""The `lunadb bench vectors` workload on ChromaDB (PersistentClient) and raw hnswlib.

Same synthetic clustered unit vectors (numpy re-implementation of the generator's shape, not the
same numbers), same batch size, k=10 single-vector queries, recall@10 against exact search.
Prints one JSON object per engine with lunadb's keys.
"""
import argparse
import json
import os
import resource
import shutil
import tempfile
import time

import numpy as np


def clustered(n, dim, seed):
    rng = np.random.default_rng(seed)
    clusters = max(10, n // 200)
    centres = rng.standard_normal((clusters, dim)).astype(np.float32)
    centres /= np.linalg.norm(centres, axis=1, keepdims=True)
    picks = rng.integers(0, clusters, n)
    noise = 0.35 / np.sqrt(dim)
    v = centres[picks] + noise * rng.standard_normal((n, dim)).astype(np.float32)
    return v / np.linalg.norm(v, axis=1, keepdims=True)


def rss_mb():
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return round(int(line.split()[1]) / 1024)
    return 0


def disk_mb(path):
    total = 0
    for root, _, files in os.walk(path):
        for name in files:
            total += os.path.getsize(os.path.join(root, name))
    return round(total / (1024 * 1024), 1)


def recall(found, data, queries, count):
    hits = 0
    for qi in range(min(count, len(queries))):
        exact = np.argsort(1 - data @ queries[qi])[:10]
        truth = {f"id{i}" for i in exact}
        hits += len(truth & set(found[qi]))
    return hits / (10 * min(count, len(queries)))


def percentiles(latencies):
    lat = np.sort(np.array(latencies))
    p = lambda q: float(lat[min(len(lat) - 1, int(np.ceil(q * len(lat))) - 1)])
    return round(p(0.50)), round(p(0.99))


def run_chroma(data, queries, args, path):
    import chromadb

    client = chromadb.PersistentClient(path=path)
    col = client.create_collection("bench", metadata={"hnsw:space": "cosine"})
    ids = [f"id{i}" for i in range(len(data))]
    start = time.perf_counter()
    for b in range(0, len(data), args.batch):
        col.add(ids=ids[b:b + args.batch], embeddings=data[b:b + args.batch].tolist())
    ingest = len(data) / (time.perf_counter() - start)
    lat, found = [], []
    for q in queries:
        t0 = time.perf_counter()
        r = col.query(query_embeddings=[q.tolist()], n_results=10, include=["distances"])
        lat.append((time.perf_counter() - t0) * 1e6)
        found.append(r["ids"][0])
    p50, p99 = percentiles(lat)
    out = {"engine": "chromadb", "version": chromadb.__version__, "n": len(data), "dim": data.shape[1],
           "ingest_per_s": round(ingest), "query_p50_us": p50, "query_p99_us": p99,
           "recall_at_10": recall(found, data, queries, args.recall_queries), "rss_mb": rss_mb()}
    del col, client
    out["disk_mb"] = disk_mb(path)
    t0 = time.perf_counter()
    client = chromadb.PersistentClient(path=path)
    col = client.get_collection("bench")
    col.query(query_embeddings=[queries[0].tolist()], n_results=1)  # Chroma loads the index lazily
    out["reopen_ms"] = round((time.perf_counter() - t0) * 1000)
    return out


def run_hnswlib(data, queries, args, path):
    import hnswlib

    n, dim = data.shape
    index = hnswlib.Index(space="cosine", dim=dim)
    index.init_index(max_elements=n, M=16, ef_construction=200)
    index.set_ef(100)
    start = time.perf_counter()
    for b in range(0, n, args.batch):
        index.add_items(data[b:b + args.batch], np.arange(b, min(n, b + args.batch)))
    ingest = n / (time.perf_counter() - start)
    lat, found = [], []
    for q in queries:
        t0 = time.perf_counter()
        labels, _ = index.knn_query(q, k=10)
        lat.append((time.perf_counter() - t0) * 1e6)
        found.append([f"id{i}" for i in labels[0]])
    p50, p99 = percentiles(lat)
    out = {"engine": "hnswlib", "n": n, "dim": dim, "ingest_per_s": round(ingest), "query_p50_us": p50,
           "query_p99_us": p99, "recall_at_10": recall(found, data, queries, args.recall_queries), "rss_mb": rss_mb()}
    file = os.path.join(path, "index.bin")
    index.save_index(file)  # no durability of its own: a raw dump, no records, no fsync
    out["disk_mb"] = disk_mb(path)
    t0 = time.perf_counter()
    again = hnswlib.Index(space="cosine", dim=dim)
    again.load_index(file, max_elements=n)
    out["reopen_ms"] = round((time.perf_counter() - t0) * 1000)
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--engine", choices=["chromadb", "hnswlib"], required=True)
    ap.add_argument("--n", type=int, default=10000)
    ap.add_argument("--dim", type=int, default=384)
    ap.add_argument("--queries", type=int, default=1000)
    ap.add_argument("--recall-queries", type=int, default=200)
    ap.add_argument("--batch", type=int, default=1000)
    args = ap.parse_args()
    allv = clustered(args.n + args.queries, args.dim, 42)
    data, queries = allv[:args.n], allv[args.n:]
    path = tempfile.mkdtemp(prefix=f"peer-{args.engine}-")
    try:
        run = run_chroma if args.engine == "chromadb" else run_hnswlib
        print(json.dumps(run(data, queries, args, path)))
    finally:
        shutil.rmtree(path, ignore_errors=True)


if __name__ == "__main__":
    main()
