# -*- coding: utf-8 -*-
# Copyright (c) reportops.grafana contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

# Private to the reportops.grafana collection: not a public API, may change without notice.

"""The pre-flight of grafana_report_preflight: what a first real run would meet in one Grafana, read-only.

Each check's decision is a function of what Grafana answered (frontend settings, the caller's permissions,
the report listing, the Date header); the runner (`preflight`) only reads, never writes.
"""

from __future__ import annotations

import email.utils
import re
import time

from ansible.module_utils.common.text.converters import to_text

from ansible_collections.reportops.grafana.plugins.module_utils._annotation_record import utc_iso
from ansible_collections.reportops.grafana.plugins.module_utils._client import ORG_ANNOTATIONS_SCOPE, GrafanaError
from ansible_collections.reportops.grafana.plugins.module_utils._delivery import (
    DELIVERIES_SUBOPTIONS,
    LEDGER_ARGUMENT_SPEC,
    DeliveryError,
    module_deliveries,
    planned,
)
from ansible_collections.reportops.grafana.plugins.module_utils._history import HISTORY_ARGUMENT_SPEC
from ansible_collections.reportops.grafana.plugins.module_utils._ledger import CLOCK_SKEW
from ansible_collections.reportops.grafana.plugins.module_utils._render import dashboard_items, render_query, saved_report_plan
from ansible_collections.reportops.grafana.plugins.module_utils._report_definition import dashboards_of

OK, WARN, FAIL, SKIPPED = "ok", "warn", "fail", "skipped"
STATUSES = (OK, WARN, FAIL, SKIPPED)
FEATURES = ("definitions", "settings", "dashboard", "render")
# A licence that ends within this many days is a warning.
LICENCE_WARN_DAYS = 30
# A render that takes more than this share of `timeout` is a warning: a slower day makes sends "may have been sent".
RENDER_WARN_SHARE = 0.5
# Grafana's Date header has whole seconds: a skew is counted only beyond this rounding.
DATE_RESOLUTION = 1
OPEN_SOURCE = "Open Source"

PREFLIGHT_ARGUMENT_SPEC = dict(
    deliveries=dict(type="list", elements="dict", required=True, options=DELIVERIES_SUBOPTIONS),
    ledger=LEDGER_ARGUMENT_SPEC["ledger"],
    history=HISTORY_ARGUMENT_SPEC["history"],
    features=dict(type="list", elements="str", choices=list(FEATURES), default=[]),
    render=dict(type="bool", default=False),
    max_clock_skew=dict(type="int", default=CLOCK_SKEW),
)

_ANNOTATIONS = tuple(("annotations:%s" % verb,) for verb in ("read", "create", "write", "delete"))
# What each use of a run needs: (what it is, [(the action or its other spellings, the scope it needs or None)]).
# Some versions' Enterprise spec names the report admin actions reports.admin:create and reports.admin:write.
PERMISSION_NEEDS = dict(
    send=("sending the deliveries (POST /api/reports/email)", [(("reports:send",), None)]),
    names=("finding the deliveries' reports by name (GET /api/reports)", [(("reports:read",), None)]),
    ledger=("ledger: grafana", [(actions, ORG_ANNOTATIONS_SCOPE) for actions in _ANNOTATIONS]),
    history=("history: grafana", [(actions, ORG_ANNOTATIONS_SCOPE) for actions in _ANNOTATIONS]),
    definitions=("report definitions (grafana_report)", [
        (("reports:read",), None), (("reports:create", "reports.admin:create"), None),
        (("reports:write", "reports.admin:write"), None), (("reports:delete",), None)]),
    settings=("report settings (grafana_report_settings)", [
        (("reports.settings:read",), None), (("reports.settings:write",), None)]),
    dashboard=("the dashboard entry point (grafana_report_dashboard)", [
        (("dashboards:create",), None), (("dashboards:write",), None), (("folders:read",), None), (("folders:create",), None)]),
)
_MAJOR = re.compile(r"^\s*v?(\d+)")


class PreflightError(ValueError):
    """Invalid input; the message names the option."""


def check(name, status, message):
    return dict(name=name, status=status, message=message)


def checked_params(params):
    """The deliveries (values checked by the code that sends them) and the uses of the run; PreflightError."""
    if params["max_clock_skew"] < 0:
        raise PreflightError("max_clock_skew must be a number of seconds, 0 or more, got %d." % params["max_clock_skew"])
    try:
        deliveries = module_deliveries(params["deliveries"])
    except DeliveryError as exc:
        raise PreflightError(str(exc))
    return deliveries, run_uses(deliveries, params)


