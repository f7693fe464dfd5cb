# Copyright (c) reportops.grafana contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The event source reportops.grafana.report_deliveries: polling, deduplication, overdue, outages, back-off, secrets."""

from __future__ import annotations

import asyncio
import datetime
import http.server
import importlib.util
import json
import logging
import os
import threading

import pytest

from ansible_collections.reportops.grafana.plugins.module_utils import _annotation_record, _overdue

HERE = os.path.dirname(os.path.abspath(__file__))
SOURCE = os.path.join(HERE, *([os.pardir] * 6), "extensions", "eda", "plugins", "event_source", "report_deliveries.py")
TOKEN = "glsa_eda_unit_token_0123456789"


def load():
    spec = importlib.util.spec_from_file_location("report_deliveries_under_test", SOURCE)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


source = load()


def at(text):
    return datetime.datetime.strptime(text, "%Y-%m-%dT%H:%M").replace(tzinfo=datetime.timezone.utc).timestamp()


def annotation(annotation_id, outcome, delivery, when, message="m"):
    fields = dict(v=1, outcome=outcome, report="Weekly SLO", report_id="3", delivery=delivery, delivery_key=None,
                  recipients=1, attempts=1, elapsed=0.5, message=message, runner="r", job=None)
    end = int(at(when) * 1000)
    return {"id": annotation_id, "time": end - 500, "timeEnd": end, "text": _annotation_record.record_text(fields),
            "tags": _annotation_record.record_tags(fields, "0" * 64)}


def environment(name="prod", url="http://grafana.test:3000", **extra):
    return dict(dict(name=name, url=url, token=TOKEN), **extra)


class Scripted:
    """Stands in for Environment.read: each call takes the next answer (a list, or an exception to raise)."""

    def __init__(self, *answers):
        self.answers = list(answers)
        self.windows = []

    def __call__(self, start, end, limit):
        self.windows.append((start, end))
        answer = self.answers.pop(0) if len(self.answers) > 1 else self.answers[0]
        if isinstance(answer, Exception):
            raise answer
        return answer


def outcomes(events):
    return [(event["delivery"]["name"], event["delivery"]["outcome"]) for event in events]


def test_each_record_is_one_event_for_the_life_of_the_source():
    watcher = source.Watcher(dict(environments=[environment()], interval=60), now=at("2026-12-01T06:00"))
    env = watcher.environments[0]
    first = [annotation(1, "sent", "a", "2026-12-01T05:59"), annotation(2, "failed", "b", "2026-12-01T05:59", "HTTP 500"),
             annotation(2, "failed", "b", "2026-12-01T05:59", "HTTP 500"),  # listed twice by Grafana
             {"id": 9, "time": 1, "timeEnd": 1, "tags": ["deploy"], "text": "deploy"}]
    env.read = Scripted(first, first + [annotation(3, "uncertain", "c", "2026-12-01T06:01")])
    events, delay = watcher.poll(env, now=at("2026-12-01T06:00"))
    assert delay == 60 and outcomes(events) == [("b", "failed")]
    assert events[0] == {"delivery": dict(environment="prod", name="b", report="Weekly SLO", report_id="3",
                                          outcome="failed", message="HTTP 500", time="2026-12-01T05:59:00Z", record=2)}
    events, dummy = watcher.poll(env, now=at("2026-12-01T06:02"))
    assert outcomes(events) == [("c", "uncertain")]
    # The first poll reads back `since` (default one interval); later ones from the last poll, with an overlap.
    assert env.read.windows[0] == (at("2026-12-01T05:59"), at("2026-12-01T06:00"))
    assert env.read.windows[1] == (at("2026-12-01T06:00") - source.OVERLAP, at("2026-12-01T06:02"))


def test_sent_on_request():
    watcher = source.Watcher(dict(environments=[environment()], outcomes=["sent"]), now=at("2026-12-01T06:00"))
    env = watcher.environments[0]
    env.read = Scripted([annotation(1, "sent", "a", "2026-12-01T05:59"), annotation(2, "failed", "b", "2026-12-01T05:59")])
    assert outcomes(watcher.poll(env, now=at("2026-12-01T06:00"))[0]) == [("a", "sent")]


