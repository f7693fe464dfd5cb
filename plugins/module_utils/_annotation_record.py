# -*- coding: utf-8 -*-
# Copyright (c) reportops.grafana contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

# Private to the reportops.grafana collection: not a public API, may change without notice.

"""The format of the collection's organization annotations, for the delivery ledger and the history alike:
their tags, their text (a line for people reading Grafana, then one JSON line), reading them back, and their
timestamps. The ledger's record of a send and the history's outcome record are one format: with ledger: grafana
and history: grafana, the ledger's record of a send is the outcome record."""

from __future__ import annotations

import datetime
import json

from ansible.module_utils.common.text.converters import to_text

ANNOTATION_TAG = "reportops.grafana"
CLAIM_TAG = "ledger:claim"
OUTCOME_TAG_PREFIX = "outcome:"
SENT_TAG = OUTCOME_TAG_PREFIX + "sent"
# A send that may have reached Grafana (a timeout, a dropped connection, a proxy's 5xx): the ledger's record of it holds
# the delivery, and the outcome record of it says so.
UNCERTAIN = "uncertain"
UNCERTAIN_TAG = OUTCOME_TAG_PREFIX + UNCERTAIN
# A delivery that did not go out on time (module_utils/_overdue): written by grafana_report_history with record_overdue,
# once per missed period, so that the dashboard and the event source see what left no record of its own.
OVERDUE = "overdue"
# Records of 0.2 carry report:<id> and no outcome tag; a tag without a value matches every value.
REPORT_TAG_KEY = "report"
RECORD_VERSION = 1
# The outcomes an outcome record holds (check mode's are not recorded).
RECORD_OUTCOMES = ("sent", "failed", "skipped", UNCERTAIN, OVERDUE)
# The fields of a record as grafana_report_history returns it, in this order. last_sent and last_uncertain: what the
# ledger knew of the delivery when it skipped it (when it was last sent, when a send last may have been).
HISTORY_RECORD_FIELDS = ("time", "outcome", "report", "report_id", "delivery", "delivery_key", "recipients", "attempts",
                         "elapsed", "message", "runner", "job", "last_sent", "last_uncertain")
# What an overdue record adds (module_utils/_overdue's entry): when it was due, since when it is overdue, the due time
# of the newest missed period (one record per period) and how many periods were missed.
OVERDUE_RECORD_FIELDS = ("due", "overdue_since", "period_due", "missed")


