# -*- coding: utf-8 -*-
# Copyright (c) reportops.grafana contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

# Private to the reportops.grafana collection: not a public API, may change without notice.

"""Delivery history: one outcome record (an organization annotation) per delivery, and reading them back.

The record's text is a line for people, then one JSON line, as the ledger's annotations; with
ledger: grafana the ledger's record of a send carries the same fields and is the outcome record.
"""

from __future__ import annotations

import datetime
import json
import socket
import time

from ansible.module_utils.common.text.converters import to_text

from ansible_collections.reportops.grafana.plugins.module_utils._client import GrafanaError, normalize_report_id
from ansible_collections.reportops.grafana.plugins.module_utils._delivery import parse_interval, report_ids_by_name
from ansible_collections.reportops.grafana.plugins.module_utils._ledger import ANNOTATION_TAG, CLAIM_TAG, delivery_id

RECORD_VERSION = 1
OUTCOMES = ("sent", "failed", "skipped")
# The fields of a record as grafana_report_history returns it, in this order.
RECORD_FIELDS = ("time", "outcome", "report", "report_id", "delivery", "delivery_key", "recipients", "attempts",
                 "elapsed", "message", "runner", "job")

# Options of the modules that send (doc fragment reportops.grafana.history).
HISTORY_ARGUMENT_SPEC = dict(
    history=dict(type="str", choices=["none", "grafana"], default="none"),
    history_recipients=dict(type="bool", default=False),
    history_job=dict(type="dict", options=dict(id=dict(type="int"), template=dict(type="str"))),
)


class HistoryError(ValueError):
    """Invalid input to the history module; the message names the option."""


