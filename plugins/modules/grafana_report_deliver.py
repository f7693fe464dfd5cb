#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) reportops.grafana contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: grafana_report_deliver
short_description: Send several Grafana Enterprise reports to one Grafana, in parallel
version_added: 0.2.0
description:
  - Sends the deliveries in O(deliveries) to one Grafana in one module run, at most O(concurrency) at once, through
    C(POST /api/reports/email). The role P(reportops.grafana.report_delivery#role) runs it for each environment that
    is not sent with the others on the controller (M(reportops.grafana.grafana_report_fleet), the same code per
    environment).
  - Every delivery is checked, and every report name turned into this Grafana's report id with one listing of the
    reports (C(GET /api/reports)), before anything is sent. A problem in any delivery fails the run with nothing sent,
    naming the delivery and the field, or the report name that is missing or ambiguous.
  - Each delivery works as M(reportops.grafana.grafana_report_send) does, with the same validation, retries, errors
    and delivery ledger. The ledger file may be shared by threads and by other runs on the host.
  - A delivery that fails does not stop the others. When all have finished, the module fails if any failed, naming
    them; its RV(deliveries) still show what was sent.
author:
  - reportops maintainers (@reportops)
extends_documentation_fragment:
  - reportops.grafana.connection
  - reportops.grafana.connection.ATTRIBUTES
  - reportops.grafana.ledger
  - reportops.grafana.retries
  - reportops.grafana.history
  - reportops.grafana.deliveries
attributes:
  check_mode:
    description:
      - Sends nothing. Lists the reports to prove that each one exists and that the credentials work, and says for each
        delivery whether it would be sent (V(checked)) or skipped by the ledger (V(skipped)). Credentials without
        C(reports:read) give a warning, unless a report name has to be resolved.
  diff_mode:
    support: none
    description: Nothing to compare; a send has no before and after.
options:
  concurrency:
    description:
      - The most sends at once. Grafana renders 4 reports at once by default (C([reporting] concurrent_render_limit)),
        and queues the others.
    type: int
    default: 4
seealso:
  - module: reportops.grafana.grafana_report_send
  - module: reportops.grafana.grafana_report_info
"""

EXAMPLES = r"""
- name: Send three reports to one Grafana, two by name
  reportops.grafana.grafana_report_deliver:
    url: https://grafana.example.com
    token: "{{ grafana_token }}"
    deliveries:
      - name: weekly-slo
        report: Weekly SLO
        use_emails_from_report: true
        min_interval: 12h
      - name: capacity
        report: Daily Capacity
        emails: [ops@example.com, capacity@example.com]
      - name: exec
        report_id: 7
        emails: board@example.com
        delivery_key: "exec-{{ now(utc=true).strftime('%Y-%m') }}"
  register: delivered

- name: Show what happened to each delivery
  ansible.builtin.debug:
    msg: "{{ delivered.deliveries | map(attribute='outcome') | list }}"
"""

RETURN = r"""
elapsed:
  description: Seconds the whole run took.
  returned: when the deliveries were valid
  type: float
  sample: 3.52
deliveries:
  description: One record per delivery, in the order of O(deliveries). Also returned when the module fails after sending.
  returned: when the deliveries were valid
  type: list
  elements: dict
  contains:
    name:
      description: The delivery's name.
      type: str
      sample: weekly-slo
    report:
      description: The report name the delivery gave, or null when it gave O(deliveries[].report_id).
      type: str
      sample: Weekly SLO
    report_id:
      description: The report id in this Grafana, as the string of digits sent to Grafana.
      type: str
      sample: "3"
    outcome:
      description:
        - V(sent) (Grafana confirmed the send), V(skipped) (the ledger skipped it, or held it after a send that may have
          reached Grafana; see O(resend_uncertain)), V(checked) (check mode, it would be sent) or V(failed).
      type: str
      sample: sent
    message:
      description: Grafana's message, why the ledger skipped it, or what failed and what to do.
      type: str
      sample: Report was sent
    recipients:
      description: The addresses it was (or would be) sent to; for saved recipients, those of the report listing.
      type: list
      elements: str
      sample: [sre@example.com]
    recipients_source:
      description: Where the recipients come from, V(emails) (given) or V(report) (saved in the report).
      type: str
      sample: emails
    attempts:
      description: How many times the send was tried; 0 when nothing was sent.
      type: int
      sample: 1
    elapsed:
      description: Seconds this delivery took, waiting for a free slot not included.
      type: float
      sample: 2.41
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.reportops.grafana.plugins.module_utils._module import exit_module, module_kwargs
from ansible_collections.reportops.grafana.plugins.module_utils._delivery import DELIVERIES_SUBOPTIONS
from ansible_collections.reportops.grafana.plugins.module_utils._fleet import EnvironmentRun, run_argument_spec, run_environments


def main():
    module = AnsibleModule(**module_kwargs(dict(
        deliveries=dict(type="list", elements="dict", required=True, options=DELIVERIES_SUBOPTIONS),
        **run_argument_spec()
    )))
    # One Grafana is a fleet of one: the same checks, plan and threads as grafana_report_fleet's environments.
    run = EnvironmentRun(module, module.params)
    run_environments([run], total=max(module.params["concurrency"], 1))
    exit_module(module, *run.outcome())


if __name__ == "__main__":
    main()
