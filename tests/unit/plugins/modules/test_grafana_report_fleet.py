# Copyright (c) reportops.grafana contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""grafana_report_fleet: the bounds of its threads, and each environment's own result and failure."""

from __future__ import annotations

import io
import json
import threading
import time
from collections import Counter
from urllib.parse import urlsplit

import pytest

from ansible_collections.reportops.grafana.plugins.module_utils import _client, _fleet
from ansible_collections.reportops.grafana.plugins.modules.grafana_report_fleet import main

TOKENS = {"a": "glsa_fleet_unit_token_a_0123456789", "b": "glsa_fleet_unit_token_b_0123456789",
          "c": "glsa_fleet_unit_token_c_0123456789"}
# The real transport, kept before a test replaces it.
OPEN_REQUEST = _client.open_request
REPORTS = [{"id": 3, "name": "Weekly SLO", "recipients": "sre@example.com"}]


class Grafanas:
    """The transport for several Grafanas at once, answered by host name: counts the sends in flight, per Grafana and in
    all, and the requests each Grafana got. `answers` maps (host, method) to (status, body) or to a callable."""

    def __init__(self, send_seconds=0.0):
        self.lock = threading.Lock()
        self.send_seconds = send_seconds
        self.in_flight = Counter()
        self.peak = Counter()
        self.peak_total = 0
        self.requests = Counter()
        self.answers = {}

    def __call__(self, transport, url, data=None, headers=None, method=None, **kwargs):
        host = urlsplit(url).hostname.split(".")[0]
        answer = self.answers.get((host, method), (200, REPORTS if method == "GET" else {"message": "Report was sent"}))
        if callable(answer):
            answer = answer(transport)
        with self.lock:
            self.requests[host] += 1
            if method == "POST":
                self.in_flight[host] += 1
                self.peak[host] = max(self.peak[host], self.in_flight[host])
                self.peak_total = max(self.peak_total, sum(self.in_flight.values()))
        if method == "POST":
            time.sleep(self.send_seconds)
            with self.lock:
                self.in_flight[host] -= 1
        status, body = answer
        info = dict(url=url, status=status, msg="OK")
        if status == 200:
            return io.BytesIO(json.dumps(body).encode()), info
        info["body"] = json.dumps(body).encode()
        return None, info


@pytest.fixture
def grafanas(monkeypatch):
    fake = Grafanas()
    monkeypatch.setattr(_client, "open_request", fake)
    return fake


def environment(name, count=1, **overrides):
    deliveries = [{"name": "d%d" % number, "report_id": 3, "emails": ["x%d@example.com" % number]} for number in range(count)]
    return dict(dict(name=name, url="http://%s.test:3000" % name, token=TOKENS.get(name), deliveries=deliveries), **overrides)


@pytest.fixture
def fleet(run_module, tmp_path):
    def run(environments, check_mode=False, **overrides):
        args = dict(environments=environments, ledger_path=str(tmp_path / "ledger.json"))
        outcome = run_module(main, dict(args, **overrides), check_mode=check_mode)
        for token in TOKENS.values():
            assert token not in json.dumps(outcome.result) + json.dumps(outcome.warnings)
        return outcome

    return run


def by_name(outcome):
    return dict((entry["name"], entry) for entry in outcome.result["environments"])


def test_sends_stay_within_concurrency_per_grafana_and_the_total(fleet, grafanas):
    grafanas.send_seconds = 0.05
    outcome = fleet([environment(name, 6) for name in "abc"], concurrency=2, total_concurrency=4)
    assert not outcome.failed
    assert all(entry["deliveries"] and all(record["outcome"] == "sent" for record in entry["deliveries"])
               for entry in outcome.result["environments"])
    assert grafanas.requests == Counter(a=6, b=6, c=6)
    assert max(grafanas.peak.values()) == 2
    # The bound is reached, not only respected: the sends of different Grafanas overlap.
    assert grafanas.peak_total == 4


