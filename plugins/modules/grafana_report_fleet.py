#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) reportops.grafana contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: grafana_report_fleet
short_description: Send the Grafana Enterprise reports of several environments in one run
version_added: 0.2.0
description:
  - Sends the deliveries of every environment in O(environments), each to its own Grafana, in one module run, so that
    N environments cost one module start instead of N. The role P(reportops.grafana.report_delivery#role) runs it once
    per play for the environments on the controller.
  - Each environment works as M(reportops.grafana.grafana_report_deliver) does on its own, with the same checks, one
    listing of its reports, and the same retries, errors, ledger and outcome records. At most O(concurrency) sends run at once per
    Grafana, and at most O(total_concurrency) in all.
  - An environment whose connection or deliveries are wrong, or whose Grafana fails, fails alone; the others are sent.
    When all have finished, the module fails if any environment failed, naming them; RV(environments) still has every
    environment's result.
author:
  - reportops maintainers (@reportops)
extends_documentation_fragment:
  - reportops.grafana.fleet
  - reportops.grafana.ledger
  - reportops.grafana.retries
  - reportops.grafana.history
attributes:
  check_mode:
    support: full
    description:
      - Sends nothing. Lists each environment's reports to prove that each one exists and that the credentials
        work, and says for each delivery whether it would be sent (V(checked)) or skipped by the ledger (V(skipped)).
  diff_mode:
    support: none
    description: Nothing to compare; a send has no before and after.
options:
  concurrency:
    description:
      - The most sends at once to each Grafana. Grafana renders 4 reports at once by default
        (C([reporting] concurrent_render_limit)), and queues the others.
    type: int
    default: 4
  total_concurrency:
    description:
      - The most sends at once in all environments together, each a thread of this module waiting for its Grafana.
    type: int
    default: 128
notes:
  - Not in the C(group/reportops.grafana.grafana) action group, because each environment has its own connection.
  - The ledger file, when used, is shared by the environments; its records are kept apart by Grafana URL and organization.
seealso:
  - module: reportops.grafana.grafana_report_deliver
"""

EXAMPLES = r"""
- name: Send the weekly SLO report in two environments in one run
  reportops.grafana.grafana_report_fleet:
    environments:
      - name: staging
        url: https://grafana.staging.example.com
        token: "{{ staging_grafana_token }}"
        deliveries:
          - name: weekly-slo
            report: Weekly SLO
            use_emails_from_report: true
      - name: prod
        url: https://grafana.example.com
        token: "{{ prod_grafana_token }}"
        deliveries:
          - name: weekly-slo
            report: Weekly SLO
            use_emails_from_report: true
            min_interval: 12h
  register: fleet

- name: Show what happened in each environment
  ansible.builtin.debug:
    msg: "{{ item.name }}: {{ item.deliveries | default([]) | map(attribute='outcome') | list }} {{ item.msg | default('') }}"
  loop: "{{ fleet.environments }}"
  loop_control:
    label: "{{ item.name }}"
"""

RETURN = r"""
elapsed:
  description: Seconds the whole run took.
  returned: when the environments were valid
  type: float
  sample: 3.52
environments:
  description:
    - One result per environment, in the order of O(environments). Each is what
      M(reportops.grafana.grafana_report_deliver) would return for that environment alone.
  returned: when the environments were valid
  type: list
  elements: dict
  contains:
    name:
      description: The environment's name.
      type: str
      sample: prod
    changed:
      description: Whether a report was sent (or, in check mode, would be).
      type: bool
      sample: true
    failed:
      description: Whether the environment failed (its connection or deliveries were wrong, or a delivery failed).
      type: bool
      sample: false
    msg:
      description: Why the environment failed, as M(reportops.grafana.grafana_report_deliver) says it.
      type: str
      returned: when the environment failed
      sample: "1 of 2 deliveries failed: capacity: HTTP 500: Failed to send report ..."
    deliveries:
      description:
        - One record per delivery, as RV(reportops.grafana.grafana_report_deliver#module:deliveries) has them.
        - Missing when the environment failed before anything was sent.
      type: list
      elements: dict
      sample: [{name: weekly-slo, report: Weekly SLO, report_id: "3", outcome: sent, message: Report was sent,
                recipients: [sre@example.com], recipients_source: emails, attempts: 1, elapsed: 2.41}]
    elapsed:
      description: Seconds this environment took, from its first request.
      type: float
      returned: when the environment made a request
      sample: 2.43
"""

import time

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.reportops.grafana.plugins.module_utils._module import run_module
from ansible_collections.reportops.grafana.plugins.module_utils._fleet import (
    environment_options,
    fleet_runs,
    run_argument_spec,
    run_environments,
)


def environment_result(run):
    """One environment's entry of RV(environments)."""
    result, failure = run.outcome()
    entry = dict(name=run.name, changed=bool(result.pop("changed", False)), failed=failure is not None)
    if failure is not None:
        entry["msg"] = failure
    entry.update(result)
    return entry


def deliver_fleet(module):
    """(the result, a failure's message or None)."""
    started = time.time()
    runs = fleet_runs(module)
    run_environments(runs, module.params["total_concurrency"])
    environments = [environment_result(run) for run in runs]
    result = dict(changed=any(entry["changed"] for entry in environments), environments=environments,
                  elapsed=round(time.time() - started, 3))
    failed = [entry for entry in environments if entry["failed"]]
    if failed:
        return result, "%d of %d environments failed: %s" % (len(failed), len(environments), " ".join(
            "%s: %s" % (entry["name"], entry["msg"]) for entry in failed))
    return result, None


def main():
    module = AnsibleModule(
        argument_spec=dict(
            environments=dict(type="list", elements="dict", required=True, options=environment_options()),
            total_concurrency=dict(type="int", default=128),
            **run_argument_spec()
        ),
        supports_check_mode=True,
    )
    run_module(module, deliver_fleet)


if __name__ == "__main__":
    main()
