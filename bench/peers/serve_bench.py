"""One side of bench/peers/run_serve.sh: drives a Chroma-API server through chromadb.HttpClient
(the real client from PyPI) and prints one JSON line.
  python serve_bench.py --port P --pid SERVER_PID [--n 100000] [--dim 768] [--batch 1000]
                        [--queries 1000] [--clients 8] [--client-queries 500]
Data that is not easy: 200 Gaussian clusters of unequal spread on the unit sphere (cosine), each
record with a document and metadata, queries drawn from the same mixture but never stored."""
import argparse
import json
import multiprocessing
import os
import time

import chromadb
import numpy as np


def make_data(n, dim, seed):
    rng = np.random.default_rng(seed)
    centers = rng.standard_normal((200, dim)).astype(np.float32)
    spread = rng.uniform(0.2, 1.0, 200).astype(np.float32)
    which = rng.integers(0, 200, n)
    points = centers[which] + rng.standard_normal((n, dim)).astype(np.float32) * spread[which, None]
    points /= np.linalg.norm(points, axis=1, keepdims=True)
    return points, which


def rss_kb(pid):
    fields = {}
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            key, _, value = line.partition(":")
            fields[key] = value.strip()
    return int(fields["VmRSS"].split()[0]), int(fields["VmHWM"].split()[0])


def client_worker(port, dim, count, seed, barrier, results):
    client = chromadb.HttpClient(host="127.0.0.1", port=port)
    collection = client.get_collection("bench")
    queries, _ = make_data(count, dim, seed)
    barrier.wait()
    started = time.perf_counter()
    for query in queries:
        collection.query(query_embeddings=[query.tolist()], n_results=10)
    results.put((count, time.perf_counter() - started))


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--pid", type=int, required=True)
    parser.add_argument("--n", type=int, default=100000)
    parser.add_argument("--dim", type=int, default=768)
    parser.add_argument("--batch", type=int, default=1000)
    parser.add_argument("--queries", type=int, default=1000)
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--client-queries", type=int, default=500)
    args = parser.parse_args()

    points, which = make_data(args.n, args.dim, 1)
    client = chromadb.HttpClient(host="127.0.0.1", port=args.port)
    collection = client.create_collection("bench", metadata={"hnsw:space": "cosine"}, embedding_function=None)

    started = time.perf_counter()
    for begin in range(0, args.n, args.batch):
        end = min(args.n, begin + args.batch)
        collection.add(ids=[f"r{i}" for i in range(begin, end)],
                       embeddings=points[begin:end].tolist(),
                       documents=[f"memory {i} about topic {which[i]}" for i in range(begin, end)],
                       metadatas=[{"topic": int(which[i]), "kind": "fact" if i % 3 else "episode"} for i in range(begin, end)])
    ingest_s = time.perf_counter() - started
    assert collection.count() == args.n, collection.count()

    queries, _ = make_data(args.queries, args.dim, 2)
    # Recall against the exact answer, so a fast server cannot win by answering badly.
    exact = np.argsort(-(queries @ points.T), axis=1)[:, :10]
    latencies, hits = [], 0
    for q, query in enumerate(queries):
        t0 = time.perf_counter()
        found = collection.query(query_embeddings=[query.tolist()], n_results=10)
        latencies.append(time.perf_counter() - t0)
        hits += len({int(i[1:]) for i in found["ids"][0]} & set(exact[q].tolist()))
    latencies.sort()

    barrier = multiprocessing.Barrier(args.clients + 1)
    results = multiprocessing.Queue()
    workers = [multiprocessing.Process(target=client_worker,
                                       args=(args.port, args.dim, args.client_queries, 100 + c, barrier, results))
               for c in range(args.clients)]
    for worker in workers:
        worker.start()
    barrier.wait()
    started = time.perf_counter()
    done = [results.get() for _ in workers]
    wall = time.perf_counter() - started
    for worker in workers:
        worker.join()
    rss, peak = rss_kb(args.pid)
    print(json.dumps({
        "n": args.n, "dim": args.dim,
        "ingest_per_s": round(args.n / ingest_s, 1),
        "query_p50_ms": round(latencies[len(latencies) // 2] * 1000, 3),
        "query_p99_ms": round(latencies[int(len(latencies) * 0.99)] * 1000, 3),
        "recall_at_10": round(hits / (10 * len(queries)), 4),
        "clients": args.clients,
        "clients_qps": round(sum(count for count, _ in done) / wall, 1),
        "rss_mb": round(rss / 1024, 1), "rss_peak_mb": round(peak / 1024, 1),
    }))


if __name__ == "__main__":
    main()
