#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) reportops.grafana contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: grafana_report_dashboard
short_description: Install the "Report deliveries" dashboard (or another dashboard model) once
version_added: 0.2.0
description:
  - Installs a dashboard model in Grafana with C(POST /api/dashboards/db), in a folder that is made when it is missing.
  - The collection ships the "Report deliveries" dashboard, which shows the outcome records that O(ignore:history=grafana)
    writes, as C(roles/report_delivery/files/report-deliveries.json); the role's entry point C(dashboard) and the
    playbook C(reportops.grafana.dashboard) install it in every environment. See C(docs/history.md), "The dashboard".
  - Idempotent - the installed dashboard (C(GET /api/dashboards/uid/{uid})) is compared with O(dashboard) by a
    normalised comparison of what the collection manages, and its folder with the one asked for; when both are the same,
    nothing is written. Grafana 11 to 13 may answer the model in a newer schema than was written; so C(id) and C(version)
    are ignored, a newer C(schemaVersion) than the one of O(dashboard) counts as the same, and a field that O(dashboard)
    leaves out counts as unchanged when Grafana's value is empty (null, false, 0, an empty string, list or object) or one
    Grafana fills itself (C(pluginVersion) on panels, C(editable=true), C(timezone=browser), the built-in
    C(Annotations & Alerts) entry). Any other difference, such as a field, panel or value edited in Grafana's UI, is a
    change.
  - A change replaces the installed dashboard, including edits made in Grafana's UI; it names the version read, so that a
    change saved in Grafana between the read and the write fails the task instead of being lost - HTTP 412 before
    Grafana 12, HTTP 409 C(Dashboard already exists. Use overwrite flag to update.) from Grafana 12 on; the message
    explains both.
  - Every option is checked before any request.
  - Needs C(dashboards:read), C(dashboards:create) on the folder for a new dashboard and C(dashboards:write) to update one;
    C(folders:read) with O(folder) or O(folder_uid), and C(folders:create) when the folder is made.
author:
  - reportops maintainers (@reportops)
extends_documentation_fragment:
  - reportops.grafana.connection
  - reportops.grafana.connection.ATTRIBUTES
attributes:
  check_mode:
    description: Reads the dashboard and the folder and predicts the change; writes nothing.
  diff_mode:
    support: full
    description: Shows the dashboard model (without C(id) and C(version)) and its folder's uid, before and after.
options:
  dashboard:
    description:
      - The dashboard model to install, as Grafana's C(Export) gives it (the C(dashboard) of C(POST /api/dashboards/db)).
      - It must have a C(uid) (at most 40 characters), by which the installed dashboard is found, and a C(title).
      - "For the shipped dashboard: C({{ lookup('ansible.builtin.file', 'report-deliveries.json') }}) from the role, or
        the file C(roles/report_delivery/files/report-deliveries.json) of the installed collection."
    type: dict
    required: true
  folder:
    description:
      - Title of the folder at the root of Grafana that holds the dashboard; made when no folder has this title.
      - Found by its title across every page of the root folders (C(GET /api/folders?limit=&page=)). Since Grafana 11.3
        titles need not be unique, so a folder the credentials cannot list would be made a second time; set O(folder_uid)
        to find the folder by its uid instead.
      - With O(folder_uid), the title of the folder made when none has that uid.
      - Without O(folder) and O(folder_uid), the dashboard is at the root (Grafana's C(Dashboards), formerly C(General)).
    type: str
  folder_uid:
    description:
      - Uid of the folder that holds the dashboard, by which it is found. When there is none, it is made with title
        O(folder), which is then required.
    type: str
seealso:
  - module: reportops.grafana.grafana_report_history
"""

EXAMPLES = r"""
- name: Install the Report deliveries dashboard in the folder Reports
  reportops.grafana.grafana_report_dashboard:
    url: https://grafana.example.com
    token: "{{ grafana_token }}"
    dashboard: "{{ lookup('ansible.builtin.file', 'report-deliveries.json') | from_json }}"
    folder: Reports

- name: The same in every environment, with the role
  ansible.builtin.import_role:
    name: reportops.grafana.report_delivery
    tasks_from: dashboard
  vars:
    report_delivery_dashboard_folder: Reports
"""

RETURN = r"""
dashboard:
  description:
    - The dashboard - its uid, title, URL path and version in Grafana (after the write, if any). In check mode, or when
      it is not installed yet, C(url) and C(version) are those installed, or null.
  returned: always
  type: dict
  sample: {"uid": "reportops-report-deliveries", "title": "Report deliveries",
           "url": "/d/reportops-report-deliveries/report-deliveries", "version": 1}
folder:
  description:
    - The folder - its uid and title, and whether this run made it (C(created)); null at the root. In check mode, a folder
      to be made has the uid of O(folder_uid), or null.
  returned: always
  type: dict
  sample: {"uid": "aeh4xbd2", "title": "Reports", "created": false}
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.reportops.grafana.plugins.module_utils._client import GrafanaClient
from ansible_collections.reportops.grafana.plugins.module_utils._module import module_kwargs, run_module
from ansible_collections.reportops.grafana.plugins.module_utils._dashboard import (
    checked_dashboard,
    install,
)

ARGUMENT_SPEC = dict(
    dashboard=dict(type="dict", required=True),
    folder=dict(type="str"),
    folder_uid=dict(type="str"),
)


def install_dashboard(module):
    """Validate (the model), execute (read, compare, write when it differs): (the result, or a failure's message and status)."""
    params = module.params
    wanted = checked_dashboard(params["dashboard"])
    folder_title = (params["folder"] or "").strip() or None
    folder_uid = (params["folder_uid"] or "").strip() or None
    client = GrafanaClient(module)
    return install(client, wanted, folder_title, folder_uid, module.check_mode), None


def main():
    module = AnsibleModule(**module_kwargs(ARGUMENT_SPEC))
    run_module(module, install_dashboard)


if __name__ == "__main__":
    main()
