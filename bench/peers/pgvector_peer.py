#!/usr/bin/env python3
"""A hand-written psycopg 3 + pgvector client doing what `lunadb bench vectors --backend pgvector` does.

The floor for any client of the same server: the data, queries and ground truth lunadb exported
(--export: data.fvecs, queries.fvecs, gt.ivecs, gt_filtered.ivecs), a table of lunadb's shape
(rid identity key, record_id text unique, embedding vector(d), document text, metadata jsonb) with
the HNSW index made first, as lunadb makes it at create_collection. Adds in batches of --batch rows,
one transaction each, by binary COPY (pgvector's binary vector format). Queries one at a time on
one session, with hnsw.ef_search set once; the filtered ones ({"bucket": q % 100} on the jsonb
column) with pgvector 0.8's iterative index scan (relaxed_order, re-sorted here). Recall@k
against lunadb's exported ground truth. Prints one JSON object with lunadb's keys.
"""
import argparse
import importlib.metadata
import json
import os
import sys
import time

import numpy as np
import psycopg
from pgvector.psycopg import register_vector
from psycopg.types.json import Jsonb

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from hnswlib_sweep import percentile, read_vecs  # noqa: E402

OPERATORS = {"cosine": ("<=>", "vector_cosine_ops"), "l2": ("<->", "vector_l2_ops"), "ip": ("<#>", "vector_ip_ops")}


def timed(run_one, count):
    """Runs run_one(q) for q in 0..count-1; wall and process-CPU latencies in microseconds."""
    wall, cpu, found = [], [], []
    for q in range(count):
        c0, t0 = time.process_time(), time.perf_counter()
        found.append(run_one(q))
        wall.append((time.perf_counter() - t0) * 1e6)
        cpu.append((time.process_time() - c0) * 1e6)
    return found, wall, cpu


def recall(found, truth):
    hits = sum(len({int(i) for i in row if i >= 0} & set(ids)) for row, ids in zip(truth, found))
    return hits / truth.size


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("export_dir")
    parser.add_argument("--url", required=True, help="postgresql:// URL of a database the peer may create a table in")
    parser.add_argument("--batch", type=int, default=1000)
    parser.add_argument("--m", type=int, default=16)
    parser.add_argument("--ef-construction", type=int, default=100)
    parser.add_argument("--ef-search", type=int, default=100, help="hnsw.ef_search (lunadb's default_ef)")
    parser.add_argument("--k", type=int, default=10)
    parser.add_argument("--distance", choices=sorted(OPERATORS), default="cosine")
    parser.add_argument("--buckets", type=int, default=100)
    args = parser.parse_args()

    data = read_vecs(os.path.join(args.export_dir, "data.fvecs"), np.float32)
    queries = read_vecs(os.path.join(args.export_dir, "queries.fvecs"), np.float32)
    truth = read_vecs(os.path.join(args.export_dir, "gt.ivecs"), np.int32)[:, : args.k]
    filtered_truth = read_vecs(os.path.join(args.export_dir, "gt_filtered.ivecs"), np.int32)[:, : args.k]
    operator, opclass = OPERATORS[args.distance]
    table = f"peer_vectors_{os.getpid()}"

    with psycopg.connect(args.url, autocommit=True) as conn:
        conn.execute("CREATE EXTENSION IF NOT EXISTS vector")
        register_vector(conn)
        conn.execute(
            f"CREATE TABLE {table} (rid bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, record_id text NOT NULL UNIQUE, "
            f"embedding vector({data.shape[1]}) NOT NULL, document text, metadata jsonb)"
        )
        try:
            conn.execute(
                f"CREATE INDEX ON {table} USING hnsw (embedding {opclass}) "
                f"WITH (m = {args.m}, ef_construction = {args.ef_construction})"
            )
            ingest_wall = ingest_cpu = 0.0
            for begin in range(0, len(data), args.batch):
                rows = range(begin, min(len(data), begin + args.batch))
                c0, t0 = time.process_time(), time.perf_counter()
                with conn.transaction(), conn.cursor() as cur:
                    with cur.copy(f"COPY {table} (record_id, embedding, metadata) FROM STDIN WITH (FORMAT BINARY)") as copy:
                        copy.set_types(["text", "vector", "jsonb"])
                        for r in rows:
                            copy.write_row((f"id{r}", data[r], Jsonb({"bucket": r % args.buckets})))
                ingest_wall += time.perf_counter() - t0
                ingest_cpu += time.process_time() - c0

            conn.execute(f"SET hnsw.ef_search = {args.ef_search}")
            plain = f"SELECT record_id FROM {table} ORDER BY embedding {operator} %s LIMIT %s"
            found, wall, cpu = timed(lambda q: [r[0] for r in conn.execute(plain, (queries[q], args.k))], len(queries))
            # relaxed_order may return rows slightly out of order: the distance comes back to re-sort.
            conn.execute("SET hnsw.iterative_scan = relaxed_order")
            where = (
                f"SELECT record_id, embedding {operator} %s AS d FROM {table} WHERE metadata->'bucket' = %s::jsonb "
                f"ORDER BY d LIMIT %s"
            )

            def filtered_one(q):
                rows = conn.execute(where, (queries[q], str(q % args.buckets), args.k)).fetchall()
                return [r[0] for r in sorted(rows, key=lambda r: r[1])]

            filtered, filtered_wall, filtered_cpu = timed(filtered_one, len(queries))
        finally:
            conn.execute(f"DROP TABLE IF EXISTS {table}")

    def ids(rows):
        return [[int(i[2:]) for i in row] for row in rows]

    out = {
        "engine": f"psycopg {psycopg.__version__}, pgvector-python {importlib.metadata.version('pgvector')}",
        "n": len(data),
        "dim": int(data.shape[1]),
        "batch": args.batch,
        "m": args.m,
        "ef_construction": args.ef_construction,
        "ef_search": args.ef_search,
        "ingest_per_s": round(len(data) / ingest_wall),
        "ingest_cpu_s": round(ingest_cpu, 2),
        "query_p50_us": round(percentile(wall, 0.50)),
        "query_p99_us": round(percentile(wall, 0.99)),
        "query_cpu_p50_us": round(percentile(cpu, 0.50)),
        "recall_at_10": recall(ids(found), truth),
        "filtered_p50_us": round(percentile(filtered_wall, 0.50)),
        "filtered_p99_us": round(percentile(filtered_wall, 0.99)),
        "filtered_cpu_p50_us": round(percentile(filtered_cpu, 0.50)),
        "filtered_recall_at_10": recall(ids(filtered), filtered_truth),
    }
    print(json.dumps(out))


if __name__ == "__main__":
    main()