def utc_iso(epoch):
    return datetime.datetime.fromtimestamp(epoch, datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


# -- Writing --------------------------------------------------------------------------------------

def record_fields(outcome, delivery_key, report_name, runner, job, with_addresses):
    """The JSON fields of the outcome record of one of deliver()'s outcomes (sent, failed or skipped)."""
    recipients = outcome.get("recipients")
    known = recipients or outcome.get("recipients_source") == "emails"
    fields = dict(v=RECORD_VERSION, outcome=outcome["outcome"], report=report_name, report_id=outcome.get("report_id"),
                  delivery=outcome.get("name"), delivery_key=delivery_key,
                  recipients=len(recipients) if known else None, attempts=outcome.get("attempts", 0),
                  elapsed=outcome.get("elapsed"), message=outcome.get("message"), runner=runner, job=job)
    if with_addresses and known:
        fields["addresses"] = list(recipients)
    return fields


def record_text(fields):
    """A record's text: a line for people reading Grafana (the annotation list), then the JSON line."""
    what = "report %s" % (("'%s' (%s)" % (fields["report"], fields["report_id"])) if fields.get("report") else fields["report_id"])
    if fields.get("delivery"):
        what += ", delivery '%s'" % fields["delivery"]
    attempts = fields.get("attempts") or 0
    return "reportops.grafana: %s %s (%d attempt%s, %ss): %s\n%s" % (
        what, fields["outcome"], attempts, "" if attempts == 1 else "s", fields.get("elapsed"), fields.get("message") or "",
        json.dumps(fields, sort_keys=True))


def record_tags(fields, delivery_hash):
    """Tags that make the records of one report, delivery or outcome findable (the contract with the ledger's)."""
    tags = [ANNOTATION_TAG, "delivery:%s" % delivery_hash[:32], "outcome:%s" % fields["outcome"],
            "report:%s" % fields["report_id"]]
    if fields.get("delivery"):
        tags.append("delivery-name:%s" % fields["delivery"])
    return tags


def job_of(history_job):
    """The AWX/AAP job of the run as a record holds it ({"id", "template"}), or None outside a job."""
    if not history_job or history_job.get("id") is None:
        return None
    return dict(id=history_job["id"], template=history_job.get("template"))


class History:
    """Writes the outcome records of one module run into the organization's annotations (history: grafana).

    A record that cannot be written is a warning naming the permission: it never fails a delivery.
    """

    def __init__(self, client, history_job=None, with_addresses=False, warn=None):
        self.client = client
        self.runner = socket.gethostname()
        self.job = job_of(history_job)
        self.with_addresses = with_addresses
        self.warn = warn or (lambda message: None)

    def fields(self, outcome, delivery, report_name):
        return record_fields(outcome, delivery.delivery_key, report_name, self.runner, self.job, self.with_addresses)

    @staticmethod
    def delivery_hash(delivery):
        # Scoped as the Grafana ledger's ids are (""), so that both kinds of record of one delivery share the tag.
        return delivery_id(delivery.report_id, delivery.recipients, delivery.delivery_key, "")

    def write(self, fields, delivery, started, ended):
        """POST the record; True when Grafana stored it, else a warning and False."""
        try:
            self.client.create_annotation({"time": int(started * 1000), "timeEnd": int(ended * 1000),
                                           "tags": record_tags(fields, self.delivery_hash(delivery)),
                                           "text": record_text(fields)}, subject="the outcome record")
        except GrafanaError as exc:
            # The client's message names the permission Grafana asked for.
            self.warn("%sreport %s was %s, but Grafana did not store its outcome record (history: grafana): %s" % (
                "Delivery '%s': " % delivery.name if delivery.name else "", fields["report_id"], fields["outcome"], exc.message))
            return False
        return True


# -- Reading --------------------------------------------------------------------------------------

def parse_moment(value, now, field):
    """Epoch seconds of `since` or `until`: a duration back from now ('24h', '7d', '1h30m') or a date or time in
    ISO 8601 ('2026-11-30', '2026-11-30T06:00', '2026-11-30T06:00:00+01:00'; UTC when no offset), or 'now'."""
    text = to_text(value).strip() if isinstance(value, (str, int)) and not isinstance(value, bool) else ""
    if text.lower() == "now":
        return now
    # Only grafana_report_history reads windows: the modules that send do not load the definitions' code.
    from ansible_collections.reportops.grafana.plugins.module_utils._report_definition import (  # pylint: disable=import-outside-toplevel
        DefinitionError,
        instant,
    )
    try:
        return instant(text, "UTC", field).timestamp()
    except DefinitionError:
        pass
    seconds = parse_interval(text) if text else None
    if seconds is not None:
        return now - seconds
    raise HistoryError("%s must be a duration back from now such as 24h, 7d or 1h30m, a date or time such as 2026-11-30 "
                       "or 2026-11-30T06:00:00Z, or now; got %r." % (field, value))


def window(since, until, now=None):
    """(from, to) in epoch seconds; HistoryError when a bound is invalid or the window is empty."""
    now = time.time() if now is None else now
    start, end = parse_moment(since, now, "since"), parse_moment(until, now, "until")
    if start >= end:
        raise HistoryError("since (%s) must be before until (%s)." % (utc_iso(start), utc_iso(end)))
    return start, end


def _json_line(text):
    for line in (text or "").splitlines():
        if line.startswith("{"):
            try:
                fields = json.loads(line)
            except ValueError:
                continue
            if isinstance(fields, dict):
                return fields
    return {}


def parse_record(annotation):
    """The record of an annotation as grafana_report_history returns it, or None when it is no outcome record
    (a ledger claim, an annotation of someone else)."""
    if not isinstance(annotation, dict):
        return None
    tags = [to_text(tag) for tag in annotation.get("tags") or []]
    if ANNOTATION_TAG not in tags or CLAIM_TAG in tags:
        return None
    fields = _json_line(annotation.get("text"))
    tagged = dict(tag.split(":", 1) for tag in tags if ":" in tag)
    outcome = fields.get("outcome") or tagged.get("outcome")
    if outcome is None and fields.get("state", "sent") == "sent":
        outcome = "sent"  # the ledger's record of a send, as 0.2 wrote it
    if outcome not in OUTCOMES:
        return None  # a claim of the ledger's protocol (claimed, failed, released)
    moment = annotation.get("timeEnd") or annotation.get("time") or 0
    record = dict((name, fields.get(name)) for name in RECORD_FIELDS)
    report_id = to_text(fields.get("report_id") or tagged.get("report") or "") or None
    record.update(time=utc_iso(moment / 1000.0), outcome=outcome, report_id=report_id, id=annotation.get("id"),
                  epoch=moment / 1000.0)
    if "addresses" in fields:
        record["addresses"] = fields["addresses"]
    return record


def report_ids(client, report, warn):
    """This Grafana's ids of the report named `report` (one listing): () for an id or no report, and, with a warning,
    when the credentials may not list the reports."""
    if report is None or normalize_report_id(report) is not None:
        return ()
    try:
        return tuple(report_ids_by_name(report, client.list_reports()))
    except GrafanaError as exc:
        if exc.status != 403:
            raise
        warn("The reports could not be listed to find the id of report '%s' (%s); only records that carry its name are "
             "shown, not those of sends made by report_id." % (report, exc.message))
        return ()


def delivery_identity(record):
    """What makes records the same delivery: its name, else its ledger key, else its report."""
    return record.get("delivery") or record.get("delivery_key") or "report %s" % record.get("report_id")


def selected(records, report=None, delivery=None, outcomes=None, report_ids=()):
    """The records matching the filters: report (name or id; with `report_ids`, the ids this Grafana gives that name,
    which also find the records of sends made by id, written without the name), delivery (name or key), outcomes."""
    def matches(record):
        if report is not None and report not in (record.get("report"), record.get("report_id")) \
                and record.get("report_id") not in report_ids:
            return False
        if delivery is not None and delivery not in (record.get("delivery"), record.get("delivery_key")):
            return False
        return not outcomes or record["outcome"] in outcomes
    return [record for record in records if matches(record)]


def unrecovered(records):
    """The failed records not followed by a sent record of the same delivery ("failed, then recovered" is fine).

    `records` newest first, as Grafana lists them; the result too.
    """
    recovered, found = set(), []
    for record in sorted(records, key=lambda item: item["epoch"], reverse=True):
        identity = delivery_identity(record)
        if record["outcome"] == "sent":
            recovered.add(identity)
        elif record["outcome"] == "failed" and identity not in recovered:
            found.append(record)
    return found


def counts(records):
    return dict((outcome, sum(1 for record in records if record["outcome"] == outcome)) for outcome in OUTCOMES)


def public(record):
    """A record without the fields used only for sorting."""
    return dict((name, value) for name, value in record.items() if name != "epoch")
