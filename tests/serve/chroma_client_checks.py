"""Drives chromadb's own HttpClient against `lunadb serve`. Run with the python of a venv holding
chromadb 1.5 (tests/compat/test_serve.py does): python chroma_client_checks.py LUNADB_BIN MODE
MODE is `api` (every endpoint, filters, includes, errors, tenants and databases) or `sigkill`
(8 writer threads, SIGKILL, restart: every acknowledged write is there and finds itself)."""
import os
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time

import chromadb
from chromadb import errors


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    def __init__(self, binary, store, *extra, token=None):
        self.port = free_port()
        env = {"PATH": os.environ.get("PATH", ""), "LUNA_ENV_FILE": "", "CHROMA_PATH": store}
        if token:
            env["LUNADB_SERVE_TOKEN"] = token
        self.log = open(os.path.join(os.path.dirname(store), f"serve-{self.port}.log"), "w")
        self.process = subprocess.Popen([binary, "serve", "--port", str(self.port), *extra], env=env,
                                        stdout=subprocess.PIPE, stderr=self.log, text=True)
        line = self.process.stdout.readline()
        assert line.startswith("listening on"), f"lunadb serve did not start: {line!r}"

    def client(self, **kwargs):
        return chromadb.HttpClient(host="127.0.0.1", port=self.port, **kwargs)

    def admin(self):
        return chromadb.AdminClient(chromadb.Settings(chroma_api_impl="chromadb.api.fastapi.FastAPI",
                                                      chroma_server_host="127.0.0.1",
                                                      chroma_server_http_port=self.port))

    def stop(self, sig=signal.SIGTERM):
        self.process.send_signal(sig)
        code = self.process.wait(timeout=30)
        self.log.close()
        return code


def raises(kind, action):
    try:
        action()
    except kind as error:
        return str(error)
    except Exception as error:  # noqa: BLE001 - the wrong class is the failure reported
        raise AssertionError(f"expected {kind.__name__}, got {type(error).__name__}: {error}")
    raise AssertionError(f"expected {kind.__name__}, nothing was raised")


