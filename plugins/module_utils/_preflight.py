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

from ansible_collections.reportops.grafana.plugins.module_utils._module import InputError
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
    dashboard_uid=dict(type="str"),
    dashboard_folder=dict(type="str"),
    dashboard_folder_uid=dict(type="str"),
)

# The renderer version Grafana requires before it renders a PDF: the PDFRendering capability, ">= 3.10.0"
# (pkg/services/rendering/rendering.go, its capabilities; checked in render() through capabilities.go). On Grafana 13
# always; before, when the newPDFRendering feature toggle is on (frontend settings list the enabled toggles).
PDF_RENDERER_MIN = (3, 10, 0)
PDF_TOGGLE = "newPDFRendering"
# A version as Grafana's semver library reads it (Masterminds/semver: "v" prefix, missing minor or patch allowed).
_SEMVER = re.compile(r"^v?(\d+)(?:\.(\d+))?(?:\.(\d+))?(?:-[0-9A-Za-z.-]+)?(?:\+[0-9A-Za-z.-]+)?$")
# Proxies that name themselves in a Server header; Grafana's own answers carry none (inferred: Go's net/http sets
# none and no Grafana middleware does). A Via header names a proxy too.
_PROXY_SERVER = re.compile(r"nginx|apache|httpd|envoy|haproxy|caddy|traefik|cloudflare|openresty|istio|varnish|squid",
                           re.IGNORECASE)


def _org_annotations(*verbs):
    """The needs of organization annotations: each action with the scope annotations:type:organization."""
    return [(("annotations:%s" % verb,), ORG_ANNOTATIONS_SCOPE) for verb in verbs]


# What each use of a run needs: (what it is, [(the action or its other spellings, the scope it needs or None)]).
# Some versions' Enterprise spec names the report admin actions reports.admin:create and reports.admin:write.
# The dashboard's needs depend on what exists: dashboard_needs().
PERMISSION_NEEDS = dict(
    send=("sending the deliveries (POST /api/reports/email)", [(("reports:send",), None)]),
    names=("finding the deliveries' reports by name (GET /api/reports)", [(("reports:read",), None)]),
    # The Grafana ledger finds, claims, confirms and removes its claims (_ledger.py: find, create, update, delete).
    ledger=("ledger: grafana", _org_annotations("read", "create", "write", "delete")),
    # History writes one record per delivery and reads them back (_history.py: create; grafana_report_history: read).
    history=("history: grafana", _org_annotations("read", "create")),
    definitions=("report definitions (grafana_report)", [
        (("reports:read",), None), (("reports:create", "reports.admin:create"), None),
        (("reports:write", "reports.admin:write"), None), (("reports:delete",), None)]),
    settings=("report settings (grafana_report_settings)", [
        (("reports.settings:read",), None), (("reports.settings:write",), None)]),
    dashboard=("the dashboard entry point (grafana_report_dashboard)", []),
)
_MAJOR = re.compile(r"^\s*v?(\d+)")


class PreflightError(InputError):
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


# What the report routes said when the licence's end was unknown (licence_check's `routes`).
ROUTES_ANSWER, ROUTES_REFUSE = "answer", "refuse"


