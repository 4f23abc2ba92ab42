"""Fixtures of the Lucid-compatibility tests (the models and the server live in compat_models.py)."""
import pytest

from compat_models import Server, tiny_graphdef, tiny_keras


@pytest.fixture(scope="package")
def tiny_model():
    return tiny_keras()


@pytest.fixture(scope="package")
def tiny_pb(tmp_path_factory):
    path = tmp_path_factory.mktemp("pb") / "tiny.pb"
    path.write_bytes(tiny_graphdef().SerializeToString())
    return str(path)


@pytest.fixture
def http_files(tmp_path, monkeypatch):
    """(server, folder): files written to the folder are served at server.url; the download cache is a fresh
    folder ($LUCID_FAST_CACHE)."""
    monkeypatch.setenv("LUCID_FAST_CACHE", str(tmp_path / "cache"))
    for var in ("no_proxy", "NO_PROXY"):  # a proxy configured on the machine must not intercept 127.0.0.1
        monkeypatch.setenv(var, "127.0.0.1,localhost")
    root = tmp_path / "www"
    root.mkdir()
    server = Server(root)
    try:
        yield server, root
    finally:
        server.stop()