def run_uses(deliveries, params):
    """The uses of PERMISSION_NEEDS that the run makes, in their order. The Grafana ledger is used only by deliveries
    with a delivery_key or min_interval (as delivery_ledger decides), or by any when no delivery is given."""
    uses = set(params["features"])
    if deliveries:
        uses.add("send")
    if any(delivery.report is not None for delivery in deliveries):
        uses.add("names")
    if params["ledger"] == "grafana" and (not deliveries or any(delivery.uses_ledger for delivery in deliveries)):
        uses.add("ledger")
    if params["history"] == "grafana":
        uses.add("history")
    return [use for use in tuple(PERMISSION_NEEDS) + ("render",) if use in uses]


def grafana_facts(settings, skew=None):
    """What the frontend settings say about reporting (pkg/api/dtos/frontend_settings.go)."""
    build = settings.get("buildInfo") or {}
    licence = settings.get("licenseInfo") or {}
    reporting = settings.get("reporting")
    expiry = licence.get("expiry")
    return dict(version=build.get("version"), edition=build.get("edition"),
                licence_expiry=utc_iso(expiry) if isinstance(expiry, (int, float)) and expiry > 0 else None,
                licence_state=licence.get("stateInfo") or None,
                renderer_available=settings.get("rendererAvailable"), renderer_version=settings.get("rendererVersion") or None,
                reporting_enabled=reporting.get("enabled") if isinstance(reporting, dict) else None, clock_skew=skew)


def is_enterprise(settings):
    edition = to_text((settings.get("buildInfo") or {}).get("edition") or "")
    return bool(edition) and edition != OPEN_SOURCE


def edition_check(settings):
    build = settings.get("buildInfo") or {}
    edition = build.get("edition")
    if not edition:
        return check("edition", WARN, "Grafana did not say its edition (buildInfo.edition); reports need Grafana Enterprise "
                                      "(or Grafana Cloud): check that this is Grafana Enterprise.")
    if not is_enterprise(settings):
        return check("edition", FAIL, "Grafana %s is the %s build (buildInfo.edition): reports need Grafana Enterprise (or "
                                      "Grafana Cloud), and this build answers the report routes with 404. Install Grafana "
                                      "Enterprise and its licence." % (build.get("version") or "", edition))
    return check("edition", OK, "Grafana %s %s." % (edition, build.get("version") or ""))


def licence_check(settings, now):
    """The licence of an Enterprise build: missing or expired fails (Grafana then sends no reports), ending soon warns."""
    if not is_enterprise(settings):
        return check("licence", SKIPPED, "Only Grafana Enterprise has a licence (see the edition check).")
    licence = settings.get("licenseInfo") or {}
    expiry = licence.get("expiry")
    if licence.get("hasLicense") is False or not isinstance(expiry, (int, float)) or expiry <= 0:
        return check("licence", FAIL, "Grafana Enterprise has no licence (licenseInfo): without one it sends no reports. "
                                      "Add the licence (Administration > General > Licensing, or [enterprise] license_path).")
    if expiry <= now:
        return check("licence", FAIL, "The Grafana Enterprise licence expired on %s (licenseInfo.expiry): Grafana no longer "
                                      "sends or renders reports. Renew the licence." % utc_iso(expiry))
    days = (expiry - now) / 86400.0
    if days <= LICENCE_WARN_DAYS:
        return check("licence", WARN, "The Grafana Enterprise licence expires on %s, in %d days (licenseInfo.expiry): renew "
                                      "it, or reports stop then." % (utc_iso(expiry), int(days)))
    return check("licence", OK, "Licensed until %s." % utc_iso(expiry))


def reporting_check(settings):
    reporting = settings.get("reporting")
    if not is_enterprise(settings):
        return check("reporting", SKIPPED, "Reporting is a Grafana Enterprise feature (see the edition check).")
    if not isinstance(reporting, dict) or "enabled" not in reporting:
        return check("reporting", SKIPPED, "This Grafana does not say whether reporting is enabled (no reporting.enabled "
                                           "in its frontend settings).")
    if not reporting["enabled"]:
        return check("reporting", FAIL, "Reporting is disabled (reporting.enabled is false): set [reporting] enabled = true "
                                        "in grafana.ini and restart Grafana.")
    return check("reporting", OK, "Reporting is enabled.")


def renderer_check(settings, renders):
    """The renderer: every send and render needs it. Without one, sends fail after the render times out.
    `renders`: whether the run sends or renders (else a missing renderer is a warning)."""
    version = to_text((settings.get("buildInfo") or {}).get("version") or "")
    if settings.get("rendererAvailable"):
        return check("renderer", OK, "Renderer available%s." % (
            " (version %s)" % settings["rendererVersion"] if settings.get("rendererVersion") else ""))
    major = _MAJOR.match(version)
    if major and int(major.group(1)) >= 13:
        advice = ("Grafana 13 removed the image renderer plugin: run the rendering service (grafana-image-renderer) and "
                  "set [rendering] server_url and callback_url in grafana.ini.")
    else:
        advice = ("install the grafana-image-renderer plugin, or run the rendering service and set [rendering] server_url "
                  "and callback_url in grafana.ini (Grafana 13 supports only the service).")
    return check("renderer", FAIL if renders else WARN, "Grafana has no renderer (rendererAvailable is false), so every "
                 "report send and render fails after the render times out; %s" % advice)


