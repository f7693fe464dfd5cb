# -*- coding: utf-8 -*-
# Copyright (c) reportops.grafana contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations


class ModuleDocFragment:
    # The deliveries of grafana_report_deliver and grafana_report_preflight; the argument spec that matches them is
    # _delivery.DELIVERIES_SUBOPTIONS, which checks both modules' deliveries (and the role's).
    DOCUMENTATION = r"""
options:
  deliveries:
    description:
      - The deliveries of this Grafana, as M(reportops.grafana.grafana_report_deliver) sends them and
        M(reportops.grafana.grafana_report_preflight) checks them. Names must be unique.
    type: list
    elements: dict
    required: true
    suboptions:
      name:
        description:
          - Names the delivery in results and messages. 1 to 64 letters, digits, C(.), C(_) or C(-), starting with a
            letter or digit.
        type: str
        required: true
      report:
        description:
          - The name of the report, looked up in this Grafana (report ids differ between Grafana instances).
          - Exactly one of O(deliveries[].report) and O(deliveries[].report_id) is required.
        type: str
      report_id:
        description:
          - The id of the report in this Grafana (not a dashboard id), a positive integer.
        type: raw
      emails:
        description:
          - Addresses to send the report to, as in M(reportops.grafana.grafana_report_send)'s O(reportops.grafana.grafana_report_send#module:emails).
          - Exactly one of O(deliveries[].emails) and O(deliveries[].use_emails_from_report=true) is required.
        type: list
        elements: str
      use_emails_from_report:
        description:
          - Send to the recipients saved in the report.
        type: bool
        default: false
      delivery_key:
        description:
          - Names this delivery in the ledger, as in M(reportops.grafana.grafana_report_send).
        type: str
      min_interval:
        description:
          - Skip the delivery if it succeeded less than this long ago, such as C(90s), C(30m), C(12h), C(7d).
        type: str
"""
