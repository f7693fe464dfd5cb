#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) reportops.grafana contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: grafana_report_preflight
short_description: Say what a first run of the deliveries would meet in one Grafana, without sending anything
version_added: 0.2.0
description:
  - Checks, read-only, what the deliveries in O(deliveries) and the uses in O(ledger), O(history) and O(features) need
    from one Grafana, and returns one check per need in RV(checks). It never writes to Grafana (only C(GET) requests)
    and never sends a report. It is the engine of the entry point C(preflight) of the role
    P(reportops.grafana.report_delivery#role) and the playbook C(reportops.grafana.preflight).
  - The module fails when a check fails, naming each; a check that warns is an Ansible warning. Every message that is
    not V(ok) says what to change, naming the permission, setting or report.
  - "The checks, each with what it reads, what it needs, and what it cannot prove. docs/first-run.md names the
    Grafana source of each."
  - "C(connection): reads C(GET /api/frontend/settings), which any signed-in caller may read; needs the URL and
    credentials to work. When it fails it is the only check: nothing else can be read."
  - "C(edition): reads C(buildInfo.edition) and C(buildInfo.version) of the frontend settings; needs Grafana
    Enterprise (an Open Source build answers the report routes with 404)."
  - "C(licence): reads C(licenseInfo.expiry); fails when the licence has expired (Grafana sends no reports then), warns
    when it ends within 30 days. When Grafana does not say when it ends (expiry 0, as a hosted Grafana may answer), it
    reads C(GET /api/reports): a listing warns that the end is unknown, a 404 (no report route) fails."
  - "C(reporting): reads C(reporting.enabled); needs C([reporting] enabled = true). V(skipped) when Grafana does not
    say."
  - "C(renderer): reads C(rendererAvailable), C(rendererVersion) and C(featureToggles). C(rendererAvailable) only says
    that a renderer is configured; an empty C(rendererVersion) says that the rendering service never answered Grafana,
    and Grafana renders PDFs only with renderer 3.10.0 or later (always on Grafana 13, with the C(newPDFRendering)
    feature toggle before): each of these fails every send. On Grafana 12 and 13 the advice is the rendering service
    (C([rendering] server_url)). A warning only when nothing is sent or rendered (no deliveries, no V(render)
    feature, O(render=false)). It cannot prove that the renderer renders in time: O(render=true) does."
  - "C(smtp): reads C(GET /api/admin/settings) (C(smtp.enabled)), which needs C(settings:read), a Grafana server admin's;
    fails when SMTP is off and deliveries are sent (every send fails then). For other credentials (an organization's
    service account gets 403) it is V(skipped), saying how to verify SMTP: a test email (M(reportops.grafana.grafana_report)
    with C(send_test_email)). It cannot prove that the mail server accepts Grafana's mail."
  - "C(clock): reads the C(Date) header of the frontend settings' answer; needs that clock within O(max_clock_skew)
    seconds of this host's. With the Grafana ledger a larger skew fails, otherwise it warns. Behind a proxy (nginx
    replaces C(Date) by default) it is the proxy's clock, and the message says so when the answer names the proxy
    (C(Via), C(Server)); no read-only route gives a time that Grafana stamps now."
  - "C(permissions:<use>), one per use of the run: reads C(GET /api/access-control/user/permissions?reloadcache=true)
    (the caller's actions and their scopes, read fresh so that a role granted a minute ago counts). C(send) (any
    delivery) needs C(reports:send); C(names) (a delivery with O(deliveries[].report)) needs C(reports:read); C(ledger)
    (O(ledger=grafana), used by deliveries with a delivery key or minimum interval) needs C(annotations:read),
    C(annotations:create), C(annotations:write) and C(annotations:delete), and C(history) (O(history=grafana))
    C(annotations:read) and C(annotations:create), all with scope C(annotations:type:organization) (a scope of
    dashboards lists no organization annotation); C(definitions) needs C(reports:read), C(reports:create),
    C(reports:write) (or C(reports.admin:create), C(reports.admin:write), their names in some versions) and
    C(reports:delete); C(settings) needs C(reports.settings:read) and C(reports.settings:write); C(dashboard) needs
    C(dashboards:read), C(folders:read) with a folder, C(folders:create) only when the folder is missing,
    C(dashboards:create) for a new dashboard and C(dashboards:write) for an installed one (both when
    O(dashboard_uid) is not given). When Grafana does not give the permissions, one C(permissions) check warns."
  - "C(report:<delivery>), one per delivery: reads C(GET /api/reports) once, then each report (C(GET /api/reports/{id}))
    and each of its dashboards (C(GET /api/dashboards/uid/{uid})); needs the report to exist once under its name (or
    its id), with dashboards the credentials can view (Grafana renders as the caller). Names are resolved by the code
    that sends (M(reportops.grafana.grafana_report_deliver))."
  - "C(render:<delivery>), with O(render=true): renders the report once through C(GET /api/reports/render/pdfs), as
    its send would, and says how long it took; needs the renderer and view access to the dashboards. Warns when the
    render took more than half of O(timeout)."
