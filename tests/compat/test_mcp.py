"""`lunadb mcp` driven by the real MCP client (the `mcp` package from PyPI) on SQLite, PostgreSQL and
MariaDB: the client's own connect (it probes server/discover, then falls back to the initialize
handshake), tools/list, remember / recall / forget through call_tool, bad arguments, and text in
several scripts. Embeddings come from a small Ollama-compatible server on loopback (words hashed
into a vector), so that recall by meaning has something real to work with."""
import asyncio
import hashlib
import json
import math
import os
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from mcp import Client, StdioServerParameters

DIMENSION = 1024


def embed_text(text):
    vector = [0.0] * DIMENSION
    for word in text.lower().split():
        digest = hashlib.sha256(word.strip("?.,!").encode()).digest()
        vector[digest[0] % DIMENSION] += 1.0
    norm = math.sqrt(sum(x * x for x in vector)) or 1.0
    return [x / norm for x in vector]


class OllamaHandler(BaseHTTPRequestHandler):
    def log_message(self, *_):
        pass

    def do_POST(self):
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        texts = body["input"] if isinstance(body["input"], list) else [body["input"]]
        data = json.dumps({"model": body["model"], "embeddings": [embed_text(t) for t in texts]}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)


@pytest.fixture
def embedding_server():
    server = ThreadingHTTPServer(("127.0.0.1", 0), OllamaHandler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()


def mcp_parameters(database, embedding_url):
    env = {"PATH": os.environ["PATH"], "HOME": str(database.workdir), "LUNA_ENV_FILE": "",
           "DB_URL": database.lunadb_url, "CHROMA_PATH": str(database.workdir / "chroma"),
           "EMBEDDING_PROVIDER": "ollama", "OLLAMA_BASE_URL": embedding_url, "OLLAMA_EMBED_MODEL": "hash-words"}
    return StdioServerParameters(command=os.environ["LUNADB_BIN"], args=["mcp"], env=env, cwd=str(database.workdir))


async def call(client, tool, arguments):
    result = await client.call_tool(tool, arguments)
    return result


def run(coroutine):
    return asyncio.run(asyncio.wait_for(coroutine, timeout=120))


def test_mcp_remember_recall_forget(database, embedding_server):
    database.lunadb("upgrade", "head")

    async def session():
        async with Client(mcp_parameters(database, embedding_server)) as client:
            tools = {tool.name: tool for tool in (await client.list_tools()).tools}
            assert {"remember", "recall", "forget"} <= set(tools)
            assert tools["recall"].input_schema["required"] == ["query"]

            remembered = {}
            for content, category in [
                ("Ana Vantrell plays the cello on weekends", "hobbies"),
                ("Ana Vantrell lives in Lisbon", "places"),
                ("Kofi Meihou drives an old Volvo", "possessions"),
                ("私の妹は東京に住んでいます", "family"),
                ("אחותי גרה בתל אביב", "family"),
                ("Favourite emoji is 🦊 and the fox tattoo 🦊", "preferences"),
            ]:
                result = await call(client, "remember", {"content": content, "category": category, "importance": 0.7})
                assert not result.is_error, result.content
                fact = result.structured_content["fact"]
                assert fact["content"] == content and fact["id"] > 0
                remembered[content] = fact["id"]

            result = await call(client, "recall", {"query": "where Ana Vantrell lives now", "k": 3})
            assert not result.is_error, result.content
            hits = result.structured_content["results"]
            assert hits and len(hits) <= 3
            assert hits[0]["id"] == remembered["Ana Vantrell lives in Lisbon"], [(h["text"], h["has_vector"], h["scores"]["vector_rank"], h["scores"]["vector_similarity"], h["scores"]["score"]) for h in hits]
            assert hits[0]["scores"]["rrf"] > 0 and "keyword_rank" in hits[0]["scores"]
            # The text content is the same result as JSON, for clients that only read text.
            assert json.loads(result.content[0].text) == result.structured_content

            # Hebrew words are space-separated keywords; a CJK sentence is one token (docs/memory.md,
            # "Tokenisation"); an emoji is found through its vector.
            for query, expected in [("אביב", "אחותי גרה בתל אביב"), ("私の妹は東京に住んでいます", "私の妹は東京に住んでいます"),
                                    ("🦊", "Favourite emoji is 🦊 and the fox tattoo 🦊")]:
                hits = (await call(client, "recall", {"query": query})).structured_content["results"]
                assert remembered[expected] in [h["id"] for h in hits], (query, hits)

            bad = await call(client, "recall", {"query": "x", "k": 0})
            assert bad.is_error and "argument 'k'" in bad.content[0].text
            bad = await call(client, "remember", {"category": "x"})
            assert bad.is_error and "argument 'content' is required" in bad.content[0].text
            bad = await call(client, "forget", {"fact_id": 1, "conversation_id": 1})
            assert bad.is_error and "exactly one" in bad.content[0].text
            # Forgetting what is not there is not an error: the receipt says nothing was removed.
            nothing = await call(client, "forget", {"fact_id": 999999})
            assert not nothing.is_error and nothing.structured_content["facts"] == 0

            receipt = await call(client, "forget", {"fact_id": remembered["Ana Vantrell lives in Lisbon"]})
            assert not receipt.is_error, receipt.content
            assert receipt.structured_content["facts"] == 1
            hits = (await call(client, "recall", {"query": "Ana Vantrell Lisbon live", "k": 10})).structured_content["results"]
            assert remembered["Ana Vantrell lives in Lisbon"] not in [h["id"] for h in hits]
            assert "Lisbon" not in json.dumps(hits)

    run(session())