def licence_check(settings, now, routes=None, routes_said=""):
    """The licence of an Enterprise build. Expired fails (Grafana then sends no reports); ending soon warns. Grafana
    may not say when it ends (licenseInfo.expiry 0, as a hosted Grafana may answer): then the report routes decide.
    `routes`: ROUTES_ANSWER when GET /api/reports answered a listing, ROUTES_REFUSE when it answered 404 (no report
    route), else None (not tried, or an answer that proves neither, said in `routes_said`)."""
    if not is_enterprise(settings):
        return check("licence", SKIPPED, "Only Grafana Enterprise has a licence (see the edition check).")
    licence = settings.get("licenseInfo") or {}
    expiry = licence.get("expiry")
    known = isinstance(expiry, (int, float)) and not isinstance(expiry, bool) and expiry > 0
    if known and expiry <= now:
        return check("licence", FAIL, "The Grafana Enterprise licence expired on %s (licenseInfo.expiry): Grafana no longer "
                                      "sends or renders reports. Renew the licence." % utc_iso(expiry))
    if not known or licence.get("hasLicense") is False:
        unknown = ("Grafana does not say when its licence ends (licenseInfo.expiry is 0)" if not known else
                   "Grafana says it has no licence (licenseInfo.hasLicense is false)")
        if routes == ROUTES_REFUSE:
            return check("licence", FAIL, "%s, and its report routes refuse (GET /api/reports: %s): without a valid "
                                          "licence Grafana Enterprise sends no reports. Add the licence (Administration > "
                                          "General > Licensing, or [enterprise] license_path)." % (unknown, routes_said))
        if routes == ROUTES_ANSWER:
            return check("licence", WARN, "%s, as a hosted Grafana may; its report routes answer (GET /api/reports), so "
                                          "reports can be sent today. When the licence ends is unknown: check it in "
                                          "Administration > General > Licensing." % unknown)
        return check("licence", WARN, "%s, and whether its report routes answer could not be told%s: the first send "
                                      "will tell. Check the licence in Administration > General > Licensing."
                     % (unknown, " (GET /api/reports: %s)" % routes_said if routes_said else ""))
    days = (expiry - now) / 86400.0
    if days <= LICENCE_WARN_DAYS:
        return check("licence", WARN, "The Grafana Enterprise licence expires on %s, in %d days (licenseInfo.expiry): renew "
                                      "it, or reports stop then." % (utc_iso(expiry), int(days)))
    return check("licence", OK, "Licensed until %s." % utc_iso(expiry))


def licence_known(settings):
    """Whether the frontend settings say when a licence ends (else licence_check needs the report routes' answer)."""
    licence = settings.get("licenseInfo") or {}
    expiry = licence.get("expiry")
    return (isinstance(expiry, (int, float)) and not isinstance(expiry, bool) and expiry > 0
            and licence.get("hasLicense") is not False)


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


def grafana_major(settings):
    """Grafana's major version from buildInfo.version, or None."""
    major = _MAJOR.match(to_text((settings.get("buildInfo") or {}).get("version") or ""))
    return int(major.group(1)) if major else None


def semantic_version(text):
    """(major, minor, patch) of a version as Grafana's semver library reads it, or None when it cannot."""
    found = _SEMVER.match(to_text(text or "").strip())
    return tuple(int(part or 0) for part in found.groups()) if found else None


def renderer_advice(major):
    """How to get a renderer on this Grafana: Grafana 13 has only the rendering service (the image renderer plugin was
    removed by grafana/grafana PR #118809); 12 deprecated the plugin; before, either."""
    if major is not None and major >= 13:
        return ("Grafana 13 removed the image renderer plugin: run the rendering service (grafana-image-renderer) and set "
                "[rendering] server_url and callback_url in grafana.ini.")
    if major == 12:
        return ("run the rendering service (grafana-image-renderer) and set [rendering] server_url and callback_url in "
                "grafana.ini; the image renderer plugin is deprecated in Grafana 12 and removed in 13.")
    return ("install the grafana-image-renderer plugin, or run the rendering service and set [rendering] server_url and "
            "callback_url in grafana.ini (Grafana 13 supports only the service).")


