#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) reportops.grafana contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: grafana_report_history
short_description: List the outcome records of report deliveries in one Grafana
version_added: 0.2.0
description:
  - Lists the outcome records that M(reportops.grafana.grafana_report_send), M(reportops.grafana.grafana_report_deliver)
    and the role P(reportops.grafana.report_delivery#role) write with O(reportops.grafana.grafana_report_send#module:history=grafana),
    newest first, with their number per outcome. Grafana itself keeps no history of report sends.
  - Reads the organization's annotations tagged C(reportops.grafana) in the window (one C(GET /api/annotations));
    the ledger's records of sends (O(reportops.grafana.grafana_report_send#module:ledger=grafana)) count as sent records,
    its claims are left out. A row Grafana lists twice (its listing appends a page per page of the caller's dashboards
    since 11.3) counts once, by the annotation's id.
  - Writes nothing, except the overdue records of O(record_overdue). The credentials need C(annotations:read) with
    scope C(annotations:type:organization); without it Grafana answers an empty list, so an empty result with
    credentials limited to dashboards gives a warning.
  - With O(fail_on_failed=true) the task fails when the window holds a failed or uncertain delivery that was not followed
    by a sent one of the same delivery, or an overdue delivery (O(deliveries)), for monitoring and AWX/AAP notifications.
  - "A delivery that never ran leaves no record. O(deliveries) says how often each delivery must go out; one with no
    confirmed send within its period plus its grace is V(overdue) (RV(overdue)), naming since when. With
    O(record_overdue=true) it is also written into Grafana as an V(overdue) record, for the dashboard of the role
    P(reportops.grafana.report_delivery#role) and the event source C(reportops.grafana.report_deliveries)."
  - "An V(uncertain) record is a send that may have reached Grafana (a timeout, a dropped connection, a proxy's 5xx)
    of a delivery with a ledger: the delivery ledger holds it, so later runs skip it until someone sends it again
    with O(reportops.grafana.grafana_report_send#module:resend_uncertain=true) or its min_interval has passed."
author:
  - reportops maintainers (@reportops)
extends_documentation_fragment:
  - reportops.grafana.connection
  - reportops.grafana.connection.ATTRIBUTES
options:
  report:
    description:
      - Only records of this report, by name or by id.
      - A name is turned into this Grafana's id(s) with one C(GET /api/reports) (needs C(reports:read)), and records match
        by that id as well as by the name, so that sends made by O(reportops.grafana.grafana_report_send#module:report_id),
        whose records do not carry the name, are found too. Without C(reports:read) a warning says that only records
        that carry the name are found.
    type: str
  delivery:
    description: Only records of this delivery, by its name or its delivery key.
    type: str
  outcome:
    description: Only records with one of these outcomes.
    type: list
    elements: str
    choices: [sent, failed, skipped, uncertain, overdue]
  since:
    description:
      - Start of the window. A duration back from now, such as C(24h), C(7d) or C(1h30m), a date or time in ISO 8601,
        such as C(2026-11-30) or C(2026-11-30T06:00:00+01:00) (UTC when it has no offset), or C(now).
    type: str
    default: 24h
  until:
    description: End of the window, in the same forms as O(since).
    type: str
    default: now
  limit:
    description:
      - Most annotations to read. When Grafana lists as many, older records of the window may be missing, and a warning
        says so; narrow the window or raise the limit.
    type: int
    default: 1000
  deliveries:
    description:
      - The deliveries that must go out regularly, for RV(overdue). Each one's records are those with its name as
        delivery name or delivery key.
      - "A delivery is overdue when it has no confirmed send (outcome V(sent)) within its period plus its grace: due
        O(deliveries[].every) after its last confirmed send, or, with O(deliveries[].schedule), at the schedule's first
        time after it (a send up to the grace, at most half a period, before a time counts for that time)."
      - "A delivery with no confirmed send in the window is taken as first expected at the start of the window
        (O(since)): it is overdue once its period plus grace has passed since then. A send before the window could only
        make it overdue sooner, so the window never invents an overdue delivery; to see one that never ran, the window
        must be longer than the period plus the grace. Once an overdue record of it is in the window
        (O(record_overdue)), it is due when that record says, so that its periods do not move with the window."
      - The role P(reportops.grafana.report_delivery#role) passes its deliveries' C(every), C(schedule) and C(grace).
    type: list
    elements: dict
    suboptions:
      name:
        description: The delivery's name (or delivery key), as its records carry it.
        type: str
        required: true
      report:
        description:
          - The delivery's report, by name or by id, for the C(report:<id>) tag of its overdue record (O(record_overdue))
            when the window holds no record of the delivery to take it from. A name is turned into this Grafana's id
            with one C(GET /api/reports), made only then; without C(reports:read), or when several reports have the
            name, the record goes without the tag.
        type: str
      every:
        description: How often it must go out, an interval such as C(1d), C(7d) or C(12h). Exclusive with O(deliveries[].schedule).
        type: str
      schedule:
        description:
          - When it must go out, a 5-field cron expression or a macro such as C(@daily), as the role's C(schedule);
            its times are taken in UTC. Its period is the shortest gap between two of its times (a daily schedule's is
            one day, C(0 7 * * mon-fri) too).
        type: str
      grace:
        description:
          - How late a send may be before the delivery is overdue, an interval such as C(2h).
          - Default a quarter of the period (6h for a daily delivery, 1d18h for a weekly one, 15m for an hourly one),
            enough for a job that waited for capacity, a catch-up after a reboot, retries and a slow render, and still
            long before the next one is due.
        type: str
  fail_on_failed:
    description:
      - Fail the task when a delivery in the window failed, or may have been sent (V(uncertain)), and no later record of
        the same delivery says sent; or when a delivery of O(deliveries) is overdue (it did not go out). Records of one
        delivery are those with the same delivery name, else the same delivery key, else the same report.
      - The records and counts are returned either way.
    type: bool
    default: false
  record_overdue:
    description:
      - Write an V(overdue) record (an organization annotation tagged C(reportops.grafana), C(outcome:overdue) and
        C(delivery-name:<name>)) for each missed period of an overdue delivery of O(deliveries), at the time the period
        became overdue (its due time plus the grace), so that a delivery that never ran shows on the dashboard and
        reaches the event source. It carries the report of the delivery's newest record in the window, else that of
        O(deliveries[].report).
      - A period already recorded in the window is not written again; a run within the same period writes nothing.
        The records stay when the delivery goes out later, as history; they never count as sent, nor against
        O(fail_on_failed), which judges the sends themselves.
      - Needs C(annotations:create) with scope C(annotations:type:organization); a record Grafana refuses is a warning
        naming the permission, not a failure.
    type: bool
    default: false
attributes:
  check_mode:
    description: With O(record_overdue=true), reports C(changed) when it would write overdue records, and writes none.
  diff_mode:
    support: none
    description: Nothing to compare; the overdue records are new annotations.
seealso:
  - module: reportops.grafana.grafana_report_send
  - module: reportops.grafana.grafana_report_deliver
  - name: Grafana annotations API
    description: The HTTP API this module reads.
    link: https://grafana.com/docs/grafana/latest/developers/http_api/annotations/
"""

EXAMPLES = r"""
- name: Did last night's reports go out?
  reportops.grafana.grafana_report_history:
    url: https://grafana.example.com
    token: "{{ grafana_token }}"
    since: 12h
  register: history

- name: Show the failures
  ansible.builtin.debug:
    msg: "{{ history.records | selectattr('outcome', 'eq', 'failed') | map(attribute='message') | list }}"

- name: Fail (and notify from AWX) when a delivery of the weekly report failed this week and was not sent since
  reportops.grafana.grafana_report_history:
    report: Weekly SLO
    since: 7d
    fail_on_failed: true

- name: Did every scheduled delivery go out on time this fortnight? Fail on failed or overdue ones
  reportops.grafana.grafana_report_history:
    since: 14d
    deliveries:
      - name: weekly-slo
        every: 7d
      - name: daily-ops
        schedule: "0 6 * * mon-fri"
        grace: 2h
    fail_on_failed: true

- name: Watch hourly (an AWX/AAP schedule) and mark each missed period on the Report deliveries dashboard
  reportops.grafana.grafana_report_history:
    since: 8d
    deliveries:
      - name: weekly-slo
        every: 7d
    record_overdue: true

- name: The records of one delivery on one day
  reportops.grafana.grafana_report_history:
    delivery: weekly-slo
    since: "2026-11-30"
    until: "2026-12-01"
    outcome: [failed, uncertain, skipped]
"""

RETURN = r"""
records:
  description: The outcome records in the window that match the filters, newest first.
  returned: always
  type: list
  elements: dict
  contains:
    time:
      description: When the delivery ended (the annotation's end), in UTC.
      type: str
      sample: "2026-12-01T06:00:04Z"
    outcome:
      description:
        - V(sent), V(failed), V(skipped), V(uncertain) or V(overdue).
        - V(uncertain) is a failed send that may have reached Grafana anyway (a timeout, a dropped connection, a proxy's
          5xx) of a delivery with a ledger, which the ledger holds; it fails the run that met it as V(failed) does.
        - "V(overdue) is a record of O(record_overdue): a delivery that did not go out on time."
      type: str
      sample: failed
    report:
      description: The report's name, when the delivery knew it.
      type: str
      sample: Weekly SLO
    report_id:
      description: The report's id in this Grafana.
      type: str
      sample: "3"
    delivery:
      description: The delivery's name (grafana_report_deliver and the role), else null.
      type: str
      sample: weekly-slo
    delivery_key:
      description: The delivery's ledger key, else null.
      type: str
      sample: weekly-slo-2026-W49
    recipients:
      description: How many recipients the report was (to be) sent to; null when not known.
      type: int
      sample: 2
    addresses:
      description: The recipients' addresses.
      type: list
      elements: str
      returned: when the delivery had history_recipients
    attempts:
      description: How many times the send was tried.
      type: int
      sample: 3
    elapsed:
      description: Seconds the delivery took.
      type: float
      sample: 31.2
    message:
      description: Grafana's message, what failed, or why the ledger skipped (or held) it.
      type: str
      sample: "Grafana failed on report 3 (HTTP 500: Failed to generate PDF); see the Grafana server log (rendering or SMTP)."
    runner:
      description: The host name (or, for the ledger's records, the runner id) that made the delivery.
      type: str
      sample: awx-job-4711
    job:
      description: The AWX/AAP job (C(id), C(template)) that made the delivery, else null.
      type: dict
      sample: {"id": 4711, "template": "Deliver reports"}
    last_sent:
      description:
        - For a V(skipped) record, when the delivery ledger last knew the delivery sent (confirmed), in UTC; null when it
          never was, for other outcomes and for records written by earlier versions of the collection.
      type: str
      sample: "2026-11-30T06:00:03Z"
    last_uncertain:
      description:
        - For a V(skipped) record, when a send of the delivery last may have reached Grafana with no confirmed send since
          (the ledger held it), in UTC; else null.
      type: str
      sample: null
    due:
      description: For an V(overdue) record, when the delivery was due (UTC), as RV(overdue[].due) was then.
      type: str
      returned: for V(overdue) records
      sample: "2026-11-30T06:00:03Z"
    overdue_since:
      description: For an V(overdue) record, since when the delivery was overdue (UTC).
      type: str
      returned: for V(overdue) records
      sample: "2026-12-02T00:00:03Z"
    period_due:
      description: For an V(overdue) record, when the missed period it records was due (UTC).
      type: str
      returned: for V(overdue) records
      sample: "2026-11-30T06:00:03Z"
    missed:
      description: For an V(overdue) record, how many periods were missed when it was written.
      type: int
      returned: for V(overdue) records
      sample: 1
    id:
      description: The annotation's id.
      type: int
      sample: 812
counts:
  description: How many of the records are V(sent), V(failed), V(skipped), V(uncertain) and V(overdue).
  returned: always
  type: dict
  sample: {"sent": 6, "failed": 1, "skipped": 2, "uncertain": 0, "overdue": 0}
unrecovered:
  description:
    - The failed and uncertain records not followed by a sent record of the same delivery, newest first (as in
      RV(records)).
  returned: always
  type: list
  elements: dict
  sample: []
overdue:
  description:
    - The deliveries of O(deliveries) with no confirmed send within their period plus grace, oldest overdue first.
  returned: always
  type: list
  elements: dict
  contains:
    delivery:
      description: The delivery's name.
      type: str
      sample: weekly-slo
    outcome:
      description: V(overdue).
      type: str
      sample: overdue
    last_sent:
      description: Its newest confirmed send in the window (UTC), or null when it has none there.
      type: str
      sample: "2026-11-23T06:00:03Z"
    due:
      description: When it was due (UTC).
      type: str
      sample: "2026-11-30T06:00:03Z"
    overdue_since:
      description: When it became overdue, due plus grace (UTC).
      type: str
      sample: "2026-12-02T00:00:03Z"
    missed:
      description: How many periods were missed since it was due.
      type: int
      sample: 1
    period_due:
      description: When the newest missed period was due (UTC).
      type: str
      sample: "2026-11-30T06:00:03Z"
    period:
      description: Its period (C(every), or the shortest gap of its schedule).
      type: str
      sample: 7d
    grace:
      description: Its grace.
      type: str
      sample: 1d18h
    how:
      description: How it says its period, C(every 7d) or C(schedule '0 6 * * *').
      type: str
      sample: every 7d
    record:
      description:
        - The id of the V(overdue) record of its newest missed period, written now or by an earlier run; null without
          O(record_overdue), in check mode, or when Grafana refused it.
      type: int
      sample: 815
    message:
      description: One sentence, naming since when.
      type: str
      sample: "no confirmed send since 2026-11-23T06:00:03Z; due at 2026-11-30T06:00:03Z (every 7d, grace 1d18h), overdue since 2026-12-02T00:00:03Z."
window:
  description: The window read, C(since) and C(until), in UTC.
  returned: always
  type: dict
  sample: {"since": "2026-11-30T06:00:00Z", "until": "2026-12-01T06:00:00Z"}
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.reportops.grafana.plugins.module_utils._client import GrafanaClient
from ansible_collections.reportops.grafana.plugins.module_utils._module import module_kwargs, run_module
from ansible_collections.reportops.grafana.plugins.module_utils._annotation_record import (
    ANNOTATION_TAG,
    RECORD_OUTCOMES,
    UNCERTAIN,
    once_each,
    parse_record,
    utc_iso,
)
from ansible_collections.reportops.grafana.plugins.module_utils._history import (
    counts,
    public,
    record_overdue,
    report_ids,
    selected,
    unrecovered,
)
from ansible_collections.reportops.grafana.plugins.module_utils._history_window import HistoryError, window
from ansible_collections.reportops.grafana.plugins.module_utils._ledger import READ_PERMISSION
from ansible_collections.reportops.grafana.plugins.module_utils._overdue import OverdueError, expectation, overdue_deliveries
from ansible_collections.reportops.grafana.plugins.module_utils._overdue import public as public_overdue


def read_history(module):
    """Validate (limit, window), execute (one listing), then the records and the failures not recovered:
    (the result, or a failure's message)."""
    params = module.params
    try:
        if params["limit"] < 1:
            raise HistoryError("limit must be at least 1, got %d." % params["limit"])
        start, end = window(params["since"], params["until"])
        expected = [expectation(options, "deliveries[%d] ('%s')" % (index, options["name"]))
                    for index, options in enumerate(params["deliveries"] or [])]
    except OverdueError as exc:
        return {}, str(exc)
    client = GrafanaClient(module)
    ids = report_ids(client, params["report"], module.warn)
    annotations = client.find_annotations([ANNOTATION_TAG], params["limit"], (start * 1000, end * 1000), "the outcome records")
    if len(annotations) >= params["limit"]:
        module.warn("Grafana listed %d annotations, as many as limit: older records of the window may be missing; "
                    "narrow the window (since, until) or raise limit." % len(annotations))
    if not annotations:
        module.warn("Grafana listed no annotation of the collection in the window. If deliveries were recorded, the "
                    "credentials may lack %s (Grafana then answers an empty list)." % READ_PERMISSION)
    parsed = once_each(annotations, parse_record)
    records = selected(parsed, params["report"], params["delivery"], params["outcome"], ids)
    records.sort(key=lambda record: record["epoch"], reverse=True)
    failures = [public(record) for record in unrecovered(records)]
    # Overdue: every sent record of the window counts, whatever the filters on outcome.
    of_report = selected(parsed, params["report"], None, None, ids)
    late = overdue_deliveries(expected, of_report, start, end)
    reports = dict((options["name"], options["report"]) for options in params["deliveries"] or [])
    changed = params["record_overdue"] and record_overdue(client, late, of_report, reports, module.check_mode, module.warn)
    late = [dict(public_overdue(entry), record=entry.get("record")) for entry in late]
    result = dict(changed=changed, records=[public(record) for record in records], counts=counts(records),
                  unrecovered=failures, overdue=late, window=dict(since=utc_iso(start), until=utc_iso(end)))
    if params["fail_on_failed"] and (failures or late):
        return result, "; ".join(text for text in (failed_text(failures), overdue_text(late)) if text)
    return result, None


def overdue_text(late):
    """The sentence that fails the task for overdue deliveries, or ''."""
    if not late:
        return ""
    return "%d deliver%s overdue (not sent on time): %s" % (
        len(late), "y is" if len(late) == 1 else "ies are",
        "; ".join("%s: %s" % (entry["delivery"], entry["message"]) for entry in late))


def failed_text(failures):
    """The sentence that fails the task for failed or uncertain deliveries not sent since, or ''."""
    if failures:
        uncertain = sum(1 for record in failures if record["outcome"] == UNCERTAIN)
        return "%d deliver%s failed in the window%s and %s not sent since: %s" % (
            len(failures), "y" if len(failures) == 1 else "ies",
            (" (uncertain: it may have been sent, so the ledger holds it)" if len(failures) == 1 else
             " (%d of them uncertain: they may have been sent, so the ledger holds them)" % uncertain) if uncertain else "",
            "was" if len(failures) == 1 else "were",
            "; ".join("%s at %s%s: %s" % (record["delivery"] or record["delivery_key"] or "report %s" % record["report_id"],
                                          record["time"], " (uncertain)" if record["outcome"] == UNCERTAIN else "",
                                          record["message"]) for record in failures))
    return ""


def main():
    module = AnsibleModule(**module_kwargs(dict(
        report=dict(type="str"),
        delivery=dict(type="str"),
        outcome=dict(type="list", elements="str", choices=list(RECORD_OUTCOMES)),
        since=dict(type="str", default="24h"),
        until=dict(type="str", default="now"),
        limit=dict(type="int", default=1000),
        deliveries=dict(type="list", elements="dict", options=dict(
            name=dict(type="str", required=True),
            report=dict(type="str"),
            every=dict(type="str"),
            schedule=dict(type="str"),
            grace=dict(type="str"),
        ), mutually_exclusive=[("every", "schedule")]),
        fail_on_failed=dict(type="bool", default=False),
        record_overdue=dict(type="bool", default=False),
    )))
    run_module(module, read_history)


if __name__ == "__main__":
    main()
