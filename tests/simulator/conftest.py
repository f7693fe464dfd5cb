# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Fixtures that run the Grafana simulator as a real process and talk to it over HTTP."""

import json
import os
import select
import subprocess
import sys

import pytest
import requests

HERE = os.path.dirname(os.path.abspath(__file__))
SIMULATOR = os.path.join(HERE, "grafana_sim.py")
DEFAULT_CONFIG = os.path.join(HERE, "default-config.json")
READY_TIMEOUT = 15


class Simulator:
    """A running simulator process plus helpers for its API and /_sim/ control routes."""

    def __init__(self, process, ready):
        self.process = process
        self.url = ready["url"]
        self.pid = ready["pid"]
        self.state_dir = ready["state_dir"]
        self.ca_path = ready["ca_path"]
        self.session = requests.Session()
        # Passed per request: requests lets REQUESTS_CA_BUNDLE override a session's verify.
        self.tls = {"verify": self.ca_path, "cert": self.client_cert} if self.ca_path else {}

    @property
    def client_cert(self):
        """(client.pem, client.key) written by --https."""
        return (os.path.join(self.state_dir, "client.pem"), os.path.join(self.state_dir, "client.key"))

    @staticmethod
    def token(name):
        """Return a default-config token: token("sender") == "sim-token-sender"."""
        return name if name.startswith("sim-token-") else "sim-token-" + name

    def auth(self, name, **extra):
        """Return request headers with the bearer token ``name`` plus ``extra`` headers."""
        headers = {"Authorization": "Bearer " + self.token(name)}
        headers.update(extra)
        return headers

    def api(self, method, path, token=None, **kwargs):
        """Call an API route, with a bearer token if ``token`` is given; returns the Response."""
        headers = kwargs.pop("headers", {})
        if token:
            headers = {**self.auth(token), **headers}
        kwargs = {"timeout": 30, **self.tls, **kwargs}
        return self.session.request(method, self.url + path, headers=headers, **kwargs)

    def send(self, report_id="1", token="sender", **body):
        """POST /api/reports/email with JSON ``{"id": report_id, **body}`` (useEmailsFromReport by default)."""
        payload = {"id": report_id, **(body or {"useEmailsFromReport": True})}
        return self.api("POST", "/api/reports/email", token, json=payload)

    def control(self, method, path, body=None):
        """Call a /_sim/ route and return its decoded JSON, failing the test on a non-200."""
        response = self.session.request(method, self.url + "/_sim/" + path, json=body, timeout=30, **self.tls)
        assert response.status_code == 200, response.text
        return response.json()

    def stats(self):
        """GET /_sim/stats."""
        return self.control("GET", "stats")

    def fault(self, **spec):
        """POST /_sim/faults; returns the fault id."""
        return self.control("POST", "faults", spec)["id"]

    def outbox(self):
        """GET /_sim/outbox."""
        return self.control("GET", "outbox")

    def requests_log(self):
        """GET /_sim/requests."""
        return self.control("GET", "requests")

    def settings(self, **changes):
        """PATCH /_sim/settings."""
        return self.control("PATCH", "settings", changes)

    def reset(self):
        """POST /_sim/reset."""
        return self.control("POST", "reset")

    def stop(self, timeout=10):
        """SIGTERM the process and return its exit code."""
        self.session.close()
        if self.process.poll() is None:
            self.process.terminate()
        try:
            return self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            return self.process.wait(timeout)


def write_config(path, overrides):
    """Write the default config updated with top-level ``overrides``; return the file name."""
    with open(DEFAULT_CONFIG, encoding="utf-8") as handle:
        config = json.load(handle)
    config.update(overrides)
    with open(path, "w", encoding="utf-8") as handle:
        json.dump(config, handle)
    return str(path)


def launch(state_dir, config=None, flags=()):
    """Start ``grafana_sim.py serve`` and return a Simulator once it prints its ready line."""
    command = [sys.executable, SIMULATOR, "serve", "--state-dir", str(state_dir)]
    if config is not None:
        command += ["--config", write_config(f"{state_dir}-config.json", config)]
    command += list(flags)
    stderr_path = f"{state_dir}-stderr.log"
    with open(stderr_path, "wb") as stderr:
        process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=stderr, stdin=subprocess.DEVNULL, text=True)  # pylint: disable=consider-using-with
    # select() keeps a broken start from hanging the suite on readline().
    readable, dummy, dummy = select.select([process.stdout], [], [], READY_TIMEOUT)
    line = process.stdout.readline() if readable else ""
    if not line:
        process.kill()
        process.wait()
        with open(stderr_path, encoding="utf-8") as handle:
            pytest.fail(f"simulator did not start: {handle.read()}")
    return Simulator(process, json.loads(line))


@pytest.fixture(name="simulator")
def simulator_factory(tmp_path):
    """Factory: ``simulator(*flags, config=None)`` starts a fresh process; all are stopped on teardown.

    ``config`` is a dict of top-level keys that replace those of default-config.json.
    """
    started = []

    def start(*flags, config=None):
        process = launch(tmp_path / f"sim{len(started)}", config, flags)
        started.append(process)
        return process

    yield start
    for process in started:
        process.stop()
        process.process.stdout.close()


@pytest.fixture(name="shared_simulator", scope="session")
def shared_simulator_process(tmp_path_factory):
    """One default-config simulator for the whole session (started once: tests stay fast)."""
    shared = launch(tmp_path_factory.mktemp("shared") / "state")
    yield shared
    shared.stop()
    shared.process.stdout.close()


@pytest.fixture(name="sim")
def reset_shared_simulator(shared_simulator):
    """The shared simulator, reset to its startup state (data, settings, faults, stats, log, outbox)."""
    shared_simulator.reset()
    return shared_simulator
