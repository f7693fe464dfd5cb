# -*- coding: utf-8 -*-
# Copyright (c) reportops.grafana contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

# Private to the reportops.grafana collection: not a public API, may change without notice.

"""Installing a dashboard once: its folder (made when missing), a comparison with the installed one, one write."""

from __future__ import annotations

from ansible.module_utils.common.text.converters import to_text

from ansible_collections.reportops.grafana.plugins.module_utils._module import InputError
from ansible_collections.reportops.grafana.plugins.module_utils._client import GrafanaError

# Fields of a dashboard model that Grafana sets on every save; they never make two models differ.
GRAFANA_SET_FIELDS = ("id", "version")
# Fields Grafana fills or stamps on its own when the wanted model leaves them out (its dashboard defaults, the schema
# migrations that reads through the dashboard API of Grafana 12+ apply, panels stamped with pluginVersion): None means
# any value, else the values that count as Grafana's. Empty values (_empty) always count as filled.
GRAFANA_FILLED = {"pluginVersion": None, "editable": (True,), "timezone": ("browser",)}
# Why a save without overwrite conflicts, by status: 412 before Grafana 12, 409 from 12 (saveDashboardViaK8s).
SAVE_CONFLICTS = {
    412: "Grafana before 12 answers 412 when another dashboard of this folder has the title (before 11.3) or the dashboard"
         " was saved in Grafana since it was read",
    409: "Grafana 12 and later answer 409 when the dashboard was saved in Grafana since it was read (its version moved on)",
}
# What Grafana 12+ drops when it reads a model through its backend migration, as its frontend's save model does
# (apps/dashboard/pkg/migration/frontend_defaults.go: cleanupDashboardDefaults drops style "dark", hideControls false,
# a null id and the transient preload and iteration; cleanupPanelForSave drops the panel defaults below and empty
# transformations; removeNullValuesRecursively drops null values; migration-test-analysis.md in grafana/grafana lists
# empty links and options among the differences). A wanted field at one of these values that the installed model
# lacks is the same content: without this, a model that sets one is saved again on every run.
GRAFANA_DROPPED = {
    "style": ("dark",), "hideControls": (False,), "transparent": (False,), "title": ("",), "repeat": ("",),
    "links": ([],), "options": ({},), "transformations": ([],), "targets": ([{"refId": "A"}],),
    "fieldConfig": ({"defaults": {}, "overrides": []},), "gridPos": ({"x": 0, "y": 0, "h": 3, "w": 6},),
    "cachedPluginOptions": ({},),
}
# Transient fields Grafana never keeps, whatever their value (cleanupDashboardDefaults).
GRAFANA_TRANSIENT = ("preload", "iteration")
SAVE_CONFLICT_ADVICE = "run again to install over the change, or give the dashboard another title."
UID_MAX_LENGTH = 40
SAVE_MESSAGE = "Installed by reportops.grafana"


class DashboardError(InputError):
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


def _empty(value):
    """Null, false, 0, "", [], or an object of such values only (such as fieldConfig {"defaults": {}, "overrides": []})."""
    if isinstance(value, dict):
        return all(_empty(item) for item in value.values())
    return value is None or value is False or (not isinstance(value, bool) and value == 0) or value in ("", [])


def dropped_by_grafana(key, value):
    """Whether Grafana 12+ leaves the field out of the model it reads back when it has this value (GRAFANA_DROPPED):
    null anywhere, a default of its frontend's save model, or a transient field."""
    return value is None or key in GRAFANA_TRANSIENT or (
        key in GRAFANA_DROPPED and any(_same(value, default) for default in GRAFANA_DROPPED[key]))


def _same(value, default):
    """JSON equality without Python's True == 1 (hideControls: 1 is not Grafana's default false)."""
    if isinstance(default, bool) or isinstance(value, bool):
        return isinstance(value, bool) and isinstance(default, bool) and value is default
    if isinstance(default, dict):
        return isinstance(value, dict) and set(value) == set(default) and all(_same(value[k], default[k]) for k in default)
    if isinstance(default, list):
        return isinstance(value, list) and len(value) == len(default) and all(_same(v, d) for v, d in zip(value, default))
    return type(value) in (int, float, str) and value == default