def test_one_overdue_event_per_missed_period():
    args = dict(environments=[environment(), environment("dev", environments=None)], interval=300, since="2h",
                deliveries=[dict(name="hourly", schedule="0 * * * *"), dict(name="prod-only", every="1h", environments=["prod"])])
    watcher = source.Watcher(args, now=at("2026-12-01T06:00"))
    prod, dev = watcher.environments
    sent = [annotation(1, "sent", "hourly", "2026-12-01T05:00")]
    prod.read = Scripted(sent)
    dev.read = Scripted([])
    # prod-only, never sent: first expected at the source's start less since (04:00), due 05:00, grace 15m: overdue
    # at once, and only where it is expected. hourly, sent at 05:00: due 06:00, grace 15m.
    assert outcomes(watcher.poll(prod, now=at("2026-12-01T06:00"))[0]) == [("prod-only", "overdue")]
    assert outcomes(watcher.poll(dev, now=at("2026-12-01T06:00"))[0]) == [("hourly", "overdue")]
    events = watcher.poll(prod, now=at("2026-12-01T06:16"))[0]
    assert outcomes(events) == [("hourly", "overdue"), ("prod-only", "overdue")]
    delivery = events[0]["delivery"]
    assert delivery["record"] is None and delivery["report"] == "Weekly SLO" and delivery["time"] == "2026-12-01T06:15:00Z"
    assert delivery["due"] == "2026-12-01T06:00:00Z" and delivery["missed"] == 1
    assert delivery["message"].startswith("no confirmed send since 2026-12-01T05:00:00Z; due at 2026-12-01T06:00:00Z")
    assert "first expected at 2026-12-01T04:00:00Z" in events[1]["delivery"]["message"]
    assert events[1]["delivery"]["missed"] == 2 and events[1]["delivery"]["last_sent"] is None
    assert watcher.poll(prod, now=at("2026-12-01T06:40"))[0] == []  # the same periods: no repeat
    events = watcher.poll(prod, now=at("2026-12-01T07:16"))[0]
    assert [(event["delivery"]["name"], event["delivery"]["missed"]) for event in events] == [("hourly", 2), ("prod-only", 3)]
    # A confirmed send ends it.
    prod.read = Scripted([annotation(5, "sent", "hourly", "2026-12-01T07:20")])
    assert outcomes(watcher.poll(prod, now=at("2026-12-01T07:21"))[0]) == []


def overdue_record(annotation_id, entry, report_id=None):
    """The overdue record that grafana_report_history's record_overdue writes of an _overdue entry."""
    fields = _annotation_record.overdue_record_fields(entry, "Weekly SLO" if report_id else None, report_id, "r", None)
    moment = int(_overdue.period_overdue_epoch(entry) * 1000)
    return {"id": annotation_id, "time": moment, "timeEnd": moment, "text": _annotation_record.record_text(fields),
            "tags": _annotation_record.record_tags(fields)}


