#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) reportops.grafana contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: grafana_report_send
short_description: Send a Grafana Enterprise report now
version_added: 0.1.0
description:
  - Renders and emails an existing Grafana Enterprise report through C(POST /api/reports/email), to a list of
    addresses or to the recipients saved in the report.
  - Sending is synchronous, Grafana answers after the report is rendered and handed to its mail server.
    A success means Grafana accepted the mail, not that it was delivered.
  - Every option is checked before any request is made.
  - "Sending is not idempotent: every send mails people. With O(delivery_key) or O(min_interval), the module keeps a
    delivery ledger and skips a delivery that already succeeded, so that a re-run or a relaunched AWX job does not mail
    twice."
  - "Ledger guarantees: with O(ledger=file), runs on one host that share O(ledger_path) hold a lock on the delivery
    across the send, so concurrent runs produce exactly one send. With O(ledger=grafana), runners on any hosts that
    talk to the same Grafana organization claim the delivery in Grafana before sending, so runners started together
    produce one send; O(ledger) says under which failures this holds."
author:
  - reportops maintainers (@reportops)
extends_documentation_fragment:
  - reportops.grafana.connection
  - reportops.grafana.connection.ATTRIBUTES
  - reportops.grafana.ledger
  - reportops.grafana.retries
  - reportops.grafana.history
attributes:
  check_mode:
    description:
      - Sends nothing. Reads the report to prove that it exists and that the credentials work, predicts the
        recipients and whether the ledger would skip the delivery. A missing report or bad credentials fail as in a
        real run; credentials without C(reports:read) give a warning.
  diff_mode:
    support: none
    description: Nothing to compare; a send has no before and after.
options:
  report_id:
    description:
      - Id of the report (not of a dashboard), a positive integer given as a number or a string.
      - Report ids differ between Grafana instances; M(reportops.grafana.grafana_report_info) finds one by name.
    type: raw
    required: true
    aliases: [id]
  emails:
    description:
      - Addresses to send the report to, instead of the report's saved recipients.
      - Each item may hold several addresses separated by commas, semicolons or newlines. Each address must be a
        plain address such as C(ops@example.com) (no display name). Duplicates are dropped, ignoring case; the order is kept.
      - Exactly one of O(emails) and O(use_emails_from_report=true) is required.
    type: list
    elements: str
  use_emails_from_report:
    description:
      - Send to the recipients saved in the report.
      - In a real run the report is read first, to return its recipients.
    type: bool
    default: false
  delivery_key:
    description:
      - Names this delivery in the ledger. A delivery with this key that succeeded is not sent again, unless
        O(min_interval) is also set, in which case it is sent again once that interval has passed.
      - Neither is a delivery whose send may have reached Grafana although it failed (see O(resend_uncertain)).
      - Keys are scoped to the Grafana organization (and, for O(ledger=file), to O(url)), so one key may be used
        in every environment.
      - Without a key but with O(min_interval), the delivery is identified by O(url), O(org_id), O(report_id)
        and the set of recipients.
    type: str
  min_interval:
    description:
      - Skip the send when the same delivery succeeded less than this long ago, or when a send of it that may have
        reached Grafana although it failed was made less than this long ago (see O(resend_uncertain)).
      - A number of seconds, or numbers with units C(s), C(m), C(h), C(d), C(w), such as C(90s), C(30m), C(12h), C(7d), C(1h30m).
    type: str
seealso:
  - module: reportops.grafana.grafana_report_info
  - name: Grafana reporting API
    description: The HTTP API this module calls.
    link: https://grafana.com/docs/grafana/latest/developers/http_api/reporting/
"""

EXAMPLES = r"""
- name: Send report 3 to two addresses
  reportops.grafana.grafana_report_send:
    url: https://grafana.example.com
    token: "{{ grafana_token }}"
    report_id: 3
    emails:
      - sre@example.com
      - lead@example.com

- name: Send report 3 to its saved recipients, in organization 2
  reportops.grafana.grafana_report_send:
    url: https://grafana.example.com
    token: "{{ grafana_token }}"
    org_id: 2
    report_id: 3
    use_emails_from_report: true

- name: Send at most once a day, even if the job is relaunched
  reportops.grafana.grafana_report_send:
    report_id: "{{ report.reports[0].id }}"
    emails: "oncall@example.com; lead@example.com"
    min_interval: 24h

- name: Send this week's report once, recorded in Grafana so that every AWX job sees it
  reportops.grafana.grafana_report_send:
    report_id: 3
    use_emails_from_report: true
    delivery_key: "weekly-slo-{{ now(utc=true).strftime('%G-W%V') }}"
    ledger: grafana

- name: Send, retrying a failed render once after 30 s, and record the outcome with the AWX/AAP job
  reportops.grafana.grafana_report_send:
    report_id: 3
    use_emails_from_report: true
    render_retries: 1
    render_backoff: 30
    history: grafana
    history_job:
      id: "{{ awx_job_id | default(omit) }}"
      template: "{{ awx_job_template_name | default(omit) }}"

- name: Set the connection once for a play with module_defaults
  hosts: localhost
  gather_facts: false
  module_defaults:
    group/reportops.grafana.grafana:
      url: https://grafana.example.com
      token: "{{ grafana_token }}"
  tasks:
    - name: Send report 7
      reportops.grafana.grafana_report_send:
        report_id: 7
        use_emails_from_report: true

