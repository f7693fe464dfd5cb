# -*- coding: utf-8 -*-
# Copyright (c) reportops.grafana contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

# Private to the reportops.grafana collection: not a public API, may change without notice.

"""Delivery history: one outcome record (an organization annotation) per delivery, and reading them back.

The record's format (tags, text, parsing) is _annotation_record's, the ledger's too; with ledger: grafana the
ledger's record of a send carries the same fields and is the outcome record.
"""

from __future__ import annotations

import socket

from ansible_collections.reportops.grafana.plugins.module_utils._annotation_record import (
    OVERDUE,
    RECORD_OUTCOMES,
    UNCERTAIN,
    of_report,
    overdue_record_fields,
    record_fields,
    record_tags,
    record_text,
)
from ansible_collections.reportops.grafana.plugins.module_utils._client import GrafanaError
from ansible_collections.reportops.grafana.plugins.module_utils._report_values import (
    normalize_report_id,
    report_ids_by_name,
)
from ansible_collections.reportops.grafana.plugins.module_utils._ledger import delivery_id
from ansible_collections.reportops.grafana.plugins.module_utils._overdue import period_key, period_overdue_epoch

# Options of the modules that send (doc fragment reportops.grafana.history).
HISTORY_ARGUMENT_SPEC = dict(
    history=dict(type="str", choices=["none", "grafana"], default="none"),
    history_recipients=dict(type="bool", default=False),
    history_job=dict(type="dict", options=dict(id=dict(type="int"), template=dict(type="str"))),
)


# -- Writing --------------------------------------------------------------------------------------

def job_of(history_job):
    """The AWX/AAP job of the run as a record holds it ({"id", "template"}), or None outside a job."""
    if not history_job or history_job.get("id") is None:
        return None
    return dict(id=history_job["id"], template=history_job.get("template"))


def module_history(client, params, warn):
    """The History of a sending module's options (HISTORY_ARGUMENT_SPEC), or None with history: none."""
    if params["history"] != "grafana":
        return None
    return History(client, params["history_job"], params["history_recipients"], warn)


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


def record_overdue(client, late, records, reports, check_mode, warn):
    """Write one overdue record per missed period of the entries `late` (_overdue's) that none of `records`
    (parse_record's, of the window read) holds yet, so that the dashboard and the event source show a delivery that
    never ran. `reports`: each delivery's report (name or id) as its options give it, for one with no record in the
    window. Each entry gets `record`: the id of its period's record, or None (check mode, or not written: a warning
    names the permission). True when a record was (or, in check mode, would be) written."""
    known = dict((period_key(record.get("delivery"), record.get("period_due")), record["id"])
                 for record in records if record["outcome"] == OVERDUE)
    report_of = _ReportOf(client, records, reports)
    wrote = False
    for entry in late:
        entry["record"] = known.get(period_key(entry["delivery"], entry["period_due"]))
        if entry["record"] is None and check_mode:
            wrote = True
        elif entry["record"] is None:
            entry["record"] = _write_overdue_record(client, entry, report_of(entry["delivery"]), warn)
            wrote = wrote or entry["record"] is not None
    return wrote


class _ReportOf:
    """(report name, report id) of a delivery, for its overdue record: those of its newest record in the window, else
    those of the report its options name (a name found with one listing of the reports, made only when needed; none
    when it cannot be listed or is not one report)."""

    def __init__(self, client, records, reports):
        self.client, self.records, self.reports, self.listing = client, records, reports, None

    def __call__(self, name):
        of_delivery = [record for record in self.records if name in (record.get("delivery"), record.get("delivery_key"))
                       and record.get("report_id") is not None]
        if of_delivery:
            newest = max(of_delivery, key=lambda record: record["epoch"])
            return newest.get("report"), newest["report_id"]
        given = self.reports.get(name)
        if given is None:
            return None, None
        if normalize_report_id(given) is not None:
            return None, normalize_report_id(given)
        if self.listing is None:
            try:
                self.listing = self.client.list_reports()
            except GrafanaError:
                self.listing = []  # the record goes without its report: the dashboard finds it by delivery name
        ids = report_ids_by_name(given, self.listing)
        return (given, ids[0]) if len(ids) == 1 else (given, None)


def _write_overdue_record(client, entry, report, warn):
    """POST the overdue record of an entry with its `report` (name, id); its id, or None and a warning."""
    fields = overdue_record_fields(entry, report[0], report[1], socket.gethostname(), None)
    moment = int(period_overdue_epoch(entry) * 1000)
    try:
        created = client.create_annotation({"time": moment, "timeEnd": moment, "tags": record_tags(fields),
                                            "text": record_text(fields)}, subject="the overdue record")
    except GrafanaError as exc:
        warn("Delivery '%s' is overdue, but Grafana did not store its overdue record (record_overdue): %s" % (
            entry["delivery"], exc.message))
        return None
    return (created or {}).get("id")


# -- Reading --------------------------------------------------------------------------------------

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
        if report is not None and not of_report(record, report, report_ids):
            return False
        if delivery is not None and delivery not in (record.get("delivery"), record.get("delivery_key")):
            return False
        return not outcomes or record["outcome"] in outcomes
    return [record for record in records if matches(record)]


# The outcomes that count against a delivery until a later confirmed send: it failed, or it may have been sent
# (uncertain: the ledger holds it, so no later run sends it by itself).
UNRECOVERED_OUTCOMES = ("failed", UNCERTAIN)


def unrecovered(records):
    """The failed and uncertain records not followed by a sent record of the same delivery ("failed, then recovered"
    is fine).

    `records` newest first, as Grafana lists them; the result too.
    """
    recovered, found = set(), []
    for record in sorted(records, key=lambda item: item["epoch"], reverse=True):
        identity = delivery_identity(record)
        if record["outcome"] == "sent":
            recovered.add(identity)
        elif record["outcome"] in UNRECOVERED_OUTCOMES and identity not in recovered:
            found.append(record)
    return found


def counts(records):
    return dict((outcome, sum(1 for record in records if record["outcome"] == outcome)) for outcome in RECORD_OUTCOMES)


def public(record):
    """A record without the fields used only for sorting."""
    return dict((name, value) for name, value in record.items() if name != "epoch")
