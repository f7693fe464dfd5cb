#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) reportops.grafana contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: grafana_report_info
short_description: Read Grafana Enterprise reports
version_added: 0.1.0
description:
  - Lists the reports of a Grafana organization, or finds one by id, by name or by uid.
  - Report ids differ between Grafana instances while names are shared, so this module turns a report name into
    the id that M(reportops.grafana.grafana_report_send) needs in each environment.
  - Each report comes with its RV(reports[].definition), the M(reportops.grafana.grafana_report) options that recreate
    it, to copy reports between environments (see the playbook C(reportops.grafana.export_definitions)).
  - Needs the C(reports:read) permission.
author:
  - reportops maintainers (@reportops)
extends_documentation_fragment:
  - reportops.grafana.connection
  - reportops.grafana.connection.ATTRIBUTES
  - reportops.grafana.connection.READ_ONLY
options:
  report_id:
    description:
      - Return only the report with this id (a positive integer). Mutually exclusive with O(name) and O(uid).
      - A report that does not exist gives an empty list.
    type: raw
    aliases: [id]
  name:
    description:
      - Return only the reports with exactly this name (case-sensitive). Mutually exclusive with O(report_id) and O(uid).
      - A name that matches nothing gives an empty list; Grafana allows several reports with one name.
    type: str
  uid:
    description:
      - Return only the report with this uid (case-sensitive), which Grafana assigns when the report is created.
        Mutually exclusive with O(report_id) and O(name).
      - Grafana has no route by uid, so this lists the reports and picks it; a uid that matches nothing gives an empty list.
    type: str
    version_added: 0.2.0
seealso:
  - module: reportops.grafana.grafana_report_send
"""

EXAMPLES = r"""
- name: List every report of the organization
  reportops.grafana.grafana_report_info:
    url: https://grafana.example.com
    token: "{{ grafana_token }}"
  register: all_reports

- name: Find the id of "Weekly SLO" in this environment
  reportops.grafana.grafana_report_info:
    url: "{{ grafana_url }}"
    token: "{{ grafana_token }}"
    name: Weekly SLO
  register: weekly

- name: Send it
  reportops.grafana.grafana_report_send:
    url: "{{ grafana_url }}"
    token: "{{ grafana_token }}"
    report_id: "{{ weekly.reports[0].id }}"
    use_emails_from_report: true
  when: weekly.reports | length == 1

- name: Copy "Weekly SLO" from staging to production
  reportops.grafana.grafana_report:
    url: "{{ production_grafana_url }}"
    token: "{{ production_grafana_token }}"
    name: "{{ weekly.reports[0].definition.name }}"
    recipients: "{{ weekly.reports[0].definition.recipients }}"
    subject: "{{ weekly.reports[0].definition.subject }}"
    body: "{{ weekly.reports[0].definition.body }}"
    dashboards: "{{ weekly.reports[0].definition.dashboards }}"
    schedule: "{{ weekly.reports[0].definition.schedule | default(omit) }}"
    formats: "{{ weekly.reports[0].definition.formats }}"
    orientation: "{{ weekly.reports[0].definition.orientation }}"
    layout: "{{ weekly.reports[0].definition.layout }}"
    scale_factor: "{{ weekly.reports[0].definition.scale_factor }}"
    include_dashboard_link: "{{ weekly.reports[0].definition.include_dashboard_link }}"
    paused: "{{ weekly.reports[0].definition.paused }}"
  when: weekly.reports | length == 1
