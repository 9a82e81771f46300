#!/usr/bin/env python3
"""Raw hnswlib over the files `lunadb bench vectors --export DIR` wrote (data.fvecs, queries.fvecs,
gt.ivecs): the same graph parameters and the same ef sweep as lunadb's bench, each query alone on
one thread, recall@k against the same ground truth. Prints one JSON object:
{"engine": "hnswlib", ..., "rows": [{"ef": 10, "recall": ..., "p50_us": ..., "p95_us": ...}, ...]}
"""
import argparse
import importlib.metadata
import json
import os
import time

import numpy as np


def read_vecs(path, dtype):
    raw = np.fromfile(path, dtype=np.int32)
    if raw.size == 0:
        raise SystemExit(f"{path}: empty")
    dim = int(raw[0])
    if dim <= 0 or raw.size % (dim + 1) != 0:
        raise SystemExit(f"{path}: not a whole number of rows of dimension {dim}")
    rows = raw.reshape(-1, dim + 1)
    if not (rows[:, 0] == dim).all():
        raise SystemExit(f"{path}: rows of different dimensions")
    return np.ascontiguousarray(rows[:, 1:]).view(dtype)


def percentile(samples, p):
    ordered = np.sort(np.asarray(samples))
    return float(ordered[min(len(ordered) - 1, int(np.ceil(p * len(ordered))) - 1)])


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("dir", help="folder written by lunadb bench vectors --export")
    ap.add_argument("--m", type=int, default=16)
    ap.add_argument("--ef-construction", type=int, default=100)
    ap.add_argument("--ef-sweep", default="10,20,40,80,100,200,400")
    ap.add_argument("--k", type=int, default=10)
    ap.add_argument("--space", choices=["cosine", "l2", "ip"], default="cosine")
    ap.add_argument("--build-threads", type=int, default=os.cpu_count() or 1)
    args = ap.parse_args()

    import hnswlib

    data = read_vecs(os.path.join(args.dir, "data.fvecs"), np.float32)
    queries = read_vecs(os.path.join(args.dir, "queries.fvecs"), np.float32)
    truth = read_vecs(os.path.join(args.dir, "gt.ivecs"), np.int32)
    k = min(args.k, truth.shape[1], len(data))
    n, dim = data.shape

    index = hnswlib.Index(space=args.space, dim=dim)
    index.init_index(max_elements=n, M=args.m, ef_construction=args.ef_construction, random_seed=100)
    start = time.perf_counter()
    index.add_items(data, np.arange(n), num_threads=args.build_threads)
    build_s = time.perf_counter() - start
    index.set_num_threads(1)  # one query at a time on one thread, as lunadb's bench

    rows = []
    for ef in (int(x) for x in args.ef_sweep.split(",") if x):
        index.set_ef(ef)
        latencies, hits = [], 0
        for q in range(len(queries)):
            query = queries[q]
            t0 = time.perf_counter()
            labels, _ = index.knn_query(query, k=k)
            latencies.append((time.perf_counter() - t0) * 1e6)
            hits += len(set(labels[0].tolist()) & set(truth[q, :k].tolist()))
        rows.append({"ef": ef, "recall": hits / (k * len(queries)), "p50_us": round(percentile(latencies, 0.50)),
                     "p95_us": round(percentile(latencies, 0.95)), "p99_us": round(percentile(latencies, 0.99))})
    print(json.dumps({"engine": "hnswlib", "version": importlib.metadata.version("hnswlib"), "n": n, "dim": dim,
                      "queries": len(queries), "k": k, "m": args.m, "ef_construction": args.ef_construction,
                      "space": args.space, "build_s": round(build_s, 1), "rows": rows}))


if __name__ == "__main__":
    main()
