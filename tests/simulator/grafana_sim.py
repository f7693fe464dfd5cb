# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Grafana Enterprise reporting-API simulator for tests and demos.

It models the legacy ``/api/reports`` routes as Grafana's docs and Enterprise OpenAPI spec
describe them: tokens and basic-auth users with RBAC permissions, organisations, reports per
organisation, the status codes and error body shapes of Grafana 9 and 10+, a render delay
with a concurrency limit, mail written as .eml files into an outbox, annotations (used as a
delivery ledger), a JSONL request log, optional HTTPS with client certificates, and fault
injection under ``/_sim/``.

Standard library only; PyYAML is imported for .yml/.yaml configs and trustme for --https.
Run ``python grafana_sim.py --help`` for the command line.
"""

# pylint: disable=too-many-lines  # kept as one file so it can be copied and run anywhere

import argparse
import base64
import binascii
import copy
import datetime
import email
import email.policy
import email.utils
import io
import ipaddress
import json
import os
import re
import secrets
import signal
import socket
import socketserver
import ssl
import subprocess
import sys
import threading
import time
import zipfile
import zoneinfo
from collections import namedtuple
from contextlib import contextmanager
from email.message import EmailMessage
from http.client import responses as HTTP_REASONS
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

HERE = os.path.dirname(os.path.abspath(__file__))
DEFAULT_CONFIG = os.path.join(HERE, "default-config.json")
PROFILES = (9, 10)
# buildInfo.edition of Grafana's builds (pkg/setting: "Open Source" unless the Enterprise build sets it).
EDITIONS = ("Enterprise", "Open Source")
RENDERER_STATES = ("available", "missing", "silent")
FAULT_MODES = ("drop", "hang", "status", "html502", "redirect_login", "slow")
REDACTED_HEADERS = ("authorization", "cookie", "x-api-key")
LOG_BODY_LIMIT = 4096
MAIL_FROM = "grafana@sim.invalid"
# Timestamp used for reports that come from the config, so GET output is stable across runs.
CONFIG_TIMESTAMP = "2024-01-01T00:00:00+00:00"

LOGIN_PAGE = b"""<!DOCTYPE html>
<html><head><title>Grafana</title></head>
<body><h1>Grafana</h1><form method="post" action="/login">
<input name="user"><input name="password" type="password"><button>Log in</button></form></body></html>
"""

NGINX_502_PAGE = b"""<html>
<head><title>502 Bad Gateway</title></head>
<body>
<center><h1>502 Bad Gateway</h1></center>
<hr><center>nginx</center>
</body>
</html>
"""


class ConfigError(Exception):
    """The simulator configuration is unusable."""


class ApiError(Exception):
    """An API error: rendered as a JSON body in the shape of the active profile.

    ``kind`` selects the shape: ``auth`` (401), ``access`` (403), ``route`` (the bare
    ``{"message"}`` of the router's 404/405) or ``plain`` (every other error).
    """

    def __init__(self, status, message, kind="plain", permission=None, message_id="auth.unauthorized"):
        super().__init__(message)
        self.status = status
        self.message = message
        self.kind = kind
        self.permission = permission
        # Grafana 10+ 401 bodies name their cause (errutil message ids of pkg/services/authn/clients).
        self.message_id = message_id


def utc_now_iso():
    """Return the current UTC time as an RFC 3339 string, like Grafana's JSON timestamps."""
    return datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds")


def now_ms():
    """Return the current time in epoch milliseconds (annotation timestamps)."""
    return int(time.time() * 1000)


def split_recipients(value):
    """Split a recipients string on commas and semicolons, as Grafana's UI accepts both."""
    return [part.strip() for part in re.split(r"[,;]", value or "") if part.strip()]


def build_pdf(title):
    """Return a minimal valid one-page PDF showing ``title`` (the mail's attachment)."""
    return build_report_pdf([[title]])


def deep_merge(base, override):
    """Return ``base`` updated with ``override``, merging nested dicts instead of replacing them."""
    merged = copy.deepcopy(base)
    for key, value in override.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = deep_merge(merged[key], value)
        else:
            merged[key] = copy.deepcopy(value)
    return merged


def report_defaults(org_id, report_id):
    """Return a complete Report object (Grafana 10+ shape) with neutral default values."""
    return {
        "id": report_id,
        "uid": f"sim-report-{org_id}-{report_id}",
        "userId": 1,
        "orgId": org_id,
        "name": "",
        "subject": "",
        "recipients": "",
        "replyTo": "",
        "message": "",
        "schedule": {
            "startDate": CONFIG_TIMESTAMP,
            "endDate": None,
            "frequency": "weekly",
            "intervalFrequency": "",
            "intervalAmount": 0,
            "workdaysOnly": False,
            "dayOfMonth": "",
            "timeZone": "UTC",
        },
        "options": {"orientation": "landscape", "layout": "grid", "timeRange": {"from": "", "to": ""}},
        "enableDashboardUrl": True,
        "state": "scheduled",
        "dashboards": [],
        "formats": ["pdf"],
        "scaleFactor": 0,
        "created": CONFIG_TIMESTAMP,
        "updated": CONFIG_TIMESTAMP,
    }


# Keys of a config report entry that are not Report fields.
REPORT_SIM_KEYS = ("org_id", "render_seconds")
# Report fields a client cannot change through POST/PUT.
REPORT_FIXED_KEYS = ("id", "uid", "orgId", "userId", "created", "updated")
# Values of a report definition (CreateOrUpdateReport in the Enterprise OpenAPI spec).
REPORT_FORMATS = ("pdf", "csv", "image", "pdf-tables", "pdf-tables-appendix")
REPORT_FREQUENCIES = ("once", "hourly", "daily", "weekly", "monthly", "last", "custom", "never")
REPORT_INTERVALS = ("hours", "days", "weeks", "months")
REPORT_STATES = ("scheduled", "paused", "draft", "expired", "not scheduled")
REPORT_ORIENTATIONS = ("portrait", "landscape")
REPORT_LAYOUTS = ("grid", "simple")
# What Grafana fills in where a definition leaves a field out or empty (the scale factor is
# inferred from the UI's default). Clients that compare definitions must cope with these.
REPORT_FILLED_DEFAULTS = {"formats": ["pdf"], "scaleFactor": 2, "orientation": "landscape", "layout": "grid"}
# GET/POST /api/reports/settings: the org's branding and themes.
SETTINGS_FOOTER_MODES = ("sent-by", "none")
SETTINGS_THEMES = ("light", "dark")


def load_config(path):
    """Read, validate and complete a JSON or YAML config file; raise ConfigError if it is unusable."""
    try:
        with open(path, encoding="utf-8") as handle:
            if path.endswith((".yml", ".yaml")):
                import yaml  # pylint: disable=import-outside-toplevel  # only needed for YAML configs
                try:
                    raw = yaml.safe_load(handle)
                except yaml.YAMLError as exc:
                    raise ConfigError(f"{path}: {exc}") from exc
            else:
                raw = json.load(handle)
        if not isinstance(raw, dict):
            raise ConfigError(f"{path}: the top level must be a mapping")
        return normalise_config(raw)
    except KeyError as exc:
        raise ConfigError(f"{path}: missing key {exc}") from exc
    except (TypeError, ValueError) as exc:
        raise ConfigError(f"{path}: {exc}") from exc


def normalise_config(raw):
    """Validate the config and fill in defaults; return a new dict ready for SimState."""
    config = {
        "profile": int(raw.get("profile", 10)),
        "version": str(raw.get("version", "11.5.0")),
        "render_seconds": float(raw.get("render_seconds", 0.2)),
        "render_limit": int(raw.get("render_limit", 4)),
        "smtp_enabled": bool(raw.get("smtp_enabled", True)),
        # Grafana's traceID in error bodies is empty unless tracing is configured.
        "tracing": bool(raw.get("tracing", False)),
        # [security] brute_force_login_protection_max_attempts (default 5) within a 5-minute window
        # (pkg/services/loginattempt/loginattemptimpl/login_attempt.go); 0 disables the lockout.
        "lockout_attempts": int(raw.get("lockout_attempts", 5)),
        "lockout_window_seconds": float(raw.get("lockout_window_seconds", 300)),
        # [annotations.api] max_age and max_annotations_to_keep (0: keep all), applied to annotations
        # without a dashboard (pkg/services/annotations/annotationsimpl/cleanup.go).
        "annotations_max_age_seconds": float(raw.get("annotations_max_age_seconds", 0)),
        "annotations_max_count": int(raw.get("annotations_max_count", 0)),
        # How GET /api/annotations lists (annotationsimpl/annotations.go RepositoryImpl.Find): since
        # Grafana 11.3 a count query without the access filter, a dashboard search taking
        # annotations_search_seconds, then the filtered query limited to that count; false: the single
        # filtered query of Grafana before 11.3. Tags are stored up to annotations_tag_seconds after
        # the row (xorm_store.go Add, synchronizeTags).
        "annotations_two_queries": bool(raw.get("annotations_two_queries", True)),
        "annotations_search_seconds": float(raw.get("annotations_search_seconds", 0)),
        "annotations_tag_seconds": float(raw.get("annotations_tag_seconds", 0)),
        # How many dashboards the caller's dashboard search finds for Find's access filter: when a page of them is
        # as long as the listing's limit, Find asks again for the next page and appends the same organization rows
        # (annotationsimpl/annotations.go Find, since 11.3): a row can come back twice. 0: one page.
        "annotations_visible_dashboards": int(raw.get("annotations_visible_dashboards", 0)),
        # The renderer (issue 19): "missing" answers renders with Grafana's "rendering plugin not available";
        # a render longer than [reporting] rendering_timeout (0: none) fails with the renderer's timeout error;
        # csv_tables false: no dashboard has a table panel (the CSV route's 204). Issue 32: "silent" is a rendering
        # service configured ([rendering] server_url, so rendererAvailable is true) that never answered: an empty
        # rendererVersion, and every render and send fails (pkg/services/rendering: rendering.go, capabilities.go,
        # http_mode.go). Sends fail as renders do, since Grafana renders the report before it mails it.
        "renderer": str(raw.get("renderer", "available")),
        "rendering_timeout_seconds": float(raw.get("rendering_timeout_seconds", 0)),
        "csv_tables": bool(raw.get("csv_tables", True)),
        # What GET /api/frontend/settings says (issue 24, pkg/api/dtos/frontend_settings.go): the build's edition
        # ("Open Source" also answers the report routes with 404), the licence's end in days from now (negative:
        # expired), the renderer's version, [reporting] enabled; and how far the Date header of every answer is
        # from the simulator's clock.
        "edition": str(raw.get("edition", "Enterprise")),
        "license_expiry_days": float(raw.get("license_expiry_days", 365)),
        "renderer_version": str(raw.get("renderer_version", "4.0.0")),
        # The newPDFRendering feature toggle (listed in frontendsettings' featureToggles when on): with it, or on
        # Grafana 13, a PDF needs renderer_version 3.10.0 or later (rendering.go, the PDFRendering capability). Its
        # default here, on from 12, is inferred (public preview in 11, on by default later).
        "new_pdf_rendering": bool(raw.get("new_pdf_rendering", version_tuple(raw.get("version", "11.5.0")) >= (12,))),
        # false: an Enterprise build whose frontend settings give no licence expiry (0), as a hosted Grafana may,
        # while its report routes work (issue 32).
        "license_expiry_known": bool(raw.get("license_expiry_known", True)),
        # [smtp] as GET /api/admin/settings shows it: host (smtp_enabled is the switch above).
        "smtp_host": str(raw.get("smtp_host", "localhost:25")),
        # A proxy in front of Grafana: its Server header on every answer (nginx/1.25.3 ...); "" none. A proxy also
        # replaces the Date header with its own clock: proxy_clock_offset_seconds moves it instead of
        # clock_offset_seconds (Grafana's own clock, which then shows nowhere).
        "proxy_server": str(raw.get("proxy_server", "")),
        "proxy_clock_offset_seconds": float(raw.get("proxy_clock_offset_seconds", 0)),
        "reporting_enabled": bool(raw.get("reporting_enabled", True)),
        "clock_offset_seconds": float(raw.get("clock_offset_seconds", 0)),
        # What render/pdfs answers for several dashboards without pdfCombineOneFile is not public: true answers a zip
        # of one PDF per dashboard (as the mails attach them; inferred), false one PDF of them all.
        "pdf_uncombined_zip": bool(raw.get("pdf_uncombined_zip", False)),
        # GET /api/dashboards/uid/{uid} answers the model in Grafana's own newer schema (reads through the dashboard
        # API versions of Grafana 12+: a newer schemaVersion, fields filled, panels stamped with pluginVersion); by
        # default from version 12 on. Inferred from the API versions' conversions.
        "dashboard_read_migrated": bool(raw.get("dashboard_read_migrated", version_tuple(raw.get("version", "11.5.0")) >= (12,))),
        "orgs": [{"id": int(org["id"]), "name": str(org.get("name", f"Org {org['id']}"))} for org in raw.get("orgs", [{"id": 1}])],
    }
    if config["edition"] not in EDITIONS:
        raise ConfigError(f"edition must be one of {EDITIONS}")
    if config["renderer"] not in RENDERER_STATES:
        raise ConfigError(f"renderer must be one of {RENDERER_STATES}")
    if config["profile"] not in PROFILES:
        raise ConfigError(f"profile must be one of {PROFILES}")
    if config["render_limit"] < 1:
        raise ConfigError("render_limit must be at least 1")
    org_ids = {org["id"] for org in config["orgs"]}
    config["tokens"] = []
    for token in raw.get("tokens", []):
        entry = {
            "token": str(token["token"]),
            "name": str(token.get("name", token["token"])),
            "org_id": int(token.get("org_id", 1)),
            "permissions": list(token.get("permissions", [])),
            # Permissions granted a minute ago: Grafana's permission cache does not hold them yet, so every route
            # refuses them until GET /api/access-control/user/permissions?reloadcache=true reloads the cache
            # (pkg/services/accesscontrol/api/api.go, getUserPermissions; issue 32).
            "granted_late": list(token.get("granted_late", [])),
            "expired": bool(token.get("expired", False)),
            "revoked": bool(token.get("revoked", False)),
        }
        if entry["org_id"] not in org_ids:
            raise ConfigError(f"token {entry['name']}: unknown org_id {entry['org_id']}")
        config["tokens"].append(entry)
    config["users"] = []
    for user in raw.get("users", []):
        entry = {
            "login": str(user["login"]),
            "password": str(user["password"]),
            "orgs": [int(org_id) for org_id in user.get("orgs", [1])],
            "permissions": list(user.get("permissions", [])),
        }
        if not entry["orgs"] or not set(entry["orgs"]) <= org_ids:
            raise ConfigError(f"user {entry['login']}: orgs must be a non-empty list of known org ids")
        # The org Grafana uses without an org header: the user's current org (user.org_id), which
        # changes when the user switches org in the UI. /_sim/current-org changes it live.
        entry["current_org"] = int(user.get("current_org", entry["orgs"][0]))
        if entry["current_org"] not in entry["orgs"]:
            raise ConfigError(f"user {entry['login']}: current_org must be one of its orgs")
        config["users"].append(entry)
    config["reports"] = []
    for report in raw.get("reports", []):
        org_id = int(report.get("org_id", report.get("orgId", 1)))
        if org_id not in org_ids:
            raise ConfigError(f"report {report.get('name')}: unknown org_id {org_id}")
        fields = {key: value for key, value in report.items() if key not in REPORT_SIM_KEYS}
        full = deep_merge(report_defaults(org_id, int(report["id"])), fields)
        full["id"], full["orgId"] = int(report["id"]), org_id
        # Report ids come from one database sequence, so no two orgs share one (inferred).
        if any(entry["report"]["id"] == full["id"] for entry in config["reports"]):
            raise ConfigError(f"report {report.get('name')}: id {full['id']} is used twice (ids are unique across orgs)")
        config["reports"].append({"report": full, "render_seconds": report.get("render_seconds")})
    return config


class RenderSlots:
    """A counting limit on concurrent renders that, unlike a Semaphore, can be resized live."""

    def __init__(self, limit):
        self._cond = threading.Condition()
        self.limit = limit
        self.in_flight = 0
        self.peak = 0

    @contextmanager
    def hold(self):
        """Wait for a free slot and hold it for the duration of the ``with`` block."""
        with self._cond:
            self._cond.wait_for(lambda: self.in_flight < self.limit)
            self.in_flight += 1
            self.peak = max(self.peak, self.in_flight)
        try:
            yield
        finally:
            with self._cond:
                self.in_flight -= 1
                self._cond.notify_all()

    def configure(self, limit, reset_peak=False):
        """Change the limit (waiting senders re-check it) and optionally forget the peak."""
        with self._cond:
            self.limit = limit
            if reset_peak:
                self.peak = self.in_flight
            self._cond.notify_all()


# Ties in the annotation listing's order and the delay of late tags (see find_annotations, add_annotation).
_RANDOM = secrets.SystemRandom()

# Filters of GET /api/annotations.
# annotation_id: the lookup of PATCH and DELETE (pkg/api/annotations.go findAnnotationByID).
AnnotationQuery = namedtuple("AnnotationQuery", "tags match_any time_from time_to dashboard_uid limit annotation_id",
                             defaults=(0,))


# The authenticated caller of one request.
Principal = namedtuple("Principal", "user_id login permissions org_id")

# The scope Grafana checks for annotations without a dashboard (pkg/api/annotations.go, canCreateAnnotation).
ORG_ANNOTATION_SCOPES = ("annotations:type:organization",)


def scope_covers(held, wanted):
    """Whether a held RBAC scope covers ``wanted``: equal, or a wildcard ("*", "annotations:*", "dashboards:*" ...).

    An empty held scope is the simulator's plain-action form and covers everything.
    """
    held = held.strip()
    return not held or held in ("*", wanted) or (held.endswith(":*") and wanted.startswith(held[:-1]))


def granted(principal, action, scopes=None):
    """Whether the principal holds ``action``; a permission is "action" (every scope) or "action scope".

    With ``scopes`` (the resource's scopes, as Grafana resolves them), a held scope must cover one
    of them; without, the action with any scope will do (the routes' middleware check).
    """
    for permission in principal.permissions:
        name, dummy, scope = permission.partition(" ")
        if name == action and (scopes is None or any(scope_covers(scope, wanted) for wanted in scopes)):
            return True
    return False


def annotation_scopes(annotation):
    """The scopes of an annotation: its type, and for a dashboard annotation the dashboard
    (Grafana 11 scopes dashboard annotations by dashboards:uid:<uid>)."""
    if not annotation["dashboardUID"]:
        return ORG_ANNOTATION_SCOPES
    return ("annotations:type:dashboard", f"dashboards:uid:{annotation['dashboardUID']}")


def can_view_dashboard(principal, uid):
    """Whether the caller may view dashboard ``uid``: by its ``dashboards:read`` permissions if it has
    any, else by its role (the simulator takes a credential without them as a Viewer of every dashboard)."""
    if not any(permission.partition(" ")[0] == "dashboards:read" for permission in principal.permissions):
        return True
    return granted(principal, "dashboards:read", (f"dashboards:uid:{uid}",))


def parse_tag_pairs(tags):
    """Grafana's tag.ParseTagPairs (pkg/services/tag/model.go): "key:value" split with strings.Split,
    so the value ends at a second colon; both trimmed of spaces; empty keys and duplicates dropped."""
    pairs = []
    for text in tags:
        parts = text.split(":")
        key, value = parts[0].strip(" "), parts[1].strip(" ") if len(parts) > 1 else ""
        if key and (key, value) not in pairs:
            pairs.append((key, value))
    return pairs


def join_tag_pairs(pairs):
    """Grafana's tag.JoinTagPairs: "key:value", or "key" when the value is empty."""
    return [f"{key}:{value}" if value else key for key, value in pairs]


def tags_match(stored, wanted, match_any):
    """Grafana's SQL tag filter (annotationsimpl/xorm_store.go): a query tag without value matches
    any value of its key; all must match (the count of matching stored tags equals the number of
    query tags) unless matchAny, where one is enough."""
    hits = sum(1 for key, value in stored
               if any(key == want_key and (not want_value or value == want_value) for want_key, want_value in wanted))
    return hits > 0 if match_any else hits == len(wanted)


class SimState:  # pylint: disable=too-many-public-methods,too-many-instance-attributes  # one thread-safe facade over all state
    """Everything the simulator remembers; all public methods are thread-safe."""

    SETTINGS = ("profile", "render_seconds", "render_limit", "smtp_enabled", "tracing", "lockout_attempts",
                "lockout_window_seconds", "annotations_max_age_seconds", "annotations_max_count",
                "annotations_two_queries", "annotations_search_seconds", "annotations_tag_seconds",
                "annotations_visible_dashboards", "renderer", "rendering_timeout_seconds", "csv_tables",
                "dashboard_read_migrated", "pdf_uncombined_zip", "edition", "license_expiry_days",
                "renderer_version", "reporting_enabled", "clock_offset_seconds", "new_pdf_rendering",
                "license_expiry_known", "smtp_host", "proxy_server", "proxy_clock_offset_seconds")

    def __init__(self, config, state_dir):
        self.config = config
        self.outbox_dir = os.path.join(state_dir, "outbox")
        os.makedirs(self.outbox_dir, exist_ok=True)
        self.lock = threading.RLock()
        # Set on shutdown so that handlers held by a "hang" fault let go at once.
        self.shutdown_event = threading.Event()
        self.render_slots = RenderSlots(config["render_limit"])
        self._log_lock = threading.Lock()
        self._log = open(os.path.join(state_dir, "requests.jsonl"), "a", encoding="utf-8")  # pylint: disable=consider-using-with
        self.reset()

    def close(self):
        """Close the request log."""
        with self._log_lock:
            self._log.close()

    def reset(self):
        """Return to the state right after start: config data and settings, no faults, stats, log or mail."""
        with self.lock:
            self.settings = {key: self.config[key] for key in self.SETTINGS}
            self.render_slots.configure(self.settings["render_limit"], reset_peak=True)
            self.reports = {org["id"]: {} for org in self.config["orgs"]}
            for entry in self.config["reports"]:
                self.reports[entry["report"]["orgId"]][entry["report"]["id"]] = copy.deepcopy(entry)
            self.report_settings = {}
            self.annotations = []
            self.faults = []
            self.dashboard_store = DashboardStore(self.config["reports"])
            self.next_annotation_id = 1
            self.next_report_id = max((entry["report"]["id"] for entry in self.config["reports"]), default=0) + 1
            # Failed basic-auth logins per lower-cased login: monotonic times (the lockout window).
            self.login_failures = {}
            self.current_orgs = {user["login"]: user["current_org"] for user in self.config["users"]}
            # Tokens whose permission cache was reloaded (their granted_late permissions count from then on).
            self.reloaded_permissions = set()
            self.next_fault_id = 1
            self.next_mail_seq = 1
            self.request_count = 0
            self.by_route = {}
            self.sends = 0
            self.renders = 0
        with self._log_lock:
            self._log.truncate(0)
        for name in os.listdir(self.outbox_dir):
            path = os.path.join(self.outbox_dir, name)
            if os.path.isfile(path):
                os.remove(path)

    # Settings ------------------------------------------------------------------------------

    def update_settings(self, changes):
        """Apply a PATCH /_sim/settings body; return the new settings."""
        checks = {
            "profile": lambda value: value in PROFILES,
            "render_seconds": lambda value: isinstance(value, (int, float)) and not isinstance(value, bool) and value >= 0,
            "render_limit": lambda value: isinstance(value, int) and not isinstance(value, bool) and value >= 1,
            "smtp_enabled": lambda value: isinstance(value, bool),
            "tracing": lambda value: isinstance(value, bool),
            "lockout_attempts": lambda value: isinstance(value, int) and not isinstance(value, bool) and value >= 0,
            "lockout_window_seconds": lambda value: isinstance(value, (int, float)) and not isinstance(value, bool) and value > 0,
            "annotations_max_age_seconds": lambda value: isinstance(value, (int, float)) and not isinstance(value, bool) and value >= 0,
            "annotations_max_count": lambda value: isinstance(value, int) and not isinstance(value, bool) and value >= 0,
            "annotations_two_queries": lambda value: isinstance(value, bool),
            "annotations_search_seconds": lambda value: isinstance(value, (int, float)) and not isinstance(value, bool) and value >= 0,
            "annotations_tag_seconds": lambda value: isinstance(value, (int, float)) and not isinstance(value, bool) and value >= 0,
            "renderer": lambda value: value in RENDERER_STATES,
            "rendering_timeout_seconds": lambda value: isinstance(value, (int, float)) and not isinstance(value, bool) and value >= 0,
            "csv_tables": lambda value: isinstance(value, bool),
            "edition": lambda value: value in EDITIONS,
            "license_expiry_days": lambda value: isinstance(value, (int, float)) and not isinstance(value, bool),
            "renderer_version": lambda value: isinstance(value, str),
            "reporting_enabled": lambda value: isinstance(value, bool),
            "clock_offset_seconds": lambda value: isinstance(value, (int, float)) and not isinstance(value, bool),
            "annotations_visible_dashboards": lambda value: isinstance(value, int) and not isinstance(value, bool) and value >= 0,
            "dashboard_read_migrated": lambda value: isinstance(value, bool),
            "pdf_uncombined_zip": lambda value: isinstance(value, bool),
            "new_pdf_rendering": lambda value: isinstance(value, bool),
            "license_expiry_known": lambda value: isinstance(value, bool),
            "smtp_host": lambda value: isinstance(value, str),
            "proxy_server": lambda value: isinstance(value, str),
            "proxy_clock_offset_seconds": lambda value: isinstance(value, (int, float)) and not isinstance(value, bool),
        }
        if not isinstance(changes, dict) or not changes:
            raise ApiError(400, "expected a JSON object with any of: " + ", ".join(self.SETTINGS))
        for key, value in changes.items():
            if key not in checks or not checks[key](value):
                raise ApiError(400, f"invalid setting {key}={value!r}")
        with self.lock:
            self.settings.update(changes)
            self.render_slots.configure(self.settings["render_limit"])
            return dict(self.settings)

    def settings_snapshot(self):
        """A copy of every live setting, read at once."""
        with self.lock:
            return dict(self.settings)

    def setting(self, key):
        """Return the current value of one live setting."""
        with self.lock:
            return self.settings[key]

    # Reports -------------------------------------------------------------------------------

    def list_reports(self, org_id):
        """Return copies of the org's reports, by id."""
        with self.lock:
            return [copy.deepcopy(entry["report"]) for dummy, entry in sorted(self.reports.get(org_id, {}).items())]

    def get_report(self, org_id, report_id):
        """Return ``(report copy, render seconds)`` or ``(None, None)``; ids are per org."""
        with self.lock:
            entry = self.reports.get(org_id, {}).get(report_id)
            if entry is None:
                return None, None
            seconds = entry["render_seconds"]
            return copy.deepcopy(entry["report"]), self.settings["render_seconds"] if seconds is None else seconds

    def create_report(self, org_id, fields, user_id):
        """Store a new report with the next id of the one sequence all orgs share (never reused, as a
        database sequence), Grafana's defaults filled; return the id."""
        with self.lock:
            org_reports = self.reports.setdefault(org_id, {})
            report_id = self.next_report_id
            self.next_report_id += 1
            report = completed_report(deep_merge(report_defaults(org_id, report_id), fields))
            report.update(id=report_id, orgId=org_id, userId=user_id, created=utc_now_iso(), updated=utc_now_iso())
            org_reports[report_id] = {"report": report, "render_seconds": None}
            return report_id

    def update_report(self, org_id, report_id, fields):
        """Replace a stored report's definition with ``fields`` (defaults filled, as on create);
        return False if there is no such report."""
        with self.lock:
            entry = self.reports.get(org_id, {}).get(report_id)
            if entry is None:
                return False
            old = entry["report"]
            report = completed_report(deep_merge(report_defaults(org_id, report_id), fields))
            report.update({key: old[key] for key in REPORT_FIXED_KEYS}, updated=utc_now_iso())
            entry["report"] = report
            return True

    def delete_report(self, org_id, report_id):
        """Remove a report; return False if there was none."""
        with self.lock:
            return self.reports.get(org_id, {}).pop(report_id, None) is not None

    def get_report_settings(self, org_id):
        """Return a copy of the org's report settings (defaults if it never saved any)."""
        with self.lock:
            return copy.deepcopy(self.report_settings.get(org_id) or report_settings_defaults(org_id))

    def save_report_settings(self, org_id, fields, user_id):
        """Replace the org's report settings: fields left out get their defaults back."""
        with self.lock:
            settings = deep_merge(report_settings_defaults(org_id), fields)
            settings.update(id=org_id, userId=user_id)
            self.report_settings[org_id] = settings

    # Annotations ---------------------------------------------------------------------------

    def add_annotation(self, principal, fields):
        """Store an annotation in the caller's org; return its id (one sequence for all orgs).

        As Grafana's store (annotationsimpl/xorm_store.go): tags are parsed and stored as
        key:value pairs, ``time`` defaults to now, ``timeEnd`` to ``time``, a backwards range is
        swapped, and ``created``/``updated`` come from the server's clock. The row and its tags are
        not one transaction (Add inserts the row, then synchronizeTags the annotation_tag rows):
        for half to all of ``annotations_tag_seconds`` the row has its id but no tag finds it, and
        the answer comes after the tags.
        """
        stamp = now_ms()
        pairs = parse_tag_pairs(fields.get("tags") or [])
        start = fields.get("time") or stamp
        end = fields.get("timeEnd") or start
        with self.lock:
            annotation_id = self.next_annotation_id
            self.next_annotation_id += 1
            row = {
                "id": annotation_id, "alertId": 0, "dashboardId": 0, "dashboardUID": fields.get("dashboardUID") or "",
                "panelId": 0, "userId": principal.user_id, "login": principal.login, "email": "", "avatarUrl": "",
                "time": min(start, end), "timeEnd": max(start, end), "text": fields["text"],
                "tags": join_tag_pairs(pairs), "created": stamp, "updated": stamp, "data": {},
                "orgId": principal.org_id, "_pairs": [],
            }
            self.annotations.append(row)
            tag_seconds = self.settings["annotations_tag_seconds"]
        if tag_seconds:
            # Half to all of the setting: a real database's round trips vary, so a later row can get its tags first.
            self.shutdown_event.wait(_RANDOM.uniform(tag_seconds / 2, tag_seconds))
        with self.lock:
            row["_pairs"] = pairs
        return annotation_id

    @staticmethod
    def _public(annotation):
        return {key: copy.deepcopy(value) for key, value in annotation.items() if key != "orgId" and not key.startswith("_")}

    def find_annotations(self, org_id, query, readable):
        """Return the org's annotations matching an AnnotationQuery that ``readable(annotation)``
        lets the caller see, as Grafana's RepositoryImpl.Find (annotationsimpl/annotations.go).

        Since Grafana 11.3 (``annotations_two_queries``): a first query without the access filter
        counts the matches up to ``limit``; none: the answer is empty. Then the dashboard search of
        the access filter (``annotations_search_seconds``), then the filtered query with its LIMIT
        set to that count: rows that match by then push those that sort last out of the answer.
        Before 11.3: the filtered query alone. ``None`` when the caller holds no annotations:read at
        all (getAccessControlFilter's "missing permissions", a 500).
        """
        with self.lock:
            self._clean_annotations()
            two_queries, search_seconds = self.settings["annotations_two_queries"], self.settings["annotations_search_seconds"]
            if two_queries:
                limit = len(self._annotation_rows(org_id, query, lambda item: True)[:query.limit])
                if not limit:
                    return []
        if two_queries and search_seconds:
            self.shutdown_event.wait(search_seconds)
        with self.lock:
            if readable is None:
                return None
            if not two_queries:
                return self._annotation_rows(org_id, query, readable)[:query.limit]
            # Find's loop: one filtered query per page of the caller's dashboards (page size: the limit), each
            # answering the organization's rows again, until the results reach the limit or a page comes back short.
            results, page, visible = [], 1, self.settings["annotations_visible_dashboards"]
            while len(results) < limit:
                results += self._annotation_rows(org_id, query, readable)[:limit]
                if min(limit, max(0, visible - (page - 1) * limit)) < limit:
                    break
                page += 1
            return results

    def _annotation_rows(self, org_id, query, readable):
        """The org's rows matching ``query`` in xorm_store.go Get's order: ORDER BY epoch_end DESC,
        epoch DESC and nothing else, so rows that tie come in no defined order (here: shuffled)."""
        found = []
        for annotation in self.annotations:
            if annotation["orgId"] != org_id or not readable(annotation):
                continue
            if query.annotation_id and annotation["id"] != query.annotation_id:
                continue
            if query.tags and not tags_match(annotation["_pairs"], query.tags, query.match_any):
                continue
            # Grafana filters by time only when both from and to are > 0: the ranges overlap.
            if query.time_from > 0 and query.time_to > 0 and not (
                    annotation["time"] <= query.time_to and annotation["timeEnd"] >= query.time_from):
                continue
            if query.dashboard_uid and annotation["dashboardUID"] != query.dashboard_uid:
                continue
            found.append(self._public(annotation))
        _RANDOM.shuffle(found)
        found.sort(key=lambda item: (item["timeEnd"], item["time"]), reverse=True)
        return found

    def get_annotation(self, org_id, annotation_id):
        """Return a copy of one annotation of the org (internal keys included), or None."""
        with self.lock:
            self._clean_annotations()
            for annotation in self.annotations:
                if annotation["id"] == annotation_id and annotation["orgId"] == org_id:
                    return copy.deepcopy(annotation)
        return None

    def patch_annotation(self, org_id, annotation_id, fields):
        """Grafana's PATCH (pkg/api/annotations.go PatchAnnotation): tags when given (even []), text
        when not empty, time and timeEnd when > 0; a backwards range is swapped; ``updated`` stamped.
        Return False if the annotation is gone."""
        with self.lock:
            for annotation in self.annotations:
                if annotation["id"] == annotation_id and annotation["orgId"] == org_id:
                    break
            else:
                return False
            if fields.get("tags") is not None:
                # The tag index gets the parsed pairs; the annotation's own tags column keeps the text as sent.
                annotation["_pairs"] = parse_tag_pairs(fields["tags"])
                annotation["tags"] = list(fields["tags"])
            if fields.get("text"):
                annotation["text"] = fields["text"]
            for key in ("time", "timeEnd"):
                if (fields.get(key) or 0) > 0:
                    annotation[key] = fields[key]
            annotation["time"], annotation["timeEnd"] = sorted((annotation["time"], annotation["timeEnd"]))
            annotation["updated"] = now_ms()
            return True

    def delete_annotation(self, org_id, annotation_id):
        """Remove one annotation of the org (Grafana answers 200 whether or not a row was deleted)."""
        with self.lock:
            self.annotations = [item for item in self.annotations if not (item["id"] == annotation_id and item["orgId"] == org_id)]

    def clean_annotations(self):
        """Run the [annotations.api] clean-up now; return the number of annotations deleted."""
        with self.lock:
            return self._clean_annotations()

    def _clean_annotations(self):
        """Grafana's clean-up job (annotationsimpl/cleanup.go, xorm_store.go CleanAnnotations) for
        annotations without a dashboard, all orgs together: first those created more than
        ``annotations_max_age_seconds`` ago, then all but the ``annotations_max_count`` highest ids.
        Grafana runs it every 10 minutes; the simulator before every annotation request."""
        max_age, max_count = self.settings["annotations_max_age_seconds"], self.settings["annotations_max_count"]
        before = len(self.annotations)
        if max_age > 0:
            cutoff = now_ms() - max_age * 1000
            self.annotations = [item for item in self.annotations if item["dashboardUID"] or item["created"] >= cutoff]
        if max_count > 0:
            keep = sorted((item["id"] for item in self.annotations if not item["dashboardUID"]), reverse=True)[:max_count]
            self.annotations = [item for item in self.annotations if item["dashboardUID"] or item["id"] in keep]
        return before - len(self.annotations)

    # Basic-auth users ----------------------------------------------------------------------

    def reload_permissions(self, token_name):
        """GET .../user/permissions?reloadcache=true by this token: its cache now holds what was granted late."""
        with self.lock:
            self.reloaded_permissions.add(token_name)

    def permissions_reloaded(self, token_name):
        with self.lock:
            return token_name in self.reloaded_permissions

    def login_locked(self, login):
        """Whether ``login`` has ``lockout_attempts`` failed logins within ``lockout_window_seconds``
        (Grafana's loginattempt service: then even the right password gets 401)."""
        with self.lock:
            limit, window = self.settings["lockout_attempts"], self.settings["lockout_window_seconds"]
            recent = [moment for moment in self.login_failures.get(login.lower(), []) if moment > time.monotonic() - window]
            self.login_failures[login.lower()] = recent
            return limit > 0 and len(recent) >= limit

    def record_login_failure(self, login):
        """Count one failed login of ``login`` (Grafana lower-cases the name)."""
        with self.lock:
            self.login_failures.setdefault(login.lower(), []).append(time.monotonic())

    def current_org(self, login):
        """The user's current org: the one Grafana uses when a request names none."""
        with self.lock:
            return self.current_orgs[login]

    def set_current_org(self, data):
        """POST /_sim/current-org ``{"login", "org_id"}``: what switching org in Grafana's UI does."""
        users = {user["login"]: user for user in self.config["users"]}
        login, org_id = data.get("login"), data.get("org_id")
        if login not in users or org_id not in users[login]["orgs"]:
            raise ApiError(400, "expected {\"login\": a configured user, \"org_id\": one of that user's orgs}")
        with self.lock:
            self.current_orgs[login] = org_id
        return {"login": login, "current_org": org_id}

    # Faults --------------------------------------------------------------------------------

    def add_fault(self, spec):
        """Validate and store a POST /_sim/faults body; return the fault id."""
        if not isinstance(spec, dict) or spec.get("mode") not in FAULT_MODES:
            raise ApiError(400, "mode must be one of: " + ", ".join(FAULT_MODES))
        if not isinstance(spec.get("path"), str) or not spec["path"].startswith("/"):
            raise ApiError(400, "path must be a string starting with /")
        count = spec.get("count")
        if count is not None and (not isinstance(count, int) or isinstance(count, bool) or count < 1):
            raise ApiError(400, "count must be a positive integer")
        status = spec.get("status", 500)
        if not isinstance(status, int) or not 400 <= status <= 599:
            raise ApiError(400, "status must be an HTTP error code (400-599)")
        fault = {
            "method": spec["method"].upper() if spec.get("method") else None,
            "path": spec["path"],
            "mode": spec["mode"],
            "remaining": count,
            "seconds": float(spec.get("seconds", 600 if spec["mode"] == "hang" else 1)),
            "status": status,
            "retry_after": spec.get("retry_after"),
            "message": spec.get("message"),
        }
        with self.lock:
            fault["id"] = self.next_fault_id
            self.next_fault_id += 1
            self.faults.append(fault)
            return fault["id"]

    def list_faults(self):
        """Return copies of the active faults."""
        with self.lock:
            return copy.deepcopy(self.faults)

    def clear_faults(self):
        """Remove every fault."""
        with self.lock:
            self.faults = []

    def take_fault(self, method, path):
        """Return the first fault matching the request, using up one of its ``count``."""
        with self.lock:
            for fault in self.faults:
                if fault["method"] not in (None, method):
                    continue
                pattern = fault["path"]
                if not (path.startswith(pattern[:-1]) if pattern.endswith("*") else path == pattern):
                    continue
                if fault["remaining"] is not None:
                    fault["remaining"] -= 1
                    if fault["remaining"] == 0:
                        self.faults.remove(fault)
                return dict(fault)
        return None

    # Stats and request log -----------------------------------------------------------------

    def count_request(self, method, path):
        """Count one received API request (faulted ones too)."""
        with self.lock:
            self.request_count += 1
            route = f"{method} {path}"
            self.by_route[route] = self.by_route.get(route, 0) + 1

    def count_render(self):
        """Count one successful render (GET /api/reports/render/...): renders mail nobody."""
        with self.lock:
            self.renders += 1

    def count_send(self):
        """Count one successful report send."""
        with self.lock:
            self.sends += 1

    def stats(self):
        """Return the GET /_sim/stats body."""
        with self.lock:
            return {
                "requests": self.request_count,
                "by_route": dict(self.by_route),
                "sends": self.sends,
                "renders": self.renders,
                "in_flight_renders": self.render_slots.in_flight,
                "max_concurrent_renders": self.render_slots.peak,
            }

    def log_request(self, record):
        """Append one JSON line to requests.jsonl and flush, so readers see it at once."""
        line = json.dumps(record, sort_keys=True) + "\n"
        with self._log_lock:
            # A handler still running at shutdown (a render, a hang) may finish after close().
            if self._log.closed:
                return
            self._log.write(line)
            self._log.flush()

    def read_log(self):
        """Return the logged requests, oldest first."""
        with self._log_lock:
            with open(self._log.name, encoding="utf-8") as handle:
                return [json.loads(line) for line in handle if line.strip()]

    # Mail ----------------------------------------------------------------------------------

    def deliver_mail(self, org_id, report, recipients):
        """Write one RFC 5322 message with a PDF attachment into the outbox; return its file name."""
        message = EmailMessage()
        message["From"] = MAIL_FROM
        message["To"] = ", ".join(recipients)
        message["Subject"] = report["subject"] or report["name"]
        message["Date"] = email.utils.formatdate(usegmt=True)
        message["Message-ID"] = email.utils.make_msgid(domain="sim.invalid")
        if report["replyTo"]:
            message["Reply-To"] = report["replyTo"]
        message["X-Grafana-Report-Id"] = str(report["id"])
        message["X-Grafana-Org-Id"] = str(org_id)
        dashboards = ", ".join(item.get("dashboard", {}).get("name", "?") for item in report["dashboards"]) or "no dashboard"
        intro = report["message"] + "\n\n" if report["message"] else ""
        message.set_content(f"{intro}Report \"{report['name']}\" ({dashboards}), rendered by the Grafana simulator.\n")
        message.add_attachment(build_pdf(report["name"]), maintype="application", subtype="pdf",
                               filename=report["name"].replace("/", "_") + ".pdf")
        with self.lock:
            seq = self.next_mail_seq
            self.next_mail_seq += 1
        stamp = datetime.datetime.now(datetime.timezone.utc).strftime("%Y%m%dT%H%M%S.%fZ")
        name = f"{stamp}-{seq:06d}-report-{report['id']}.eml"
        # Write under a hidden temporary name, then rename: readers never see half a mail.
        temporary = os.path.join(self.outbox_dir, f".{name}.tmp")
        with open(temporary, "wb") as handle:
            handle.write(message.as_bytes(policy=email.policy.SMTP))
        os.replace(temporary, os.path.join(self.outbox_dir, name))
        return name

    def list_outbox(self):
        """Return the GET /_sim/outbox body: one entry per delivered mail, oldest first."""
        mails = []
        for name in sorted(os.listdir(self.outbox_dir)):
            if name.startswith(".") or not name.endswith(".eml"):
                continue
            with open(os.path.join(self.outbox_dir, name), "rb") as handle:
                message = email.message_from_binary_file(handle, policy=email.policy.default)
            mails.append({
                "file": name,
                "to": [address for dummy, address in email.utils.getaddresses([message["To"] or ""])],
                "subject": message["Subject"],
                "report_id": int(message["X-Grafana-Report-Id"]),
                "org_id": int(message["X-Grafana-Org-Id"]),
            })
        return mails


def loggable_body(body):
    """Return a request body for the log: parsed JSON if it is JSON, else text; at most 4 KB."""
    if not body:
        return None
    text = body.decode("utf-8", "replace")
    if len(body) <= LOG_BODY_LIMIT:
        try:
            return json.loads(text)
        except ValueError:
            pass
    return text[:LOG_BODY_LIMIT]


def new_trace_id():
    """Return a random trace id like the ones in Grafana 10+ error bodies."""
    return secrets.token_hex(16)


def error_body(error, profile, tracing=False):
    """Return the JSON error body for ``error`` in the shape Grafana ``profile`` uses.

    ``traceID`` is empty unless Grafana has tracing configured (``tracing`` setting).
    """
    if error.kind == "route":
        return {"message": error.message}
    if profile == 9:
        return {"message": "Permission denied" if error.kind == "access" else error.message}
    trace_id = new_trace_id() if tracing else ""
    if error.kind == "auth":
        return {"extra": None, "message": error.message, "messageId": error.message_id, "statusCode": error.status, "traceID": trace_id}
    if error.kind == "access":
        return {
            "title": "Access denied",
            "message": f"You'll need additional permissions to perform this action. Permissions needed: {error.permission}",
            "accessErrorId": f"ACE{secrets.randbelow(10 ** 10):010d}",
        }
    return {"message": error.message, "traceID": trace_id}


def parse_positive_int(text):
    """Return ``text`` as a positive int if it is all digits, else None."""
    if isinstance(text, str) and re.fullmatch(r"[0-9]+", text) and int(text) > 0:
        return int(text)
    return None


def path_id(match):
    """Return the integer ``{id}`` of a route match; 400 if it is not one."""
    report_id = parse_positive_int(match.group("id"))
    if report_id is None:
        raise ApiError(400, "id is invalid")
    return report_id


def check_addresses(addresses):
    """Raise 400 unless every address looks like local@domain."""
    for address in addresses:
        if not re.fullmatch(r"[^@\s<>\"]+@[^@\s<>\"]+", address):
            raise ApiError(400, f"invalid email address: {address}")


def report_fields(data, creating):
    """Return the Report fields of a POST/PUT body after Grafana-like type checks.

    Unknown keys are ignored (Go's JSON decoding drops them) and server-owned keys (id, uid,
    orgId, ...) cannot be set. A value whose JSON type differs from the field's is a 400.
    """
    template = report_defaults(0, 0)
    fields = {key: value for key, value in data.items() if key in template and key not in REPORT_FIXED_KEYS}
    for key, value in fields.items():
        expected = template[key]
        if expected is None or value is None:
            continue
        if isinstance(expected, bool) or isinstance(value, bool):
            valid = isinstance(value, bool) and isinstance(expected, bool)
        elif isinstance(expected, (int, float)):
            valid = isinstance(value, (int, float))
        else:
            valid = isinstance(value, type(expected))
        if not valid:
            raise ApiError(400, "bad request data")
    if (creating or "name" in fields) and not (isinstance(fields.get("name"), str) and fields["name"].strip()):
        raise ApiError(400, "report name is required")
    if "recipients" in fields:
        check_addresses(split_recipients(fields["recipients"]))
    check_definition(fields)
    return fields


def parse_date_time(value, what):
    """Return an RFC 3339 date-time as an aware datetime (None for null or ""); 400 if it is not one."""
    if value in (None, ""):
        return None
    try:
        parsed = datetime.datetime.fromisoformat(value[:-1] + "+00:00" if value.endswith(("Z", "z")) else value)
    except (TypeError, ValueError) as exc:
        raise ApiError(400, f"invalid {what}: {value!r} is not an RFC 3339 date-time") from exc
    if parsed.tzinfo is None:
        raise ApiError(400, f"invalid {what}: {value!r} has no time zone offset")
    return parsed


def time_zone(name):
    """Return the ZoneInfo of an IANA name; 400 if Grafana would not know it."""
    try:
        return zoneinfo.ZoneInfo(name or "UTC")
    except (ValueError, zoneinfo.ZoneInfoNotFoundError) as exc:
        raise ApiError(400, f"invalid time zone: {name}") from exc


def check_choice(value, choices, what):
    """Raise 400 unless ``value`` is one of ``choices`` (or unset)."""
    if value not in (None, "") and value not in choices:
        raise ApiError(400, f"invalid {what}: {value!r}, expected one of {', '.join(choices)}")


def check_definition(fields):  # pylint: disable=too-many-branches  # one check per field, in the spec's order
    """Raise 400 with Grafana-like messages for the values of a report definition that it refuses."""
    for report_format in fields.get("formats") or []:
        check_choice(report_format, REPORT_FORMATS, "report format")
    check_choice(fields.get("state"), REPORT_STATES, "report state")
    if fields.get("replyTo"):  # a comma-separated list (reporting docs, Config JSON Body Schema)
        check_addresses(split_recipients(fields["replyTo"]))
    options = fields.get("options") or {}
    check_choice(options.get("orientation"), REPORT_ORIENTATIONS, "orientation")
    check_choice(options.get("layout"), REPORT_LAYOUTS, "layout")
    if not isinstance(options.get("timeRange") or {}, dict):
        raise ApiError(400, "bad request data")
    schedule = fields.get("schedule") or {}
    check_choice(schedule.get("frequency"), REPORT_FREQUENCIES, "schedule frequency")
    check_choice(schedule.get("intervalFrequency"), REPORT_INTERVALS, "schedule interval frequency")
    if schedule.get("frequency") == "custom" and not (schedule.get("intervalFrequency") and schedule.get("intervalAmount")):
        raise ApiError(400, "a custom schedule needs intervalFrequency and a positive intervalAmount")
    time_zone(schedule.get("timeZone"))
    start = parse_date_time(schedule.get("startDate"), "start date")
    end = parse_date_time(schedule.get("endDate"), "end date")
    if start and end and end <= start:
        raise ApiError(400, "end date must be after the start date")
    for item in fields.get("dashboards") or []:
        dashboard = item.get("dashboard") if isinstance(item, dict) else None
        if not isinstance(dashboard, dict) or not isinstance(dashboard.get("uid"), str) or not dashboard["uid"]:
            raise ApiError(400, "dashboard uid is required")
        if not isinstance(item.get("timeRange") or {}, dict) or not variables_valid(item.get("reportVariables") or {}):
            raise ApiError(400, "bad request data")


def completed_report(report):
    """Return a stored definition as Grafana reads it back: its defaults filled, dates in its time zone."""
    report = copy.deepcopy(report)
    for key in ("formats", "scaleFactor"):
        report[key] = report[key] or copy.deepcopy(REPORT_FILLED_DEFAULTS[key])
    for key in ("orientation", "layout"):
        report["options"][key] = report["options"].get(key) or REPORT_FILLED_DEFAULTS[key]
    report["options"].setdefault("timeRange", {"from": "", "to": ""})
    schedule = report["schedule"]
    schedule["timeZone"] = schedule.get("timeZone") or "UTC"
    zone = time_zone(schedule["timeZone"])
    # Grafana keeps the instant and answers in the schedule's time zone, whatever offset was sent.
    for key in ("startDate", "endDate"):
        moment = parse_date_time(schedule.get(key), key)
        schedule[key] = moment.astimezone(zone).isoformat(timespec="seconds") if moment else None
    dashboards = []
    for item in report["dashboards"]:
        uid = item["dashboard"]["uid"]
        # The simulator has no dashboards: each uid stands for one, with a stable id and the uid as name.
        dashboards.append({"dashboard": {"id": int.from_bytes(uid.encode()[:3].ljust(3, b"\0"), "big"), "uid": uid, "name": uid},
                           "timeRange": {"from": "", "to": "", **(item.get("timeRange") or {})},
                           "reportVariables": item.get("reportVariables") or {}})
    report["dashboards"] = dashboards
    return report


def report_settings_defaults(org_id):
    """Return the report settings of an org that never saved any, as Grafana answers them."""
    return {"id": 0, "orgId": org_id, "userId": 0,
            "branding": {"reportLogoUrl": "", "emailLogoUrl": "", "emailFooterMode": "sent-by",
                         "emailFooterText": "Sent by", "emailFooterLink": "https://grafana.com/"},
            "embeddedImageTheme": "dark", "pdfTheme": "light"}


def settings_fields(data):
    """Return the branding and themes of a POST /api/reports/settings body; 400 for what Grafana refuses."""
    branding = data.get("branding") or {}
    if not isinstance(branding, dict) or any(
            not isinstance(branding.get(key) or "", str) for key in report_settings_defaults(0)["branding"]):
        raise ApiError(400, "bad request data")
    check_choice(branding.get("emailFooterMode"), SETTINGS_FOOTER_MODES, "email footer mode")
    for key in ("reportLogoUrl", "emailLogoUrl", "emailFooterLink"):
        if branding.get(key) and not re.fullmatch(r"https?://[^\s]+", branding[key]):
            raise ApiError(400, f"invalid {key}: must be an http(s) URL")
    for key in ("embeddedImageTheme", "pdfTheme"):
        check_choice(data.get(key), SETTINGS_THEMES, key)
    return {"branding": {key: value for key, value in branding.items() if key in report_settings_defaults(0)["branding"]},
            **{key: data[key] for key in ("embeddedImageTheme", "pdfTheme") if data.get(key)}}


# Report definitions as Grafana keeps them (issue 16) -------------------------------------------
#
# Grafana stores what its version knows: Go's JSON decoding drops the fields of a newer Grafana.
# The ages come from grafana-reporting-api.md ("Fields by age", read from the generated OpenAPI
# clients); the exact minor versions are inferred. Each entry: the path of a field and the first
# Grafana version that keeps it.
REPORT_FIELDS_SINCE = (
    (("subject",), (11, 0)),
    (("options", "pdfShowTemplateVariables"), (11, 3)),
    (("options", "pdfCombineOneFile"), (11, 3)),
    (("options", "csvEncoding"), (13, 0)),
)
# The pdf-tables formats need the pdfTables feature toggle, which exists since 10.3.
PDF_TABLE_FORMATS = ("pdf-tables", "pdf-tables-appendix")
PDF_TABLES_SINCE = (10, 3)
# Grafana 13's ReportSettings fields beyond branding and themes, with what an org that never saved
# settings answers (the reporting frontend's ReportsSettingsDrawer test data, mockSettingsData).
SETTINGS_13_DEFAULTS = {"pdfHeaderEnabled": True, "pdfTimeRangeEnabled": True, "pdfDashboardTitleEnabled": True,
                        "footerItems": [{"type": "pageNumber"}, {"type": "flexSpacer"}, {"type": "logo"}],
                        "footerFontFamily": ""}
# What a POST that leaves them out stores: Go's zero values (inferred: the body replaces the object).
SETTINGS_13_ZERO = {"pdfHeaderEnabled": False, "pdfTimeRangeEnabled": False, "pdfDashboardTitleEnabled": False,
                    "footerItems": None, "footerFontFamily": ""}
SETTINGS_13_SINCE = (13, 0)


def version_tuple(version):
    """``"10.4.2"`` as ``(10, 4, 2)``; what does not parse counts as the newest Grafana."""
    parts = re.findall(r"\d+", str(version))
    return tuple(int(part) for part in parts[:3]) if parts else (99,)


def known_report_fields(fields, version):
    """A report definition without what Grafana ``version`` does not know (dropped, no error)."""
    fields = copy.deepcopy(fields)
    release = version_tuple(version)
    for path, since in REPORT_FIELDS_SINCE:
        target = fields
        for key in path[:-1]:
            target = target.get(key) if isinstance(target.get(key), dict) else {}
        if release < since:
            target.pop(path[-1], None)
    if release < PDF_TABLES_SINCE and isinstance(fields.get("formats"), list):
        fields["formats"] = [item for item in fields["formats"] if item not in PDF_TABLE_FORMATS]
    return fields


def variables_valid(variables):
    """Whether reportVariables holds, for each name, a string (as in Grafana's reporting docs'
    examples) or a list of strings (as the current frontend sends, Record<string, string[]>)."""
    return isinstance(variables, dict) and all(
        isinstance(values, str) or (isinstance(values, list) and all(isinstance(value, str) for value in values))
        for values in variables.values())


def settings_13_fields(data, version):
    """The Grafana 13 settings fields of a POST body (zero values for those left out), or {} before 13."""
    if version_tuple(version) < SETTINGS_13_SINCE:
        return {}
    fields = {key: data.get(key, SETTINGS_13_ZERO[key]) for key in SETTINGS_13_ZERO}
    for key in ("pdfHeaderEnabled", "pdfTimeRangeEnabled", "pdfDashboardTitleEnabled"):
        if not isinstance(fields[key], bool):
            raise ApiError(400, "bad request data")
    if not isinstance(fields["footerFontFamily"], str) or not (
            fields["footerItems"] is None or (isinstance(fields["footerItems"], list)
                                              and all(isinstance(item, dict) for item in fields["footerItems"]))):
        raise ApiError(400, "bad request data")
    return fields


def settings_as_version_keeps(settings, version):
    """Stored settings as Grafana ``version`` answers them: the Grafana 13 fields only from 13 on."""
    if version_tuple(version) < SETTINGS_13_SINCE:
        return {key: value for key, value in settings.items() if key not in SETTINGS_13_DEFAULTS}
    return {**copy.deepcopy(SETTINGS_13_DEFAULTS), **settings}


# (method, path pattern, handler method, RBAC action or None for routes without auth)
API_ROUTES = [
    ("GET", r"/api/health", "api_health", None),
    # Any signed-in caller (pkg/api/api.go: reqSignedIn); the permissions of the caller itself (pkg/api/accesscontrol.go).
    ("GET", r"/api/frontend/settings", "api_frontend_settings", ""),
    ("GET", r"/api/access-control/user/permissions", "api_user_permissions", ""),
    # settings:read, a server admin's (pkg/api/api.go); the handler answers the sections its scopes cover.
    ("GET", r"/api/admin/settings", "api_admin_settings", "settings:read"),
    ("GET", r"/login", "api_login_page", None),
    ("POST", r"/api/reports/email", "api_send_report", "reports:send"),
    ("GET", r"/api/reports", "api_list_reports", "reports:read"),
    ("POST", r"/api/reports", "api_create_report", "reports:create"),
    # Before the {id} routes, which would take "settings" for an id.
    ("GET", r"/api/reports/settings", "api_get_report_settings", "reports.settings:read"),
    ("POST", r"/api/reports/settings", "api_save_report_settings", "reports.settings:write"),
    ("POST", r"/api/reports/test-email", "api_test_email", "reports:send"),
    # Signed in, no RBAC action ("Available to all users", spec); the frontend adds a trailing slash.
    ("GET", r"/api/reports/render/pdfs/?", "api_render_pdfs", ""),
    ("GET", r"/api/reports/render/csvs/?", "api_render_csvs", ""),
    ("GET", r"/api/dashboards/uid/(?P<uid>[^/]+)", "api_get_dashboard", ""),
    # Signed in; the handler checks dashboards:create or dashboards:write on the dashboard's folder (issue 18).
    ("POST", r"/api/dashboards/db", "api_save_dashboard", ""),
    ("GET", r"/api/folders", "api_list_folders", "folders:read"),
    ("POST", r"/api/folders", "api_create_folder", "folders:create"),
    ("GET", r"/api/folders/(?P<uid>[^/]+)", "api_get_folder", "folders:read"),
    ("GET", r"/api/reports/(?P<id>[^/]+)", "api_get_report", "reports:read"),
    ("PUT", r"/api/reports/(?P<id>[^/]+)", "api_update_report", "reports:write"),
    ("DELETE", r"/api/reports/(?P<id>[^/]+)", "api_delete_report", "reports:delete"),
    ("GET", r"/api/annotations", "api_list_annotations", "annotations:read"),
    ("POST", r"/api/annotations", "api_create_annotation", "annotations:create"),
    ("PATCH", r"/api/annotations/(?P<id>[^/]+)", "api_patch_annotation", "annotations:write"),
    ("DELETE", r"/api/annotations/(?P<id>[^/]+)", "api_delete_annotation", "annotations:delete"),
]
API_ROUTES = [(method, re.compile(pattern), name, permission) for method, pattern, name, permission in API_ROUTES]

# The routes of Grafana Enterprise's reporting (pkg/extensions in the Enterprise build only).
REPORTING_PATH = "/api/reports"

CONTROL_ROUTES = {
    ("GET", "/_sim/stats"): "sim_stats",
    ("GET", "/_sim/requests"): "sim_requests",
    ("GET", "/_sim/outbox"): "sim_outbox",
    ("POST", "/_sim/reset"): "sim_reset",
    ("GET", "/_sim/faults"): "sim_list_faults",
    ("POST", "/_sim/faults"): "sim_add_fault",
    ("DELETE", "/_sim/faults"): "sim_clear_faults",
    ("GET", "/_sim/settings"): "sim_settings",
    ("PATCH", "/_sim/settings"): "sim_update_settings",
    ("POST", "/_sim/current-org"): "sim_current_org",
    ("POST", "/_sim/annotations/cleanup"): "sim_clean_annotations",
}


def resolve_api_route(method, path, edition="Enterprise"):
    """Return ``(handler name, permission, match)``; raise the router's 404.

    Grafana's router (pkg/web/router.go) keeps one tree per method: a known path asked with
    another method finds no route and gets the same 404 as an unknown path, never a 405.
    The Open Source build registers no reporting routes: they get that 404 too.
    """
    if edition != "Enterprise" and path.startswith(REPORTING_PATH):
        raise ApiError(404, "Not found", kind="route")
    for route_method, pattern, name, permission in API_ROUTES:
        match = pattern.fullmatch(path)
        if match and route_method == method:
            return name, permission, match
    raise ApiError(404, "Not found", kind="route")


# Rendering without sending (issue 19) ------------------------------------------------------
#
# GET /api/reports/render/pdfs and /csvs, as the Enterprise OpenAPI spec (public/api-enterprise-spec.json,
# operations renderReportPDFs and renderReportCSVs) and the reporting frontend (the "Preview PDF" link of
# the format step, downloadCSV in the reports' actions) use them; see README.md for each source.

# A raw (non-JSON) answer of a handler: its bytes and Content-Type.
RawBody = namedtuple("RawBody", "content content_type")
# Grafana's datemath units (packages/grafana-data datemath: y M w d h m s) and its relative form
# now[+-]<n><unit>[/<unit>]; an absolute time is epoch milliseconds, as the frontend sends it
# (from.valueOf().toString()). What the backend answers for anything else is inferred: 400.
RENDER_TIME = re.compile(r"now(?:[+-][0-9]+[yMwdhms])*(?:/[yMwdhms])?|[0-9]{1,15}")
RENDER_BOOLEANS = {"1": True, "t": True, "T": True, "TRUE": True, "true": True, "True": True,
                   "0": False, "f": False, "F": False, "FALSE": False, "false": False, "False": False}
# pkg/services/rendering/interface.go: the errors the rendering service returns.
RENDERER_UNAVAILABLE = "rendering plugin not available"
RENDERER_TIMEOUT = "timeout error - you can set timeout in seconds with &timeout url parameter"
# capabilities.go: the version of a renderer that never answered /version ("") cannot be read before a PDF;
# rendering.go: the PDFRendering capability (">= 3.10.0") and the error of an unsupported one; http_mode.go: a render
# sent to a service that does not answer.
RENDERER_INVALID_VERSION = "invalid plugin version"
PDF_RENDERER_MIN = (3, 10, 0)
PDF_UNSUPPORTED = "PdfRendering unsupported, requires image renderer version: >= 3.10.0"
RENDERER_UNREACHABLE = "failed to send request to remote rendering service: connection refused"


def renderer_failure(settings, grafana_version, pdf):
    """Why Grafana's renderer fails this render (a PDF or not), or None: missing, silent, or too old for a PDF."""
    if settings["renderer"] == "missing":
        return RENDERER_UNAVAILABLE
    if settings["renderer"] == "silent":
        return RENDERER_INVALID_VERSION if pdf else RENDERER_UNREACHABLE
    if pdf and (version_tuple(grafana_version) >= (13,) or settings["new_pdf_rendering"]):
        parsed = re.match(r"^v?(\d+)(?:\.(\d+))?(?:\.(\d+))?", settings["renderer_version"].strip())
        if not parsed:
            return RENDERER_INVALID_VERSION
        if tuple(int(part or 0) for part in parsed.groups()) < PDF_RENDERER_MIN:
            return PDF_UNSUPPORTED
    return None


def render_query(query, pdf):
    """The parameters of a render, checked; 400 for what cannot be rendered.

    ``dashboards`` is a JSON list of {"dashboard": {"uid"}, "timeRange": {"from", "to"},
    "reportVariables": {name: [values] or value}}; the frontend sends variables as lists, Grafana's
    docs show strings, so both are taken. The PDF options are strings in the spec.
    """
    def first(name):
        return (query.get(name) or [""])[0]

    try:
        dashboards = json.loads(first("dashboards"))
    except ValueError as exc:
        raise ApiError(400, "invalid dashboards parameter: not JSON") from exc
    if not isinstance(dashboards, list) or not dashboards:
        raise ApiError(400, "at least one dashboard is required")
    items = []
    for item in dashboards:
        uid = ((item or {}).get("dashboard") or {}).get("uid") if isinstance(item, dict) else None
        if not isinstance(uid, str) or not uid:
            raise ApiError(400, "each dashboard needs a uid")
        time_range = item.get("timeRange") or {}
        variables = item.get("reportVariables") or {}
        if not isinstance(time_range, dict) or not isinstance(variables, dict):
            raise ApiError(400, "invalid dashboards parameter")
        for key in ("from", "to"):
            value = time_range.get(key) or ""
            if not isinstance(value, str) or (value and not RENDER_TIME.fullmatch(value)):
                raise ApiError(400, f"invalid time range {key}: {value!r}")
        values = {}
        for name, value in variables.items():
            listed = value if isinstance(value, list) else [value]
            if not all(isinstance(entry, str) for entry in listed):
                raise ApiError(400, f"invalid value of variable {name}")
            values[name] = listed
        items.append({"uid": uid, "from": time_range.get("from") or "", "to": time_range.get("to") or "", "variables": values})
    options = {"title": first("title")}
    if pdf:
        for name, choices in (("orientation", REPORT_ORIENTATIONS), ("layout", REPORT_LAYOUTS)):
            value = first(name)
            if value and value not in choices:
                raise ApiError(400, f"invalid {name}: {value}")
            options[name] = value or REPORT_FILLED_DEFAULTS[name]
        scale = first("scaleFactor")
        if scale and not re.fullmatch(r"[0-9]+", scale):
            raise ApiError(400, f"invalid scaleFactor: {scale}")
        options["scaleFactor"] = int(scale) if scale else REPORT_FILLED_DEFAULTS["scaleFactor"]
        for name in ("includeTables", "pdfShowTemplateVariables", "pdfCombineOneFile"):
            value = first(name)
            if value and value not in RENDER_BOOLEANS:
                raise ApiError(400, f"invalid {name}: {value}")
            options[name] = RENDER_BOOLEANS.get(value, False)
    return items, options


def pdf_text_line(text):
    """One line of PDF text: latin-1, with the string delimiters escaped."""
    safe = text.encode("latin-1", "replace").decode("latin-1")
    return safe.replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)")