def renderer_check(settings, renders):
    """The renderer: every send and render needs it (pkg/services/rendering/rendering.go). `renders`: whether the run
    sends or renders; else a problem is a warning.

    rendererAvailable is configuration, not health: true as soon as [rendering] server_url is set (remoteAvailable), or
    (before 13) the plugin is installed. rendererVersion is what the rendering service answered on /version, asked in
    the background: "" when it never answered. Grafana checks that version before a PDF (capabilities.go, the
    PDFRendering constraint, PDF_RENDERER_MIN): an empty or unreadable version, or an older renderer, fails PDFs."""
    major = grafana_major(settings)
    bad = FAIL if renders else WARN
    if not settings.get("rendererAvailable"):
        return check("renderer", bad, "Grafana has no renderer (rendererAvailable is false), so every report send and "
                                      "render fails; %s" % renderer_advice(major))
    version = to_text(settings.get("rendererVersion") or "").strip()
    if not version:
        return check("renderer", bad, "A renderer is configured (rendererAvailable is true, which only says that "
                                      "[rendering] server_url is set) but it never answered: rendererVersion is empty, "
                                      "so the rendering service did not answer Grafana's /version request. Grafana checks "
                                      "the renderer's version before every PDF and fails it without one, so report sends "
                                      "and renders fail. Check that the rendering service runs and that Grafana reaches it "
                                      "at server_url (Grafana asks again in the background).")
    parsed = semantic_version(version)
    minimum = ".".join(str(part) for part in PDF_RENDERER_MIN)
    if parsed is None:
        return check("renderer", bad, "The renderer says its version is '%s', which Grafana cannot read as a version: it "
                                      "fails every PDF then ('invalid plugin version'). Run a released "
                                      "grafana-image-renderer, %s or later." % (version, minimum))
    if parsed < PDF_RENDERER_MIN:
        toggles = settings.get("featureToggles") if isinstance(settings.get("featureToggles"), dict) else {}
        if (major is not None and major >= 13) or toggles.get(PDF_TOGGLE) is True:
            why = "Grafana 13" if major is not None and major >= 13 else "this Grafana, with the %s feature toggle on," % PDF_TOGGLE
            return check("renderer", bad, "The renderer is version %s; %s renders report PDFs only with %s or later, and "
                                          "fails them otherwise ('PdfRendering unsupported'). Upgrade the rendering service "
                                          "(grafana-image-renderer)." % (version, why, minimum))
        return check("renderer", WARN, "The renderer is version %s, older than %s: this Grafana does not list the %s "
                                       "feature toggle, so it renders PDFs the older way, which this renderer supports; "
                                       "with the toggle (on by default in newer releases) or on Grafana 13 every PDF "
                                       "fails. Upgrade the rendering service (grafana-image-renderer)."
                     % (version, minimum, PDF_TOGGLE))
    return check("renderer", OK, "Renderer available, version %s (PDFs need %s or later); whether it renders in time only "
                                 "a render shows (render: true)." % (version, minimum))


SMTP_FAILURE = "SMTP not configured, check your grafana.ini config file's [smtp] section"


def smtp_check(admin_settings, error, sends):
    """SMTP, which every send needs: without [smtp] enabled Grafana fails each with SMTP_FAILURE
    (pkg/services/notifications). Only GET /api/admin/settings shows it (`admin_settings`, its "smtp" section, values
    as strings), and only to a caller with settings:read (a server admin); `error` is the GrafanaError of that read.
    `sends`: whether the run sends (else SMTP off is a warning). Unknown is `skipped`, never a failure."""
    verify = ("Verify it once with a test email: reportops.grafana.grafana_report with send_test_email: true (or "
              "\"Send test email\" in Grafana's report editor), or ask a Grafana server admin whether [smtp] enabled = true.")
    if error is not None:
        if error.status in (401, 403):
            reason = ("GET /api/admin/settings needs settings:read, which a Grafana server admin has and these credentials "
                      "have not (HTTP %d)" % error.status)
        else:
            reason = "GET /api/admin/settings failed: %s" % error.message
        return check("smtp", SKIPPED, "SMTP could not be verified: %s. Without [smtp] enabled every send fails with \"%s\". %s"
                     % (reason, SMTP_FAILURE, verify))
    section = admin_settings.get("smtp") if isinstance(admin_settings, dict) else None
    enabled = to_text(section.get("enabled")).strip().lower() if isinstance(section, dict) and "enabled" in section else None
    if enabled is None:
        return check("smtp", SKIPPED, "SMTP could not be verified: Grafana's settings did not show [smtp] to these "
                                      "credentials (their settings:read scopes leave it out). %s" % verify)
    if enabled != "true":
        return check("smtp", FAIL if sends else WARN,
                     "SMTP is off ([smtp] enabled = %s in Grafana's settings): every report send fails with \"%s\" "
                     "(pkg/services/notifications). Set [smtp] enabled = true, host, user and password in grafana.ini and "
                     "restart Grafana." % (enabled or "empty", SMTP_FAILURE))
    return check("smtp", OK, "SMTP is enabled ([smtp] enabled = true, host %s); that the server accepts Grafana's mail only a "
                             "test email or the first send shows." % (to_text(section.get("host")) or "not shown"))