def check_api(binary, workdir):
    server = Server(binary, os.path.join(workdir, "store"), "--allow-reset")
    client = server.client()
    assert client.heartbeat() > 0
    assert client.get_version().startswith("1.")
    identity = client.get_user_identity()
    assert identity.tenant == "default_tenant"

    # Collections: create, get_or_create, get by name and id, list with limit/offset, count.
    notes = client.create_collection("notes", embedding_function=None, metadata={"owner": "luna"},
                                     configuration={"hnsw": {"space": "cosine", "ef_construction": 64,
                                                             "ef_search": 32, "max_neighbors": 8}})
    assert notes.metadata == {"owner": "luna"}
    assert notes.configuration["hnsw"]["space"] == "cosine"
    assert notes.configuration["hnsw"]["max_neighbors"] == 8
    again = client.get_or_create_collection("notes", embedding_function=None)
    assert again.id == notes.id
    assert client.get_collection("notes", embedding_function=None).id == notes.id
    for name in ["c-one", "c-two", "c-three"]:
        client.create_collection(name, embedding_function=None)
    names = [c.name for c in client.list_collections()]
    assert names == sorted(names) and len(names) == 4, names
    assert [c.name for c in client.list_collections(limit=2, offset=1)] == names[1:3]
    assert client.count_collections() == 4
    legacy = client.create_collection("legacy-space", embedding_function=None, metadata={"hnsw:space": "ip"})
    assert legacy.configuration["hnsw"]["space"] == "ip"

    # Records: add, upsert, update, get with includes, filters, limit/offset, query, delete, count.
    notes.add(ids=["a", "b", "c", "d"],
              embeddings=[[1, 0, 0], [0, 1, 0], [0, 0, 1], [1, 1, 0]],
              documents=["coffee in the morning", "tea at noon", None, "coffee and tea"],
              metadatas=[{"kind": "fact", "score": 0.9}, {"kind": "fact", "score": 0.2},
                         {"kind": "note", "tags": ["x", "y"]}, None])
    assert notes.count() == 4
    notes.add(ids=["a", "e"], embeddings=[[9, 9, 9], [0, 1, 1]])  # "a" exists: skipped, as Chroma does
    assert notes.count() == 5
    assert notes.get(ids=["a"], include=["embeddings"])["embeddings"][0].tolist() == [1, 0, 0]
    got = notes.get(ids=["a", "c"], include=["documents", "metadatas", "embeddings"])
    assert got["ids"] == ["a", "c"]
    assert got["documents"] == ["coffee in the morning", None]
    assert got["metadatas"][1] == {"kind": "note", "tags": ["x", "y"]}
    only_ids = notes.get(include=[])
    assert only_ids["documents"] is None and only_ids["metadatas"] is None and len(only_ids["ids"]) == 5
    assert notes.get(where={"kind": "fact"})["ids"] == ["a", "b"]
    assert notes.get(where={"$and": [{"kind": "fact"}, {"score": {"$gte": 0.5}}]})["ids"] == ["a"]
    assert notes.get(where={"$or": [{"kind": "note"}, {"score": {"$lt": 0.5}}]})["ids"] == ["b", "c"]
    assert notes.get(where={"kind": {"$in": ["note"]}})["ids"] == ["c"]
    not_fact = notes.get(where={"kind": {"$ne": "fact"}})["ids"]
    assert "c" in not_fact and "a" not in not_fact and "b" not in not_fact, not_fact
    assert notes.get(where_document={"$contains": "coffee"})["ids"] == ["a", "d"]
    without_coffee = notes.get(where_document={"$not_contains": "coffee"})["ids"]
    assert "b" in without_coffee and "a" not in without_coffee and "d" not in without_coffee, without_coffee
    assert notes.get(limit=2, offset=1)["ids"] == ["b", "c"]
    found = notes.query(query_embeddings=[[1, 0.1, 0]], n_results=2, include=["distances", "documents", "metadatas",
                                                                             "embeddings"])
    assert found["ids"] == [["a", "d"]], found
    assert found["distances"][0][0] < found["distances"][0][1]
    assert found["documents"][0][0] == "coffee in the morning"
    assert len(found["embeddings"][0]) == 2
    two = notes.query(query_embeddings=[[1, 0, 0], [0, 1, 0]], n_results=1, where={"kind": "fact"})
    assert two["ids"] == [["a"], ["b"]]
    assert notes.query(query_embeddings=[[0, 0, 1]], n_results=3,
                       where_document={"$contains": "tea"})["ids"][0][0] in {"b", "d"}
    restricted = notes.query(query_embeddings=[[1, 0, 0]], n_results=5, ids=["b", "c"])
    assert sorted(restricted["ids"][0]) == ["b", "c"]
    notes.update(ids=["b", "missing"], metadatas=[{"score": 0.7}, {"score": 1}])  # missing ids skipped
    assert notes.get(ids=["b"])["metadatas"][0] == {"kind": "fact", "score": 0.7}
    notes.update(ids=["b"], embeddings=[[0, 0.5, 0.5]], documents=["green tea"])
    assert notes.get(ids=["b"])["documents"] == ["green tea"]
    notes.upsert(ids=["b", "f"], embeddings=[[0, 1, 0], [0.5, 0.5, 0.5]], metadatas=[{"kind": "x"}, None])
    assert notes.count() == 6
    assert notes.get(ids=["b"])["metadatas"][0]["kind"] == "x"
    peek = notes.peek(2)
    assert len(peek["ids"]) == 2
    notes.delete(ids=["f"])
    notes.delete(where={"kind": "note"})
    assert notes.count() == 4
    notes.delete(where_document={"$contains": "coffee and"})
    assert notes.count() == 3

    # Modify name and metadata.
    notes.modify(name="notes-renamed", metadata={"owner": "someone"})
    renamed = client.get_collection("notes-renamed", embedding_function=None)
    assert renamed.id == notes.id and renamed.metadata == {"owner": "someone"}
    assert renamed.count() == 3
    raises(errors.NotFoundError, lambda: client.get_collection("notes", embedding_function=None))

    # Errors map onto the client's exception classes.
    raises(errors.NotFoundError, lambda: client.get_collection("nothing-here"))
    raises(errors.UniqueConstraintError, lambda: client.create_collection("c-one"))
    raises(errors.InvalidArgumentError, lambda: renamed.add(ids=["z"], embeddings=[[1, 2]]))
    raises(errors.InvalidArgumentError, lambda: renamed.query(query_embeddings=[[1, 2]], n_results=1))
    raises(errors.InvalidArgumentError, lambda: renamed.get(where={"$nope": 1}))
    raises(errors.InvalidArgumentError, lambda: client.create_collection("bad/name"))
    raises(errors.InvalidArgumentError, lambda: client.create_collection("..dots"))
    raises(errors.DuplicateIDError, lambda: renamed.add(ids=["q", "q"], embeddings=[[1, 2, 3], [1, 2, 3]]))
    raises(errors.ChromaError, lambda: renamed.fork("forked"))

    # Tenants and databases: the defaults always exist, others are stored and isolated.
    admin = server.admin()
    admin.create_tenant("acme")
    admin.create_database("prod", tenant="acme")
    admin.create_database("stage", tenant="acme")
    assert admin.get_tenant("acme")["name"] == "acme"
    assert admin.get_database("prod", tenant="acme")["name"] == "prod"
    assert [d["name"] for d in admin.list_databases(tenant="acme")] == ["prod", "stage"]
    assert [d["name"] for d in admin.list_databases(tenant="acme", limit=1, offset=1)] == ["stage"]
    raises(errors.NotFoundError, lambda: admin.get_tenant("nobody"))
    raises(errors.NotFoundError, lambda: admin.get_database("nothing", tenant="acme"))
    raises(errors.UniqueConstraintError, lambda: admin.create_database("prod", tenant="acme"))
    prod = server.client(tenant="acme", database="prod")
    same_name = prod.create_collection("c-one", embedding_function=None)  # same name, other database
    same_name.add(ids=["p"], embeddings=[[1.0, 2.0]])
    assert same_name.count() == 1 and client.get_collection("c-one").count() == 0
    assert prod.count_collections() == 1
    admin.delete_database("stage", tenant="acme")
    raises(errors.NotFoundError, lambda: admin.get_database("stage", tenant="acme"))

    client.delete_collection("c-two")
    raises(errors.NotFoundError, lambda: client.get_collection("c-two"))

    # Everything is still there after a restart (SIGTERM: exit 0, snapshots written).
    assert server.stop() == 0
    server = Server(binary, os.path.join(workdir, "store"), "--allow-reset")
    client = server.client()
    assert client.get_collection("notes-renamed", embedding_function=None).count() == 3
    assert server.client(tenant="acme", database="prod").get_collection("c-one").count() == 1
    assert client.reset() is True
    assert client.count_collections() == 0
    assert server.stop() == 0

    # Without --allow-reset, reset is refused; with a token, the client must send it.
    server = Server(binary, os.path.join(workdir, "store2"), token="tok-123")
    raises(Exception, lambda: server.client().heartbeat())
    authed = server.client(settings=chromadb.Settings(
        chroma_client_auth_provider="chromadb.auth.token_authn.TokenAuthClientProvider",
        chroma_client_auth_credentials="tok-123"))
    assert authed.heartbeat() > 0
    raises(errors.AuthorizationError, authed.reset)
    assert server.stop() == 0
    log = open(os.path.join(workdir, f"serve-{server.port}.log")).read()
    assert "tok-123" not in log
    assert " 401 " in log


