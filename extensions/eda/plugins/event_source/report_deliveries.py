# -*- coding: utf-8 -*-
# Copyright (c) reportops.grafana contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""reportops.grafana.report_deliveries: an Event-Driven Ansible source of the outcome records of report deliveries.

ansible-rulebook loads this file by path (runpy), outside Ansible's collection loader; the outcome records are read
with the collection's own module_utils (_annotation_record, _overdue), imported through ansible_collections.
"""

from __future__ import annotations

DOCUMENTATION = r"""
---
short_description: Outcome records and overdue deliveries of Grafana reports, as events.
description:
  - Polls the outcome records that the collection writes into each Grafana's annotations (C(history=grafana) of
    the modules, C(report_delivery_history=grafana) of the role, and the Grafana ledger's records of sends), and
    puts one event on the queue per record whose outcome is wanted, and one per missed period of an overdue
    delivery. Polls do not repeat an event: a record gives one event (by its annotation id), and an overdue
    delivery one per period missed, for the life of the source.
  - A delivery of O(deliveries) is overdue when it has no confirmed send within its period plus its grace
    (the collection's one rule, that of grafana_report_history). One with no confirmed send since the source started
    is taken as first expected at the source's start less O(since).
  - An environment that cannot be read (connection refused, TLS, HTTP 401, 403, 500 ...) gives one event with outcome
    V(unreadable) per outage, not per poll, and never stops the others. Grafana's HTTP 429 and 503 back the
    environment's polls off (its Retry-After, else doubling up to 16 intervals); after three in a row they count
    as an outage.
  - No token or password appears in an event or a log line.
  - An V(overdue) record that grafana_report_history wrote (its C(record_overdue), the role's history entry point)
    gives the event of its missed period too, so that the source reports overdue deliveries without O(deliveries);
    with them, a period gives one event, whichever of the record and the source's own rule finds it first.
  - Each event is C({"delivery": {"environment", "name", "report", "report_id", "outcome", "message", "time",
    "record"}}); C(record) is the annotation's id, null for V(unreadable) and for an V(overdue) delivery that the
    source found itself. Overdue events also carry C(due) (of the missed period), C(missed) and C(last_sent).
  - Needs ansible-core (the collection's module_utils use it) and the credentials' C(annotations:read) with scope
    C(annotations:type:organization). No other dependency.
options:
  environments:
    description:
      - The Grafanas to watch, each a dict with C(name) (required, as events name it), C(url) (required),
        C(token) or C(url_username) and C(url_password), C(org_id), C(validate_certs) (default true), C(ca_path),
        and C(timeout) (seconds, default 30).
    type: list
    elements: dict
    required: true
  interval:
    description: Seconds between two polls of an environment.
    type: int
    default: 300
  deliveries:
    description:
      - The deliveries that must go out regularly, each C({name, every | schedule, grace}) as the role's
        C(report_delivery_deliveries) say them (C(every) an interval such as C(7d); C(schedule) a cron expression,
        its times in UTC; C(grace) default a quarter of the period), for V(overdue) events. C(environments), a list
        of environment names, limits one to those; by default it is expected in every environment.
    type: list
    elements: dict
    default: []
  outcomes:
    description:
      - The outcomes to emit, among V(sent), V(failed), V(uncertain), V(skipped) and V(overdue). V(unreadable) is
        always emitted.
    type: list
    elements: str
    default: [failed, uncertain, overdue]
  since:
    description:
      - How far back to look on start, in seconds or an interval such as C(1h) or C(7d); default one O(interval).
    type: str
  limit:
    description: Most annotations one poll reads.
    type: int
    default: 1000
"""

EXAMPLES = r"""
- name: Re-run failed, uncertain and overdue report deliveries
  hosts: all
  sources:
    - reportops.grafana.report_deliveries:
        interval: 300
        since: 1d
        environments:
          - name: prod
            url: https://grafana.example.com
            token: "{{ grafana_prod_token }}"
        deliveries:
          - name: weekly-slo
            every: 7d
          - name: daily-ops
            schedule: "0 6 * * mon-fri"
            grace: 2h
  rules:
    - name: A delivery failed or is overdue
      condition: event.delivery.outcome in ["failed", "overdue"]
      action:
        run_job_template:
          name: Deliver reports
          organization: Default
          job_args:
            limit: "{{ event.delivery.environment }}"
            extra_vars:
              report_delivery_only: ["{{ event.delivery.name }}"]
"""

import asyncio
import base64
import json
import logging
import os
import ssl
import sys
import time
import urllib.error
import urllib.parse
import urllib.request

try:
    from ansible_collections.reportops.grafana.plugins.module_utils._annotation_record import (
        ANNOTATION_TAG,
        OVERDUE,
        RECORD_OUTCOMES,
        once_each,
        parse_record,
    )
    from ansible_collections.reportops.grafana.plugins.module_utils._delivery import parse_interval
    from ansible_collections.reportops.grafana.plugins.module_utils._overdue import (
        OverdueError,
        due_of_record,
        expectation,
        overdue,
        period_key,
        period_overdue_epoch,
    )
except ImportError:
    # Loaded by path from an installed collection whose collections directory is not on sys.path: that directory
    # is the one holding ansible_collections/reportops/grafana/extensions/eda/plugins/event_source/ (this file).
    _HERE = os.path.dirname(os.path.abspath(__file__))
    _TOP = os.path.abspath(os.path.join(_HERE, *([os.pardir] * 7)))
    if os.path.basename(os.path.abspath(os.path.join(_HERE, *([os.pardir] * 6)))) != "ansible_collections" or _TOP in sys.path:
        raise
    sys.path.insert(0, _TOP)
    from ansible_collections.reportops.grafana.plugins.module_utils._annotation_record import (  # noqa: E402
        ANNOTATION_TAG,
        OVERDUE,
        RECORD_OUTCOMES,
        once_each,
        parse_record,
    )
    from ansible_collections.reportops.grafana.plugins.module_utils._delivery import parse_interval  # noqa: E402
    from ansible_collections.reportops.grafana.plugins.module_utils._overdue import (  # noqa: E402
        OverdueError,
        due_of_record,
        expectation,
        overdue,
        period_key,
        period_overdue_epoch,
    )

# Loaded with runpy, whose module name says nothing: the source's own name.
LOGGER = logging.getLogger("reportops.grafana.report_deliveries")

OUTCOMES = RECORD_OUTCOMES
DEFAULT_OUTCOMES = ("failed", "uncertain", OVERDUE)
UNREADABLE = "unreadable"
BACK_OFF_STATUSES = (429, 503)
# Back-offs in a row (429, 503) that make an outage; the longest back-off, in intervals.
BACK_OFFS_FOR_AN_OUTAGE = 3
LONGEST_BACK_OFF = 16
# A record can be written a little after the end its annotation carries: each poll reads back this far more.
OVERLAP = 120


class SourceError(ValueError):
    """Invalid arguments; the message names the argument (and never holds a secret)."""


class BackOff(Exception):
    """Grafana asked to come back later (429, 503)."""

    def __init__(self, message, retry_after=None):
        super().__init__(message)
        self.retry_after = retry_after


def _seconds(value, name):
    if isinstance(value, bool):
        raise SourceError("%s must be a number of seconds or an interval such as 1h, got %r." % (name, value))
    if isinstance(value, (int, float)) and value > 0:
        return float(value)
    seconds = parse_interval(value) if isinstance(value, str) else None
    if seconds is None:
        raise SourceError("%s must be a number of seconds or an interval such as 1h, got %r." % (name, value))
    return float(seconds)


class Environment:
    """One Grafana: how to read its outcome records, and what the source already emitted for it."""

    def __init__(self, options, index):
        if not isinstance(options, dict) or not options.get("name") or not options.get("url"):
            raise SourceError("environments[%d] needs a name and a url." % index)
        self.name = str(options["name"])
        url = str(options["url"]).rstrip("/")
        parts = urllib.parse.urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise SourceError("environment %s: url must be an http(s) URL." % self.name)
        # Credentials in the URL would show in messages: never keep them there.
        self.url = urllib.parse.urlunsplit((parts.scheme, parts.netloc.rpartition("@")[2], parts.path, "", ""))
        self.secrets = [str(options[key]) for key in ("token", "url_password") if options.get(key)]
        if parts.password:
            self.secrets.append(parts.password)
        self.headers = {"Accept": "application/json", "User-Agent": "reportops.grafana-eda"}
        if options.get("token"):
            if str(options["token"]).lower().startswith("bearer "):
                raise SourceError("environment %s: give the token without the 'Bearer ' prefix." % self.name)
            self.headers["Authorization"] = "Bearer %s" % options["token"]
        elif options.get("url_username") and options.get("url_password"):
            pair = "%s:%s" % (options["url_username"], options["url_password"])
            self.headers["Authorization"] = "Basic %s" % base64.b64encode(pair.encode("utf-8")).decode("ascii")
        else:
            raise SourceError("environment %s needs a token, or url_username and url_password." % self.name)
        if options.get("org_id") is not None:
            self.headers["X-Grafana-Org-Id"] = str(int(options["org_id"]))
        self.context = None
        if parts.scheme == "https":
            self.context = ssl.create_default_context(cafile=options.get("ca_path") or None)
            if options.get("validate_certs") in (False, "false", "no", "False", 0):
                self.context.check_hostname = False
                self.context.verify_mode = ssl.CERT_NONE
        self.timeout = float(options.get("timeout") or 30)
        self.seen = set()  # annotation ids emitted or passed over
        self.overdue_emitted = set()  # period_key: (delivery, due time of the missed period)
        self.last_sent = {}  # delivery name or key: epoch of its newest confirmed send
        self.recorded_due = {}  # delivery name: the due time its newest overdue record says (grafana_report_history's)
        self.reports = {}  # delivery: (report, report_id) of its newest record
        self.read_from = None
        self.in_outage = False
        self.back_offs = 0

    def hide(self, text):
        for secret in self.secrets:
            text = text.replace(secret, "********")
        return text

    def read(self, start, end, limit):
        """The organization's annotations of the collection in [start, end] (epoch seconds); raises BackOff on 429
        and 503, RuntimeError (a sentence without secret) on any other failure."""
        query = urllib.parse.urlencode([("tags", ANNOTATION_TAG), ("type", "annotation"), ("limit", str(limit)),
                                        ("from", str(int(start * 1000))), ("to", str(int(end * 1000)))])
        request = urllib.request.Request("%s/api/annotations?%s" % (self.url, query), headers=self.headers)
        try:
            with urllib.request.urlopen(request, timeout=self.timeout, context=self.context) as answer:  # nosec B310
                body = json.loads(answer.read().decode("utf-8"))
        except urllib.error.HTTPError as exc:
            try:
                message = json.loads(exc.read().decode("utf-8")).get("message") or exc.reason
            except (ValueError, AttributeError, OSError):
                message = exc.reason
            text = "Grafana at %s answered HTTP %d (%s) to the listing of outcome records" % (self.url, exc.code, message)
            if exc.code in BACK_OFF_STATUSES:
                raise BackOff(self.hide(text), _retry_after(exc.headers.get("Retry-After") if exc.headers else None))
            hint = {401: ": check the token or user", 403: ": the credentials need annotations:read"}.get(exc.code, "")
            raise RuntimeError(self.hide(text + hint))
        except (urllib.error.URLError, OSError, ValueError) as exc:
            reason = getattr(exc, "reason", exc)
            raise RuntimeError(self.hide("Grafana at %s could not be read: %s" % (self.url, reason)))
        if not isinstance(body, list):
            raise RuntimeError("Grafana at %s answered something other than a list of annotations" % self.url)
        return body


def _retry_after(value):
    try:
        return max(1.0, float(value))
    except (TypeError, ValueError):
        return None


def _event(environment, name, report, report_id, outcome, message, when, record, **extra):
    delivery = dict(environment=environment, name=name, report=report, report_id=report_id, outcome=outcome,
                    message=message, time=when, record=record)
    delivery.update(extra)
    return {"delivery": delivery}


class Watcher:
    """The source's state and one poll of one environment; `now` is injectable for the tests."""

    def __init__(self, args, now=None):
        if not isinstance(args, dict):
            raise SourceError("the source's arguments must be a dict.")
        environments = args.get("environments")
        if not isinstance(environments, list) or not environments:
            raise SourceError("environments must be a non-empty list of {name, url, token ...}.")
        self.environments = [Environment(options, index) for index, options in enumerate(environments)]
        names = [environment.name for environment in self.environments]
        if len(set(names)) != len(names):
            raise SourceError("environments: each needs its own name.")
        self.interval = _seconds(args.get("interval", 300), "interval")
        self.since = _seconds(args["since"], "since") if args.get("since") not in (None, "") else self.interval
        self.limit = int(args.get("limit") or 1000)
        outcomes = args.get("outcomes") or list(DEFAULT_OUTCOMES)
        unknown = [outcome for outcome in outcomes if outcome not in OUTCOMES]
        if unknown:
            raise SourceError("outcomes: unknown %s; choose among %s." % (", ".join(map(str, unknown)), ", ".join(OUTCOMES)))
        self.outcomes = set(outcomes)
        self.expected = []
        for index, options in enumerate(args.get("deliveries") or []):
            if not isinstance(options, dict) or not options.get("name"):
                raise SourceError("deliveries[%d] needs a name." % index)
            try:
                expected = expectation(options, "deliveries[%d] ('%s')" % (index, options["name"]))
            except OverdueError as exc:
                raise SourceError(str(exc))
            if expected is None:
                raise SourceError("deliveries[%d] ('%s') needs every or schedule." % (index, options["name"]))
            only = options.get("environments")
            self.expected.append((expected, set(only) if only else None))
        self.started = time.time() if now is None else now
        self.first_expected = self.started - self.since

    def poll(self, environment, now=None):
        """Read one environment and return (events, seconds until its next poll)."""
        now = time.time() if now is None else now
        start = self.first_expected if environment.read_from is None else environment.read_from - OVERLAP
        try:
            annotations = environment.read(start, now, self.limit)
        except BackOff as exc:
            environment.back_offs += 1
            delay = exc.retry_after or min(self.interval * 2 ** environment.back_offs, self.interval * LONGEST_BACK_OFF)
            LOGGER.warning("%s: %s; next poll in %ds", environment.name, exc, delay)
            if environment.back_offs >= BACK_OFFS_FOR_AN_OUTAGE:
                return self.outage(environment, "%s (%d times in a row)" % (exc, environment.back_offs), now), delay
            return [], delay
        except RuntimeError as exc:
            # Once per outage as a warning (with its event), then quietly.
            LOGGER.log(logging.DEBUG if environment.in_outage else logging.WARNING, "%s: %s", environment.name, exc)
            return self.outage(environment, str(exc), now), self.interval
        if environment.in_outage:
            LOGGER.info("%s: readable again", environment.name)
        environment.in_outage, environment.back_offs, environment.read_from = False, 0, now
        return self.records(environment, annotations) + self.overdue(environment, now), self.interval

    def outage(self, environment, message, now):
        """One unreadable event per outage."""
        if environment.in_outage:
            return []
        environment.in_outage = True
        return [_event(environment.name, None, None, None, UNREADABLE, message, _utc(now), None)]

    def records(self, environment, annotations):
        events = []
        records = sorted(once_each(annotations, parse_record), key=lambda record: record["epoch"])
        for record in records:
            if record["id"] in environment.seen:
                continue
            environment.seen.add(record["id"])
            name = record.get("delivery") or record.get("delivery_key")
            if name and record.get("report_id") is not None:  # an overdue record may know no report
                environment.reports[name] = (record.get("report"), record.get("report_id"))
            if name and record["outcome"] == "sent":
                environment.last_sent[name] = max(record["epoch"], environment.last_sent.get(name, 0))
            if record["outcome"] == OVERDUE:
                # Written by grafana_report_history's record_overdue: one event per missed period, whether this source
                # or that record found it first.
                if due_of_record(record) is not None:
                    environment.recorded_due[name] = due_of_record(record)
                key = period_key(name, record.get("period_due"))
                if key in environment.overdue_emitted:
                    continue
                environment.overdue_emitted.add(key)
                extra = dict(due=record.get("period_due"), missed=record.get("missed"), last_sent=record.get("last_sent"))
            else:
                extra = {}
            if record["outcome"] in self.outcomes:
                events.append(_event(environment.name, name, record.get("report"), record.get("report_id"),
                                     record["outcome"], record.get("message"), record["time"], record["id"], **extra))
        return events

    def overdue(self, environment, now):
        if OVERDUE not in self.outcomes:
            return []
        events = []
        for expected, only in self.expected:
            if only is not None and environment.name not in only:
                continue
            # A delivery never sent since the source started keeps the periods its overdue record gave it, if any.
            entry = overdue(expected, environment.last_sent.get(expected.name), self.first_expected, now,
                            environment.recorded_due.get(expected.name))
            if entry is None or period_key(expected.name, entry["period_due"]) in environment.overdue_emitted:
                continue
            environment.overdue_emitted.add(period_key(expected.name, entry["period_due"]))
            report, report_id = environment.reports.get(expected.name, (None, None))
            # At the time this period became overdue, as its overdue record would be.
            events.append(_event(environment.name, expected.name, report, report_id, entry["outcome"], entry["message"],
                                 _utc(period_overdue_epoch(entry)), None, due=entry["period_due"], missed=entry["missed"],
                                 last_sent=entry["last_sent"]))
        return events


def _utc(epoch):
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(epoch))


async def _watch(watcher, environment, queue):
    loop = asyncio.get_running_loop()
    while True:
        events, delay = await loop.run_in_executor(None, watcher.poll, environment)
        for event in events:
            await queue.put(event)
        await asyncio.sleep(delay)


async def main(queue, args):
    """Poll every environment, each on its own, until cancelled."""
    watcher = Watcher(args)
    LOGGER.info("watching the report deliveries of %s every %ds", ", ".join(e.name for e in watcher.environments),
                watcher.interval)
    await asyncio.gather(*(_watch(watcher, environment, queue) for environment in watcher.environments))


if __name__ == "__main__":
    # Run by hand: python report_deliveries.py '{"environments": [...]}' prints the events.

    class _Printer:
        async def put(self, event):
            print(json.dumps(event), flush=True)

    asyncio.run(main(_Printer(), json.loads(sys.argv[1])))