def grafana_clock(date_header):
    """Grafana's clock from an answer's Date header, in epoch seconds; None without one."""
    parsed = email.utils.parsedate_tz(date_header) if date_header else None
    return email.utils.mktime_tz(parsed) if parsed else None


def clock_check(skew, max_skew, grafana_ledger):
    """Grafana's clock against this host's: the Grafana ledger compares times written by runners with Grafana's
    `created` stamps, so a skew beyond max_clock_skew fails with it and warns without."""
    if skew is None:
        return check("clock", SKIPPED, "Grafana's answer had no Date header to read its clock from.")
    if abs(skew) <= max_skew + DATE_RESOLUTION:
        return check("clock", OK, "Grafana's clock is within %ds of this host's (%+ds)." % (max_skew, skew))
    side = "ahead of" if skew > 0 else "behind"
    message = "Grafana's clock is %ds %s this host's (its Date header), more than max_clock_skew (%ds); " % (abs(skew), side, max_skew)
    if grafana_ledger:
        return check("clock", FAIL, message + "ledger: grafana compares the times runners write with Grafana's, so it may "
                                              "skip or repeat a send. Synchronise both clocks (NTP).")
    return check("clock", WARN, message + "outcome records and min_interval windows will be off by as much. Synchronise "
                                          "both clocks (NTP).")


def scope_covers(held, wanted):
    """Whether a held RBAC scope covers `wanted`, as Grafana matches them (pkg/services/accesscontrol, evaluator.go):
    equal, or a wildcard ("*", "annotations:*", "annotations:type:*"); an empty scope covers no scope."""
    held = to_text(held).strip()
    return bool(held) and (held in ("*", wanted) or (held.endswith(":*") and wanted.startswith(held[:-1])))


def held_scopes(permissions, actions):
    """The scopes held for the first of `actions` (its spellings) that the caller has, and that action; (None, None)."""
    for action in actions:
        if action in permissions:
            scopes = permissions[action]
            return action, [to_text(scope) for scope in (scopes if isinstance(scopes, list) else [scopes])]
    return None, None


def permission_check(use, permissions):
    """The check of one use of PERMISSION_NEEDS against the caller's permissions ({action: [scopes]})."""
    what, needs = PERMISSION_NEEDS[use]
    missing = []
    for actions, scope in needs:
        action, scopes = held_scopes(permissions, actions)
        spelled = " or ".join(actions)
        if action is None:
            missing.append(spelled + (" with scope %s" % scope if scope else ""))
        elif scope and not any(scope_covers(held, scope) for held in scopes):
            missing.append("%s with scope %s (it holds %s only)" % (spelled, scope, ", ".join(s or "no scope" for s in scopes)))
    name = "permissions:%s" % use
    if missing:
        return check(name, FAIL, "The credentials lack %s, which %s needs: grant %s to the service account (or user), "
                                 "for example through a role that has them." % ("; ".join(missing), what,
                                                                                "it" if len(missing) == 1 else "them"))
    return check(name, OK, "The credentials hold what %s needs." % what)