def test_an_overdue_record_is_the_event_of_its_period_with_or_without_deliveries():
    # daily, last sent 2 days ago at 06:00 (every 1d, grace 6h): overdue since yesterday 12:00, two periods missed.
    entry = _overdue.overdue(_overdue.expectation(dict(name="daily", every="1d")), at("2026-11-29T06:00"),
                             at("2026-11-28T00:00"), at("2026-12-01T13:00"))
    rows = [overdue_record(7, entry, report_id="3"), annotation(1, "sent", "daily", "2026-11-29T06:00")]
    # Without deliveries: the record alone gives the event, with its record id and period.
    watcher = source.Watcher(dict(environments=[environment()], since="3d"), now=at("2026-12-01T13:00"))
    prod = watcher.environments[0]
    prod.read = Scripted(rows)
    events = watcher.poll(prod, now=at("2026-12-01T13:00"))[0]
    assert outcomes(events) == [("daily", "overdue")]
    delivery = events[0]["delivery"]
    assert delivery["record"] == 7 and delivery["report_id"] == "3" and delivery["due"] == entry["period_due"] == "2026-12-01T06:00:00Z"
    assert delivery["missed"] == 2 and delivery["last_sent"] == "2026-11-29T06:00:00Z" and delivery["message"] == entry["message"]
    assert watcher.poll(prod, now=at("2026-12-01T13:05"))[0] == []
    # With deliveries too: one event for the period, whichever finds it first (the source's own rule, then the record).
    watcher = source.Watcher(dict(environments=[environment()], since="3d", deliveries=[dict(name="daily", every="1d")]),
                             now=at("2026-12-01T13:00"))
    prod = watcher.environments[0]
    prod.read = Scripted(rows[1:], rows)
    assert [event["delivery"]["record"] for event in watcher.poll(prod, now=at("2026-12-01T13:00"))[0]] == [None]
    assert watcher.poll(prod, now=at("2026-12-01T13:05"))[0] == []
    # Never sent: the record, found by a history window that began at 10:00, dates the periods; the source, whose own
    # window began three days earlier, takes them from it, so the next period is the record's next hour.
    hourly = _overdue.overdue(_overdue.expectation(dict(name="hourly", every="1h")), None, at("2026-12-01T10:00"),
                              at("2026-12-01T11:20"))
    watcher = source.Watcher(dict(environments=[environment()], since="3d", deliveries=[dict(name="hourly", every="1h")]),
                             now=at("2026-12-01T11:20"))
    prod = watcher.environments[0]
    prod.read = Scripted([overdue_record(8, hourly)], [])
    events = watcher.poll(prod, now=at("2026-12-01T11:20"))[0]
    assert [(event["delivery"]["record"], event["delivery"]["due"]) for event in events] == [(8, "2026-12-01T11:00:00Z")]
    assert watcher.poll(prod, now=at("2026-12-01T12:10"))[0] == []
    events = watcher.poll(prod, now=at("2026-12-01T12:16"))[0]
    assert [(event["delivery"]["record"], event["delivery"]["due"]) for event in events] == [(None, "2026-12-01T12:00:00Z")]


def test_an_unreadable_environment_is_one_event_per_outage_and_never_stops_the_others(caplog):
    caplog.set_level(logging.INFO, logger="reportops.grafana.report_deliveries")
    watcher = source.Watcher(dict(environments=[environment(), environment("qa")], interval=60), now=at("2026-12-01T06:00"))
    prod, qa = watcher.environments
    down = RuntimeError("Grafana at http://grafana.test:3000 could not be read: [Errno 111] Connection refused")
    prod.read = Scripted(down, down, [], down)
    qa.read = Scripted([annotation(1, "failed", "b", "2026-12-01T05:59")], [annotation(2, "failed", "b", "2026-12-01T06:01")])
    assert outcomes(watcher.poll(prod, now=at("2026-12-01T06:00"))[0]) == [(None, "unreadable")]
    assert outcomes(watcher.poll(qa, now=at("2026-12-01T06:00"))[0]) == [("b", "failed")]
    assert watcher.poll(prod, now=at("2026-12-01T06:01"))[0] == []  # the same outage
    assert outcomes(watcher.poll(qa, now=at("2026-12-01T06:02"))[0]) == [("b", "failed")]
    assert watcher.poll(prod, now=at("2026-12-01T06:02"))[0] == []  # readable again
    events = watcher.poll(prod, now=at("2026-12-01T06:03"))[0]  # a new outage
    assert outcomes(events) == [(None, "unreadable")] and "Connection refused" in events[0]["delivery"]["message"]
    # One warning per outage in the log too, and a line when it ends.
    assert [record.levelname for record in caplog.records] == ["WARNING", "INFO", "WARNING"]


def test_429_and_503_back_off_and_three_in_a_row_are_an_outage():
    watcher = source.Watcher(dict(environments=[environment()], interval=60), now=at("2026-12-01T06:00"))
    env = watcher.environments[0]
    env.read = Scripted(source.BackOff("HTTP 429", retry_after=30.0), source.BackOff("HTTP 503"), source.BackOff("HTTP 503"), [])
    assert watcher.poll(env, now=at("2026-12-01T06:00")) == ([], 30.0)
    assert watcher.poll(env, now=at("2026-12-01T06:01")) == ([], 240)  # 60 * 2**2
    events, delay = watcher.poll(env, now=at("2026-12-01T06:05"))
    assert outcomes(events) == [(None, "unreadable")] and delay == 480 and "3 times in a row" in events[0]["delivery"]["message"]
    assert watcher.poll(env, now=at("2026-12-01T06:13")) == ([], 60)