def build_report_pdf(pages):
    """A valid uncompressed PDF with one page per list of text lines (readable with a plain text search)."""
    count = len(pages)
    objects = [b"<< /Type /Catalog /Pages 2 0 R >>",
               b"<< /Type /Pages /Kids [%s] /Count %d >>" % (b" ".join(b"%d 0 R" % (4 + 2 * n) for n in range(count)), count),
               b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>"]
    for number, lines in enumerate(pages):
        text = " ".join(f"({pdf_text_line(line)}) Tj T*" for line in lines)
        content = f"BT /F1 12 Tf 16 TL 56 760 Td {text} ET".encode("latin-1")
        objects.append(b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Resources << /Font << /F1 3 0 R >> >>"
                       b" /Contents %d 0 R >>" % (5 + 2 * number))
        objects.append(b"<< /Length %d >>\nstream\n%s\nendstream" % (len(content), content))
    pdf = bytearray(b"%PDF-1.4\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(pdf))
        pdf += b"%d 0 obj\n%s\nendobj\n" % (number, body)
    xref_offset = len(pdf)
    pdf += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    for offset in offsets:
        pdf += b"%010d 00000 n \n" % offset
    pdf += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF" % (len(objects) + 1, xref_offset)
    return bytes(pdf)


def render_page_lines(title, dashboard, item, options):
    """What a page of the simulated PDF says: enough for a test to read that each parameter arrived."""
    lines = [f"Report: {title}", f"Dashboard: {dashboard['title']} (uid {dashboard['uid']})",
             f"Time range: {item['from'] or 'dashboard default'} to {item['to'] or 'dashboard default'}"]
    lines += [f"Variable {name} = {','.join(values)}" for name, values in sorted(item["variables"].items())]
    lines.append("Orientation: %(orientation)s, layout: %(layout)s, scale factor: %(scaleFactor)d" % options)
    lines.append("Include tables: %(includeTables)s, show variables: %(pdfShowTemplateVariables)s" % options)
    return lines


def build_csv_zip(title, items, dashboards):
    """The CSV answer: a zip with one CSV per dashboard (the frontend saves it as <title>.zip)."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for item in items:
            name = dashboards[item["uid"]]["title"]
            rows = ["time,value,dashboard,from,to"] + [f"{n},{n * 10},{name},{item['from']},{item['to']}" for n in range(3)]
            archive.writestr(f"{title or 'report'}-{item['uid']}.csv", "\n".join(rows) + "\n")
    return buffer.getvalue()


class RenderRoutes:
    """Handlers of the render routes and of the dashboard read the module checks before a render."""

    def _render_checked(self, principal, query, pdf):
        items, options = render_query(query, pdf)
        dashboards = {}
        for item in items:
            dashboards[item["uid"]] = self.state.dashboard_store.model(principal.org_id, item["uid"])
            if dashboards[item["uid"]] is None:
                # Inferred: the spec lists 400 for the render routes and no 404.
                raise ApiError(400, f"dashboard {item['uid']} not found")
            if not can_view_dashboard(principal, item["uid"]):
                raise ApiError(403, "Access denied to this dashboard")
        failure = renderer_failure(self.state.settings_snapshot(), self.state.config["version"], pdf)
        if failure:
            raise ApiError(500, f"Failed to render report: {failure}")
        seconds = self.state.setting("render_seconds")
        limit = self.state.setting("rendering_timeout_seconds")
        with self.state.render_slots.hold():
            self.state.shutdown_event.wait(min(seconds, limit) if limit else seconds)
        if limit and seconds > limit:
            raise ApiError(500, f"Failed to render report: {RENDERER_TIMEOUT}")
        self.state.count_render()
        return items, options, dashboards

    def api_render_pdfs(self, principal, query, **_):
        """GET /api/reports/render/pdfs: one PDF, a page per dashboard."""
        items, options, dashboards = self._render_checked(principal, query, pdf=True)
        title = options["title"] or "report"
        pages = [render_page_lines(title, dashboards[item["uid"]], item, options) for item in items]
        if len(items) > 1 and not options["pdfCombineOneFile"] and self.state.setting("pdf_uncombined_zip"):
            # Inferred (not public): one PDF per dashboard, as the mails attach them, in a zip.
            buffer = io.BytesIO()
            with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
                for item, lines in zip(items, pages):
                    archive.writestr(f"{title}-{item['uid']}.pdf", build_report_pdf([lines]))
            return 200, RawBody(buffer.getvalue(), "application/zip")
        return 200, RawBody(build_report_pdf(pages), "application/pdf")

    def api_render_csvs(self, principal, query, **_):
        """GET /api/reports/render/csvs: a zip of CSVs; 204 when no dashboard has a table panel."""
        items, options, dashboards = self._render_checked(principal, query, pdf=False)
        if self.state.setting("csv_tables") is False:
            return 204, RawBody(b"", "application/zip")
        return 200, RawBody(build_csv_zip(options["title"], items, dashboards), "application/zip")

    def api_get_dashboard(self, principal, match, **_):
        """GET /api/dashboards/uid/{uid} (pkg/api/dashboard.go GetDashboard): 404 "Dashboard not found",
        403 "Access denied to this dashboard"; the body is cut down to what the collection reads."""
        uid = match.group("uid")
        saved = self.saved_dashboard(principal, uid)
        if saved is None:
            raise ApiError(404, "Dashboard not found")
        if not can_view_dashboard(principal, uid):
            raise ApiError(403, "Access denied to this dashboard")
        return 200, saved


# Dashboards and folders (issue 18: the "Report deliveries" dashboard) ---------------------------
#
# POST /api/dashboards/db, GET /api/dashboards/uid/{uid}, GET/POST /api/folders, GET /api/folders/{uid}, as
# docs/sources/developers/http_api/dashboard.md and folder.md describe them, with the errors of
# pkg/services/dashboards/errors.go and the folder API's error mapping (pkg/api/folder.go); see
# test_dashboards.py for each source. Only what the collection needs: no nested folders, no search.

# Since 11.3 dashboard and folder titles need not be unique (PR #90687); since 12 POST /api/dashboards/db saves
# through the dashboard API (saveDashboardViaK8s), whose version conflict is a 409.
TITLES_FREE_SINCE = (11, 3)
SAVE_VIA_K8S_SINCE = (12,)
# What a read through the dashboard API of Grafana 12+ fills in a model that leaves it out (inferred).
MIGRATED_SCHEMA_VERSION = 41
MIGRATED_DEFAULTS = {"editable": True, "graphTooltip": 0, "fiscalYearStartMonth": 0, "links": [], "liveNow": False,
                     "timezone": "browser", "weekStart": "", "refresh": ""}
BUILT_IN_ANNOTATION = {"builtIn": 1, "datasource": {"type": "grafana", "uid": "-- Grafana --"}, "enable": True,
                       "hide": True, "iconColor": "rgba(0, 211, 255, 1)", "name": "Annotations & Alerts", "type": "dashboard"}


# What that read drops (apps/dashboard/pkg/migration/frontend_defaults.go, the frontend's save model): dashboard fields at
# their defaults (cleanupDashboardDefaults), panel fields at theirs (cleanupPanelForSave), null values
# (removeNullValuesRecursively); migration-test-analysis.md in grafana/grafana names the empty links and options.
DROPPED_DASHBOARD_DEFAULTS = {"style": "dark", "hideControls": False}
DROPPED_TRANSIENT = ("preload", "iteration")
DROPPED_PANEL_DEFAULTS = {"gridPos": {"x": 0, "y": 0, "h": 3, "w": 6}, "targets": [{"refId": "A"}], "transparent": False,
                          "options": {}, "links": [], "fieldConfig": {"defaults": {}, "overrides": []}, "title": "",
                          "transformations": [], "cachedPluginOptions": {}}


def same_json(value, default):
    """JSON equality, a bool never equal to a number."""
    if isinstance(value, bool) or isinstance(default, bool):
        return value is default
    return type(value) is type(default) and value == default  # pylint: disable=unidiomatic-typecheck


def without_nulls(value):
    """The value with every null member of an object removed, at any depth (null items of a list stay)."""
    if isinstance(value, dict):
        return {key: without_nulls(item) for key, item in value.items() if item is not None}
    if isinstance(value, list):
        return [without_nulls(item) for item in value]
    return value


def dropped_defaults(model):
    """The model without what the backend migration drops on a read (DROPPED_*)."""
    model = without_nulls(model)
    for key, default in DROPPED_DASHBOARD_DEFAULTS.items():
        if key in model and same_json(model[key], default):
            del model[key]
    for key in DROPPED_TRANSIENT:
        model.pop(key, None)
    for panel in [item for item in model.get("panels") or [] if isinstance(item, dict)]:
        for nested in [panel] + [item for item in panel.get("panels") or [] if isinstance(item, dict)]:
            for key, default in DROPPED_PANEL_DEFAULTS.items():
                if key in nested and same_json(nested[key], default):
                    del nested[key]
    return model


def migrated_model(model, version):
    """A saved model as a read through the dashboard API of Grafana 12+ answers it: the newest schemaVersion, the
    defaults filled, the built-in annotation added, every panel stamped with the running pluginVersion, and what the
    migration drops (dropped_defaults) left out."""
    model = dropped_defaults(copy.deepcopy(model))
    model["schemaVersion"] = max(int(model.get("schemaVersion") or 0), MIGRATED_SCHEMA_VERSION)
    for key, value in MIGRATED_DEFAULTS.items():
        model.setdefault(key, copy.deepcopy(value))
    annotations = model.setdefault("annotations", {}).setdefault("list", [])
    if not any(item.get("builtIn") for item in annotations if isinstance(item, dict)):
        annotations.insert(0, copy.deepcopy(BUILT_IN_ANNOTATION))
    for panel in model.get("panels") or []:
        if isinstance(panel, dict):
            panel["pluginVersion"] = version
    return model


# The uid Grafana gives the root folder in RBAC scopes (folders:uid:general).
ROOT_FOLDER_UID = "general"
UID_MAX_LENGTH = 40


def dashboard_slug(title):
    """The slug of a title in a dashboard's URL (/d/<uid>/<slug>), as gosimple/slug makes it for ASCII."""
    return re.sub(r"[^a-z0-9]+", "-", (title or "").lower()).strip("-")


def dashboard_error(status, reason, kind=None):
    """A DashboardErr's answer: {"message", "status"} when it has a status, else {"message"}."""
    return status, ({"message": reason, "status": kind} if kind else {"message": reason})


class DashboardStore:
    """The dashboards and folders of each org; thread-safe.

    At start it holds the dashboards that the configured reports name (Grafana's state before the
    run: a report can only be made of dashboards that exist), then those saved through the API. A
    report created through the API adds no dashboard.
    """

    def __init__(self, configured_reports=()):
        self.lock = threading.Lock()
        self.dashboards = {}  # (org, uid) -> {"dashboard", "folderUid", "created", "updated", "message"}
        self.folders = {}  # (org, uid) -> folder as GET /api/folders/{uid} answers it
        now = utc_now_iso()
        for entry in configured_reports:
            for item in entry["report"].get("dashboards") or []:
                named = item.get("dashboard") or {}
                if named.get("uid"):
                    self.dashboards.setdefault((entry["report"]["orgId"], named["uid"]), {
                        "dashboard": {"id": named.get("id") or 0, "uid": named["uid"],
                                      "title": named.get("name") or named["uid"], "version": 1, "panels": []},
                        "folderUid": "", "created": now, "updated": now, "message": ""})
        self.next_id = max([entry["dashboard"]["id"] for entry in self.dashboards.values()] + [0]) + 1

    def model(self, org_id, uid):
        """A copy of a dashboard's model, or None."""
        with self.lock:
            entry = self.dashboards.get((org_id, uid))
            return copy.deepcopy(entry["dashboard"]) if entry else None

    @staticmethod
    def new_uid():
        """A uid for a dashboard or folder saved without one (Grafana generates a short random one)."""
        return secrets.token_hex(7)


class DashboardRoutes:
    """Handlers of the dashboard and folder routes; the state is ``self.state.dashboard_store``."""

    def _folder(self, org_id, uid):
        store = self.state.dashboard_store
        with store.lock:
            return copy.deepcopy(store.folders.get((org_id, uid)))

    def api_save_dashboard(self, principal, body, **_):
        """POST /api/dashboards/db: create, or update the dashboard with the same uid."""
        data = self._bind_json(body)
        dashboard = data.get("dashboard")
        if not isinstance(dashboard, dict):
            raise ApiError(400, "bad request data")
        title = dashboard.get("title")
        if not isinstance(title, str) or not title.strip():
            return dashboard_error(400, "Dashboard title cannot be empty", "empty-name")
        uid = dashboard.get("uid") or None
        if uid is not None and (not isinstance(uid, str) or len(uid) > UID_MAX_LENGTH):
            return dashboard_error(400, "uid too long, max 40 characters")
        folder_uid = data.get("folderUid") or ""
        store = self.state.dashboard_store
        org = principal.org_id
        with store.lock:
            if folder_uid and (org, folder_uid) not in store.folders:
                return dashboard_error(400, "Folder not found", "not-found")
            existing = store.dashboards.get((org, uid)) if uid else None
            folder_scope = f"folders:uid:{folder_uid or ROOT_FOLDER_UID}"
            if existing is None:
                allowed = granted(principal, "dashboards:create", (folder_scope,))
            else:
                allowed = granted(principal, "dashboards:write", (f"dashboards:uid:{uid}", folder_scope))
            if not allowed:
                return dashboard_error(403, "Access denied to save dashboard")
            release = version_tuple(self.state.config["version"])
            for (other_org, other_uid), other in store.dashboards.items():
                # Titles need not be unique since 11.3 (PR #90687).
                if (release < TITLES_FREE_SINCE and not data.get("overwrite") and other_org == org and other_uid != uid and other["folderUid"] == folder_uid
                        and other["dashboard"]["title"].lower() == title.lower()):
                    return dashboard_error(412, "A dashboard with the same name in the folder already exists", "name-exists")
            if existing is not None and not data.get("overwrite") and dashboard.get("version") != existing["dashboard"]["version"]:
                if release >= SAVE_VIA_K8S_SINCE:
                    # pkg/api/dashboard.go saveDashboardViaK8s: without overwrite, only the current version is accepted.
                    return 409, {"message": "Dashboard already exists. Use overwrite flag to update."}
                return dashboard_error(412, "The dashboard has been changed by someone else", "version-mismatch")
            saved = copy.deepcopy(dashboard)
            now = utc_now_iso()
            if existing is None:
                saved.update(id=store.next_id, uid=uid or store.new_uid(), version=1)
                store.next_id += 1
                created = now
            else:
                saved.update(id=existing["dashboard"]["id"], uid=uid, version=existing["dashboard"]["version"] + 1)
                created = existing["created"]
            store.dashboards[(org, saved["uid"])] = {"dashboard": saved, "folderUid": folder_uid, "created": created,
                                                     "updated": now, "message": data.get("message") or ""}
        slug = dashboard_slug(title)
        return 200, {"id": saved["id"], "uid": saved["uid"], "url": f"/d/{saved['uid']}/{slug}", "status": "success",
                     "version": saved["version"], "slug": slug, "folderUid": folder_uid}

    def saved_dashboard(self, principal, uid):
        """GET /api/dashboards/uid/{uid} of a saved dashboard: the model as saved, with id and version, and meta."""
        store = self.state.dashboard_store
        with store.lock:
            entry = copy.deepcopy(store.dashboards.get((principal.org_id, uid)))
        if entry is None:
            return None
        folder = self._folder(principal.org_id, entry["folderUid"]) if entry["folderUid"] else None
        slug = dashboard_slug(entry["dashboard"]["title"])
        model = entry["dashboard"]
        if self.state.setting("dashboard_read_migrated"):
            model = migrated_model(model, self.state.config["version"])
        return {"dashboard": copy.deepcopy(model),
                "meta": {"type": "db", "slug": slug, "url": f"/d/{uid}/{slug}", "canSave": True, "canEdit": True,
                         "created": entry["created"], "updated": entry["updated"], "version": entry["dashboard"]["version"],
                         "folderUid": entry["folderUid"], "folderTitle": folder["title"] if folder else "Dashboards",
                         "folderId": folder["id"] if folder else 0, "provisioned": False}}

    def api_list_folders(self, principal, query, **_):
        """GET /api/folders: the root folders, {id, uid, title}, by title; limit (default 1000) and page."""
        limit = parse_positive_int((query.get("limit") or ["1000"])[0]) or 1000
        page = parse_positive_int((query.get("page") or ["1"])[0]) or 1
        store = self.state.dashboard_store
        with store.lock:
            folders = sorted((folder for (org, _uid), folder in store.folders.items() if org == principal.org_id),
                             key=lambda folder: folder["title"].lower())
        return 200, [{"id": folder["id"], "uid": folder["uid"], "title": folder["title"]}
                     for folder in folders[(page - 1) * limit:page * limit]]

    def api_get_folder(self, principal, match, **_):
        """GET /api/folders/{uid}: 404 {"message": "Folder not found", "status": "not-found"}."""
        folder = self._folder(principal.org_id, match.group("uid"))
        if folder is None:
            return dashboard_error(404, "Folder not found", "not-found")
        return 200, copy.deepcopy(folder)

    def api_create_folder(self, principal, body, **_):
        """POST /api/folders {uid?, title}: 409 for a uid or a title already taken (pkg/api/folder.go)."""
        data = self._bind_json(body)
        title = data.get("title")
        if not isinstance(title, str) or not title.strip():
            raise ApiError(400, "Folder title cannot be empty")
        uid = data.get("uid") or None
        if uid is not None and (not isinstance(uid, str) or len(uid) > UID_MAX_LENGTH):
            raise ApiError(400, "uid too long, max 40 characters")
        store = self.state.dashboard_store
        org = principal.org_id
        with store.lock:
            if uid and ((org, uid) in store.folders or (org, uid) in store.dashboards):
                raise ApiError(409, "A folder/dashboard with the same uid already exists")
            if version_tuple(self.state.config["version"]) < TITLES_FREE_SINCE and any(
                    o == org and folder["title"].lower() == title.lower() for (o, _uid), folder in store.folders.items()):
                raise ApiError(409, "A folder or dashboard in the general folder with the same name already exists")
            uid = uid or store.new_uid()
            now = utc_now_iso()
            folder = {"id": store.next_id, "uid": uid, "title": title, "url": f"/dashboards/f/{uid}/{dashboard_slug(title)}",
                      "hasAcl": False, "canSave": True, "canEdit": True, "canAdmin": True, "canDelete": True,
                      "createdBy": principal.login, "created": now, "updatedBy": principal.login, "updated": now, "version": 1}
            store.next_id += 1
            store.folders[(org, uid)] = folder
        return 200, copy.deepcopy(folder)


class SimHandler(RenderRoutes, DashboardRoutes, BaseHTTPRequestHandler):  # pylint: disable=too-many-public-methods  # one method per route
    """Serves one connection: the Grafana API routes and the /_sim/ control routes."""

    protocol_version = "HTTP/1.1"
    server_version = "grafana-sim"
    sys_version = ""
    # Idle keep-alive connections give up their thread after this many seconds.
    timeout = 120

    def do_GET(self):  # pylint: disable=invalid-name  # name required by BaseHTTPRequestHandler
        """Dispatch any method: routing is done on (method, path) tables."""
        url = urlsplit(self.path)
        body = self._read_body()
        if url.path.startswith("/_sim/"):
            self._handle_control(url.path, body)
        else:
            self._handle_api(url.path, parse_qs(url.query, keep_blank_values=True), body)

    do_POST = do_PUT = do_DELETE = do_PATCH = do_GET

    def setup(self):
        """Disable Nagle: headers and body go out in two writes, which delayed ACKs would stall ~40 ms."""
        super().setup()
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def log_message(self, format, *args):  # pylint: disable=redefined-builtin  # signature of the base class
        """Stay quiet on stderr: requests.jsonl is the request log."""

    @property
    def state(self):
        """The shared SimState."""
        return self.server.state

    def _read_body(self):
        """Read the whole request body, so a keep-alive connection stays in sync whatever we answer."""
        if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
            # Chunked uploads are not supported: answer, then close rather than misread the stream.
            self.close_connection = True
            return b""
        try:
            length = int(self.headers.get("Content-Length") or 0)
        except ValueError:
            self.close_connection = True
            return b""
        return self.rfile.read(length) if length > 0 else b""

    def _send(self, status, payload, content_type, extra_headers=None):
        """Write a complete response with a Content-Length."""
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(payload)))
        for name, value in (extra_headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(payload)

    def _send_json(self, status, data, extra_headers=None):
        """Write a JSON response."""
        self._send(status, json.dumps(data).encode("utf-8"), "application/json", extra_headers)

    def _send_error(self, error, extra_headers=None):
        """Write an ApiError in the body shape of the active profile."""
        self._send_json(error.status, error_body(error, self.state.setting("profile"), self.state.setting("tracing")), extra_headers)

    # Control routes ------------------------------------------------------------------------

    def _handle_control(self, path, body):
        """Serve /_sim/ routes: no auth, loopback clients only, not counted or logged."""
        try:
            if not ipaddress.ip_address(self.client_address[0]).is_loopback:
                raise ApiError(403, "control routes are for loopback clients only")
            name = CONTROL_ROUTES.get((self.command, path))
            if name is None:
                raise ApiError(404, "Not found", kind="route")
            try:
                data = json.loads(body.decode("utf-8")) if body.strip() else {}
            except ValueError as exc:
                raise ApiError(400, f"invalid JSON body: {exc}") from exc
            self._send_json(200, getattr(self, name)(data))
        except ApiError as error:
            self._send_json(error.status, {"message": error.message})

    def sim_stats(self, _data):
        """GET /_sim/stats."""
        return self.state.stats()

    def sim_requests(self, _data):
        """GET /_sim/requests."""
        return self.state.read_log()

    def sim_outbox(self, _data):
        """GET /_sim/outbox."""
        return self.state.list_outbox()

    def sim_reset(self, _data):
        """POST /_sim/reset."""
        self.state.reset()
        return {"message": "Simulator reset"}

    def sim_list_faults(self, _data):
        """GET /_sim/faults."""
        return self.state.list_faults()

    def sim_add_fault(self, data):
        """POST /_sim/faults."""
        return {"id": self.state.add_fault(data)}

    def sim_clear_faults(self, _data):
        """DELETE /_sim/faults."""
        self.state.clear_faults()
        return {"message": "Faults cleared"}

    def sim_settings(self, _data):
        """GET /_sim/settings."""
        with self.state.lock:
            return dict(self.state.settings)

    def sim_update_settings(self, data):
        """PATCH /_sim/settings."""
        return self.state.update_settings(data)

    def sim_current_org(self, data):
        """POST /_sim/current-org: a user switches org in the UI."""
        return self.state.set_current_org(data)

    def sim_clean_annotations(self, _data):
        """POST /_sim/annotations/cleanup: run the [annotations.api] clean-up now."""
        return {"deleted": self.state.clean_annotations()}

    # API routes: plumbing ------------------------------------------------------------------

    def _handle_api(self, path, query, body):
        """Count, fault-inject, route, authenticate, authorise and answer one API request."""
        started = time.monotonic()
        record = {
            "time": utc_now_iso(), "method": self.command, "path": path, "query": query,
            "headers": {name: "<redacted>" if name.lower() in REDACTED_HEADERS else value for name, value in self.headers.items()},
            "body": loggable_body(body), "org_id": None,
        }
        self.state.count_request(self.command, path)

        def log(status):
            record.update(status=status, duration_ms=round((time.monotonic() - started) * 1000, 1))
            self.state.log_request(record)

        fault = self.state.take_fault(self.command, path)
        if fault and fault["mode"] in ("drop", "hang"):
            log("dropped" if fault["mode"] == "drop" else "hung")
            if fault["mode"] == "hang":
                self.state.shutdown_event.wait(fault["seconds"])
            # Returning without a response closes the socket: the client sees the connection drop.
            self.close_connection = True
            return
        try:
            status = self._respond(path, query, body, fault, record)
        except ConnectionError:
            # The client gave up (say, its timeout) before the answer; like Grafana, a send still mails.
            status = "client closed"
            self.close_connection = True
        except Exception as exc:  # pylint: disable=broad-except  # a simulator bug must show as a logged 500, not a dead connection
            status = 500
            self._send_error(ApiError(500, f"simulator error: {exc!r}"))
        log(status)

    def _respond(self, path, query, body, fault, record):
        """Answer the request, turning an ApiError into its error response; return the status."""
        try:
            return self._answer_api(path, query, body, fault, record)
        except ApiError as error:
            self._send_error(error)
            return error.status

    def _answer_api(self, path, query, body, fault, record):
        """Apply a non-fatal fault or serve the route; return the status sent (errors are raised)."""
        if fault and fault["mode"] == "status":
            kind = "auth" if fault["status"] == 401 else "plain"
            headers = {"Retry-After": str(fault["retry_after"])} if fault["retry_after"] is not None else None
            message = fault["message"] or HTTP_REASONS.get(fault["status"], "Error")
            self._send_error(ApiError(fault["status"], message, kind=kind), headers)
            return fault["status"]
        if fault and fault["mode"] == "html502":
            self._send(502, NGINX_502_PAGE, "text/html")
            return 502
        if fault and fault["mode"] == "redirect_login":
            self._send(302, b"", "text/html; charset=utf-8", {"Location": "/login"})
            return 302
        if fault and fault["mode"] == "slow":
            self.state.shutdown_event.wait(fault["seconds"])
        name, permission, match = resolve_api_route(self.command, path, self.state.setting("edition"))
        principal = None
        if permission is not None:
            principal = self._authenticate(query)
            record["org_id"] = principal.org_id
            if permission and not granted(principal, permission):
                raise ApiError(403, "Permission denied", kind="access", permission=permission)
        status, payload = getattr(self, name)(principal=principal, match=match, query=query, body=body)
        if isinstance(payload, RawBody):
            self._send(status, payload.content, payload.content_type)
        elif isinstance(payload, bytes):
            self._send(status, payload, "text/html; charset=utf-8")
        else:
            self._send_json(status, payload)
        return status

    def _authenticate(self, query):
        """Return the Principal for a bearer token or basic credentials in the requested org; raise 401.

        As Grafana's authn clients (pkg/services/authn/clients/api_key.go, basic.go, password.go):
        ``Bearer `` is matched case-sensitively; Basic ``api_key:<token>`` is a token; anything
        else that is not valid Basic auth leaves the request unauthenticated ("Unauthorized").
        """
        header = self.headers.get("Authorization", "")
        token = None
        if header.startswith("Bearer "):
            token = header[len("Bearer "):]
        basic = self._basic_credentials(header)
        if basic and basic[0] == "api_key":
            token = basic[1]
        requested = self._requested_org(query)
        if token:
            return self._token_principal(token, requested)
        if basic:
            return self._user_principal(basic[0], basic[1], requested)
        raise ApiError(401, "Unauthorized", kind="auth")

    @staticmethod
    def _basic_credentials(header):
        """Return (login, password) of a Basic header as Go's Request.BasicAuth decodes it, or None."""
        if header[:6].lower() != "basic ":
            return None
        try:
            text = base64.b64decode(header[6:], validate=True).decode("utf-8")
        except (binascii.Error, UnicodeDecodeError):
            return None
        login, colon, password = text.partition(":")
        return (login, password) if colon else None

    def _token_principal(self, credentials, requested):
        """A service account token: 401 with the messageId of its cause, checked in Grafana's order."""
        known = [token for token in self.state.config["tokens"] if secrets.compare_digest(token["token"], credentials)]
        if not known:
            raise ApiError(401, "Invalid API key", kind="auth", message_id="api-key.invalid")
        token = known[0]
        if token["expired"]:
            raise ApiError(401, "Expired API key", kind="auth", message_id="api-key.expired")
        if token["revoked"]:
            raise ApiError(401, "Revoked API key", kind="auth", message_id="api-key.revoked")
        if requested is not None and requested != token["org_id"]:
            raise ApiError(401, "API key does not belong to the requested organization", kind="auth",
                           message_id="api-key.organization-mismatch")
        # Service accounts get user ids after the configured users, in config order.
        user_id = len(self.state.config["users"]) + 1 + self.state.config["tokens"].index(token)
        permissions = token["permissions"] + (token["granted_late"] if self.state.permissions_reloaded(token["name"]) else [])
        return Principal(user_id, token["name"], frozenset(permissions), token["org_id"])

    def _user_principal(self, login, password, requested):
        """A basic-auth user in the requested org, else in the user's current org.

        401 password-auth.failed for wrong, empty or locked-out credentials (a locked-out user
        gets it even with the right password). A user asking for an org they do not belong to
        is authenticated but has no role there: every route then answers 403, as in Grafana.
        """
        if self.state.login_locked(login) or not password:
            raise ApiError(401, "Invalid username or password", kind="auth", message_id="password-auth.failed")
        for index, user in enumerate(self.state.config["users"], start=1):
            if user["login"] == login and secrets.compare_digest(user["password"].encode(), password.encode()):
                org_id = self.state.current_org(login) if requested is None else requested
                permissions = user["permissions"] if org_id in user["orgs"] else []
                return Principal(index, user["login"], frozenset(permissions), org_id)
        self.state.record_login_failure(login)
        raise ApiError(401, "Invalid username or password", kind="auth", message_id="password-auth.failed")

    def _requested_org(self, query):
        """Return the org asked for, as Grafana's authn service reads it (authnimpl/service.go
        orgIDFromRequest): ``targetOrgId`` if it parses to > 0, else ``X-Grafana-Org-Id``; a value
        that is not an integer counts as absent (0), so the credential's own org is used."""
        for value in ((query.get("targetOrgId") or [""])[0], self.headers.get("X-Grafana-Org-Id", "")):
            if re.fullmatch(r"[+-]?[0-9]+", value) and int(value) > 0:
                return int(value)
        return None

    def _bind_json(self, body, expect=dict):
        """Decode a JSON request body the way Grafana's binding does; 400 'bad request data' on any problem."""
        content_type = self.headers.get("Content-Type", "").split(";")[0].strip().lower()
        if content_type != "application/json":
            raise ApiError(400, "bad request data")
        try:
            data = json.loads(body.decode("utf-8"))
        except (UnicodeDecodeError, ValueError) as exc:
            raise ApiError(400, "bad request data") from exc
        if not isinstance(data, expect):
            raise ApiError(400, "bad request data")
        return data

    # API routes: handlers, called with keyword arguments; each returns (status, body) -------

    def date_time_string(self, timestamp=None):
        """The Date header of every answer: the simulator's clock moved by clock_offset_seconds (Grafana's clock)."""
        when = time.time() if timestamp is None else timestamp
        settings = self.state.settings_snapshot()
        # Behind a proxy, its clock: nginx replaces an upstream's Date by default.
        offset = settings["proxy_clock_offset_seconds"] if settings["proxy_server"] else settings["clock_offset_seconds"]
        return email.utils.formatdate(when + offset, usegmt=True)

    def version_string(self):
        """The Server header: the proxy's name when one is in front (proxy_server), else the simulator's."""
        return self.state.setting("proxy_server") or self.server_version

    def api_frontend_settings(self, **_):
        """GET /api/frontend/settings, cut down to what a pre-flight reads (pkg/api/dtos/frontend_settings.go):
        buildInfo, licenseInfo (expiry in Unix seconds, 0 without a licence), rendererAvailable, rendererVersion,
        reporting.enabled."""
        settings = self.state.settings_snapshot()
        enterprise = settings["edition"] == "Enterprise"
        # rendererAvailable is configuration (server_url set), rendererVersion what the service answered.
        renderer = settings["renderer"] != "missing"
        answered = settings["renderer"] == "available"
        known = enterprise and settings["license_expiry_known"]
        expiry = int(time.time() + settings["license_expiry_days"] * 86400) if known else 0
        return 200, {
            "buildInfo": {"version": self.state.config["version"], "edition": settings["edition"], "commit": "sim",
                          "env": "production"},
            "licenseInfo": {"expiry": expiry, "stateInfo": "" if not known or expiry > time.time() else "Expired",
                            "edition": settings["edition"], "licenseUrl": "/admin/licensing" if enterprise else "",
                            "enabledFeatures": {"reports": True} if enterprise else {}},
            "rendererAvailable": renderer,
            "rendererVersion": settings["renderer_version"] if answered else "",
            "reporting": {"enabled": settings["reporting_enabled"]},
            # The enabled toggles only (hs.Features.GetEnabled).
            "featureToggles": {"newPDFRendering": True} if settings["new_pdf_rendering"] else {},
            "namespace": "default",
        }

    def api_user_permissions(self, principal, query, **_):
        """GET /api/access-control/user/permissions: {action: [scopes]} (Grafana's service account docs, "List a
        service account token's permissions"). A permission the config gives without a scope covers every scope
        here; Grafana's roles give those as the wildcard of their kind (reports:*, annotations:*, dashboards:* ...).
        ?reloadcache=true (a Go ParseBool true) reloads the caller's cache first: permissions granted late count."""
        held = principal.permissions
        if RENDER_BOOLEANS.get((query.get("reloadcache") or [""])[0]) is True:
            token = next((token for token in self.state.config["tokens"] if token["name"] == principal.login), None)
            if token is not None:
                self.state.reload_permissions(token["name"])
                held = held | frozenset(token["granted_late"])
        permissions = {}
        for permission in sorted(held):
            action, dummy, scope = permission.partition(" ")
            scope = scope.strip() or action.split(":")[0].split(".")[0] + ":*"
            if scope not in permissions.setdefault(action, []):
                permissions[action].append(scope)
        return 200, permissions

    def api_admin_settings(self, principal, **_):
        """GET /api/admin/settings (pkg/api/admin.go AdminGetSettings): {section: {key: "string"}}, only the sections
        the caller's settings:read scopes cover (settings:* or settings:<section>:*; the config's plain action: all).
        Cut down to what the collection reads."""
        settings = self.state.settings_snapshot()
        sections = {
            "smtp": {"enabled": "true" if settings["smtp_enabled"] else "false", "host": settings["smtp_host"],
                     "user": "", "password": "*********", "from_address": "admin@grafana.localhost"},
            "reporting": {"enabled": "true" if settings["reporting_enabled"] else "false"},
            "rendering": {"server_url": "" if settings["renderer"] == "missing" else "http://renderer:8081/render"},
            "annotations.api": {"max_age": "0" if not settings["annotations_max_age_seconds"] else
                                "%ds" % settings["annotations_max_age_seconds"],
                                "max_annotations_to_keep": str(settings["annotations_max_count"])},
        }
        return 200, {name: values for name, values in sections.items()
                     if granted(principal, "settings:read", (f"settings:{name}:*", f"settings:{name}:enabled"))}

    def api_health(self, **_):
        """GET /api/health."""
        return 200, {"commit": "sim", "database": "ok", "version": self.state.config["version"]}

    def api_login_page(self, **_):
        """GET /login: where a proxy without a session sends API clients."""
        return 200, LOGIN_PAGE

    def api_send_report(self, principal, body, **_):
        """POST /api/reports/email: validate, look up, render (holding a slot), mail."""
        data = self._bind_json(body)
        # Grafana decodes id as an int64 with the ",string" tag: only a JSON string of digits passes.
        report_id = parse_positive_int(data.get("id"))
        # Go leaves a field at its zero value for JSON null, so null is as good as absent.
        emails = "" if data.get("emails") is None else data["emails"]
        use_report = False if data.get("useEmailsFromReport") is None else data["useEmailsFromReport"]
        if report_id is None or not isinstance(emails, str) or not isinstance(use_report, bool):
            raise ApiError(400, "bad request data")
        # When both are given, the explicit emails win: they are the caller's latest word.
        recipients = split_recipients(emails)
        if not recipients and not use_report:
            raise ApiError(400, "either emails or useEmailsFromReport must be set")
        check_addresses(recipients)
        report, render_seconds = self.state.get_report(principal.org_id, report_id)
        if report is None:
            raise ApiError(404, "Report not found")
        # Grafana renders each dashboard as the caller: one it cannot view makes the send a 403,
        # whatever reports:send allows (reporting docs; the body is inferred from Grafana's
        # dashboardGuardianResponse in pkg/api/dashboard.go).
        for item in report["dashboards"]:
            uid = (item.get("dashboard") or {}).get("uid") or ""
            if not can_view_dashboard(principal, uid):
                raise ApiError(403, "Access denied to this dashboard")
        recipients = recipients or split_recipients(report["recipients"])
        if not recipients:
            raise ApiError(400, "report has no recipients")
        # Grafana renders the report before it mails it: a renderer that cannot render fails the send (issue 31/32).
        formats = report.get("formats") or ["pdf"]
        failure = renderer_failure(self.state.settings_snapshot(), self.state.config["version"],
                                   any(str(name).startswith("pdf") for name in formats))
        if failure:
            raise ApiError(500, f"Failed to render report: {failure}")
        with self.state.render_slots.hold():
            self.state.shutdown_event.wait(render_seconds)
        if not self.state.setting("smtp_enabled"):
            raise ApiError(500, "SMTP not configured, check your grafana.ini config file's [smtp] section")
        self.state.deliver_mail(principal.org_id, report, recipients)
        self.state.count_send()
        return 200, {"message": "Report was sent"}

    def api_list_reports(self, principal, **_):
        """GET /api/reports."""
        return 200, self.state.list_reports(principal.org_id)

    def api_get_report(self, principal, match, **_):
        """GET /api/reports/{id}."""
        report, _seconds = self.state.get_report(principal.org_id, path_id(match))
        if report is None:
            raise ApiError(404, "Report not found")
        return 200, report

    def api_create_report(self, principal, body, **_):
        """POST /api/reports."""
        fields = known_report_fields(report_fields(self._bind_json(body), creating=True), self.state.config["version"])
        return 200, {"id": self.state.create_report(principal.org_id, fields, principal.user_id), "message": "Report created"}

    def api_update_report(self, principal, match, body, **_):
        """PUT /api/reports/{id}: the body replaces the whole definition; fields left out get defaults."""
        report_id = path_id(match)
        fields = known_report_fields(report_fields(self._bind_json(body), creating=True), self.state.config["version"])
        if not self.state.update_report(principal.org_id, report_id, fields):
            raise ApiError(404, "Report not found")
        return 200, {"message": "Report updated"}

    def api_delete_report(self, principal, match, **_):
        """DELETE /api/reports/{id}."""
        if not self.state.delete_report(principal.org_id, path_id(match)):
            raise ApiError(404, "Report not found")
        return 200, {"message": "Report config was removed"}

    def api_get_report_settings(self, principal, **_):
        """GET /api/reports/settings."""
        return 200, settings_as_version_keeps(self.state.get_report_settings(principal.org_id), self.state.config["version"])

    def api_save_report_settings(self, principal, body, **_):
        """POST /api/reports/settings: creates or replaces the org's branding and themes."""
        data = self._bind_json(body)
        fields = {**settings_fields(data), **settings_13_fields(data, self.state.config["version"])}
        self.state.save_report_settings(principal.org_id, fields, principal.user_id)
        return 200, {"message": "Report settings saved"}

    def api_test_email(self, principal, body, **_):
        """POST /api/reports/test-email: render an unsaved definition and mail it to its recipients (report id 0)."""
        fields = report_fields(self._bind_json(body), creating=True)
        recipients = split_recipients(fields.get("recipients"))
        if not recipients:
            raise ApiError(400, "recipients are required to send a test email")
        report = completed_report(deep_merge(report_defaults(principal.org_id, 0), fields))
        with self.state.render_slots.hold():
            self.state.shutdown_event.wait(self.state.setting("render_seconds"))
        if not self.state.setting("smtp_enabled"):
            raise ApiError(500, "SMTP not configured, check your grafana.ini config file's [smtp] section")
        self.state.deliver_mail(principal.org_id, report, recipients)
        return 200, {"message": "Test email sent"}

    @staticmethod
    def _annotation_body(data):
        """400 'bad request data' for what Go's binding refuses: times that are not integers, tags
        that are not a list of strings, text or dashboardUID that are not strings."""
        times_ok = all(isinstance(data.get(key) or 0, int) and not isinstance(data.get(key), bool) for key in ("time", "timeEnd"))
        tags = data.get("tags")
        tags_ok = tags is None or (isinstance(tags, list) and all(isinstance(tag, str) for tag in tags))
        if not (times_ok and tags_ok and isinstance(data.get("text") or "", str) and isinstance(data.get("dashboardUID") or "", str)):
            raise ApiError(400, "bad request data")

    def api_create_annotation(self, principal, body, **_):
        """POST /api/annotations, in Grafana's order (pkg/api/annotations.go PostAnnotation): bind (400),
        canCreateAnnotation (403 "Access denied to this dashboard"), empty text (400), save."""
        data = self._bind_json(body)
        self._annotation_body(data)
        # An annotation without a dashboard needs annotations:create with scope annotations:type:organization.
        if not granted(principal, "annotations:create", annotation_scopes({"dashboardUID": data.get("dashboardUID") or ""})):
            raise ApiError(403, "Access denied to this dashboard")
        if not data.get("text"):
            raise ApiError(400, "Failed to save annotation")
        return 200, {"message": "Annotation added", "id": self.state.add_annotation(principal, data)}

    def _can_read_annotation(self, principal, annotation):
        """Grafana's read filter (annotationsimpl/xorm_store.go getAccessControlFilter): annotations:read
        with the annotation's type scope; a dashboard annotation also needs the dashboard."""
        if not granted(principal, "annotations:read", annotation_scopes(annotation)):
            return False
        return not annotation["dashboardUID"] or can_view_dashboard(principal, annotation["dashboardUID"])

    def _changeable_annotation(self, principal, match, action, body=None):
        """Checks of PATCH and DELETE /api/annotations/{id} in Grafana's order; return the id and body.

        The route's middleware evaluates ``action`` on scope annotations:id:<id>: a wildcard scope
        passes as is; otherwise the scope is resolved to the annotation's type, and an id that does
        not resolve (no such annotation) is a 403 like a missing permission
        (pkg/services/accesscontrol/middleware.go, pkg/api/annotations.go AnnotationTypeScopeResolver).
        Then the handler binds the body (400) and finds the annotation through the caller's read
        filter with RepositoryImpl.Find (findAnnotationByID): 404 "Annotation not found" when it is
        gone or the caller cannot read it, 500 "Failed to find annotation" when the caller holds no
        annotations:read at all (since 11.3 only if the unfiltered count finds the annotation), and
        since 11.3 the lookup waits for the dashboard search like a listing.
        """
        if not re.fullmatch(r"[+-]?[0-9]+", match.group("id")):
            raise ApiError(400, "annotationId is invalid")
        annotation_id = int(match.group("id"))
        annotation = self.state.get_annotation(principal.org_id, annotation_id)
        if not granted(principal, action, (f"annotations:id:{annotation_id}",)) and (
                annotation is None or not granted(principal, action, annotation_scopes(annotation))):
            raise ApiError(403, "Permission denied", kind="access", permission=action)
        data = None
        if body is not None:
            data = self._bind_json(body)
            self._annotation_body(data)
        lookup = AnnotationQuery(tags=[], match_any=False, time_from=0, time_to=0, dashboard_uid="", limit=1,
                                 annotation_id=annotation_id)
        readable = (lambda item: self._can_read_annotation(principal, item)) if granted(principal, "annotations:read") else None
        found = self.state.find_annotations(principal.org_id, lookup, readable)
        if found is None:
            raise ApiError(500, "Failed to find annotation")
        if not found:
            raise ApiError(404, "Annotation not found")
        return annotation_id, data

    def api_patch_annotation(self, principal, match, body, **_):
        """PATCH /api/annotations/{id}: text, tags, time, timeEnd; only the fields given change."""
        annotation_id, data = self._changeable_annotation(principal, match, "annotations:write", body)
        if not self.state.patch_annotation(principal.org_id, annotation_id, data):
            raise ApiError(500, "Failed to update annotation")
        return 200, {"message": "Annotation patched"}

    def api_delete_annotation(self, principal, match, **_):
        """DELETE /api/annotations/{id}."""
        annotation_id, dummy = self._changeable_annotation(principal, match, "annotations:delete")
        self.state.delete_annotation(principal.org_id, annotation_id)
        return 200, {"message": "Annotation deleted"}

    def api_list_annotations(self, principal, query, **_):
        """GET /api/annotations (pkg/api/annotations.go GetAnnotations): parse-or-ignore query values.

        Numbers are read as Go's strconv.ParseInt (anything else is 0: no ``from``/``to`` filter,
        ``limit`` 100), booleans as strconv.ParseBool ("1", "t", "T", "TRUE", "true", "True"), and
        a repeated parameter by its first value, as net/http's Form.Get.
        """
        def first(name):
            return (query.get(name) or [""])[0]

        def int64(name):
            value = first(name)
            return int(value) if re.fullmatch(r"[+-]?[0-9]+", value) else 0

        # Only user annotations are stored, so asking for alert annotations finds nothing.
        if first("type") == "alert":
            return 200, []
        limit = int64("limit")
        filters = AnnotationQuery(tags=parse_tag_pairs(query.get("tags", [])),
                                  match_any=first("matchAny") in ("1", "t", "T", "TRUE", "true", "True"),
                                  time_from=int64("from"), time_to=int64("to"), dashboard_uid=first("dashboardUID"),
                                  limit=limit if limit > 0 else 100)
        found = self.state.find_annotations(principal.org_id, filters, lambda item: self._can_read_annotation(principal, item))
        return 200, found


class SimServer(ThreadingHTTPServer):
    """Threaded HTTP(S) server holding the SimState; TLS handshakes run in the handler threads."""

    daemon_threads = True
    # Never join handler threads on close: a "hang" fault or a long render may hold one.
    block_on_close = False
    # socketserver's backlog of 5 resets connections that a real Grafana (Go's net/http: the system's somaxconn)
    # would queue; one simulator standing for many Grafanas (make bench) gets a hundred at once.
    request_queue_size = 1024

    def __init__(self, address, state, tls_context=None):
        self.address_family = socket.AF_INET6 if ":" in address[0] else socket.AF_INET
        self.state = state
        self.tls_context = tls_context
        super().__init__(address, SimHandler)

    def server_bind(self):
        """Bind without HTTPServer's reverse DNS lookup of the address, which can stall."""
        socketserver.TCPServer.server_bind(self)
        self.server_name, self.server_port = self.server_address[:2]

    def finish_request(self, request, client_address):
        """Do the TLS handshake here (in the handler thread) so a slow client cannot block accept()."""
        if self.tls_context is None:
            super().finish_request(request, client_address)
            return
        request.settimeout(10)
        try:
            tls_socket = self.tls_context.wrap_socket(request, server_side=True)
        except OSError:
            # Failed handshakes (no client certificate, untrusted CA, plain HTTP) end here.
            request.close()
            return
        tls_socket.settimeout(None)
        try:
            super().finish_request(tls_socket, client_address)
        finally:
            tls_socket.close()

    def handle_error(self, request, client_address):
        """Ignore clients that went away (timeouts, dropped connections); report anything else."""
        if not isinstance(sys.exc_info()[1], (ConnectionError, TimeoutError, ssl.SSLError)):
            super().handle_error(request, client_address)


def make_tls_context(state_dir, require_client_cert):
    """Create a trustme CA, write ca.pem, client.pem and client.key, and return the server context."""
    import trustme  # pylint: disable=import-outside-toplevel  # only needed with --https

    authority = trustme.CA()
    server_cert = authority.issue_cert("127.0.0.1", "localhost", "::1")
    client_cert = authority.issue_cert("sim-client.localhost")
    authority.cert_pem.write_to_path(os.path.join(state_dir, "ca.pem"))
    with open(os.path.join(state_dir, "client.pem"), "wb") as handle:
        handle.write(b"".join(pem.bytes() for pem in client_cert.cert_chain_pems))
    key_path = os.path.join(state_dir, "client.key")
    with open(os.open(key_path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600), "wb") as handle:
        handle.write(client_cert.private_key_pem.bytes())
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    server_cert.configure_cert(context)
    if require_client_cert:
        context.verify_mode = ssl.CERT_REQUIRED
        authority.configure_trust(context)
    return context


def write_atomically(path, text):
    """Write a small text file under a temporary name and rename it into place."""
    temporary = f"{path}.{os.getpid()}.tmp"
    with open(temporary, "w", encoding="utf-8") as handle:
        handle.write(text)
    os.replace(temporary, path)


def check_loopback(host):
    """Refuse to listen anywhere but loopback: the simulator has well-known credentials."""
    if host == "localhost":
        return
    try:
        loopback = ipaddress.ip_address(host).is_loopback
    except ValueError:
        loopback = False
    if not loopback:
        raise ConfigError(f"--host must be a loopback address, not {host}")


def ready_line(url, pid, state_dir, https):
    """Return the JSON line printed when the server is ready."""
    ca_path = os.path.join(state_dir, "ca.pem") if https else None
    return json.dumps({"url": url, "pid": pid, "state_dir": state_dir, "ca_path": ca_path})


def serve(args):
    """Run the server in the foreground until SIGTERM/SIGINT or the end of --lifetime."""
    config = load_config(args.config or DEFAULT_CONFIG)
    if args.profile is not None:
        config["profile"] = args.profile
    check_loopback(args.host)
    state_dir = os.path.abspath(args.state_dir)
    os.makedirs(state_dir, exist_ok=True)
    tls_context = make_tls_context(state_dir, args.require_client_cert) if args.https else None
    state = SimState(config, state_dir)
    server = SimServer((args.host, args.port), state, tls_context)
    host = f"[{args.host}]" if ":" in args.host else args.host
    url = f"{'https' if args.https else 'http'}://{host}:{server.server_address[1]}"

    stop_requested = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stop_requested.set())
    worker = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.2}, name="sim-server", daemon=True)
    worker.start()
    pid_path = os.path.join(state_dir, "pid")
    write_atomically(pid_path, f"{os.getpid()}\n")
    write_atomically(os.path.join(state_dir, "url"), url + "\n")
    print(ready_line(url, os.getpid(), state_dir, args.https), flush=True)

    deadline = time.monotonic() + args.lifetime if args.lifetime else None
    # Short waits keep the main thread responsive to signals on every Python version.
    while not stop_requested.wait(0.2):
        if deadline is not None and time.monotonic() >= deadline:
            break
    state.shutdown_event.set()
    server.shutdown()
    server.server_close()
    worker.join(5)
    state.close()
    if os.path.exists(pid_path):
        os.remove(pid_path)
    return 0


