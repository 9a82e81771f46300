"""A pytest plugin (loaded with -p by run_chroma_property_tests.py) that bounds Chroma's property
tests for CI: after chromadb's conftest has loaded its own profile, it loads one with
LUNADB_PROPERTY_EXAMPLES examples per test (default 50, as in chromadb's own "fast" preset) and no per-example deadline (a shared CI
machine must not turn slowness into failures)."""
import os

import hypothesis
import pytest


@pytest.hookimpl(trylast=True)
def pytest_configure(config):
    examples = int(os.environ.get("LUNADB_PROPERTY_EXAMPLES", "50"))
    hypothesis.settings.register_profile("lunadb-ci", hypothesis.settings.get_profile("fast"),
                                         max_examples=examples, deadline=None)
    hypothesis.settings.load_profile("lunadb-ci")
