"""`lunadb serve` driven by chromadb 1.5's own HttpClient (tests/serve/chroma_client_checks.py runs
in the chromadb 1.5 venv from LUNADB_CHROMA_PYTHONS), and Chroma's own property tests from the
installed wheel pointed at the server (tests/serve/run_chroma_property_tests.py). With CI set, a
missing venv fails instead of skipping."""
import os
import pathlib
import subprocess

import pytest

HERE = pathlib.Path(__file__).resolve().parent
CHECKS = HERE.parent / "serve" / "chroma_client_checks.py"
PROPERTY_RUNNER = HERE.parent / "serve" / "run_chroma_property_tests.py"


def chroma_15_python():
    pythons = [p for p in os.environ.get("LUNADB_CHROMA_PYTHONS", "").split(":") if p]
    for python in pythons:
        if "chromadb-1.5" in python:
            return python
    message = "no chromadb 1.5 venv in LUNADB_CHROMA_PYTHONS (scripts/chroma-venvs.sh makes it)"
    if os.environ.get("CI"):
        pytest.fail(message)
    pytest.skip(message)


def run(args, timeout):
    done = subprocess.run(args, capture_output=True, text=True, timeout=timeout)
    assert done.returncode == 0, f"{' '.join(map(str, args))} exited {done.returncode}:\n{done.stdout}\n{done.stderr}"
    return done.stdout


@pytest.mark.parametrize("mode", ["api", "sigkill"])
def test_chroma_http_client_against_lunadb_serve(mode):
    output = run([chroma_15_python(), str(CHECKS), os.environ["LUNADB_BIN"], mode], timeout=600)
    assert f"{mode}: ok" in output


def test_chroma_property_tests_against_lunadb_serve():
    output = run([chroma_15_python(), str(PROPERTY_RUNNER), os.environ["LUNADB_BIN"]], timeout=900)
    assert "property tests: ok" in output