def serve_in_background(args):
    """Start ``serve`` detached from this process's stdio, wait for its url file, print the ready line."""
    state_dir = os.path.abspath(args.state_dir)
    os.makedirs(state_dir, exist_ok=True)
    url_path = os.path.join(state_dir, "url")
    if os.path.exists(url_path):
        os.remove(url_path)
    command = [sys.executable, os.path.abspath(__file__), "serve", "--state-dir", state_dir, "--host", args.host,
               "--port", str(args.port), "--lifetime", str(1800 if args.lifetime is None else args.lifetime)]
    if args.config:
        command += ["--config", os.path.abspath(args.config)]
    if args.profile is not None:
        command += ["--profile", str(args.profile)]
    if args.https:
        command.append("--https")
    if args.require_client_cert:
        command.append("--require-client-cert")
    err_path = os.path.join(state_dir, "server.err")
    # The child gets no inherited pipes: a caller such as Ansible's command module would wait on them.
    with open(os.devnull, "rb") as stdin, open(os.path.join(state_dir, "server.out"), "wb") as stdout, open(err_path, "wb") as stderr:
        child = subprocess.Popen(command, stdin=stdin, stdout=stdout, stderr=stderr,  # pylint: disable=consider-using-with
                                 start_new_session=True, close_fds=True)
    deadline = time.monotonic() + 15
    while not os.path.exists(url_path):
        if child.poll() is not None:
            with open(err_path, encoding="utf-8", errors="replace") as handle:
                reason = handle.read()[-2000:].strip()
            print(f"simulator exited with code {child.returncode} before it was ready: {reason}", file=sys.stderr)
            return 1
        if time.monotonic() > deadline:
            child.terminate()
            print(f"simulator did not write {url_path} within 15 s; see {err_path}", file=sys.stderr)
            return 1
        time.sleep(0.05)
    with open(url_path, encoding="utf-8") as handle:
        url = handle.read().strip()
    print(ready_line(url, child.pid, state_dir, args.https), flush=True)
    return 0


