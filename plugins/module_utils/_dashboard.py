# -*- coding: utf-8 -*-
# Copyright (c) reportops.grafana contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

# Private to the reportops.grafana collection: not a public API, may change without notice.

"""Installing a dashboard once: its folder (made when missing), a comparison with the installed one, one write."""

from __future__ import annotations

from ansible_collections.reportops.grafana.plugins.module_utils._client import GrafanaError

# Fields of a dashboard model that Grafana sets on every save; they never make two models differ.
GRAFANA_SET_FIELDS = ("id", "version")
UID_MAX_LENGTH = 40
SAVE_MESSAGE = "Installed by reportops.grafana"


class DashboardError(ValueError):
    """Invalid input to the dashboard module; the message names the option."""


def checked_dashboard(dashboard):
    """The dashboard model to install, or DashboardError: it needs a uid (to find it again) and a title."""
    if not isinstance(dashboard, dict):
        raise DashboardError("dashboard must be a dashboard model (a dict), such as the JSON of Grafana's 'Export'.")
    uid, title = dashboard.get("uid"), dashboard.get("title")
    if not isinstance(uid, str) or not uid.strip() or len(uid) > UID_MAX_LENGTH:
        raise DashboardError("dashboard must have a uid of 1 to %d characters, by which it is found on the next run; got %r."
                             % (UID_MAX_LENGTH, uid))
    if not isinstance(title, str) or not title.strip():
        raise DashboardError("dashboard must have a title.")
    return dashboard


def content(model):
    """A dashboard model without what Grafana sets itself, for comparing the installed one with the wanted one."""
    return dict((key, value) for key, value in (model or {}).items() if key not in GRAFANA_SET_FIELDS)


def installed_dashboard(client, uid):
    """GET /api/dashboards/uid/{uid}: Grafana's answer ({dashboard, meta}), or None when there is none."""
    try:
        return client.get_dashboard(uid)
    except GrafanaError as exc:
        if exc.status == 404:
            return None
        raise


def folder_of(client, title, uid, check_mode):
    """(folder as Grafana has it or would make it, whether it is made now). Neither title nor uid: the root ({})."""
    if uid:
        try:
            return client.get_folder(uid, None if title else "Set folder to make the folder when it is missing."), False
        except GrafanaError as exc:
            if exc.status != 404 or not title:
                raise
    elif title:
        folders = client.list_folders()
        found = [item for item in folders if item.get("title") == title]
        if found:
            return found[0], False
    else:
        return {}, False
    if check_mode:
        return {"uid": uid, "title": title}, True
    return client.create_folder(title, uid), True


def save_body(wanted, installed, folder_uid):
    """POST /api/dashboards/db's body. An update names the version read, so that a change made in between is a 412
    rather than lost; the folder is always given, since a save without one moves the dashboard to the root."""
    dashboard = dict(wanted)
    if installed:
        dashboard.update(id=installed["dashboard"].get("id"), version=installed["dashboard"].get("version"))
    else:
        dashboard.update(id=None)
        dashboard.pop("version", None)
    return {"dashboard": dashboard, "folderUid": folder_uid or "", "message": SAVE_MESSAGE, "overwrite": False}


def install(client, wanted, folder_title=None, folder_uid=None, check_mode=False):
    """Install `wanted` in the folder; returns the module's result (changed, dashboard, folder, diff).

    Nothing is written when the installed dashboard has the same content in the same folder.
    """
    folder, folder_created = folder_of(client, folder_title, folder_uid, check_mode)
    target_uid = folder.get("uid") or ""
    installed = installed_dashboard(client, wanted["uid"])
    meta = (installed or {}).get("meta") or {}
    before = dict(dashboard=content(installed["dashboard"]), folder_uid=meta.get("folderUid") or "") if installed else {}
    # A folder that check mode would make has no uid yet (None), unless folder_uid names it.
    after = dict(dashboard=content(wanted), folder_uid=folder.get("uid") if folder else "")
    changed = before != after
    result = dict(uid=wanted["uid"], title=wanted["title"], url=meta.get("url"), version=meta.get("version"))
    if changed and not check_mode:
        saved = client.save_dashboard(save_body(wanted, installed, target_uid), subject="dashboard '%s'" % wanted["uid"])
        result.update(url=saved.get("url"), version=saved.get("version"))
    return dict(changed=changed or folder_created, dashboard=result,
                folder=dict(uid=folder.get("uid"), title=folder.get("title"), created=folder_created) if folder else None,
                diff=dict(before=before, after=after))
