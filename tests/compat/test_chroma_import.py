"""`lunadb vectors import-chroma` on ChromaDB folders written the way Luna writes them, by the real
chromadb of each version the suite has a venv for (LUNADB_CHROMA_PYTHONS, colon-separated Python
paths: chromadb 0.5.20, which Luna pins, and 1.5): every record and vector kept, bit for bit, and
the folder unchanged."""
import hashlib
import json
import os
import struct
import subprocess

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
PYTHONS = [p for p in os.environ.get("LUNADB_CHROMA_PYTHONS", "").split(":") if p]


def chroma_version(python):
    return subprocess.run([python, "-c", "import chromadb; print(chromadb.__version__)"], capture_output=True,
                          text=True, check=True).stdout.strip()


def as_float32(values):
    return struct.pack(f"<{len(values)}f", *values)


def tree_digest(folder):
    digest = {}
    for root, _, files in os.walk(folder):
        for name in files:
            path = os.path.join(root, name)
            with open(path, "rb") as handle:
                digest[os.path.relpath(path, folder)] = hashlib.sha256(handle.read()).hexdigest()
    return digest


def lunadb(store, *args, expect=0):
    env = {"PATH": os.environ["PATH"], "HOME": store, "LUNA_ENV_FILE": "", "CHROMA_PATH": store}
    done = subprocess.run([os.environ["LUNADB_BIN"], "vectors", *args], env=env, capture_output=True, text=True,
                          timeout=600)
    assert done.returncode == expect, f"exit {done.returncode}:\n{done.stdout}\n{done.stderr}"
    return done


def test_the_suite_has_both_chroma_versions():
    if not PYTHONS:
        if os.environ.get("CI"):
            pytest.fail("LUNADB_CHROMA_PYTHONS is empty: scripts/chroma-venvs.sh sets up chromadb 0.5 and 1.5")
        pytest.skip("LUNADB_CHROMA_PYTHONS not set")
    versions = sorted(chroma_version(p).split(".")[0] + "." + chroma_version(p).split(".")[1] for p in PYTHONS)
    assert versions == ["0.5", "1.5"], versions


@pytest.mark.parametrize("python", PYTHONS, ids=[os.path.basename(os.path.dirname(os.path.dirname(p))) for p in PYTHONS])
def test_import_keeps_every_record_and_vector_and_leaves_the_folder_alone(python, tmp_path):
    folder, store = str(tmp_path / "chroma"), str(tmp_path / "store")
    made = subprocess.run([python, os.path.join(HERE, "make_luna_chroma.py"), folder], capture_output=True, text=True,
                          timeout=600)
    assert made.returncode == 0, made.stderr
    expected = [json.loads(line) for line in made.stdout.splitlines()]
    before = tree_digest(folder)

    done = lunadb(store, "import-chroma", folder, "--python", python)
    assert "luna_memories -> luna_facts: 1298 records in Chroma, 1298 in lunadb; 1298 of 1298 find themselves" in done.stdout, done.stdout
    assert "luna_episodes -> luna_episodes: 40 records in Chroma, 40 in lunadb; 40 of 40 find themselves" in done.stdout
    assert "-> luna_conversations: 5 records in Chroma, 5 in lunadb" in done.stdout
    assert tree_digest(folder) == before, "the ChromaDB folder was changed"

    got = {}
    for collection in ("luna_facts", "luna_conversations", "luna_episodes"):
        for line in lunadb(store, "export", "--collection", collection).stdout.splitlines():
            record = json.loads(line)
            got[(collection, record["id"])] = record
    assert len(got) == len(expected)
    for want in expected:
        have = got[(want["collection"], want["id"])]
        # float32 exactly: lunadb writes the shortest text of each float32, Python the double's.
        assert as_float32(have["embedding"]) == as_float32(want["embedding"]), want["id"]
        assert have["document"] == want["document"]
        assert have["metadata"] == want["metadata"]
    assert "cosine" in lunadb(store, "stats", "--collection", "luna_facts").stdout

    # A second import into the now full collections is refused, and --upsert re-runs cleanly.
    again = lunadb(store, "import-chroma", folder, "--python", python, expect=1)
    assert "already holds" in again.stderr and "--upsert" in again.stderr
    lunadb(store, "import-chroma", folder, "--python", python, "--upsert")
    assert lunadb(store, "count", "--collection", "luna_facts").stdout.strip() == "1298"
    assert tree_digest(folder) == before


def test_bad_sources_are_clear_errors_and_import_nothing(tmp_path):
    store = str(tmp_path / "store")
    not_chroma = tmp_path / "nothing"
    not_chroma.mkdir()
    done = lunadb(store, "import-chroma", str(not_chroma), expect=1)
    assert "no chroma.sqlite3 here, so this is not a ChromaDB persistent folder" in done.stderr
    fake = tmp_path / "fake"
    fake.mkdir()
    (fake / "chroma.sqlite3").write_bytes(b"not a database at all")
    # A Python without chromadb: the error says which Python and what to do.
    done = lunadb(store, "import-chroma", str(fake), "--python", "/usr/bin/python3", expect=1)
    assert "has no chromadb module" in done.stderr or "not a database" in done.stderr, done.stderr
    assert "nothing was imported" in done.stderr
    for python in PYTHONS:  # a corrupt chroma.sqlite3 read by a real chromadb
        done = lunadb(store, "import-chroma", str(fake), "--python", python, expect=1)
        assert "nothing was imported" in done.stderr, done.stderr
    assert not os.path.exists(os.path.join(store, "lunadb-vectors.sqlite3")) or \
        lunadb(store, "list").stdout.strip() in ("", "no collections")
