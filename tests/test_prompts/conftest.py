"""Fixtures of the prompt tests: offline env, fake chat server, the tool."""
import importlib.util
import threading

import pytest
from fake_chat_server import SECRET, TOOL, FakeChatServer


@pytest.fixture(autouse=True)
def _offline_env(monkeypatch):
    """Loopback without proxies, a known fake key, no inherited base URL."""
    monkeypatch.setenv('NO_PROXY', '127.0.0.1,localhost')
    monkeypatch.setenv('no_proxy', '127.0.0.1,localhost')
    monkeypatch.setenv('OPENAI_API_KEY', SECRET)
    monkeypatch.setenv('HF_HUB_OFFLINE', '1')
    monkeypatch.delenv('OPENAI_BASE_URL', raising=False)


@pytest.fixture
def fake_openai():
    """A running :class:`FakeChatServer`."""
    server = FakeChatServer()
    thread = threading.Thread(target=server.serve_forever,
                              kwargs={'poll_interval': 0.05}, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


@pytest.fixture(scope='session')
def tool():
    """``tools/generate_descriptions.py`` imported as a module."""
    spec = importlib.util.spec_from_file_location('generate_descriptions',
                                                  TOOL)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module
