#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) reportops.grafana contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: grafana_report
short_description: Manage Grafana Enterprise report definitions
version_added: 0.2.0
description:
  - Creates, updates, pauses, resumes and deletes a Grafana Enterprise report, identified by its O(name), which must be
    unique in the organization.
  - Only the options you set are compared with the report, after normalising what Grafana changes on its own
    (recipient order and case, the defaults it fills in, dates answered in the schedule's time zone), so a second run
    with the same options changes nothing and sends no write.
  - An update sends one C(PUT /api/reports/{id}) with the whole definition, because Grafana replaces the definition with
    the body of that request - the report exactly as Grafana returned it, with only your options changed. Fields the
    module does not know, and the form Grafana gave a value in (a dashboard variable as a string or as a list), go
    back unchanged.
  - After a write, the report is read back. An option Grafana did not keep (an older Grafana drops the fields it does
    not know) fails the task with the option, the value asked for, what Grafana kept and Grafana's version, instead
    of reporting a change on every run.
  - Every option is checked before any request. Two reports with the name O(name) fail the task before anything is
    written.
  - Each option names the field of Grafana's report definition (C(POST /api/reports)) it sets.
  - Needs C(reports:read), and C(reports:create), C(reports:write) or C(reports:delete) for what it changes;
    C(reports:send) for O(send_test_email).
author:
  - reportops maintainers (@reportops)
extends_documentation_fragment:
  - reportops.grafana.connection
  - reportops.grafana.connection.ATTRIBUTES
attributes:
  check_mode:
    description: Reads the report and predicts the change; writes nothing and sends no test email.
  diff_mode:
    support: full
    description: Shows the options you set, before and after (all of them when the report is created or deleted).
options:
  name:
    description:
      - The report's name (Grafana field C(name)), unique in the organization. It identifies the report, whose id
        differs between Grafana instances.
    type: str
    required: true
  state:
    description:
      - V(present) creates the report or updates it to match the options; V(absent) deletes it.
      - Creating a report needs O(recipients) and O(dashboards). A new report always gets a schedule with a time zone
        (without O(schedule), frequency V(never) - sent only when asked - in V(UTC)) and the dashboard link
        (O(include_dashboard_link)), as Grafana's UI and the Terraform provider do.
    type: str
    choices: [present, absent]
    default: present
  recipients:
    description:
      - Addresses the report is mailed to (Grafana field C(recipients), one comma-separated string).
      - Items may themselves hold several addresses separated by commas or semicolons. Duplicates are dropped; order
        and case do not count as a change.
    type: list
    elements: str
  reply_to:
    description:
      - Reply-to addresses of the mail (Grafana field C(replyTo), one comma-separated string). An empty list removes them.
      - Items may themselves hold several addresses separated by commas or semicolons; order and case do not count as
        a change.
    type: list
    elements: str
  subject:
    description:
      - Subject of the mail (Grafana field C(subject)). Grafana uses the report name when it is empty.
    type: str
  body:
    description:
      - Text of the mail (Grafana field C(message); the option is not called C(message), a name Ansible keeps
        for itself).
    type: str
  dashboards:
    description:
      - The dashboards the report renders, in order (Grafana field C(dashboards)). Must not be empty.
      - A dashboard that leaves out O(dashboards[].time_range) or O(dashboards[].variables) keeps the saved values of
        the dashboard with the same uid.
    type: list
    elements: dict
    suboptions:
      uid:
        description:
          - The dashboard's uid, as in its URL C(/d/UID/...) (Grafana field C(dashboards[].dashboard.uid)).
        type: str
        required: true
      time_range:
        description:
          - Time range of this dashboard in the report (Grafana field C(dashboards[].timeRange)).
          - Both empty means the dashboard's own time range.
        type: dict
        suboptions:
          from:
            description: Start, such as V(now-7d), V(now/w) or a date (Grafana field C(timeRange.from)).
            type: str
          to:
            description: End, such as V(now) (Grafana field C(timeRange.to)).
            type: str
      variables:
        description:
          - Template variable values, a dictionary of variable name to a list of values (Grafana field
            C(dashboards[].reportVariables)). A single string is a one-value list.
          - Grafana stores a value as a string or as a list; both forms compare equal, and a value you did not change
            goes back in the form Grafana gave it.
        type: dict
  schedule:
    description:
      - When Grafana sends the report (Grafana field C(schedule)). Only the sub-options you set are compared and changed.
      - A new report without O(schedule.frequency) gets V(never), and without O(schedule.time_zone) V(UTC).
    type: dict
    suboptions:
      frequency:
        description:
          - How often (Grafana field C(schedule.frequency)). V(custom) needs O(schedule.interval_amount) and
            O(schedule.interval_unit). V(never) (deprecated by Grafana) keeps the report for on-demand sends.
        type: str
        choices: [once, hourly, daily, weekly, monthly, last, custom, never]
      start:
        description:
          - First send (Grafana field C(schedule.startDate)), such as V(2030-05-06 09:00) or
            V(2030-05-06T09:00:00+02:00).
          - Without an offset, it is in O(schedule.time_zone), else the report's saved time zone, else UTC.
            Grafana answers dates in the schedule's time zone; only the instant is compared.
        type: str
      end:
        description:
          - Last send (Grafana field C(schedule.endDate)), in the same forms as O(schedule.start), after it.
            An empty string removes the end date.
        type: str
      time_zone:
        description:
          - IANA time zone of the schedule, such as V(Europe/Warsaw) or V(UTC) (Grafana field C(schedule.timeZone)).
        type: str
      workdays_only:
        description:
          - Send on Monday to Friday only (Grafana field C(schedule.workdaysOnly)). V(true) needs O(schedule.frequency)
            V(hourly) or V(daily).
        type: bool
      interval_amount:
        description:
          - Every how many O(schedule.interval_unit) a V(custom) schedule sends (Grafana field C(schedule.intervalAmount)).
        type: int
      interval_unit:
        description:
          - Unit of a V(custom) schedule (Grafana field C(schedule.intervalFrequency)).
        type: str
        choices: [hours, days, weeks, months]
      last_day_of_month:
        description:
          - Send on the last day of the month (Grafana field C(schedule.dayOfMonth=last)). V(true) needs
            O(schedule.frequency) V(monthly).
        type: bool
  formats:
    description:
      - Attachments (Grafana field C(formats)). Grafana's default is V([pdf]). Order does not count as a change.
    type: list
    elements: str
    choices: [pdf, csv, image, pdf-tables, pdf-tables-appendix]
  orientation:
    description:
      - PDF page orientation (Grafana field C(options.orientation)); Grafana's default is V(landscape).
    type: str
    choices: [portrait, landscape]
  layout:
    description:
      - PDF layout (Grafana field C(options.layout)); Grafana's default is V(grid).
    type: str
    choices: [grid, simple]
  time_range:
    description:
      - Default time range of the report's dashboards (Grafana field C(dashboards[].timeRange)) - every dashboard that
        has none (neither in O(dashboards) nor saved) gets this one.
      - It is not written to the report-wide Grafana field C(options.timeRange), which Grafana ignores when a report
        has dashboards (the Terraform provider deprecated its field for that reason); a saved one is left as it is.
    type: dict
    suboptions:
      from:
        description: Start, such as V(now-7d) (Grafana field C(options.timeRange.from)).
        type: str
      to:
        description: End, such as V(now) (Grafana field C(options.timeRange.to)).
        type: str
  scale_factor:
    description:
      - Scale of the rendered panels, 1 to 10 (Grafana field C(scaleFactor)). Grafana fills in 2 when it is unset.
    type: int
  include_dashboard_link:
    description:
      - Put a link to the dashboard in the mail (Grafana field C(enableDashboardUrl)). A new report has it unless
        this is V(false).
    type: bool
  pdf_show_template_variables:
    description:
      - Show the template variable values in the PDF (Grafana field C(options.pdfShowTemplateVariables)).
    type: bool
  pdf_combine_one_file:
    description:
      - Render several dashboards into one PDF file (Grafana field C(options.pdfCombineOneFile)).
    type: bool
  paused:
    description:
      - V(true) pauses the scheduled sends (Grafana field C(state=paused)); V(false) resumes them (C(state=scheduled)).
      - When unset, the state is left as it is (a new report is scheduled).
    type: bool
  send_test_email:
    description:
      - After applying the definition, mail it once through C(POST /api/reports/test-email), which renders it without
        saving anything, to O(test_email_recipients), else to the report's recipients. Never in check mode.
      - The test email is sent on every run with this option, and does not count as a change.
    type: bool
    default: false
  test_email_recipients:
    description:
      - Where the test email of O(send_test_email) goes (Grafana field C(recipients) of the test email's body only).
        The report's saved recipients stay as they are.
      - Needs O(send_test_email=true). Checked like O(recipients).
    type: list
    elements: str
    version_added: 0.2.0
notes:
  - Report ids differ between Grafana instances; the module returns this instance's as RV(report_id).
  - Grafana's C(/api/reports/{id}) routes are marked deprecated in favour of the apiserver but still served.
seealso:
  - module: reportops.grafana.grafana_report_info
  - module: reportops.grafana.grafana_report_send
  - module: reportops.grafana.grafana_report_settings
"""

EXAMPLES = r"""
- name: Weekly SLO report, every Monday at 09:00 Warsaw time
  reportops.grafana.grafana_report:
    url: https://grafana.example.com
    token: "{{ grafana_token }}"
    name: Weekly SLO
    recipients: [sre@example.com, lead@example.com]
    subject: Weekly SLO
    dashboards:
      - uid: slo-overview
        time_range: {from: now-7d, to: now}
        variables:
          env: [prod]
    schedule:
      frequency: weekly
      start: 2030-05-06 09:00
      time_zone: Europe/Warsaw
    formats: [pdf, csv]
    orientation: landscape
  register: weekly

- name: Pause it during the freeze
  reportops.grafana.grafana_report:
    url: https://grafana.example.com
    token: "{{ grafana_token }}"
    name: Weekly SLO
    paused: true

- name: Mail the current definition once to me, to check how it looks (its recipients stay as they are)
  reportops.grafana.grafana_report:
    url: https://grafana.example.com
    token: "{{ grafana_token }}"
    name: Weekly SLO
    send_test_email: true
    test_email_recipients: [me@example.com]

- name: Remove a report
  reportops.grafana.grafana_report:
    url: https://grafana.example.com
    token: "{{ grafana_token }}"
    name: Old report
    state: absent
"""

RETURN = r"""
report_id:
  description: The report's id in this Grafana; null when there is none (deleted, absent, or to be created in check mode).
  returned: always
  type: int
  sample: 4
report:
  description:
    - The report as Grafana answers it after the change (GET /api/reports/{id}), with Grafana's defaults filled in.
    - In check mode, the definition that would be saved. Empty when the report is absent.
  returned: always
  type: dict
  sample: {"id": 4, "uid": "abc123", "name": "Weekly SLO", "recipients": "sre@example.com,lead@example.com",
           "state": "scheduled", "formats": ["pdf", "csv"], "schedule": {"frequency": "weekly"}}
action:
  description: What was done (or would be, in check mode).
  returned: always
  type: str
  choices: [created, updated, deleted, unchanged]
  sample: updated
changed_fields:
  description: The options that differed, with sub-options of O(schedule) as C(schedule.NAME).
  returned: always
  type: list
  elements: str
  sample: [recipients, schedule.start]
test_email:
  description: Grafana's answer to the test email.
  returned: when O(send_test_email=true) and not in check mode
  type: str
  sample: Test email sent
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.reportops.grafana.plugins.module_utils._client import GrafanaClient
from ansible_collections.reportops.grafana.plugins.module_utils._module import ModuleError, module_kwargs, run_module
from ansible_collections.reportops.grafana.plugins.module_utils._report_values import one_report_id
from ansible_collections.reportops.grafana.plugins.module_utils._report_definition import (
    REPORT_ARGUMENT_SPEC,
    DefinitionError,
    changed_fields,
    checked_definition,
    current_view_of,
    report_body,
    report_view,
    saved_definition,
    test_email_body,
    unkept_fields,
    wanted_view,
)


class UnkeptError(ModuleError):
    """A write that Grafana answered with success but did not keep; the result says what was written."""

    def __init__(self, message, result):
        super(UnkeptError, self).__init__(message)
        self.result = result

    def result_fields(self):
        return self.result


def absent(module, client, definition, current):
    if current is None:
        return dict(changed=False, action="unchanged", report_id=None, report={}, changed_fields=[],
                    diff=dict(before=dict(name=definition["name"], state="absent"), after=dict(name=definition["name"], state="absent")))
    if not module.check_mode:
        client.delete_report(current["id"])
    before = dict(report_view(current), state="present")
    return dict(changed=True, action="deleted", report_id=None, report={}, changed_fields=["state"],
                diff=dict(before=before, after=dict(name=definition["name"], state="absent")))


def checked_read_back(client, wanted, report_id, result):
    """The report read back after a write; UnkeptError when Grafana did not keep a field it was sent,
    which an older Grafana does with fields it does not know (it would otherwise change on every run)."""
    report = client.get_report(report_id)
    result["report"] = report
    problems = unkept_fields(wanted, report)
    if problems:
        version = client.version_phrase()
        raise UnkeptError("%s did not keep what the report '%s' (id %s) was %s with: %s. This Grafana version does not store "
                          "these fields: leave those options unset for this environment, or upgrade Grafana."
                          % (version, report.get("name"), report_id, result["action"],
                             "; ".join("%s: asked for %r, Grafana kept %r" % problem for problem in problems)), result)
    return report


def present(module, client, definition, current):
    wanted = wanted_view(definition, current)
    if current is None:
        missing = [key for key in ("recipients", "dashboards") if key not in wanted]
        if missing:
            raise DefinitionError("report '%s' does not exist in this Grafana yet: creating it needs %s."
                                  % (definition["name"], " and ".join(missing)))
        wanted["name"] = definition["name"]
        body = report_body(wanted)
        result = dict(changed=True, action="created", report_id=None, report=dict(body), changed_fields=sorted(wanted),
                      diff=dict(before=dict(name=definition["name"], state="absent"), after=dict(wanted, state="present")))
        if not module.check_mode:
            result["report_id"] = client.create_report(body)
            checked_read_back(client, wanted, result["report_id"], result)
        return body, result
    before = current_view_of(wanted, current)
    fields = changed_fields(before, wanted)
    diff = dict(before=dict(before, name=definition["name"], state="present"),
                after=dict(wanted, name=definition["name"], state="present"))
    if not fields:
        return saved_definition(current), dict(changed=False, action="unchanged", report_id=current["id"], report=current, changed_fields=[], diff=diff)
    body = report_body(wanted, current)
    result = dict(changed=True, action="updated", report_id=current["id"], report=dict(body), changed_fields=fields, diff=diff)
    if not module.check_mode:
        client.update_report(current["id"], body)
        checked_read_back(client, wanted, current["id"], result)
    return body, result


def apply(module):
    """Validate, plan (read the report of that name), execute (create, update or delete; the test email):
    (the result, or a failure's message)."""
    definition = checked_definition(module.params)
    client = GrafanaClient(module)
    report_id = one_report_id(definition["name"], client.list_reports(), DefinitionError, (
        "grafana_report needs a name that is unique in the organization: rename or delete the extra ones in Grafana."
        " Nothing was changed."))
    # The listing may leave fields out; the report itself is complete.
    current = client.get_report(report_id) if report_id else None
    if definition["state"] == "absent":
        result = absent(module, client, definition, current)
    else:
        body, result = present(module, client, definition, current)
        if definition["send_test_email"] and not module.check_mode:
            result["test_email"] = client.send_test_email(test_email_body(body, definition)).get("message", "")
    return result, None


def main():
    module = AnsibleModule(**module_kwargs(REPORT_ARGUMENT_SPEC))
    run_module(module, apply)


if __name__ == "__main__":
    main()
