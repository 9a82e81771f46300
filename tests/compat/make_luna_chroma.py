"""Writes a ChromaDB folder the way Luna does (memory_manager: luna_memories with fact_/conv_ ids;
memory_graph: luna_episodes with ep_ ids, entities as a JSON string; cosine), with the chromadb of
the Python that runs it, and prints the records lunadb must end up with as JSON Lines.

    python make_luna_chroma.py FOLDER > expected.jsonl
"""
import json
import random
import struct
import sys

import chromadb
from chromadb.config import Settings

DIM = 32


def vector(rng):
    values = [rng.uniform(-1, 1) for _ in range(DIM)]
    return list(struct.unpack(f"<{DIM}f", struct.pack(f"<{DIM}f", *values)))  # exactly float32


def main():
    folder = sys.argv[1]
    rng = random.Random(20261206)
    client = chromadb.PersistentClient(path=folder, settings=Settings(anonymized_telemetry=False))
    memories = client.get_or_create_collection(name="luna_memories", metadata={"hnsw:space": "cosine"})
    episodes = client.get_or_create_collection(name="luna_episodes", metadata={"hnsw:space": "cosine"})
    expected = {}
    # Enough facts that chromadb 0.5 persists part of them to its HNSW files and keeps the rest in
    # its queue (sync every 1000 adds), added one by one as Luna does.
    for fact_id in range(1, 1301):
        emb = vector(rng)
        meta = {"type": "fact", "category": rng.choice(["preference", "goal", "health"]), "fact_id": fact_id,
                "importance": round(rng.random(), 3), "created_at": 1764979200.0 + fact_id + 0.25}
        doc = f"fact number {fact_id} ☕ 事实"
        memories.add(ids=[f"fact_{fact_id}"], embeddings=[emb], documents=[doc], metadatas=[meta])
        expected[("luna_facts", str(fact_id))] = (emb, doc, dict(meta, luna_id=f"fact_{fact_id}"))
    for fact_id in (5, 77, 1299):  # contradicted facts: Luna deletes their vectors
        memories.delete(ids=[f"fact_{fact_id}"])
        del expected[("luna_facts", str(fact_id))]
    for conversation_id in range(1, 6):  # compacted conversation summaries, upserted twice
        for version in (1, 2):
            emb = vector(rng)
            meta = {"type": "conversation", "conversation_id": conversation_id, "created_at": 1764979300.5 + version}
            doc = f"summary {conversation_id} v{version}"
            memories.upsert(ids=[f"conv_{conversation_id}"], embeddings=[emb], documents=[doc], metadatas=[meta])
        expected[("luna_conversations", str(conversation_id))] = (emb, doc, dict(meta, luna_id=f"conv_{conversation_id}"))
    memories.add(ids=["legacy-note"], embeddings=[vector(rng)], documents=["an id of no pattern"],
                 metadatas=[{"type": "note"}])
    emb = memories.get(ids=["legacy-note"], include=["embeddings"])["embeddings"][0]
    expected[("luna_facts", "legacy-note")] = ([float(v) for v in emb], "an id of no pattern",
                                               {"type": "note", "luna_id": "legacy-note"})
    for conversation_id in range(1, 41):
        emb = vector(rng)
        entities = ["tea", "Mia", "東京"][: conversation_id % 3 + 1]
        meta = {"conversation_id": conversation_id, "importance": 0.5, "entities": json.dumps(entities)}
        doc = f"episode of conversation {conversation_id}"
        episodes.upsert(ids=[f"ep_{conversation_id}"], embeddings=[emb], documents=[doc], metadatas=[meta])
        expected[("luna_episodes", str(conversation_id))] = (emb, doc, dict(meta, luna_id=f"ep_{conversation_id}"))
    # The vectors as this chromadb gives them back are the ones to keep: 0.5 returns many within a
    # few ulps of what was added, and what the user's store returns is what the user has.
    stored = {}
    for source in (memories, episodes):
        got = source.get(include=["embeddings"])
        for record_id, emb in zip(got["ids"], got["embeddings"]):
            stored[record_id] = [float(v) for v in emb]
    for key, (emb, doc, meta) in list(expected.items()):
        expected[key] = (stored[meta["luna_id"]], doc, meta)
    for (collection, record_id), (emb, doc, meta) in sorted(expected.items()):
        print(json.dumps({"collection": collection, "id": record_id, "embedding": emb, "document": doc,
                          "metadata": meta}, ensure_ascii=False))


if __name__ == "__main__":
    main()