def process_alive(pid):
    """Return True if a process with this pid exists and is not a zombie waiting to be reaped."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    # Some container inits never reap orphans; on Linux /proc tells a zombie ("Z") apart.
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii", errors="replace") as handle:
            return handle.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return True


def stop(args):
    """SIGTERM the server recorded in DIR/pid and wait up to 10 s for it to finish."""
    pid_path = os.path.join(args.state_dir, "pid")
    try:
        with open(pid_path, encoding="utf-8") as handle:
            pid = int(handle.read().strip())
    except FileNotFoundError:
        print(f"not running (no {pid_path})")
        return 0
    except ValueError:
        print(f"{pid_path} does not hold a process id", file=sys.stderr)
        return 1
    try:
        os.kill(pid, signal.SIGTERM)
    except ProcessLookupError:
        os.remove(pid_path)
        print(f"not running (stale pid {pid} removed)")
        return 0
    deadline = time.monotonic() + 10
    while process_alive(pid):
        if time.monotonic() > deadline:
            print(f"pid {pid} is still running after 10 s", file=sys.stderr)
            return 1
        time.sleep(0.05)
    print(f"stopped pid {pid}")
    return 0


def parse_args(argv):
    """Parse the command line."""
    parser = argparse.ArgumentParser(description="Grafana Enterprise reporting-API simulator (loopback only).")
    commands = parser.add_subparsers(dest="command", required=True)
    serve_parser = commands.add_parser("serve", help="run the simulator")
    serve_parser.add_argument("--config", help="JSON or YAML config (default: default-config.json next to this file)")
    serve_parser.add_argument("--host", default="127.0.0.1", help="loopback address to bind (default 127.0.0.1)")
    serve_parser.add_argument("--port", type=int, default=0, help="port (default 0: a free port)")
    serve_parser.add_argument("--state-dir", required=True, help="directory for url, pid, outbox/, requests.jsonl and TLS files")
    serve_parser.add_argument("--profile", type=int, choices=PROFILES, help="error body shapes of Grafana 10+ or 9 (overrides the config)")
    serve_parser.add_argument("--https", action="store_true", help="serve TLS with a throw-away CA written to ca.pem")
    serve_parser.add_argument("--require-client-cert", action="store_true", help="with --https: require a client certificate from ca.pem's CA")
    serve_parser.add_argument("--lifetime", type=float, help="stop after this many seconds (default: never; 1800 with --background)")
    serve_parser.add_argument("--background", action="store_true", help="start detached, print the ready line once it listens, exit")
    stop_parser = commands.add_parser("stop", help="stop a simulator started with --state-dir DIR")
    stop_parser.add_argument("--state-dir", required=True)
    args = parser.parse_args(argv)
    if args.command == "serve" and args.require_client_cert and not args.https:
        parser.error("--require-client-cert needs --https")
    return args


def main(argv=None):
    """Entry point; returns the process exit code."""
    args = parse_args(sys.argv[1:] if argv is None else argv)
    if args.command == "stop":
        return stop(args)
    try:
        return serve_in_background(args) if args.background else serve(args)
    except (ConfigError, OSError) as exc:
        print(f"grafana_sim: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