class SendClock:
    """The run's clock, counted in sends: each send moves it one second on, whatever the machine's load. b's sends wait
    until a has stamped the end of its one send, so the order of the stamps is fixed."""

    def __init__(self):
        self.now = 1000.0
        self.lock = threading.Lock()
        self.a_thread = None
        self.a_done = threading.Event()

    def time(self):
        with self.lock:
            if self.a_thread is threading.current_thread():
                self.a_done.set()  # a's stamp after its send: its end
            return self.now

    def tick(self, transport):
        if transport.base_url.startswith("http://b."):
            self.a_done.wait(10)
        with self.lock:
            if transport.base_url.startswith("http://a."):
                self.a_thread = threading.current_thread()
            self.now += 1
        return 200, {"message": "Report was sent"}


def test_each_environment_takes_its_own_time(fleet, grafanas, monkeypatch):
    clock = SendClock()
    monkeypatch.setattr(_fleet, "time", clock)
    for host in "ab":
        grafanas.answers[(host, "POST")] = clock.tick
    outcome = fleet([environment("a", 1), environment("b", 6)], concurrency=1)
    entries = by_name(outcome)
    # a's one send ends before b's six: its elapsed is its own, not the run's.
    assert entries["a"]["elapsed"] == 1 and entries["b"]["elapsed"] == 7


def test_every_environment_gets_its_first_lane_before_any_gets_a_second(fleet, grafanas):
    grafanas.send_seconds = 0.05
    fleet([environment(name, 4) for name in "abc"], concurrency=4, total_concurrency=3)
    # With 3 threads and 3 Grafanas of 4 lanes each, each Grafana has one send in flight at a time.
    assert grafanas.peak == Counter(a=1, b=1, c=1) and grafanas.peak_total == 3


def test_one_environment_failing_does_not_stop_the_others(fleet, grafanas):
    grafanas.answers[("b", "GET")] = (401, {"message": "Invalid API key"})
    outcome = fleet([environment("a", 2), environment("b", 1, deliveries=[{"name": "slo", "report": "Weekly SLO", "emails": "x@example.com"}]),
                     environment("c", 1, token=None)])
    entries = by_name(outcome)
    assert [entry["name"] for entry in outcome.result["environments"]] == ["a", "b", "c"]
    assert entries["a"]["failed"] is False and entries["a"]["changed"] is True
    assert [record["outcome"] for record in entries["a"]["deliveries"]] == ["sent", "sent"]
    assert entries["b"]["failed"] and entries["b"]["msg"].startswith("Nothing was sent: Grafana did not accept the credentials")
    assert entries["c"] == dict(name="c", changed=False, failed=True, msg="one of the following is required: token, url_username")
    # c is refused before any request; b stops at its listing.
    assert grafanas.requests == Counter(a=2, b=1)
    assert outcome.failed and outcome.result["msg"].startswith("2 of 3 environments failed: b: Nothing was sent")
    assert outcome.result["changed"] is True


def test_a_failed_delivery_fails_its_environment_with_the_deliver_modules_message(fleet, grafanas):
    grafanas.answers[("a", "POST")] = (500, {"message": "Failed to send report"})
    outcome = fleet([environment("a", 1), environment("b", 1)], render_retries=0)
    entries = by_name(outcome)
    assert entries["a"]["failed"] and entries["a"]["msg"].startswith("1 of 1 deliveries failed: d0: ")
    assert entries["a"]["deliveries"][0]["outcome"] == "failed"
    assert not entries["b"]["failed"] and entries["b"]["deliveries"][0]["outcome"] == "sent"


def test_a_url_that_cannot_be_opened_fails_that_request_only(fleet, grafanas):
    """The transport raises for a URL it cannot open at all: in a thread, that must fail that delivery only."""

    def unopenable(transport):
        return OPEN_REQUEST(transport, "a.test/api/reports/email", method="POST", timeout=1)

    grafanas.answers[("a", "POST")] = unopenable
    outcome = fleet([environment("a", 1), environment("b", 1)])
    entries = by_name(outcome)
    assert entries["a"]["deliveries"][0]["outcome"] == "failed" and "unknown url type" in entries["a"]["deliveries"][0]["message"]
    assert entries["b"]["deliveries"][0]["outcome"] == "sent"


