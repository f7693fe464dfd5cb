#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) reportops.grafana contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: grafana_report_render
short_description: Render a Grafana Enterprise report to a file without sending it
version_added: 0.2.0
description:
  - Renders a saved report, or dashboards given here, through Grafana Enterprise's
    C(GET /api/reports/render/pdfs) or C(GET /api/reports/render/csvs), the routes behind the
    C(Preview PDF) and C(Download CSV) buttons of Grafana's report editor, and writes the answer to O(dest).
    Nobody is mailed.
  - Serves reports over another period or with other variables than the saved ones (O(time_range), O(variables)),
    archives of what a report showed, and a dry run that proves the renderer works before a scheduled send
    relies on it.
  - The file is written on the host that runs the module (the controller for C(ansible_connection=local)),
    atomically; an existing file is replaced only when the content differs.
  - Every option is checked before any request. Then the report (or each given dashboard, through
    C(GET /api/dashboards/uid/{uid})) is read, so that an unknown report or dashboard, or one the credentials
    cannot view, fails with its own message before anything is rendered.
  - No render carries an empty time range. A dashboard without one (a saved report may keep a C(timeRange) with empty
    C(from) and C(to), as Grafana's docs show, or O(dashboards) without C(time_range)) is rendered over the dashboard's
    own time range, read from C(GET /api/dashboards/uid/{uid}); when the dashboard keeps none either, over the reporting
    frontend's default, C(now-6h) to C(now) (its C(defaultTimeRange)).
  - C(pdfCombineOneFile) is sent as the report saved it, as the report editor's C(Preview PDF) sends it. What Grafana
    answers for several dashboards without it is not documented; an answer of another type than asked for fails with
    its Content-Type and size, a binary one is kept beside O(dest) (C(DEST.zip) for a zip, else C(DEST.answer)) and
    O(dest) is left as it was. For one PDF of several dashboards, set
    O(reportops.grafana.grafana_report#module:pdf_combine_one_file) on the report.
author:
  - reportops maintainers (@reportops)
extends_documentation_fragment:
  - reportops.grafana.connection
  - reportops.grafana.connection.ATTRIBUTES
attributes:
  check_mode:
    description:
      - Checks the options, reads the report and the dashboards, and renders and writes nothing.
        Reports C(changed=true), since what a render answers cannot be known without rendering.
  diff_mode:
    support: none
    description: A rendered file is binary; RV(sha256) tells whether it changed.
options:
  report:
    description:
      - Name of the saved report to render, as in Grafana (names are unique in an organization and the same in
        every environment, unlike ids).
      - Its dashboards, their time ranges (an empty one as described above) and variables, its orientation, layout,
        scale factor, its C(pdfShowTemplateVariables) and C(pdfCombineOneFile) options and, with format
        C(pdf-tables-appendix), C(includeTables) are sent as saved, unless an option here overrides them.
      - Exactly one of O(report), O(report_id) and O(dashboards) is required.
    type: str
  report_id:
    description:
      - Id of the saved report to render (not of a dashboard), a positive integer given as a number or a string.
        Like O(report), by id.
    type: raw
    aliases: [id]
  dashboards:
    description:
      - "Dashboards to render, instead of a saved report; sent as Grafana's C(dashboards) query parameter
        (a JSON list of C({\"dashboard\": {\"uid\"}, \"timeRange\": {\"from\", \"to\"}, \"reportVariables\": {name: [values]}}))."
      - Rendering given dashboards needs no report permission, only view access to each dashboard.
    type: list
    elements: dict
    suboptions:
      uid:
        description: The dashboard's uid (from its URL, C(/d/UID/...)).
        type: str
        required: true
      time_range:
        description: The dashboard's time range (C(timeRange)); without it, the dashboard's own, else C(now-6h) to C(now).
        type: dict
        suboptions:
          from:
            description: Start, such as C(now-7d), C(now-1M/M), epoch milliseconds, or a date such as C(2026-11-01).
            type: str
          to:
            description: End, in the same forms.
            type: str
      variables:
        description: Template variables (C(reportVariables)), a name to a value or a list of values.
        type: dict
  time_range:
    description:
      - Time range for every dashboard rendered, replacing the saved ones (each dashboard's C(timeRange)).
      - "C(from) and C(to) are Grafana times: relative such as C(now-30d), C(now-1M/M) (last month, with C(to: now-1M/M)),
        C(now/d); epoch milliseconds; or a date such as C(2026-11-01) or C(2026-11-01T00:00:00+01:00), sent as epoch
        milliseconds as Grafana's own UI sends an absolute time (a date without an offset is UTC)."
      - A value Grafana cannot parse, such as C(now-7x), fails before any request.
    type: dict
    suboptions:
      from:
        description: Start of the range; required.
        type: str
      to:
        description: End of the range; required.
        type: str
  variables:
    description:
      - Template variables for every dashboard rendered, a name to a value or a list of values; each replaces the
        saved values of that variable, the others are kept (C(reportVariables)).
      - Saved values that Grafana holds as a string are sent as a one-item list, as Grafana's current UI sends them.
    type: dict
  format:
    description:
      - V(pdf) renders one PDF (C(/api/reports/render/pdfs), C(application/pdf)).
      - V(csv) renders the table panels' data (C(/api/reports/render/csvs)), which Grafana answers as a zip of CSV
        files (C(application/zip)); name O(dest) C(.zip). A report without any table panel has no CSV, which fails.
    type: str
    choices: [pdf, csv]
    default: pdf
  orientation:
    description: Page orientation (C(orientation)), instead of the report's. PDF only.
    type: str
    choices: [portrait, landscape]
  layout:
    description: Panel layout (C(layout)), instead of the report's. PDF only.
    type: str
    choices: [grid, simple]
  scale_factor:
    description: Scale of the panels, 1 to 10 (C(scaleFactor)), instead of the report's. PDF only.
    type: int
  include_tables:
    description:
      - Append the table panels' data to the PDF (C(includeTables)). PDF only.
      - Defaults to whether the saved report has the C(pdf-tables-appendix) format.
    type: bool
  title:
    description: Title of the rendered report (C(title)); defaults to the report's name.
    type: str
  dest:
    description:
      - Path of the file to write. Its folder must exist.
    type: path
    required: true
  mode:
    description:
      - Permissions of O(dest), as for M(ansible.builtin.file), such as C('0640') (quoted) or C(u=rw,g=r).
      - Without it, a new file gets the default permissions (umask) and an existing one keeps its own.
    type: raw
notes:
  - Grafana renders with its image renderer (a plugin, or the remote rendering service); without one, or when it
    times out (C([reporting] rendering_timeout)), the module fails and says which. Rendering takes as long as a
    send; O(timeout) applies.
  - Grafana embeds the render time in a PDF, so a real Grafana's PDF usually differs at each run; the file is
    then replaced, and C(changed) is true.
seealso:
  - module: reportops.grafana.grafana_report_send
  - module: reportops.grafana.grafana_report_info
  - name: Render a report and mail it yourself
    description: The collection's recipe (docs/render.md).
    link: https://github.com/reportops/grafana/blob/main/docs/render.md
"""

EXAMPLES = r"""
- name: Render last month's SLO report to a file
  reportops.grafana.grafana_report_render:
    url: https://grafana.example.com
    token: "{{ grafana_token }}"
    report: Weekly SLO
    time_range:
      from: now-1M/M
      to: now-1M/M
    dest: /srv/reports/slo-last-month.pdf
    mode: "0640"

- name: Render the report for one customer, over 30 days, in portrait
  reportops.grafana.grafana_report_render:
    report_id: 3
    time_range: {from: now-30d, to: now}
    variables:
      customer: acme
    orientation: portrait
    dest: /tmp/acme.pdf

- name: Render two dashboards without any saved report
  reportops.grafana.grafana_report_render:
    dashboards:
      - uid: slo-overview
        time_range: {from: "2026-11-01", to: "2026-12-01"}
        variables: {env: [prod, dr]}
      - uid: capacity
    title: November
    dest: /tmp/november.pdf

- name: Download the table panels' data as a zip of CSV files
  reportops.grafana.grafana_report_render:
    report: Daily Capacity
    format: csv
    dest: /tmp/capacity.zip

- name: Prove that the renderer works before tonight's scheduled send
  reportops.grafana.grafana_report_render:
    report: Weekly SLO
    dest: /tmp/renderer-check.pdf
  register: rendered
  failed_when: rendered.failed or not rendered.pages
"""

RETURN = r"""
dest:
  description: The absolute path of the file.
  returned: always
  type: str
  sample: /srv/reports/slo-last-month.pdf
size:
  description: Size of the rendered file (or of an answer of another type) in bytes.
  returned: unless check mode
  type: int
  sample: 183402
sha256:
  description: SHA-256 of the rendered file, in hex.
  returned: unless check mode
  type: str
  sample: 9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08
content_type:
  description: The Content-Type of Grafana's answer, C(application/pdf) or C(application/zip) (or, on failure, the other type it had).
  returned: unless check mode
  type: str
  sample: application/pdf
pages:
  description: Number of pages of the PDF, counted from its page objects; null when they cannot be read.
  returned: when format is pdf, unless check mode
  type: int
  sample: 2
elapsed:
  description: Seconds spent talking to Grafana (reads and the render).
  returned: always
  type: float
  sample: 4.21
report_id:
  description: The id of the saved report rendered, as a string.
  returned: when a saved report was rendered
  type: str
  sample: "3"
dashboards:
  description: The C(dashboards) parameter sent to Grafana (or, in check mode, that would be sent).
  returned: always
  type: list
  elements: dict
  sample: [{"dashboard": {"uid": "slo-overview"}, "timeRange": {"from": "now-30d", "to": "now"}, "reportVariables": {"env": ["prod"]}}]
status:
  description: HTTP status of Grafana's last answer.
  returned: when Grafana answered
  type: int
  sample: 200
"""

import contextlib
import hashlib
import os
import tempfile
import time

from ansible.module_utils.basic import AnsibleModule
from ansible.module_utils.common.text.converters import to_text

from ansible_collections.reportops.grafana.plugins.module_utils._client import GrafanaClient, GrafanaError
from ansible_collections.reportops.grafana.plugins.module_utils._module import InputError, module_kwargs, run_module
from ansible_collections.reportops.grafana.plugins.module_utils._delivery import report_id_by_name
from ansible_collections.reportops.grafana.plugins.module_utils._render import (
    CONTENT_TYPES,
    RENDER_ARGUMENT_SPEC,
    RENDER_MUTUALLY_EXCLUSIVE,
    RENDER_REQUIRED_ONE_OF,
    RenderError,
    checked_render,
    dashboard_items,
    pdf_pages,
    render_query,
    unexpected_answer,
    with_time_ranges,
)


def saved_report(client, plan):
    """The report named by `report` or `report_id`, as GET /api/reports/{id} gives it (the listing may leave
    fields out), or None when dashboards are given; GrafanaError or InputError."""
    if plan["report_id"] is not None:
        return client.get_report(plan["report_id"])
    if plan["report"] is None:
        return None
    return client.get_report(report_id_by_name(plan["report"], client.list_reports()))


class WriteError(Exception):
    """A file operation that failed, with AnsibleModule's message."""


@contextlib.contextmanager
def failures_raised(module):
    """AnsibleModule's file operations end the module with fail_json when they fail; here they raise WriteError
    instead, so that the failure leaves with the result so far."""
    def raise_failure(msg, **dummy):
        raise WriteError(msg)
    module.fail_json = raise_failure
    try:
        yield
    finally:
        del module.fail_json


def write_if_changed(module, dest, content, mode):
    """Write `content` to `dest` through a temporary file in its folder, unless it holds it already; returns changed.
    Raises WriteError."""
    with failures_raised(module):
        changed = module.sha256(dest) != hashlib.sha256(content).hexdigest()
        if changed:
            handle, temporary = tempfile.mkstemp(prefix=".%s." % os.path.basename(dest), dir=os.path.dirname(dest))
            try:
                with os.fdopen(handle, "wb") as stream:
                    stream.write(content)
                module.atomic_move(temporary, dest)
            finally:
                if os.path.exists(temporary):
                    os.unlink(temporary)
        if mode is not None:
            changed = module.set_mode_if_different(dest, mode, changed)
    return changed


def render_to_file(module):
    """Validate, plan (the report and its dashboards, each read first), execute (render, check, write):
    (the result, or a failure's message)."""
    plan = checked_render(module.params)
    result = dict(changed=False, dest=plan["dest"])
    started = time.time()
    try:
        client = GrafanaClient(module)
        report = saved_report(client, plan)
        if report is not None:
            result["report_id"] = to_text(report.get("id"))
        items = dashboard_items(plan, report)
        if not items:
            raise RenderError("report '%s' has no dashboards to render." % to_text(report.get("name")))
        result["dashboards"] = items
        # Each dashboard is read first: a missing one, or one the credentials cannot view, gets its own message; its
        # own time range replaces an empty one.
        models = dict((uid, (client.get_dashboard(uid) or {}).get("dashboard"))
                      for uid in sorted(set(item["dashboard"]["uid"] for item in items)))
        items = with_time_ranges(items, models)
        if module.check_mode:
            return dict(result, changed=True, status=200, elapsed=round(time.time() - started, 3)), None
        subject = "the %s of %s" % (plan["format"].upper(), "report '%s'" % report.get("name") if report else "the dashboards")
        status, content, content_type = client.render(plan["format"], render_query(plan, items, report), subject)
    except (InputError, GrafanaError) as exc:
        return dict(result, elapsed=round(time.time() - started, 3), **exc.result_fields()), exc.message
    result.update(status=status, elapsed=round(time.time() - started, 3))
    if status == 204:
        return result, "Grafana rendered no CSV: none of the dashboards has a table panel (HTTP 204). Render format=pdf instead."
    expected = CONTENT_TYPES[plan["format"]]
    try:
        if content_type.split(";")[0].strip().lower() != expected:
            message, keep = unexpected_answer(plan["dest"], content, content_type, expected, len(items))
            if keep:
                write_if_changed(module, keep, content, None)
            return dict(result, content_type=content_type, size=len(content)), message
        result.update(size=len(content), sha256=hashlib.sha256(content).hexdigest(), content_type=expected)
        if plan["format"] == "pdf":
            result["pages"] = pdf_pages(content)
        result["changed"] = write_if_changed(module, plan["dest"], content, plan["mode"])
    except WriteError as exc:
        return result, str(exc)
    return result, None


def main():
    module = AnsibleModule(**module_kwargs(RENDER_ARGUMENT_SPEC, mutually_exclusive=RENDER_MUTUALLY_EXCLUSIVE,
                                           required_one_of=RENDER_REQUIRED_ONE_OF))
    run_module(module, render_to_file)


if __name__ == "__main__":
    main()