def grafana_clock(date_header):
    """Grafana's clock from an answer's Date header, in epoch seconds; None without one."""
    parsed = email.utils.parsedate_tz(date_header) if date_header else None
    return email.utils.mktime_tz(parsed) if parsed else None


def proxy_of(headers):
    """The proxy that answered in front of Grafana, from the answer's Via or Server header (_PROXY_SERVER), or None."""
    headers = headers or {}
    if headers.get("via"):
        return "a proxy (Via: %s)" % to_text(headers["via"])
    server = to_text(headers.get("server") or "")
    return "%s (its Server header)" % server if _PROXY_SERVER.search(server) else None


def clock_check(skew, max_skew, grafana_ledger, proxy=None):
    """The clock of the Date header against this host's: the Grafana ledger compares times written by runners with
    Grafana's `created` stamps, so a skew beyond max_clock_skew fails with it and warns without.

    The Date header is Grafana's clock (Go's net/http sets it) unless a proxy answered: nginx replaces an upstream's
    Date by default, so behind one this is the proxy's clock (`proxy`, when its headers name it). No route gives a
    time Grafana stamps now without writing something, so this check cannot prove Grafana's own clock."""
    if skew is None:
        return check("clock", SKIPPED, "Grafana's answer had no Date header to read its clock from.")
    source = ("The Date header's clock (set by %s in front of Grafana: the proxy's clock, not Grafana's, which no read "
              "shows)" % proxy if proxy else "The Date header's clock (Grafana's, or a proxy's in front of it: nginx sets "
                                             "its own)")
    if abs(skew) <= max_skew + DATE_RESOLUTION:
        return check("clock", OK, "%s is within %ds of this host's (%+ds)." % (source, max_skew, skew))
    side = "ahead of" if skew > 0 else "behind"
    message = "%s is %ds %s this host's, more than max_clock_skew (%ds); " % (source, abs(skew), side, max_skew)
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


def dashboard_needs(dashboard_exists=None, folder_given=False, folder_exists=None):
    """What grafana_report_dashboard does, as (actions or spellings, scope) needs (_dashboard.install): it reads the
    installed dashboard (dashboards:read); with a folder, it reads it (folders:read) and makes it only when missing
    (folders:create); it saves a new dashboard (dashboards:create) or updates the installed one (dashboards:write).
    None: not known (no uid given, or the read failed), so both that could be needed are asked for."""
    needs = [(("dashboards:read",), None)]
    if folder_given:
        needs.append((("folders:read",), None))
        if not folder_exists:
            needs.append((("folders:create",), None))
    if dashboard_exists is not True:
        needs.append((("dashboards:create",), None))
    if dashboard_exists is not False:
        needs.append((("dashboards:write",), None))
    return needs