# Ad-hoc, with the credentials in the environment rather than on the command line:
#   export GRAFANA_URL=https://grafana.example.com GRAFANA_TOKEN=...
#   ansible localhost -m reportops.grafana.grafana_report_send -a 'report_id=3 emails=sre@example.com'
"""

RETURN = r"""
sent:
  description: Whether Grafana confirmed the send (HTTP 200). Always false in check mode and when the ledger skipped it.
  returned: always
  type: bool
  sample: true
status:
  description: HTTP status of Grafana's last answer (in check mode, of the report read); absent when Grafana never answered.
  returned: when Grafana answered
  type: int
  sample: 200
message:
  description: Grafana's message, or what check mode or the ledger decided.
  returned: always
  type: str
  sample: Report was sent
report_id:
  description: The report id, as the string of digits sent to Grafana.
  returned: always
  type: str
  sample: "3"
recipients:
  description:
    - The addresses the report was (or, in check mode, would be) sent to.
    - With O(use_emails_from_report), the report's saved recipients, or an empty list if they could not be read.
  returned: always
  type: list
  elements: str
  sample: [sre@example.com, lead@example.com]
recipients_source:
  description: Where the recipients come from, V(emails) or V(report).
  returned: always
  type: str
  sample: emails
elapsed:
  description: Seconds spent talking to Grafana.
  returned: always
  type: float
  sample: 2.41
attempts:
  description:
    - How many times the send was tried, 0 when nothing was sent. Retries happen only where Grafana provably did not act
      (O(retries)) or reported the send as failed (O(render_retries)).
  returned: always
  type: int
  sample: 1
report:
  description: The report as Grafana returned it, when it was read (check mode, or O(use_emails_from_report)).
  returned: when the report was read
  type: dict
  sample: {"id": 3, "uid": "abc123", "name": "Weekly SLO", "recipients": "sre@example.com,lead@example.com", "state": "scheduled"}
skipped_reason:
  description:
    - Why the ledger skipped the send, with when the delivery was last sent; or, when a send that may have reached
      Grafana holds it, when and why, how to send it anyway and what to delete by hand.
  returned: when the ledger skipped the send
  type: str
  sample: this delivery was last sent at 2026-11-26T06:00:02Z, 2h 3m ago, within min_interval (43200s).
"""

import time

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.reportops.grafana.plugins.module_utils._client import GrafanaClient, GrafanaError
from ansible_collections.reportops.grafana.plugins.module_utils._module import RETRY_ARGUMENT_SPEC, module_kwargs, run_module
from ansible_collections.reportops.grafana.plugins.module_utils._history import HISTORY_ARGUMENT_SPEC, module_history
from ansible_collections.reportops.grafana.plugins.module_utils._delivery import (
    DELIVERY_ARGUMENT_SPEC,
    LEDGER_ARGUMENT_SPEC,
    Delivery,
    checked_retry_options,
    deliver,
    delivery_ledger,
    delivery_options,
    unless_denied,
)


def checked_params(params):
    """The delivery the options describe, validated before any request by the model of every delivery."""
    return Delivery.of(delivery_options(params, named=False))


def send(module):
    """Validate, plan (read the report when needed), execute (deliver): (the result, or a failure's message)."""
    params = module.params
    retry_policy = checked_retry_options(params)
    delivery = checked_params(params)
    result = dict(changed=False, sent=False, report_id=delivery.report_id, recipients=delivery.recipients or [],
                  recipients_source="emails" if delivery.recipients else "report", attempts=0)
    started = time.time()
    try:
        client = GrafanaClient(module, retry_policy)
        ledger, scope = delivery_ledger(client, params, [delivery])
        report = None
        # Check mode proves that the report exists; a send to the saved recipients returns them.
        if module.check_mode or delivery.recipients is None:
            report = unless_denied(lambda: client.get_report(delivery.report_id), "read report %s to check it"
                                   % delivery.report_id, "reading", module.warn)
            result["status"] = 200 if report is not None else 403
    except GrafanaError as exc:
        result.update(exc.status_field(), elapsed=round(time.time() - started, 3))
        return result, exc.message
    if report is not None:
        result["report"] = report
    outcome = deliver(client, ledger, scope, delivery, params["retries"], module.check_mode, report, module.warn,
                      module_history(client, params, module.warn), params["resend_uncertain"])
    result.update((name, outcome[name]) for name in
                  ("changed", "sent", "message", "recipients", "recipients_source", "attempts", "skipped_reason")
                  if name in outcome)
    if "http_status" in outcome:
        result["status"] = outcome["http_status"]
    result["elapsed"] = round(time.time() - started, 3)
    return result, outcome["message"] if outcome["outcome"] == "failed" else None


def main():
    module = AnsibleModule(**module_kwargs(dict(
        report_id=dict(type="raw", required=True, aliases=["id"]),
        **dict(DELIVERY_ARGUMENT_SPEC, **dict(LEDGER_ARGUMENT_SPEC, **dict(RETRY_ARGUMENT_SPEC, **HISTORY_ARGUMENT_SPEC)))
    )))
    run_module(module, send)


if __name__ == "__main__":
    main()