def managed(installed, wanted):
    """The part of the installed model that the collection manages, to compare with `wanted` (both without id and
    version), both ways: what Grafana fills where `wanted` is silent is left out, what it drops where `wanted` sets it
    at a default (dropped_by_grafana) counts as kept, and a newer schemaVersion than the wanted one counts as the
    wanted one (Grafana migrates the model it answers; the content is the same)."""
    if isinstance(installed, dict) and isinstance(wanted, dict):
        kept = {}
        for key, value in installed.items():
            if key in wanted:
                kept[key] = managed(value, wanted[key])
            elif not (_empty(value) or (key in GRAFANA_FILLED and (GRAFANA_FILLED[key] is None or value in GRAFANA_FILLED[key]))):
                kept[key] = value
        for key, value in wanted.items():
            if key not in installed and dropped_by_grafana(key, value):
                kept[key] = value
        newer = kept.get("schemaVersion")
        if isinstance(newer, int) and isinstance(wanted.get("schemaVersion"), int) and newer > wanted["schemaVersion"]:
            kept["schemaVersion"] = wanted["schemaVersion"]
        return kept
    if isinstance(installed, list) and isinstance(wanted, list):
        if not any(isinstance(item, dict) and item.get("builtIn") for item in wanted):
            # The built-in "Annotations & Alerts" entry Grafana adds to every annotation list.
            installed = [item for item in installed if not (isinstance(item, dict) and item.get("builtIn"))]
        if len(installed) == len(wanted):
            return [managed(have, want) for have, want in zip(installed, wanted)]
    return installed


def installed_dashboard(client, uid):
    """GET /api/dashboards/uid/{uid}: Grafana's answer ({dashboard, meta}), or None when there is none."""
    try:
        return client.get_dashboard(uid)
    except GrafanaError as exc:
        if exc.status == 404:
            return None
        raise


def folder_of(client, title, uid, check_mode):
    """(folder as Grafana has it or would make it, whether it is made now). Neither title nor uid: the root ({}).

    By uid when one is given (made with it when missing); else by title across every page of the root folders, since
    titles need not be unique from Grafana 11.3 on and a folder made again would be a second one.
    """
    if uid:
        try:
            return client.get_folder(uid, None if title else "Set folder to make the folder when it is missing."), False
        except GrafanaError as exc:
            if exc.status != 404 or not title:
                raise
    elif title:
        found = [item for item in client.list_folders() if item.get("title") == title]
        if len(found) > 1:
            client.warn("%d folders are titled '%s' (uids %s): the first is used; set folder_uid to choose one."
                        % (len(found), title, ", ".join(to_text(item.get("uid")) for item in found)))
        if found:
            return found[0], False
    else:
        return {}, False
    if check_mode:
        return {"uid": uid, "title": title}, True
    return client.create_folder(title, uid), True


def save_body(wanted, installed, folder_uid):
    """POST /api/dashboards/db's body. An update names the version read, so that a change made in between is a 412
    or 409 (SAVE_CONFLICTS) rather than lost; the folder is always given, since a save without one moves the dashboard to the root."""
    dashboard = dict(wanted)
    if installed:
        dashboard.update(id=installed["dashboard"].get("id"), version=installed["dashboard"].get("version"))
    else:
        dashboard.update(id=None)
        dashboard.pop("version", None)
    return {"dashboard": dashboard, "folderUid": folder_uid or "", "message": SAVE_MESSAGE, "overwrite": False}


def install(client, wanted, folder_title=None, folder_uid=None, check_mode=False):
    """Install `wanted` in the folder; returns the module's result (changed, dashboard, folder, diff).

    Nothing is written when the installed dashboard has the same content (managed()) in the same folder.
    """
    folder, folder_created = folder_of(client, folder_title, folder_uid, check_mode)
    target_uid = folder.get("uid") or ""
    installed = installed_dashboard(client, wanted["uid"])
    meta = (installed or {}).get("meta") or {}
    before = dict(dashboard=managed(content(installed["dashboard"]), content(wanted)),
                  folder_uid=meta.get("folderUid") or "") if installed else {}
    # A folder that check mode would make has no uid yet (None), unless folder_uid names it.
    after = dict(dashboard=content(wanted), folder_uid=folder.get("uid") if folder else "")
    changed = before != after
    result = dict(uid=wanted["uid"], title=wanted["title"], url=meta.get("url"), version=meta.get("version"))
    if changed and not check_mode:
        saved = client.save_dashboard(save_body(wanted, installed, target_uid), "dashboard '%s'" % wanted["uid"], dict(
            (status, "%s: %s" % (reason, SAVE_CONFLICT_ADVICE)) for status, reason in SAVE_CONFLICTS.items()))
        result.update(url=saved.get("url"), version=saved.get("version"))
    return dict(changed=changed or folder_created, dashboard=result,
                folder=dict(uid=folder.get("uid"), title=folder.get("title"), created=folder_created) if folder else None,
                diff=dict(before=before, after=after))