def permission_check(use, permissions, needs=None):
    """The check of one use of PERMISSION_NEEDS against the caller's permissions ({action: [scopes]}); `needs`
    replaces the use's needs (the dashboard's, from dashboard_needs())."""
    what, needs = PERMISSION_NEEDS[use][0], needs if needs is not None else PERMISSION_NEEDS[use][1]
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
        self.smtp_enabled = None

    def add(self, *checks):
        self.checks.extend(checks)

    def skip(self, names, why):
        self.add(*[check(name, SKIPPED, why) for name in names])

    def run(self):
        """The checks in order, each that cannot be made `skipped` with the reason; returns (grafana, checks). When
        Grafana cannot be read at all, the one check is `connection`: nothing else could be checked, and a line for
        each check it prevented would only repeat that."""
        before = self.now()
        try:
            settings, headers = self.client.frontend_settings()
        except GrafanaError as exc:
            self.add(check("connection", FAIL, exc.message))
            return self.grafana, self.checks
        clock = grafana_clock(headers.get("date"))
        skew = None if clock is None else int(round(clock - (before + self.now()) / 2.0))
        self.grafana = grafana_facts(settings, skew)
        enterprise = is_enterprise(settings)
        # One listing of the reports, for the deliveries and, when the licence's end is unknown, for the licence.
        listing = self._listing() if enterprise and (self.deliveries or not licence_known(settings)) else None
        routes, routes_said = None, ""
        if listing is not None:
            error = listing[1]
            routes = ROUTES_ANSWER if error is None else ROUTES_REFUSE if error.status == 404 else None
            routes_said = "" if error is None else error.message
        renders = bool(self.deliveries) or "render" in self.uses or self.params["render"]
        smtp = self._smtp(bool(self.deliveries))
        self.grafana["smtp_enabled"] = self.smtp_enabled
        self.add(check("connection", OK, "Grafana answered with these credentials."), edition_check(settings),
                 licence_check(settings, self.now(), routes, routes_said), reporting_check(settings),
                 renderer_check(settings, renders), smtp,
                 clock_check(skew, self.params["max_clock_skew"], "ledger" in self.uses, proxy_of(headers)))
        permissions = self._permissions()
        self._reports(enterprise, permissions, settings.get("rendererAvailable"), listing)
        return self.grafana, self.checks

    def _listing(self):
        """GET /api/reports once: (the reports, None) or (None, the GrafanaError)."""
        try:
            return self.client.list_reports(), None
        except GrafanaError as exc:
            return None, exc

    def _smtp(self, sends):
        """The smtp check, from GET /api/admin/settings (a server admin's read); sets smtp_enabled (None: unknown)."""
        self.smtp_enabled = None
        try:
            admin, error = self.client.admin_settings(), None
        except GrafanaError as exc:
            admin, error = None, exc
        result = smtp_check(admin, error, sends)
        if result["status"] in (OK, WARN, FAIL):
            self.smtp_enabled = result["status"] == OK
        return result

    def _permissions(self):
        """The permission checks of the run's uses, from the caller's permissions read fresh (reloadcache); the
        permissions, or None when Grafana did not say."""
        needed = [use for use in self.uses if use in PERMISSION_NEEDS]
        if not needed:
            return None
        try:
            permissions = self.client.user_permissions()
        except GrafanaError as exc:
            self.add(check("permissions", WARN, "Could not read the credentials' permissions (%s); each is checked when the "
                                                "run uses it." % exc.message))
            return None
        self.add(*[permission_check(use, permissions, self._dashboard_needs() if use == "dashboard" else None)
                   for use in needed])
        return permissions

    def _dashboard_needs(self):
        """dashboard_needs() of this Grafana: whether the dashboard (dashboard_uid) and its folder (dashboard_folder or
        dashboard_folder_uid) exist, read as grafana_report_dashboard reads them; unknown when not given or unreadable."""
        params = self.params
        folder_title, folder_uid = params.get("dashboard_folder"), params.get("dashboard_folder_uid")
        folder_exists = dashboard_exists = None
        if folder_uid or folder_title:
            try:
                if folder_uid:
                    self.client.get_folder(folder_uid)
                    folder_exists = True
                else:
                    folder_exists = any(item.get("title") == folder_title for item in self.client.list_folders())
            except GrafanaError as exc:
                folder_exists = False if exc.status == 404 else None
        if params.get("dashboard_uid"):
            try:
                self.client.get_dashboard(params["dashboard_uid"])
                dashboard_exists = True
            except GrafanaError as exc:
                dashboard_exists = False if exc.status == 404 else None
        return dashboard_needs(dashboard_exists, bool(folder_uid or folder_title), folder_exists)

    def _reports(self, enterprise, permissions, renderer, listing):
        """Each delivery's report: found (by name or id, by the code that sends), its dashboards viewable; rendered
        once with the render option."""
        names = ["report:%s" % delivery.name for delivery in self.deliveries]
        if not self.deliveries:
            return
        if not enterprise:
            self.skip(names, "Reports exist only in Grafana Enterprise (see the edition check).")
            return
        reports, error = listing
        if error is not None:
            status = FAIL if "names" in self.uses or error.status != 403 else WARN
            self.add(*[check(name, status, "Could not list the reports to find this one: %s" % error.message) for name in names])
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
    """The module's failure message when a check failed, or None. Grafana that could not be read is its one check."""
    failed = [item for item in checks if item["status"] == FAIL]
    if not failed:
        return None
    if [item["name"] for item in checks] == ["connection"]:
        return "Grafana could not be read, so nothing else was checked: %s" % failed[0]["message"]
    return "%d of %d checks failed: %s" % (len(failed), len(checks), " ".join(
        "%s: %s" % (item["name"], item["message"]) for item in failed))