author:
  - reportops maintainers (@reportops)
extends_documentation_fragment:
  - reportops.grafana.connection
  - reportops.grafana.connection.ATTRIBUTES
  - reportops.grafana.deliveries
attributes:
  check_mode:
    support: full
    description: The module only reads; check mode changes nothing in what it does.
  diff_mode:
    support: none
    description: Nothing changes.
options:
  ledger:
    description:
      - The delivery ledger the run will use, as O(reportops.grafana.grafana_report_deliver#module:ledger). With
        V(grafana), the deliveries that have a delivery key or a minimum interval (or, without deliveries, the run)
        need the annotation permissions and a clock close to Grafana's.
    type: str
    choices: [file, grafana]
    default: file
  history:
    description:
      - Whether the run will write outcome records, as O(reportops.grafana.grafana_report_deliver#module:history).
        V(grafana) needs the annotation permissions.
    type: str
    choices: [none, grafana]
    default: none
  features:
    description:
      - Other uses to check. V(definitions) (M(reportops.grafana.grafana_report)), V(settings)
        (M(reportops.grafana.grafana_report_settings)) and V(dashboard) (M(reportops.grafana.grafana_report_dashboard))
        add their permission checks; V(render) (M(reportops.grafana.grafana_report_render), the role's archive) makes a
        missing renderer fail even without deliveries.
    type: list
    elements: str
    choices: [definitions, settings, dashboard, render]
    default: []
  render:
    description:
      - Render each delivery's report once through C(GET /api/reports/render/pdfs), sending nothing, and say how long it
        took. Costs Grafana one render per report.
    type: bool
    default: false
  max_clock_skew:
    description:
      - Seconds by which Grafana's clock may differ from this host's. The Grafana ledger tolerates 10.
    type: int
    default: 10
  dashboard_uid:
    description:
      - With the V(dashboard) feature, the uid of the dashboard the run installs (the role's is
        C(reportops-report-deliveries)), to ask for C(dashboards:create) when it is missing and C(dashboards:write)
        when it is installed, not both.
    type: str
  dashboard_folder:
    description:
      - With the V(dashboard) feature, the title of the folder the dashboard goes into, as
        O(reportops.grafana.grafana_report_dashboard#module:folder); C(folders:create) is asked for only when no folder
        has this title.
    type: str
  dashboard_folder_uid:
    description:
      - With the V(dashboard) feature, the uid of that folder, as
        O(reportops.grafana.grafana_report_dashboard#module:folder_uid); found by uid rather than by title.
    type: str
seealso:
  - module: reportops.grafana.grafana_report_deliver
  - module: reportops.grafana.grafana_report_render
"""

EXAMPLES = r"""
- name: Before the first real run, check what it would meet in this Grafana
  reportops.grafana.grafana_report_preflight:
    url: https://grafana.example.com
    token: "{{ grafana_token }}"
    ledger: grafana
    render: true
    deliveries:
      - name: weekly-slo
        report: Weekly SLO
        use_emails_from_report: true
        min_interval: 12h
  register: preflight

- name: Show the checks that are not ok
  ansible.builtin.debug:
    msg: "{{ preflight.checks | rejectattr('status', 'equalto', 'ok') | list }}"

- name: Check Grafana alone, ad hoc, with the credentials in GRAFANA_URL and GRAFANA_TOKEN
  reportops.grafana.grafana_report_preflight:
    deliveries: []
    features: [definitions, dashboard]
    dashboard_uid: reportops-report-deliveries
    dashboard_folder: Reports
"""

RETURN = r"""
grafana:
  description: What Grafana says about itself (its frontend settings); empty when it could not be read.
  returned: always
  type: dict
  contains:
    version:
      description: Grafana's version (C(buildInfo.version)).
      type: str
      sample: 11.5.0
    edition:
      description: C(Enterprise) or C(Open Source) (C(buildInfo.edition)).
      type: str
      sample: Enterprise
    licence_expiry:
      description: When the licence ends (C(licenseInfo.expiry)), in UTC; null without a licence.
      type: str
      sample: "2026-01-31T00:00:00Z"
    licence_state:
      description: Grafana's words on the licence (C(licenseInfo.stateInfo)), or null.
      type: str
      sample: null
    renderer_available:
      description: Whether Grafana has a renderer (C(rendererAvailable)).
      type: bool
      sample: true
    renderer_version:
      description: The renderer's version (C(rendererVersion)), or null.
      type: str
      sample: 4.0.1
    reporting_enabled:
      description: C(reporting.enabled), or null when Grafana does not say.
      type: bool
      sample: true
    clock_skew:
      description: Seconds Grafana's clock is ahead of this host's (negative when behind), from its C(Date) header.
      type: int
      sample: 0
    smtp_enabled:
      description: C([smtp] enabled) from C(GET /api/admin/settings); null when these credentials cannot read it.
      type: bool
      sample: null
checks:
  description: One record per check, in the order of the module's description.
  returned: when the options were valid
  type: list
  elements: dict
  contains:
    name:
      description: The check, such as C(renderer), C(permissions:ledger), C(report:weekly-slo) or C(render:weekly-slo).
      type: str
      sample: permissions:ledger
    status:
      description: V(ok), V(warn), V(fail) or V(skipped) (could not be checked, see its message).
      type: str
      sample: fail
    message:
      description: What was found; unless V(ok), what to change.
      type: str
      sample: >-
        The credentials lack annotations:read with scope annotations:type:organization (it holds
        annotations:type:dashboard only), which ledger: grafana needs: grant it to the service account (or user), for
        example through a role that has them.
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.reportops.grafana.plugins.module_utils._client import GrafanaClient
from ansible_collections.reportops.grafana.plugins.module_utils._module import module_kwargs, run_module
from ansible_collections.reportops.grafana.plugins.module_utils._preflight import (
    PREFLIGHT_ARGUMENT_SPEC,
    WARN,
    Preflight,
    checked_params,
    failure,
)


def preflight(module):
    """Validate, then read and check: (the result, or a failure's message). Only GET requests."""
    deliveries, uses = checked_params(module.params)
    client = GrafanaClient(module)
    grafana, checks = Preflight(client, module.params, deliveries, uses).run()
    for item in checks:
        if item["status"] == WARN:
            # Named by its Grafana: the pre-flight of several environments prints their warnings together.
            module.warn("%s, %s: %s" % (client.base_url, item["name"], item["message"]))
    return dict(changed=False, grafana=grafana, checks=checks), failure(checks)


def main():
    module = AnsibleModule(**module_kwargs(PREFLIGHT_ARGUMENT_SPEC))
    run_module(module, preflight, failed_result=dict(grafana={}))


if __name__ == "__main__":
    main()