def test_check_mode_sends_nothing_anywhere(fleet, grafanas):
    outcome = fleet([environment("a", 2), environment("b", 1)], check_mode=True)
    assert [record["outcome"] for entry in outcome.result["environments"] for record in entry["deliveries"]] == ["checked"] * 3
    # One listing per Grafana proves the report exists; no send.
    assert grafanas.requests == Counter(a=1, b=1) and not grafanas.peak


def test_warnings_name_their_environment(fleet, grafanas):
    outcome = fleet([environment("a", 1, timeout=5), environment("b", 1)])
    assert [warning for warning in outcome.warnings if "timeout" in warning] == [
        "a: timeout is 5s: Grafana renders the report before it answers and recommends at least 60s."]


@pytest.mark.parametrize("environments, overrides, expected", [
    ([environment("a"), environment("a")], {}, "environments[].name must be unique; repeated: a."),
    ([environment("a b")], {}, "environments[].name must be"),
    ([environment("a")], {"total_concurrency": 0}, "total_concurrency must be at least 1, got 0."),
])
def test_wrong_environments_fail_before_any_request(fleet, grafanas, environments, overrides, expected):
    outcome = fleet(environments, **overrides)
    assert outcome.failed and outcome.result["msg"].startswith(expected)
    assert not grafanas.requests


def test_environment_connection_rules_are_checked_per_environment(fleet, grafanas):
    outcome = fleet([environment("a", url_username="reporter", url_password="pw"), environment("b", url=None),
                     environment("c", token=None, url_username="reporter")])
    entries = by_name(outcome)
    assert entries["a"]["msg"] == "parameters are mutually exclusive: token|url_username"
    assert entries["b"]["msg"] == "missing required arguments: url"
    assert entries["c"]["msg"] == "parameters are required together: url_username, url_password"
    assert not grafanas.requests


def test_a_send_that_may_have_been_sent_is_held_in_its_environment_until_resend_uncertain(fleet, grafanas):
    # Issue 31: b's proxy gives up (504) on a delivery with a ledger; a's delivery goes out.
    def keyed(name):
        return environment(name, 1, deliveries=[{"name": "weekly", "report_id": 3, "emails": ["x@example.com"],
                                                 "delivery_key": "weekly-w49"}])

    grafanas.answers[("b", "POST")] = (504, {"message": "upstream request timeout"})
    outcome = fleet([keyed("a"), keyed("b")])
    assert outcome.failed and by_name(outcome)["b"]["failed"] and not by_name(outcome)["a"]["failed"]
    assert "The delivery ledger remembers this send as uncertain" in by_name(outcome)["b"]["msg"]
    del grafanas.answers[("b", "POST")]
    grafanas.requests.clear()
    outcome = fleet([keyed("a"), keyed("b")])
    assert not outcome.failed and grafanas.requests == Counter()  # both skipped: a sent, b held
    held = by_name(outcome)["b"]["deliveries"][0]
    assert held["outcome"] == "skipped" and "may have reached Grafana" in held["message"]
    assert "already sent" in by_name(outcome)["a"]["deliveries"][0]["message"]
    assert [warning.split(": report 3")[0] for warning in outcome.warnings] == ["b: Delivery 'weekly'"]
    outcome = fleet([keyed("a"), keyed("b")], resend_uncertain=True)
    assert [entry["deliveries"][0]["outcome"] for entry in outcome.result["environments"]] == ["skipped", "sent"]
    assert grafanas.requests == Counter(b=1) and outcome.warnings == []


def test_each_environment_may_set_its_own_run_options(fleet, grafanas):
    grafanas.send_seconds = 0.2
    # a: at most one send at once and outcome records; b: the module's (four at once, no records).
    outcome = fleet([environment("a", 3, concurrency=1, history="grafana"), environment("b", 3)], concurrency=4)
    assert not outcome.failed
    assert grafanas.peak["a"] == 1 and grafanas.peak["b"] == 3
    # POSTs to a: its 3 sends and 3 outcome records (annotations); to b: its 3 sends only.
    assert grafanas.requests["a"] - grafanas.requests["b"] == 3