@pytest.mark.parametrize("args, words", [
    (dict(), "environments must be a non-empty list"),
    (dict(environments=[dict(name="x")]), "environments[0] needs a name and a url"),
    (dict(environments=[dict(name="x", url="http://g")]), "environment x needs a token"),
    (dict(environments=[dict(name="x", url="http://g", token="Bearer " + TOKEN)]), "without the 'Bearer ' prefix"),
    (dict(environments=[environment(), environment()]), "each needs its own name"),
    (dict(environments=[environment()], outcomes=["failed", "lost"]), "outcomes: unknown lost"),
    (dict(environments=[environment()], since="yesterday"), "since must be a number of seconds"),
    (dict(environments=[environment()], deliveries=[dict(name="w", every="weekly")]), "deliveries[0] ('w'): every must be"),
    (dict(environments=[environment()], deliveries=[dict(name="w")]), "deliveries[0] ('w') needs every or schedule"),
])
def test_bad_arguments_are_one_sentence_without_the_token(args, words):
    with pytest.raises(source.SourceError) as caught:
        source.Watcher(args)
    assert words in str(caught.value) and TOKEN not in str(caught.value)


class Grafana(http.server.BaseHTTPRequestHandler):
    """Answers the listing with what the test put in `answers` (status, headers, body); records the requests."""

    answers = []
    requests = []

    def do_GET(self):  # noqa: N802
        Grafana.requests.append((self.path, dict(self.headers)))
        status, headers, body = Grafana.answers.pop(0)
        self.send_response(status)
        for name, value in headers.items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(json.dumps(body).encode("utf-8"))

    def log_message(self, *args):
        pass


@pytest.fixture
def grafana():
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Grafana)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    Grafana.answers, Grafana.requests = [], []
    yield "http://127.0.0.1:%d" % server.server_address[1]
    server.shutdown()
    server.server_close()


def test_reads_over_http_and_no_secret_reaches_an_event_or_a_log_line(grafana, caplog):
    password = "s3cret-basic-password"
    Grafana.answers = [(200, {}, [annotation(1, "failed", "b", "2026-12-01T05:59")]),
                       (429, {"Retry-After": "7"}, {"message": "Too many requests"}),
                       (401, {}, {"message": "Invalid API key %s" % TOKEN})]
    url = grafana.replace("http://", "http://admin:%s@" % password)
    watcher = source.Watcher(dict(environments=[environment(url=url, org_id=2)], interval=60))
    env = watcher.environments[0]
    caplog.set_level(logging.DEBUG)
    first, dummy = watcher.poll(env)
    second = watcher.poll(env)
    third, dummy = watcher.poll(env)
    assert outcomes(first) == [("b", "failed")] and second == ([], 7.0)
    assert outcomes(third) == [(None, "unreadable")]
    assert third[0]["delivery"]["message"].startswith("Grafana at %s answered HTTP 401 (Invalid API key ********)" % grafana)
    path, headers = Grafana.requests[0]
    assert path.startswith("/api/annotations?tags=reportops.grafana&type=annotation&limit=1000&from=")
    assert headers["Authorization"] == "Bearer %s" % TOKEN and headers["X-Grafana-Org-Id"] == "2"
    shown = json.dumps([first, second, third]) + caplog.text
    assert TOKEN not in shown and password not in shown and "HTTP 429" in caplog.text


def test_main_puts_events_on_the_queue_until_cancelled(grafana):
    Grafana.answers = [(200, {}, [annotation(1, "failed", "b", "2026-12-01T05:59")])] + [(200, {}, [])] * 20

    async def run():
        queue = asyncio.Queue()
        args = dict(environments=[environment(url=grafana)], interval=1, since="3650d")
        task = asyncio.ensure_future(source.main(queue, args))
        event = await asyncio.wait_for(queue.get(), 10)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        return event

    assert asyncio.run(run())["delivery"]["record"] == 1