class Preflight:
    """One run of the checks against one Grafana: only GET requests, each answer read once."""

    def __init__(self, client, params, deliveries, uses, now=time.time):
        self.client = client
        self.params = params
        self.deliveries = deliveries
        self.uses = uses
        self.now = now
        self.checks = []
        self.grafana = {}

    def add(self, *checks):
        self.checks.extend(checks)

    def skip(self, names, why):
        self.add(*[check(name, SKIPPED, why) for name in names])

    def run(self):
        """The checks in order, each that cannot be made `skipped` with the reason; returns (grafana, checks)."""
        before = self.now()
        try:
            settings, date = self.client.frontend_settings()
        except GrafanaError as exc:
            self.add(check("connection", FAIL, exc.message))
            skipped = ["edition", "licence", "reporting", "renderer", "clock"]
            skipped += ["permissions:%s" % use for use in self.uses if use in PERMISSION_NEEDS]
            skipped += ["report:%s" % delivery.name for delivery in self.deliveries]
            self.skip(skipped, "Grafana could not be read (see connection).")
            return self.grafana, self.checks
        clock = grafana_clock(date)
        skew = None if clock is None else int(round(clock - (before + self.now()) / 2.0))
        self.grafana = grafana_facts(settings, skew)
        renders = bool(self.deliveries) or "render" in self.uses or self.params["render"]
        self.add(check("connection", OK, "Grafana answered with these credentials."), edition_check(settings),
                 licence_check(settings, self.now()), reporting_check(settings), renderer_check(settings, renders),
                 clock_check(skew, self.params["max_clock_skew"], "ledger" in self.uses))
        permissions = self._permissions()
        self._reports(is_enterprise(settings), permissions, settings.get("rendererAvailable"))
        return self.grafana, self.checks

    def _permissions(self):
        """The permission checks of the run's uses; the caller's permissions, or None when Grafana did not say."""
        needed = [use for use in self.uses if use in PERMISSION_NEEDS]
        if not needed:
            return None
        try:
            permissions = self.client.user_permissions()
        except GrafanaError as exc:
            self.add(check("permissions", WARN, "Could not read the credentials' permissions (%s); each is checked when the "
                                                "run uses it." % exc.message))
            return None
        self.add(*[permission_check(use, permissions) for use in needed])
        return permissions

    def _reports(self, enterprise, permissions, renderer):
        """Each delivery's report: found (by name or id, by the code that sends), its dashboards viewable; rendered
        once with the render option."""
        names = ["report:%s" % delivery.name for delivery in self.deliveries]
        if not self.deliveries:
            return
        if not enterprise:
            self.skip(names, "Reports exist only in Grafana Enterprise (see the edition check).")
            return
        try:
            reports = self.client.list_reports()
        except GrafanaError as exc:
            status = FAIL if "names" in self.uses or exc.status != 403 else WARN
            self.add(*[check(name, status, "Could not list the reports to find this one: %s" % exc.message) for name in names])
            return
        read_reports, dashboards = {}, {}
        for delivery in self.deliveries:
            name = "report:%s" % delivery.name
            try:
                resolved, listed = planned([delivery], reports)[0]
                report = read_reports.get(resolved.report_id)
                if report is None:
                    # The listing may leave the dashboards out: the report's own read has them.
                    report = read_reports[resolved.report_id] = self.client.get_report(resolved.report_id)
                problems = self._dashboard_problems(report, dashboards)
            except DeliveryError as exc:
                self.add(check(name, FAIL, "%s Create the report in this Grafana, or correct the delivery's report or "
                                           "report_id." % exc))
                continue
            except GrafanaError as exc:
                self.add(check(name, FAIL, exc.message))
                continue
            label = "report '%s' (id %s)" % (to_text(report.get("name") or listed.get("name")), resolved.report_id)
            if problems:
                self.add(check(name, FAIL, "%s: %s" % (label, " ".join(problems))))
                continue
            self.add(check(name, OK, "%s exists, and its dashboards (%s) can be viewed." % (
                label, ", ".join(_uids(report)) or "none")))
            if self.params["render"]:
                self.add(self._render(delivery, report, label, renderer))

    def _dashboard_problems(self, report, dashboards):
        """Why the credentials cannot render the report's dashboards (Grafana renders as the caller); [] when they can."""
        problems = []
        if not _uids(report):
            problems.append("it has no dashboard to render: add one to the report in Grafana.")
        for uid in _uids(report):
            if uid not in dashboards:
                try:
                    self.client.get_dashboard(uid)
                    dashboards[uid] = None
                except GrafanaError as exc:
                    dashboards[uid] = exc.message
            if dashboards[uid]:
                problems.append(dashboards[uid])
        return problems

    def _render(self, delivery, report, label, renderer):
        """Renders the report once as its send would (GET /api/reports/render/pdfs: nothing is sent) and times it."""
        name = "render:%s" % delivery.name
        if not renderer:
            return check(name, SKIPPED, "Grafana has no renderer (see the renderer check).")
        plan = saved_report_plan()
        started = self.now()
        try:
            self.client.render("pdf", render_query(plan, dashboard_items(plan, report), report), "the PDF of %s" % label)
        except GrafanaError as exc:
            return check(name, FAIL, exc.message)
        took = self.now() - started
        timeout = self.client.timeout
        if took > timeout * RENDER_WARN_SHARE:
            return check(name, WARN, "%s rendered in %.1fs, more than half of timeout (%ds): a slower render makes a send "
                                     "'may have been sent'. Raise timeout (and [reporting] rendering_timeout) or render "
                                     "less." % (label, took, timeout))
        return check(name, OK, "%s rendered in %.1fs (timeout %ds); nothing was sent." % (label, took, timeout))


def _uids(report):
    return [to_text(item["dashboard"]["uid"]) for item in dashboards_of(report)
            if isinstance(item.get("dashboard"), dict) and item["dashboard"].get("uid")]


def failure(checks):
    """The module's failure message when a check failed, or None."""
    failed = [item for item in checks if item["status"] == FAIL]
    if not failed:
        return None
    return "%d of %d checks failed: %s" % (len(failed), len(checks), " ".join(
        "%s: %s" % (item["name"], item["message"]) for item in failed))
