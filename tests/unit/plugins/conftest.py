# Copyright (c) reportops.grafana contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Unit-test fixtures: a scripted stand-in for the client's transport, and a way to run a module's main()."""

from __future__ import annotations

import io
import json

import pytest

from ansible.module_utils import basic
from ansible.module_utils.common.text.converters import to_bytes

from ansible_collections.reportops.grafana.plugins.module_utils import _client, _module

try:  # ansible-core 2.19+
    from ansible.module_utils.testing import patch_module_args
except ImportError:  # ansible-core 2.16 to 2.18
    from contextlib import contextmanager
    from unittest import mock

    @contextmanager
    def patch_module_args(args):
        with mock.patch.object(basic, "_ANSIBLE_ARGS", to_bytes(json.dumps({"ANSIBLE_MODULE_ARGS": args}))):
            yield


class ModuleExit(Exception):
    """What exit_json or fail_json were called with."""

    def __init__(self, result, failed):
        super().__init__(result)
        self.result = result
        self.failed = failed


class FakeFetch:
    """Replaces _client.open_request: records each call and plays back scripted answers in order."""

    def __init__(self):
        self.answers = []
        self.calls = []

    def reply(self, status=200, body=None, headers=None, msg=None):
        """Queue an answer: a status with a JSON (dict/list) or text body, or status -1 with the transport's msg."""
        self.answers.append((status, body, headers or {}, msg))
        return self

    def __call__(self, transport, url, data=None, headers=None, method=None, timeout=None):
        self.calls.append(dict(url=url, data=data, headers=dict(headers or {}), method=method, timeout=timeout,
                               params=dict(transport.params), transport=transport))
        if not self.answers:
            raise AssertionError("unexpected request: %s %s" % (method, url))
        status, body, headers, msg = self.answers.pop(0)
        raw = to_bytes(body if isinstance(body, str) else json.dumps(body if body is not None else {}))
        info = dict(url=url, status=status, msg=msg or "OK", **{name.lower(): value for name, value in headers.items()})
        if status == 200:
            return io.BytesIO(raw), info
        if status != -1:
            info["body"] = raw
        return None, info

    def bodies(self):
        return [json.loads(call["data"]) if call["data"] else None for call in self.calls]


@pytest.fixture
def fetch(monkeypatch):
    fake = FakeFetch()
    monkeypatch.setattr(_client, "open_request", fake)
    sleeps = []
    monkeypatch.setattr(_client.time, "sleep", sleeps.append)
    fake.sleeps = sleeps
    return fake


class ModuleIO:
    """exit_json, fail_json and warn of every AnsibleModule, captured."""

    # Tests catch this through the fixture: pytest imports conftest under another module name.
    Exit = ModuleExit

    def __init__(self):
        self.warnings = []


@pytest.fixture
def module_io(monkeypatch):
    captured = ModuleIO()

    def exit_json(self, **result):
        raise ModuleExit(result, failed=False)

    def fail_json(self, msg, **result):
        raise ModuleExit(dict(result, msg=msg), failed=True)

    monkeypatch.setattr(basic.AnsibleModule, "exit_json", exit_json)
    monkeypatch.setattr(basic.AnsibleModule, "fail_json", fail_json)
    monkeypatch.setattr(basic.AnsibleModule, "warn", lambda self, warning: captured.warnings.append(warning))
    for name in ("GRAFANA_URL", "GRAFANA_TOKEN", "GRAFANA_USER", "GRAFANA_PASSWORD", "GRAFANA_ORG_ID",
                 "GRAFANA_VALIDATE_CERTS", "GRAFANA_CA_PATH", "GRAFANA_TIMEOUT"):
        monkeypatch.delenv(name, raising=False)
    return captured


@pytest.fixture
def run_module(module_io):
    """Run a module's main() with args; returns a ModuleExit with .result, .failed and .warnings."""

    def run(main, args, check_mode=False):
        if check_mode:
            args = dict(args, _ansible_check_mode=True)
        with patch_module_args(args):
            with pytest.raises(ModuleExit) as raised:
                main()
        outcome = raised.value
        outcome.warnings = list(module_io.warnings)
        del module_io.warnings[:]
        return outcome

    return run


@pytest.fixture
def make_client(module_io):
    """A GrafanaClient built from connection options, as a module builds it (a bad option raises ModuleExit)."""

    def make(**args):
        with patch_module_args(args):
            module = basic.AnsibleModule(**_module.module_kwargs({}))
        return _client.GrafanaClient(module)

    return make