"""

RETURN = r"""
reports:
  description: The reports found, in Grafana's order; empty when none matched.
  returned: always
  type: list
  elements: dict
  contains:
    id:
      description: The report id, an integer unique within one Grafana instance.
      type: int
      sample: 3
    uid:
      description: The report uid (empty on Grafana versions that have none).
      type: str
      sample: abc123
    name:
      description: The report name.
      type: str
      sample: Weekly SLO
    recipients:
      description: The saved recipients, split from Grafana's comma- or semicolon-separated string.
      type: list
      elements: str
      sample: [sre@example.com, lead@example.com]
    state:
      description: The report state, such as V(scheduled), V(paused), V(expired), V(draft) or V(not scheduled).
      type: str
      sample: scheduled
    schedule:
      description: The report schedule as Grafana returns it (frequency, start and end dates, time zone...).
      type: dict
      sample: {"frequency": "weekly", "timeZone": "Europe/Warsaw", "startDate": "2022-10-02T00:00:00+02:00"}
    dashboards:
      description:
        - The dashboards in the report, as Grafana returns them.
        - Reports of Grafana before 9 have one dashboard, returned here as a one-item list.
      type: list
      elements: dict
      sample: [{"dashboard": {"id": 463, "uid": "7MeksYbmk", "name": "SLOs"}, "timeRange": {"from": "now-7d", "to": "now"}}]
    definition:
      description:
        - The options of M(reportops.grafana.grafana_report) that recreate this report, in that module's forms
          (recipients and reply-to addresses as lists, dashboard variables as lists of values, dates with the schedule's
          UTC offset). Applied to the same Grafana they change nothing; applied to another Grafana they create an equal
          report.
        - Always has V(name), V(recipients), V(subject), V(body), V(dashboards), V(formats), V(orientation), V(layout),
          V(scale_factor), V(include_dashboard_link), V(pdf_show_template_variables), V(pdf_combine_one_file) and
          V(paused); V(reply_to) and V(schedule) when the report has them, with only the schedule sub-options its
          frequency uses.
        - Dashboards are referred to by uid, so the other Grafana needs dashboards with the same uids.
      type: dict
      version_added: 0.2.0
      sample: {"name": "Weekly SLO", "recipients": ["sre@example.com"], "subject": "", "body": "Hi",
               "dashboards": [{"uid": "7MeksYbmk", "time_range": {"from": "now-7d", "to": "now"}, "variables": {"env": ["prod"]}}],
               "schedule": {"frequency": "weekly", "start": "2030-05-06T09:00:00+02:00", "time_zone": "Europe/Warsaw"},
               "formats": ["pdf"], "orientation": "landscape", "layout": "grid", "scale_factor": 2,
               "include_dashboard_link": true, "pdf_show_template_variables": false, "pdf_combine_one_file": false,
               "paused": false}
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.reportops.grafana.plugins.module_utils._client import GrafanaClient, GrafanaError
from ansible_collections.reportops.grafana.plugins.module_utils._module import module_kwargs, run_module
from ansible_collections.reportops.grafana.plugins.module_utils._report_values import split_recipients
from ansible_collections.reportops.grafana.plugins.module_utils._delivery import checked_report_id
from ansible_collections.reportops.grafana.plugins.module_utils._report_definition import (
    DefinitionError,
    dashboards_of,
    definition_options,
)


def exported_definition(module, report):
    """The report's definition; None, with a warning, for a report this collection cannot read as one."""
    try:
        return definition_options(report)
    except DefinitionError as exc:
        module.warn("report %s (%s) has no definition: %s" % (report.get("id"), report.get("name"), exc))
        return None


def summarized(module, report):
    """The fields the collection documents, with recipients as a list."""
    return dict(
        id=report.get("id"),
        uid=report.get("uid", ""),
        name=report.get("name"),
        recipients=split_recipients([report.get("recipients") or ""]),
        state=report.get("state"),
        schedule=report.get("schedule") or {},
        dashboards=dashboards_of(report),
        definition=exported_definition(module, report),
    )


def read_reports(module):
    """Validate (the report id by the delivery model's rule), execute: (the result, or a failure's message)."""
    params = module.params
    report_id = checked_report_id(params["report_id"]) if params["report_id"] is not None else None
    client = GrafanaClient(module)
    if report_id is not None:
        try:
            reports = [client.get_report(report_id)]
        except GrafanaError as exc:
            if exc.status != 404:
                raise
            reports = []
    else:
        reports = client.list_reports()
        for key in ("name", "uid"):
            if params[key] is not None:
                reports = [report for report in reports if report.get(key) == params[key]]
    return dict(changed=False, reports=[summarized(module, report) for report in reports]), None


def main():
    module = AnsibleModule(**module_kwargs(dict(
        report_id=dict(type="raw", aliases=["id"]),
        name=dict(type="str"),
        uid=dict(type="str"),
    ), mutually_exclusive=[("report_id", "name", "uid")]))
    run_module(module, read_reports)


if __name__ == "__main__":
    main()