def utc_iso(epoch):
    """Epoch seconds as the records and messages show them: 2026-11-26T06:00:02Z."""
    return datetime.datetime.fromtimestamp(epoch, datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def delivery_tags(delivery_hash):
    """The tags of every annotation of one delivery (ledger claims, records of sends, outcome records)."""
    return [ANNOTATION_TAG, "delivery:%s" % delivery_hash[:32]]


def json_fields(text):
    """The fields of an annotation's JSON line, or {} when it has none (a text written by hand, by someone else)."""
    for line in (text or "").splitlines():
        if line.startswith("{"):
            try:
                fields = json.loads(line)
            except ValueError:
                continue
            if isinstance(fields, dict):
                return fields
    return {}


def claim_text(fields):
    """A ledger claim's text: a line for people reading Grafana, then a JSON line for the protocol."""
    what = "'%s'" % fields["delivery_key"] if fields.get("delivery_key") else "(no delivery key)"
    return "reportops.grafana: delivery %s %s by %s\n%s" % (
        what, fields["state"], fields["runner"], json.dumps(fields, sort_keys=True))


def record_fields(outcome, delivery_key, report_name, runner, job, with_addresses):
    """The JSON fields of the outcome record of one of deliver()'s outcomes (sent, failed, uncertain or skipped); a
    skipped one also says when the ledger last knew the delivery sent (and uncertain), when it did."""
    recipients = outcome.get("recipients")
    known = recipients or outcome.get("recipients_source") == "emails"
    fields = dict(v=RECORD_VERSION, outcome=outcome["outcome"], report=report_name, report_id=outcome.get("report_id"),
                  delivery=outcome.get("name"), delivery_key=delivery_key,
                  recipients=len(recipients) if known else None, attempts=outcome.get("attempts", 0),
                  elapsed=outcome.get("elapsed"), message=outcome.get("message"), runner=runner, job=job)
    for moment in ("last_sent", "last_uncertain"):
        if outcome.get(moment):
            fields[moment] = outcome[moment]
    if with_addresses and known:
        fields["addresses"] = list(recipients)
    return fields


def record_text(fields):
    """An outcome record's text: a line for people reading Grafana (the annotation list), then the JSON line."""
    # A send's record knows its report's id, and its name when the delivery gave one; an overdue record may know
    # either, or neither.
    name, report_id = fields.get("report"), fields.get("report_id")
    if name and report_id is not None:
        named = ["report '%s' (%s)" % (name, report_id)]
    elif name:
        named = ["report '%s'" % name]
    else:
        named = [] if report_id is None else ["report %s" % report_id]
    if fields.get("delivery"):
        named.append("delivery '%s'" % fields["delivery"])
    if fields["outcome"] == OVERDUE:
        done = ""  # nothing was attempted
    else:
        attempts = fields.get("attempts") or 0
        last = " (last sent at %s)" % fields["last_sent"] if fields.get("last_sent") else ""
        done = "%s (%d attempt%s, %ss)" % (last, attempts, "" if attempts == 1 else "s", fields.get("elapsed"))
    return "reportops.grafana: %s %s%s: %s\n%s" % (
        ", ".join(named), fields["outcome"], done, fields.get("message") or "", json.dumps(fields, sort_keys=True))


def overdue_record_fields(entry, report_name, report_id, runner, job):
    """The JSON fields of the overdue record of one of _overdue's entries; its report is that of the delivery's newest
    record, when one is known."""
    fields = record_fields(dict(outcome=OVERDUE, name=entry["delivery"], report_id=report_id, message=entry["message"],
                                last_sent=entry["last_sent"]), None, report_name, runner, job, with_addresses=False)
    fields.update((name, entry[name]) for name in OVERDUE_RECORD_FIELDS)
    return fields


def record_tags(fields, delivery_hash=None):
    """Tags that make the records of one report, delivery or outcome findable, the ledger's records of sends too. An
    overdue record has no delivery hash (no send gave it recipients) and, when no record of it was found, no report."""
    tags = delivery_tags(delivery_hash) if delivery_hash else [ANNOTATION_TAG]
    tags.append(OUTCOME_TAG_PREFIX + fields["outcome"])
    if fields.get("report_id") is not None:
        tags.append("%s:%s" % (REPORT_TAG_KEY, fields["report_id"]))
    if fields.get("delivery"):
        tags.append("delivery-name:%s" % fields["delivery"])
    return tags


def is_send_record(annotation):
    """Whether an annotation of a records listing is a send: tagged outcome:sent, or written by 0.2 (no outcome tag).

    History records of failed, uncertain or skipped deliveries (outcome:failed, outcome:uncertain, outcome:skipped) are
    not: the ledger lists its records of uncertain sends by their own tag.
    """
    tags = [tag for tag in annotation.get("tags") or [] if isinstance(tag, str)]
    outcomes = [tag for tag in tags if tag.startswith(OUTCOME_TAG_PREFIX)]
    return CLAIM_TAG not in tags and (SENT_TAG in outcomes or not outcomes)


def parse_record(annotation):
    """The record of an annotation as grafana_report_history returns it, or None when it is no outcome record
    (a ledger claim, an annotation of someone else)."""
    if not isinstance(annotation, dict):
        return None
    tags = [to_text(tag) for tag in annotation.get("tags") or []]
    if ANNOTATION_TAG not in tags or CLAIM_TAG in tags:
        return None
    fields = json_fields(annotation.get("text"))
    tagged = dict(tag.split(":", 1) for tag in tags if ":" in tag)
    outcome = fields.get("outcome") or tagged.get("outcome")
    if outcome is None and fields.get("state", "sent") == "sent":
        outcome = "sent"  # the ledger's record of a send, as 0.2 wrote it
    if outcome not in RECORD_OUTCOMES:
        return None  # a claim of the ledger's protocol (claimed, failed, released)
    moment = annotation.get("timeEnd") or annotation.get("time") or 0
    record = dict((name, fields.get(name)) for name in HISTORY_RECORD_FIELDS)
    report_id = to_text(fields.get("report_id") or tagged.get(REPORT_TAG_KEY) or "") or None
    record.update(time=utc_iso(moment / 1000.0), outcome=outcome, report_id=report_id, id=annotation.get("id"),
                  epoch=moment / 1000.0)
    if "addresses" in fields:
        record["addresses"] = fields["addresses"]
    if outcome == OVERDUE:
        record.update((name, fields.get(name)) for name in OVERDUE_RECORD_FIELDS)
    return record


def once_each(annotations, parse):
    """A listing's annotations once each by id (Grafana's listing loop can return a row twice: annotationsimpl Find
    appends a page per page of the caller's dashboards), parsed with `parse`; those it turns into None are left out."""
    parsed = {}
    for annotation in annotations:
        if isinstance(annotation, dict):
            item = parse(annotation)
            if item is not None and item["id"] is not None:
                parsed[item["id"]] = item
    return list(parsed.values())


def of_report(record, report, report_ids=()):
    """Whether a parsed record is of `report` (a name or an id); `report_ids`, the ids this Grafana gives that name,
    also find the records of sends made by id, which were written without the name."""
    return report in (record.get("report"), record.get("report_id")) or record.get("report_id") in report_ids