def check_sigkill(binary, workdir):
    store = os.path.join(workdir, "store")
    server = Server(binary, store)
    client = server.client()
    collection = client.create_collection("durable", embedding_function=None)
    acknowledged = []
    lock = threading.Lock()
    stop = threading.Event()

    def writer(worker):
        try:
            target = server.client().get_collection("durable", embedding_function=None)
        except Exception:  # noqa: BLE001 - killed before this writer connected
            return
        i = 0
        while not stop.is_set():
            rid = f"w{worker}-{i}"
            vector = [float(worker), float(i % 97), float(i // 97) + 1.0, 1.0]
            try:
                target.add(ids=[rid], embeddings=[vector], metadatas=[{"worker": worker, "i": i}])
            except Exception:  # noqa: BLE001 - the server was killed: this write was never acknowledged
                return
            with lock:
                acknowledged.append((rid, vector))
            i += 1

    threads = [threading.Thread(target=writer, args=(w,)) for w in range(8)]
    for thread in threads:
        thread.start()
    time.sleep(3)
    server.process.send_signal(signal.SIGKILL)
    server.process.wait(timeout=30)
    stop.set()
    for thread in threads:
        thread.join(timeout=60)
    assert len(acknowledged) > 50, f"only {len(acknowledged)} writes before the kill"

    server = Server(binary, store)
    collection = server.client().get_collection("durable", embedding_function=None)
    ids = [rid for rid, _ in acknowledged]
    present = set()
    for start in range(0, len(ids), 500):
        present.update(collection.get(ids=ids[start:start + 500], include=[])["ids"])
    missing = [rid for rid in ids if rid not in present]
    assert not missing, f"{len(missing)} acknowledged writes lost, e.g. {missing[:5]}"
    for rid, vector in acknowledged[::max(1, len(acknowledged) // 200)]:
        nearest = collection.query(query_embeddings=[vector], n_results=1, include=["distances"])
        assert nearest["ids"][0][0] == rid, (rid, nearest)
    assert server.stop() == 0
    print(f"{len(acknowledged)} acknowledged writes survived SIGKILL")


if __name__ == "__main__":
    binary, mode = sys.argv[1], sys.argv[2]
    with tempfile.TemporaryDirectory(prefix="lunadb-serve-") as workdir:
        {"api": check_api, "sigkill": check_sigkill}[mode](binary, workdir)
    print(f"{mode}: ok")
