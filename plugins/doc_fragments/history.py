# -*- coding: utf-8 -*-
# Copyright (c) reportops.grafana contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations


class ModuleDocFragment:
    # The delivery history options of the modules that send (grafana_report_send and grafana_report_deliver);
    # the argument spec that matches them is _history.HISTORY_ARGUMENT_SPEC.
    DOCUMENTATION = r"""
options:
  history:
    description:
      - "V(grafana) writes an outcome record for every delivery that is sent, fails or is skipped (not in check mode):
        an organization annotation whose text is a line for people and a JSON line with the outcome, Grafana's
        message, the report name and id, the delivery name and key, the number of recipients, the attempts, the
        duration, the runner's host name and the AWX/AAP job (O(history_job))."
      - "Its tags make the records findable: C(reportops.grafana), C(outcome:sent), C(outcome:failed) or
        C(outcome:skipped), C(report:<id>), C(delivery:<hash>) and, for a named delivery, C(delivery-name:<name>).
        M(reportops.grafana.grafana_report_history) reads them back."
      - With O(ledger=grafana), the ledger's record of a send is the outcome record, so a send costs no extra
        request; every other outcome costs one C(POST /api/annotations).
      - The credentials need C(annotations:create) with scope C(annotations:type:organization). A record that
        cannot be written is a warning naming that permission; it never turns a delivery into a failure.
      - V(none) writes nothing.
    type: str
    choices: [none, grafana]
    default: none
  history_recipients:
    description:
      - Whether the outcome record lists the recipients' addresses. By default it holds only their number, as
        annotations are readable by everyone with C(annotations:read) in the organization.
    type: bool
    default: false
  history_job:
    description:
      - "The AWX/AAP job that runs the delivery, for its outcome records. Pass the variables AWX/AAP gives a job,
        C(awx_job_id) as O(history_job.id) and C(awx_job_template_name) as O(history_job.template) (see the examples);
        the role P(reportops.grafana.report_delivery#role) does."
    type: dict
    suboptions:
      id:
        description: The job id (C(awx_job_id)).
        type: int
      template:
        description: The job template's name (C(awx_job_template_name)).
        type: str
"""
