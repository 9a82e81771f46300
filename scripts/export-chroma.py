#!/usr/bin/env python3
"""Exports a ChromaDB persistent folder, as Luna writes it, to JSON Lines that lunadb imports.

    python3 export-chroma.py CHROMA_DIR OUT_DIR

Run it with the Python that has the chromadb version which wrote the folder (Luna pins 0.5.20; 1.x
folders work with chromadb 1.x). `lunadb vectors import-chroma` runs it for you (docs/vectors-cli.md).
The folder is never opened in place: chromadb may migrate or write to a folder it opens, so a copy is
opened and then removed. Nothing under CHROMA_DIR is changed.

Luna's collections map onto lunadb's:
  luna_memories  fact_{id}  -> luna_facts          id "{id}"   (the facts table's row id)
                 conv_{id}  -> luna_conversations  id "{id}"   (conversation summaries)
  luna_episodes  ep_{id}    -> luna_episodes       id "{id}"   (Luna keys episodes by conversation id)
Any other collection keeps its name, and any id that fits no pattern is kept as it is in its
collection's target; metadata gains "luna_id", the id as Luna wrote it. Embeddings are written as
float32 values exactly as stored. OUT_DIR receives one <collection>.jsonl per target and
manifest.json: {"chromadb": version, "collections": {target: {"source", "count", "distance", "dimension"}}}.
"""
import json
import os
import shutil
import struct
import sys
import tempfile

ID_RULES = {
    "luna_memories": [("fact_", "luna_facts"), ("conv_", "luna_conversations")],
    "luna_episodes": [("ep_", "luna_episodes")],
}
DEFAULT_TARGET = {"luna_memories": "luna_facts", "luna_episodes": "luna_episodes"}


def target_of(collection, record_id):
    for prefix, target in ID_RULES.get(collection, []):
        rest = record_id[len(prefix):]
        if record_id.startswith(prefix) and rest.isdigit():
            return target, str(int(rest))
    return DEFAULT_TARGET.get(collection, collection), record_id


def float32(values):
    # Chroma returns float32 values widened to Python floats (or a numpy array); round-trip through
    # float32 so that what is written is exactly what Chroma stored.
    values = [float(v) for v in values]
    return list(struct.unpack(f"<{len(values)}f", struct.pack(f"<{len(values)}f", *values)))


def main():
    if len(sys.argv) != 3:
        sys.exit("usage: export-chroma.py CHROMA_DIR OUT_DIR")
    source, out_dir = sys.argv[1], sys.argv[2]
    if not os.path.isfile(os.path.join(source, "chroma.sqlite3")):
        sys.exit(f"{source}: no chroma.sqlite3 here, so this is not a ChromaDB persistent folder")
    try:
        import chromadb
        from chromadb.config import Settings
    except ImportError:
        sys.exit(f"{sys.executable}: this Python has no chromadb module; run with the Python of the "
                 "environment Luna runs in (the one with chromadb installed)")
    os.makedirs(out_dir, exist_ok=True)
    copy_root = tempfile.mkdtemp(prefix="lunadb-chroma-copy-")
    try:
        copy = os.path.join(copy_root, "chroma")
        shutil.copytree(source, copy)
        client = chromadb.PersistentClient(path=copy, settings=Settings(anonymized_telemetry=False))
        manifest = {"chromadb": chromadb.__version__, "collections": {}}
        outputs = {}
        for listed in client.list_collections():
            name = listed if isinstance(listed, str) else listed.name
            collection = client.get_collection(name)
            space = (collection.metadata or {}).get("hnsw:space", "l2")
            total = collection.count()
            offset = 0
            while offset < total:
                batch = collection.get(include=["embeddings", "documents", "metadatas"], limit=1000, offset=offset)
                if not batch["ids"]:
                    break
                for i, record_id in enumerate(batch["ids"]):
                    target, new_id = target_of(name, record_id)
                    metadata = dict(batch["metadatas"][i] or {})
                    metadata["luna_id"] = record_id
                    embedding = float32(batch["embeddings"][i])
                    info = manifest["collections"].setdefault(
                        target, {"source": name, "count": 0, "distance": space, "dimension": len(embedding)})
                    if info["distance"] != space or info["dimension"] != len(embedding):
                        sys.exit(f"{name}: records for {target} mix distances or dimensions")
                    info["count"] += 1
                    if target not in outputs:
                        outputs[target] = open(os.path.join(out_dir, target + ".jsonl"), "w", encoding="utf-8")
                    line = {"id": new_id, "embedding": embedding, "document": batch["documents"][i],
                            "metadata": metadata}
                    outputs[target].write(json.dumps(line, ensure_ascii=False) + "\n")
                offset += len(batch["ids"])
        for handle in outputs.values():
            handle.close()
        with open(os.path.join(out_dir, "manifest.json"), "w", encoding="utf-8") as handle:
            json.dump(manifest, handle)
    finally:
        shutil.rmtree(copy_root, ignore_errors=True)


if __name__ == "__main__":
    main()
