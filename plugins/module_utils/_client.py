# -*- coding: utf-8 -*-
# Copyright (c) reportops.grafana contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

# Private to the reportops.grafana collection: not a public API, may change without notice.

"""The one HTTP client of the collection: auth, fetch_url, JSON, error mapping and retries."""

from __future__ import annotations

import json
import random
import re
import threading
import time
from collections import namedtuple

from ansible.module_utils.basic import env_fallback
from ansible.module_utils.common.text.converters import to_text
from ansible.module_utils.six.moves.urllib.parse import quote, urlencode, urlsplit

# galaxy.yml's version, for the user agent: only module_utils travel with a module to its target, so it is copied
# here (as amazon.aws does with AMAZON_AWS_COLLECTION_VERSION); test_client.py fails when the two differ.
COLLECTION_VERSION = "0.2.0"
USER_AGENT = "reportops.grafana/%s" % COLLECTION_VERSION

# Every Grafana path the collection uses, in one place: the /api/reports/{id} routes are
# deprecated in favour of the apiserver, and a move should be a one-line change here.
PATHS = {
    "send_report": "/api/reports/email",
    "reports": "/api/reports",
    "report": "/api/reports/{report_id}",
    "report_settings": "/api/reports/settings",
    "test_email": "/api/reports/test-email",
    "health": "/api/health",
    "annotations": "/api/annotations",
    "annotation": "/api/annotations/{annotation_id}",
    "render_pdf": "/api/reports/render/pdfs",
    "render_csv": "/api/reports/render/csvs",
    "dashboard": "/api/dashboards/uid/{uid}",
    "save_dashboard": "/api/dashboards/db",
    "folders": "/api/folders",
    "folder": "/api/folders/{uid}",
    "frontend_settings": "/api/frontend/settings",
    "user_permissions": "/api/access-control/user/permissions",
    "admin_settings": "/api/admin/settings",
}
# The RBAC scope of annotations that belong to no dashboard (the delivery ledger's).
ORG_ANNOTATIONS_SCOPE = "annotations:type:organization"

# Grafana answers these only when it did not act on the request, so a POST may be repeated.
RETRYABLE_STATUSES = (429, 503)
RETRY_DELAY_CAP = 30
RECOMMENDED_MIN_TIMEOUT = 60
# The longest wait between two render retries: the exponential steps stop growing here.
MAX_RENDER_BACKOFF = 300

_REPORT_ID = re.compile(r"^[0-9]+$")
# Grafana keeps recipients in one string; its UI accepts commas or semicolons.
_RECIPIENT_SEPARATORS = re.compile(r"[,;\r\n]+")
# A token copied with its header's scheme ("Bearer glsa_..."), which Grafana would refuse as a generic 401.
_BEARER_PREFIX = re.compile(r"^\s*bearer\s", re.IGNORECASE)
# fetch_url reports connection failures only as text; these say nothing reached Grafana.
_NOT_CONNECTED = re.compile(
    r"connection refused|name or service not known|nodename nor servname|temporary failure in name resolution"
    r"|no address associated with hostname|getaddrinfo failed|network is unreachable|no route to host",
    re.IGNORECASE,
)
# Rendering needs no RBAC action, only view access to each dashboard (renderReportPDFs in Grafana's
# Enterprise OpenAPI spec: "Available to all users"); this names that access in a 403's advice.
DASHBOARD_VIEW = "dashboards:read"
# Advice for the statuses whose sentence says what to do, unless the call gives its own (request's `advice`):
# 400 what to check, 403 what the credentials need, 404 what to check, 500 (Grafana's own error) what to do.
DEFAULT_ADVICE = {
    400: "check the report id and recipients",
    403: "the required permission",
    404: ("use the report's id (grafana_report_info lists them), not a dashboard id or uid, and check org_id and that this"
          " Grafana has Enterprise reporting"),
    500: "see the Grafana server log (rendering or SMTP)",
}
# Grafana renders every dashboard of a report as the caller: a 403 on a send can come from any of them.
SEND_NEEDS = "the reports:send permission and view access to every dashboard in the report"
VIEW_NEEDS = "view access to every dashboard rendered (%s on its dashboards:uid scope)" % DASHBOARD_VIEW
# What Grafana says in its own 500 when it cannot render or mail (pkg/services/rendering/interface.go, capabilities.go,
# http_mode.go; pkg/services/notifications), what to do, and whether a repeat can help: a failure of configuration (no
# renderer, a renderer too old or silent, no SMTP) fails every render until someone fixes it, so it is never retried.
_GRAFANA_FAILURES = (
    ("rendering plugin not available", "Grafana has no renderer: install the image renderer plugin or configure the "
                                       "remote rendering service ([rendering] server_url), then retry.", False),
    ("timeout error", "the renderer gave up: raise [reporting] rendering_timeout in Grafana, or render fewer dashboards "
                      "or a shorter time range.", True),
    # Grafana checks the renderer's version before a PDF: an empty version (the rendering service never answered
    # /version) or one below the PDF rendering constraint fails the render.
    ("invalid plugin version", "Grafana could not read the renderer's version: the rendering service at [rendering] "
                               "server_url never answered; check that it runs and that Grafana reaches it.", False),
    ("unsupported, requires image renderer version", "the renderer is too old for PDFs: upgrade the rendering service "
                                                     "(grafana-image-renderer).", False),
    # The rendering service did not answer the render (capitalised before 10): it may be restarting.
    ("failed to send request to remote rendering service", "the rendering service at [rendering] server_url did not "
                                                           "answer Grafana: check that it runs and that Grafana reaches it.",
     True),
    ("smtp not configured", "Grafana has no mail server: configure the [smtp] section of grafana.ini (enabled, host), "
                            "then retry.", False),
)
_TLS_FAILURE = re.compile(r"certificate|ssl|tls|handshake", re.IGNORECASE)
_CLIENT_CERT_REQUIRED = re.compile(r"certificate[ _]required", re.IGNORECASE)
_CERTIFICATE_UNTRUSTED = re.compile(r"certificate[ _]verify[ _]failed", re.IGNORECASE)
_HTML_TITLE = re.compile(r"<title[^>]*>(.*?)</title>", re.IGNORECASE | re.DOTALL)
# Any tag or comment marks a body as markup, which is never shown as it is.
_HTML_MARKUP = re.compile(r"<(!--|!doctype\b|/?[a-z][a-z0-9]*(\s[^>]*)?/?>)", re.IGNORECASE)
_HTML_HIDDEN = re.compile(r"<(script|style)\b.*?</\1\s*>|<!--.*?-->", re.IGNORECASE | re.DOTALL)
_HTML_TAG = re.compile(r"<[^>]*>")


def connection_argument_spec():
    """Argument spec of the options in the connection doc fragment."""
    return dict(
        url=dict(type="str", required=True, aliases=["grafana_url"], fallback=(env_fallback, ["GRAFANA_URL"])),
        token=dict(type="str", no_log=True, aliases=["grafana_api_key", "api_key"], fallback=(env_fallback, ["GRAFANA_TOKEN"])),
        url_username=dict(type="str", aliases=["grafana_user"], fallback=(env_fallback, ["GRAFANA_USER"])),
        url_password=dict(type="str", no_log=True, aliases=["grafana_password"], fallback=(env_fallback, ["GRAFANA_PASSWORD"])),
        org_id=dict(type="int", fallback=(env_fallback, ["GRAFANA_ORG_ID"])),
        validate_certs=dict(type="bool", default=True, fallback=(env_fallback, ["GRAFANA_VALIDATE_CERTS"])),
        ca_path=dict(type="path", fallback=(env_fallback, ["GRAFANA_CA_PATH"])),
        client_cert=dict(type="path"),
        client_key=dict(type="path"),
        use_proxy=dict(type="bool", default=True),
        timeout=dict(type="int", default=120, fallback=(env_fallback, ["GRAFANA_TIMEOUT"])),
    )


# Options of the retries doc fragment (the modules that send), beside the connection's: how often a send is repeated
# where Grafana provably did not act (retries), and where it reports the send as failed (render_retries, render_backoff).
RETRY_ARGUMENT_SPEC = dict(
    retries=dict(type="int", default=2),
    render_retries=dict(type="int", default=2),
    render_backoff=dict(type="float", default=10.0),
)
# How a client repeats a send that Grafana reports as failed: `times` more, the first after `backoff` seconds.
RenderRetries = namedtuple("RenderRetries", "times backoff")
NO_RENDER_RETRIES = RenderRetries(0, 0)


class ModuleView:
    """The module as one client sees it: the module itself, but with its own copy of params (fetch_url takes the user
    agent, the redirect policy and basic auth from module.params, not from its arguments; a fleet's environment has
    its own connection), warnings that name the environment, and no exit: fetch_url calls fail_json for a URL it
    cannot open, which in a thread of a run with several deliveries must fail that request, not end the process."""

    def __init__(self, module, params, warning_prefix=""):
        self._module = module
        self.params = params
        self.warning_prefix = warning_prefix

    def warn(self, warning):
        self._module.warn(self.warning_prefix + warning)

    def fail_json(self, msg, **dummy):
        raise GrafanaError(msg)

    def __getattr__(self, name):
        return getattr(self._module, name)


CONNECTION_MUTUALLY_EXCLUSIVE = [("token", "url_username")]
CONNECTION_REQUIRED_ONE_OF = [("token", "url_username")]
CONNECTION_REQUIRED_TOGETHER = [("url_username", "url_password")]


def module_kwargs(argument_spec, mutually_exclusive=(), required_one_of=()):
    """AnsibleModule keyword arguments: the connection options plus the module's own (and their rules)."""
    spec = connection_argument_spec()
    spec.update(argument_spec)
    return dict(
        argument_spec=spec,
        mutually_exclusive=CONNECTION_MUTUALLY_EXCLUSIVE + list(mutually_exclusive),
        required_one_of=CONNECTION_REQUIRED_ONE_OF + list(required_one_of),
        required_together=CONNECTION_REQUIRED_TOGETHER,
        supports_check_mode=True,
    )


def exit_module(module, result, failure):
    """The one exit of every module: fail_json with `failure` (a message) when there is one, else exit_json."""
    if failure:
        module.fail_json(msg=failure, **result)
    module.exit_json(**result)


def checked_base_url(url):
    """Grafana's base URL without a trailing slash; GrafanaError when it is not one."""
    parts = urlsplit(url.strip())
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise GrafanaError("url must be an http:// or https:// URL with a host name, such as https://grafana.example.com.")
    if parts.username is not None or parts.password is not None:
        # Never repeat the URL here: it holds a credential.
        raise GrafanaError("url must not embed credentials; use token, or url_username and url_password.")
    if parts.query or parts.fragment:
        raise GrafanaError("url must be Grafana's base URL, without a query or fragment.")
    return "%s://%s%s" % (parts.scheme, parts.netloc, parts.path.rstrip("/"))


def checked_connection(params):
    """The value checks of the connection options that their types do not make (the modules, and the role when it
    installs a schedule): returns the base URL, or raises GrafanaError. Options that are None are not checked."""
    base_url = checked_base_url(params["url"]) if params.get("url") is not None else None
    if _BEARER_PREFIX.match(params.get("token") or ""):
        # Refused, not stripped: the value was copied from a header, so the same mistake is likely elsewhere (a
        # vault, an AWX credential); never shown, as it holds the token.
        raise GrafanaError("token must be the token itself (a service account token such as glsa_...), without the "
                           "'Bearer ' prefix: the collection sends it as a Bearer token.")
    if params.get("org_id") is not None and params["org_id"] < 1:
        raise GrafanaError("org_id must be a positive integer, got %d." % params["org_id"])
    if params.get("timeout") is not None and params["timeout"] < 1:
        raise GrafanaError("timeout must be a positive number of seconds, got %d." % params["timeout"])
    return base_url


def normalize_report_id(value):
    """The report id as a string of digits, or None when it is not a positive integer."""
    if isinstance(value, bool):
        return None
    text = to_text(value).strip() if isinstance(value, (int, str)) else ""
    if not _REPORT_ID.match(text) or int(text) < 1:
        return None
    return str(int(text))


def report_ids_by_name(name, reports):
    """The ids of the reports of the listing `reports` called `name` (none, one, or several)."""
    return [to_text(report.get("id")) for report in reports if report.get("name") == name]


def one_report_id(name, reports, error, when_several):
    """The id of the one report of the listing `reports` called `name`, or None when there is none; `error` (an
    exception class) when there are several, its message ending with `when_several` (what to do)."""
    ids = report_ids_by_name(name, reports)
    if len(ids) > 1:
        raise error("report name '%s' matches %d reports in this Grafana (ids %s); %s"
                    % (name, len(ids), ", ".join(ids), when_several))
    return ids[0] if ids else None


def split_recipients(values):
    """Addresses from strings separated by commas, semicolons or newlines, without duplicates (ignoring case)."""
    recipients, seen = [], set()
    for value in values:
        for address in _RECIPIENT_SEPARATORS.split(value or ""):
            address = address.strip()
            if address and address.lower() not in seen:
                seen.add(address.lower())
                recipients.append(address)
    return recipients


class GrafanaError(Exception):
    """A request that did not succeed, with one sentence that says what to do."""

    def __init__(self, message, status=None, grafana_message=None, attempts=1, may_have_acted=False,
                 grafana_failed=False):
        super().__init__(message)
        self.message = message
        self.status = status
        self.grafana_message = grafana_message
        self.attempts = attempts
        self.may_have_acted = may_have_acted
        # A 500 with Grafana's own error: its handler says the render or the mail failed, nothing was sent.
        self.grafana_failed = grafana_failed

    def status_field(self, name="status"):
        """The result's field for the HTTP status of the answer, when there was one."""
        return {name: self.status} if self.status else {}


def render_retry_step(backoff, retry):
    """The longest wait before render retry number `retry` (1, 2, ...): backoff, doubled for each retry, capped."""
    return min(backoff * 2 ** (retry - 1), MAX_RENDER_BACKOFF)


def render_retry_delay(backoff, retry, uniform=random.uniform):
    """Seconds to wait before render retry `retry`: at least half its step, the rest random, so that the
    deliveries that failed together (all fired at the top of the hour) do not all come back together."""
    step = render_retry_step(backoff, retry)
    return uniform(step / 2.0, step)


def _hashable(value):
    """make_context's argument as part of a key: get_ca_certs gives the CA data as a bytearray, ciphers are a list."""
    if isinstance(value, bytearray):
        return bytes(value)
    return tuple(value) if isinstance(value, list) else value


def _shared(make_context):
    """make_context, built once per set of TLS settings and then shared (SSLContext is safe to share between threads)."""
    contexts, lock = {}, threading.Lock()

    def shared_make_context(*args, **kwargs):
        key = (tuple(_hashable(arg) for arg in args), tuple(sorted((name, _hashable(value)) for name, value in kwargs.items())))
        try:
            hash(key)
        except TypeError:  # an argument of a later ansible-core that cannot be a key: not shared
            return make_context(*args, **kwargs)
        with lock:
            if key not in contexts:
                contexts[key] = make_context(*args, **kwargs)
            return contexts[key]

    shared_make_context.reportops_shared = True
    return shared_make_context


def fetch_url(module, url, **kwargs):
    """ansible.module_utils.urls.fetch_url, imported when a client first sends: the role's filters import this module
    for its checks on the controller, in every Ansible worker process, where urls and the cryptography it imports
    cost about 50 ms of CPU each time."""
    from ansible.module_utils.urls import fetch_url as urls_fetch_url  # pylint: disable=import-outside-toplevel
    return urls_fetch_url(module, url, **kwargs)


def share_ssl_contexts():
    """One SSL context per Grafana (its TLS settings) and module run, not one per request.

    ansible-core builds a new context in every open_url (Request.open calls urls.make_context, which loads the CA
    store: about 50 ms), even over http. fetch_url takes no context in any version (2.16 to the newest; open_url
    and Request take one from 2.17), so make_context is memoized, for this module process only, by its arguments:
    the CA file or data, ciphers, validate_certs and client certificate of a Grafana give one context for the run.
    """
    from ansible.module_utils import urls  # pylint: disable=import-outside-toplevel  # see fetch_url
    if not getattr(urls.make_context, "reportops_shared", False):
        urls.make_context = _shared(urls.make_context)


class GrafanaClient:
    """Talks to one Grafana instance with the module's connection options."""

    def __init__(self, module, render_retries=NO_RENDER_RETRIES):
        """Raises GrafanaError when the connection options are invalid: the module decides how to exit. The module's
        params are left as they are."""
        params = module.params
        self.base_url = checked_connection(params)
        share_ssl_contexts()
        if params["timeout"] < RECOMMENDED_MIN_TIMEOUT:
            module.warn("timeout is %ds: Grafana renders the report before it answers and recommends at least %ds."
                        % (params["timeout"], RECOMMENDED_MIN_TIMEOUT))
        if not params["validate_certs"] and self.base_url.startswith("https"):
            module.warn("validate_certs is false: the TLS certificate of %s is not verified." % self.base_url)
        # API calls never follow a redirect (a POST must not be replayed elsewhere), and basic credentials are sent
        # at once because Grafana answers 401 without a challenge.
        self.module = ModuleView(module, dict(params, http_agent=USER_AGENT, follow_redirects="none", force_basic_auth=True))
        self.timeout = params["timeout"]
        self.headers = {"Accept": "application/json"}
        if params["token"]:
            self.headers["Authorization"] = "Bearer %s" % params["token"]
        if params["org_id"] is not None:
            self.headers["X-Grafana-Org-Id"] = str(params["org_id"])
        self.basic_auth = not params["token"]
        self.org_id = params["org_id"]
        self.render_retries = render_retries
        if self.basic_auth and self.org_id is None:
            module.warn("url_username is set without org_id: Grafana will use the user's current organization, the one "
                        "the user last switched to in its UI, which can change; set org_id to pin the organization.")

    def _membership_hint(self):
        """For basic auth, Grafana's 403 may mean the user is not a member of the organization asked for."""
        if not self.basic_auth:
            return ""
        if self.org_id is None:
            return (" Without org_id Grafana uses the user's current organization, which may not be the one holding it;"
                    " set org_id.")
        return " A basic-auth user must also belong to organization %d (org_id)." % self.org_id

    # -- API calls ---------------------------------------------------------------------------

    def send_report(self, report_id, emails=None, retries=0):
        """POST /api/reports/email; returns (Grafana's answer, attempts). id goes as a JSON string.

        A send that Grafana itself reports as failed (a 500 with its JSON error) is sent again as the client's
        render_retries say, after exponential waits with jitter; `attempts` counts every request.
        """
        body = {"id": report_id}
        if emails:
            body["emails"] = ",".join(emails)
        else:
            body["useEmailsFromReport"] = True
        return self.request("POST", PATHS["send_report"], body=body, retries=retries, subject="report %s" % report_id,
                            advice={403: SEND_NEEDS}, render_retries=self.render_retries.times)

    def get_report(self, report_id):
        report, dummy = self.request("GET", PATHS["report"].format(report_id=report_id),
                                     subject="report %s" % report_id, advice=needs("reports:read"))
        return report

    def list_reports(self):
        # Only the reporting API's own route is missing there: a 404 means no Enterprise reporting, not a wrong id.
        return self.listing(PATHS["reports"], subject="the list of reports", advice={
            **needs("reports:read"),
            404: "this Grafana has no reporting API: reports need Grafana Enterprise (or Grafana Cloud) with reporting"
                 " enabled, and an Open Source Grafana answers 404 here (the pre-flight's edition check says which)"})

    def create_report(self, definition):
        """POST /api/reports; returns the new report's id."""
        created, dummy = self.request("POST", PATHS["reports"], body=definition,
                                      subject="report '%s'" % definition.get("name"), advice=needs("reports:create"))
        return created.get("id")

    def update_report(self, report_id, definition):
        """PUT /api/reports/{id}: the definition replaces the saved one, so it must be whole."""
        self.request("PUT", PATHS["report"].format(report_id=report_id), body=definition,
                     subject="report %s" % report_id, advice=needs("reports:write"))

    def delete_report(self, report_id):
        self.request("DELETE", PATHS["report"].format(report_id=report_id),
                     subject="report %s" % report_id, advice=needs("reports:delete"))

    def send_test_email(self, definition):
        """POST /api/reports/test-email: Grafana renders the (unsaved) definition and mails its recipients."""
        answer, dummy = self.request("POST", PATHS["test_email"], body=definition,
                                     subject="the test email of report '%s'" % definition.get("name"), advice={403: SEND_NEEDS})
        return answer

    def get_settings(self):
        settings, dummy = self.request("GET", PATHS["report_settings"], subject="the report settings",
                                       advice=needs("reports.settings:read"))
        return settings

    def save_settings(self, settings):
        """POST /api/reports/settings: creates or replaces the organization's report settings."""
        self.request("POST", PATHS["report_settings"], body=settings, subject="the report settings",
                     advice=needs("reports.settings:write"))

    def health(self):
        """GET /api/health: Grafana's version (and database state); needs no permission."""
        answer, dummy = self.request("GET", PATHS["health"], subject="Grafana's health")
        return answer if isinstance(answer, dict) else {}

    def version_phrase(self):
        """This Grafana named by its version, for a message that says what it did not keep (never raises)."""
        try:
            return "Grafana %s" % (self.health().get("version") or "of unknown version")
        except GrafanaError:
            return "This Grafana (its version could not be read from /api/health)"

    def frontend_settings(self):
        """GET /api/frontend/settings (any signed-in caller): Grafana's build, licence, renderer and reporting state;
        returns (the settings, the answer's headers, lower-case: its Date is Grafana's clock or a proxy's)."""
        headers = {}
        settings, dummy = self.request("GET", PATHS["frontend_settings"], subject="Grafana's frontend settings",
                                       answer_headers=headers)
        return (settings if isinstance(settings, dict) else {}), headers

    def user_permissions(self, reload=True):
        """GET /api/access-control/user/permissions: the caller's RBAC actions, each with the scopes it holds. With
        `reload`, ?reloadcache=true: Grafana reads them fresh rather than from its cache, so that a role granted a
        minute ago counts (pkg/services/accesscontrol/api/api.go, getUserPermissions)."""
        permissions, dummy = self.request("GET", PATHS["user_permissions"], query=[("reloadcache", "true")] if reload else None,
                                          subject="the credentials' permissions")
        if not isinstance(permissions, dict):
            raise GrafanaError("Grafana answered GET %s with something that is not a mapping; check url."
                               % PATHS["user_permissions"], status=200)
        return permissions

    def admin_settings(self):
        """GET /api/admin/settings: Grafana's configuration by section, values as strings (pkg/api/admin.go,
        AdminGetSettings); needs settings:read, which a Grafana server admin has and an organization's service
        account usually has not (403). Sections the caller's settings:read scopes do not cover are left out."""
        settings, dummy = self.request("GET", PATHS["admin_settings"], subject="Grafana's server settings",
                                       advice=needs("settings:read (a Grafana server admin)"))
        return settings if isinstance(settings, dict) else {}

    def create_annotation(self, annotation, subject="the ledger annotation"):
        created, dummy = self.request("POST", PATHS["annotations"], body=annotation, subject=subject,
                                      advice=needs("annotations:create (scope %s)" % ORG_ANNOTATIONS_SCOPE))
        return created

    def find_annotations(self, tags, limit=1, time_range=None, subject="the ledger annotations"):
        """Organization annotations with all of `tags`, newest `timeEnd` first, at most `limit`; with
        `time_range` (from, to in epoch ms, both > 0) only those whose span overlaps it (Grafana filters
        by time only when both bounds are above 0: pkg/services/annotations)."""
        query = [("tags", tag) for tag in tags] + [("type", "annotation"), ("limit", limit)]
        query += [("from", int(time_range[0])), ("to", int(time_range[1]))] if time_range else []
        return self.listing(PATHS["annotations"], query, subject,
                            needs("annotations:read (scope %s)" % ORG_ANNOTATIONS_SCOPE))

    def update_annotation(self, annotation_id, fields):
        """PATCH /api/annotations/{id}: only the fields given change (text, tags, time, timeEnd)."""
        self.request("PATCH", PATHS["annotation"].format(annotation_id=annotation_id), body=fields,
                     subject="the ledger annotation %s" % annotation_id,
                     advice=needs("annotations:write (scope %s)" % ORG_ANNOTATIONS_SCOPE))

    def delete_annotation(self, annotation_id):
        self.request("DELETE", PATHS["annotation"].format(annotation_id=annotation_id),
                     subject="the ledger annotation %s" % annotation_id,
                     advice=needs("annotations:delete (scope %s)" % ORG_ANNOTATIONS_SCOPE))

    def get_dashboard(self, uid):
        """GET /api/dashboards/uid/{uid}: proves the dashboard exists and the credentials may view it."""
        found, dummy = self.request("GET", PATHS["dashboard"].format(uid=quote(uid, safe="")), subject="dashboard '%s'" % uid,
                                    advice={**check_first("check the dashboard's uid (from its URL, /d/UID/...)"),
                                            403: VIEW_NEEDS})
        return found

    def save_dashboard(self, body, subject, conflicts=None):
        """POST /api/dashboards/db: creates the dashboard, or updates the one with its uid; returns Grafana's answer
        (id, uid, url, version). `conflicts` are the caller's advice after a save conflict (409, 412)."""
        saved, dummy = self.request("POST", PATHS["save_dashboard"], body=body, subject=subject, advice={
            **needs("dashboards:create on the folder (dashboards:write to update it)"),
            400: "check the dashboard's uid (at most 40 characters) and title", **(conflicts or {})})
        return saved

    def list_folders(self, limit=1000):
        """GET /api/folders?limit=&page=: every folder at the root that the credentials may read, page after page until
        one comes back short (titles need not be unique since Grafana 11.3: a search must see them all)."""
        folders, page = [], 1
        while True:
            found = self.listing(PATHS["folders"], [("limit", limit), ("page", page)], "the folders", needs("folders:read"))
            folders.extend(found)
            if len(found) < limit:
                return folders
            page += 1

    def get_folder(self, uid, when_missing=None):
        """GET /api/folders/{uid}; a GrafanaError with status 404 when there is none, its message ending with
        `when_missing` (what the caller can do about it) when given."""
        missing = "check the folder's uid, and check org_id%s" % (". " + when_missing.rstrip(".") if when_missing else "")
        found, dummy = self.request("GET", PATHS["folder"].format(uid=quote(uid, safe="")), subject="folder '%s'" % uid,
                                    advice={**needs("folders:read"), 404: missing})
        return found

    def create_folder(self, title, uid=None):
        """POST /api/folders at the root; returns the folder (id, uid, title, url ...)."""
        body = {"title": title}
        if uid:
            body["uid"] = uid
        created, dummy = self.request("POST", PATHS["folders"], body=body, subject="folder '%s'" % title,
                                      advice={**needs("folders:create"), 400: "check the folder's title and uid"})
        return created

    def render(self, file_format, query, subject):
        """GET /api/reports/render/pdfs or /csvs: returns (HTTP status, body bytes, Content-Type).

        A 204 (CSV only: no dashboard has a table panel) is a success without a body.
        """
        return self.request("GET", PATHS["render_" + file_format], query=query, subject=subject, raw=True, advice={
            **check_first("the render routes are Grafana Enterprise's: check that this Grafana has Enterprise reporting"),
            400: "check the dashboards' uids, time ranges and variables", 403: VIEW_NEEDS, 500: _renderer_failure})[0]

    def listing(self, path, query=None, subject="the request", advice=None):
        """GET a list; GrafanaError when Grafana answers something else."""
        found, dummy = self.request("GET", path, query=query, subject=subject, advice=advice)
        if not isinstance(found, list):
            raise GrafanaError("Grafana answered GET %s with something that is not a list; check url." % path, status=200)
        return found

    def longest_request(self, retries):
        """The longest a send_report() with `retries` can take (the ledger's lease covers it): each of its render
        attempts makes every request time out and every wait the longest, with the longest backoffs between them."""
        one_render = self.timeout * (retries + 1) + RETRY_DELAY_CAP * retries
        times, backoff = self.render_retries
        return int(one_render * (times + 1) + sum(render_retry_step(backoff, retry) for retry in range(1, times + 1)) + 0.999)

    # -- transport ---------------------------------------------------------------------------

    def request(self, method, path, body=None, query=None, retries=0, subject="the request", advice=None,  # pylint: disable=too-many-arguments
                raw=False, render_retries=0, answer_headers=None):
        """One API call: returns (decoded JSON answer, attempts) or raises GrafanaError.

        `advice` holds the call's own entries of DEFAULT_ADVICE by status; for another status its entry is a
        sentence added to the message. With `raw`, the answer is (status, body bytes, Content-Type) instead of JSON,
        and a 204 is a success too. A dict given as `answer_headers` receives fetch_url's info of a successful
        answer (its headers, lower-case).

        Only failures where Grafana provably did not act are retried (`retries`): no connection at all, 429 and
        503. A timeout, a reset connection or a 5xx may follow a real send. A 500 with Grafana's own error (the
        render or the mail failed, nothing was sent) is repeated `render_retries` times, after exponential waits
        with jitter; the attempts count every request.
        """
        url = self.base_url + path + ("?" + urlencode(query) if query else "")
        headers = dict(self.headers)
        data = None
        if body is not None:
            data = json.dumps(body)
            headers["Content-Type"] = "application/json"
        attempts = render_retry = 0
        while True:
            response, info, tried = self._attempts(method, url, data, headers, retries)
            attempts += tried
            status = info["status"]
            if answer_headers is not None and status in (200, 204):
                answer_headers.update(info)
            if raw and status in (200, 204):
                return (status, response.read() if response else b"", info.get("content-type", "")), attempts
            if status == 200:
                return self._decode(response.read(), subject, status, attempts), attempts
            grafana_message = _grafana_message(info)[0] if status == 500 else None
            if grafana_message is None or render_retry == render_retries or not _known_failure(grafana_message)[1]:
                note = " %d attempts in all (render_retries: %d)." % (attempts, render_retries) if render_retry else ""
                raise self._error(method, status, info, subject, attempts, {**DEFAULT_ADVICE, **(advice or {})}, note)
            render_retry += 1
            time.sleep(render_retry_delay(self.render_retries.backoff, render_retry))

    def _attempts(self, method, url, data, headers, retries):
        """fetch_url, repeated where Grafana provably did not act: (response, info, attempts) of the last."""
        attempt = 0
        while True:
            attempt += 1
            response, info = fetch_url(self.module, url, data=data, headers=headers, method=method,
                                       timeout=self.timeout, ca_path=self.module.params["ca_path"], use_netrc=False)
            delay = None if info["status"] in (200, 204) else self._retry_delay(info["status"], info, attempt)
            if attempt > retries or delay is None:
                return response, info, attempt
            time.sleep(delay)

    def _decode(self, raw, subject, status, attempts):
        text = to_text(raw or b"", errors="surrogate_or_strict")
        try:
            return json.loads(text) if text.strip() else {}
        except ValueError:
            raise GrafanaError("Grafana answered %s for %s with a body that is not JSON (%s); check that url points at Grafana."
                               % (status, subject, _summary(text)), status=status, attempts=attempts)

    @staticmethod
    def _retry_delay(status, info, attempt):
        """Seconds to wait before the next attempt, or None when the request must not be repeated."""
        if status == -1 and _NOT_CONNECTED.search(info.get("msg", "")):
            return min(2 ** (attempt - 1), RETRY_DELAY_CAP)
        if status not in RETRYABLE_STATUSES:
            return None
        retry_after = info.get("retry-after")
        if retry_after:
            if retry_after.strip().isdigit():
                return min(int(retry_after), RETRY_DELAY_CAP)
            import email.utils  # pylint: disable=import-outside-toplevel  # only for a Retry-After date
            when = email.utils.parsedate_tz(retry_after)
            if when:
                return max(0, min(email.utils.mktime_tz(when) - time.time(), RETRY_DELAY_CAP))
        return min(2 ** (attempt - 1), RETRY_DELAY_CAP)

    def _error(self, method, status, info, subject, attempts, advice, note=""):  # pylint: disable=too-many-arguments
        """Map a failed answer to one sentence: the status, Grafana's message, what to do (`advice`, by status),
        then `note`."""
        acting = method != "GET"
        tried = " after %d attempts" % attempts if attempts > 1 else ""
        if status == -1:
            return self._connection_error(info, subject, acting, tried, attempts)
        grafana_message, body_summary = _grafana_message(info)
        # A 500 with Grafana's own error body is its handler reporting that the render or the mail failed;
        # other 5xx (a proxy's 502/504, a 500 page that is not Grafana's) may hide a send still under way.
        grafana_failed = status == 500 and grafana_message is not None
        said = "HTTP %d%s" % (status, ": %s" % grafana_message if grafana_message else "")
        if grafana_failed and callable(advice[500]):
            message = advice[500](subject, grafana_message)
        elif grafana_failed:
            outcome = " %s may not have been sent." % _capitalized(subject) if acting else ""
            hint = _known_failure(grafana_message)[0]
            message = "Grafana failed on %s (%s); %s%s" % (subject, said, hint or advice[500] + ".", outcome)
        else:
            message = self._status_message(status, info, subject, said, body_summary, acting, tried, advice)
        return GrafanaError(message + note, status=status, grafana_message=grafana_message, attempts=attempts,
                            may_have_acted=acting and status >= 500 and status not in RETRYABLE_STATUSES and not grafana_failed,
                            grafana_failed=grafana_failed)

    def _status_message(self, status, info, subject, said, body_summary, acting, tried, advice):  # pylint: disable=too-many-arguments
        """The sentence of an HTTP answer other than Grafana's own 500."""
        if 300 <= status < 400:
            location = info.get("location", "")
            what = ("a login page: the request was not authenticated, check token or url_username/url_password"
                    if "login" in location else "check that url is Grafana's base URL, including any sub-path")
            return "Grafana redirected the request for %s to %s (%s); that is %s." % (subject, location or "another URL", said, what)
        if status == 400:
            return "Grafana rejected the request for %s as invalid (%s); %s." % (subject, said, advice[400])
        if status == 401:
            return ("Grafana did not accept the credentials (%s); check the token (or url_username/url_password), "
                    "that url is the right Grafana, and that org_id is the token's organization.%s" % (said, (
                        " After repeated failed logins Grafana refuses a user for 5 minutes even with the right"
                        " password (brute-force protection).") if self.basic_auth else ""))
        if status == 403:
            return "Access to %s was denied (%s); the credentials need %s.%s" % (subject, said, advice[403], self._membership_hint())
        if status == 404:
            return "%s was not found (%s); %s." % (_capitalized(subject), said, advice[404])
        if status in RETRYABLE_STATUSES:
            # "Nothing was sent" only of a request that acts: a read sends nothing whatever happens.
            return "Grafana was unavailable for %s%s (%s); %stry again later." % (
                subject, tried, said, "nothing was sent, " if acting else "")
        if status >= 500:
            outcome = " Grafana may still have sent %s, so it was not retried." % subject if acting else ""
            return "Grafana or a proxy in front of it failed on %s (%s%s).%s" % (subject, said, body_summary, outcome)
        return " ".join(filter(None, ("Grafana answered %s for %s." % (said, subject), advice.get(status))))

    def _connection_error(self, info, subject, acting, tried, attempts):  # pylint: disable=too-many-arguments
        """No HTTP answer: not connected (nothing was sent), a timeout, TLS, or a connection that failed midway."""
        reason = _connection_reason(info.get("msg", ""))
        if _NOT_CONNECTED.search(reason):
            # Said once, here, and only of a request that acts (a send, a write): a read, such as the pre-flight's,
            # sends nothing whatever happens. Callers add no "Nothing was sent" of their own to this message.
            return GrafanaError("Could not connect to %s%s (%s); %scheck url and the network."
                                % (self.base_url, tried, reason, "nothing was sent, " if acting else ""), attempts=attempts)
        if "timed out" in reason.lower():
            outcome = (" Grafana may still render and send %s, so the request was not retried;"
                       " raise timeout for large dashboards." % subject) if acting else " Raise timeout or check Grafana's load."
            return GrafanaError("Grafana did not answer within %ds for %s.%s" % (self.timeout, subject, outcome),
                                attempts=attempts, may_have_acted=acting)
        if _TLS_FAILURE.search(reason):
            if _CLIENT_CERT_REQUIRED.search(reason):
                advice = "Grafana requires a client certificate: set client_cert and client_key"
            elif _CERTIFICATE_UNTRUSTED.search(reason):
                advice = "set ca_path to the CA that signed Grafana's certificate (validate_certs: false only for testing)"
            else:
                # A server that wants a client certificate often just closes the handshake.
                advice = "check ca_path, and set client_cert and client_key if Grafana requires client certificates"
            return GrafanaError("TLS with %s failed (%s); %s." % (self.base_url, reason, advice), attempts=attempts)
        outcome = " Grafana may have acted on it, so it was not retried." if acting else ""
        return GrafanaError("The connection to %s failed for %s (%s).%s" % (self.base_url, subject, reason, outcome),
                            attempts=attempts, may_have_acted=acting)


def needs(action):
    """A 403's advice: the credentials need this RBAC action."""
    return {403: "the %s permission" % action}


def check_first(what):
    """A 404's advice: what to check first (the organization always)."""
    return {404: "%s, and check org_id" % what}


def _known_failure(grafana_message):
    """(what to do, whether a repeat can help) for a message of Grafana's own 500; (None, True) for another."""
    lowered = grafana_message.lower()
    return next(((hint, retryable) for said, hint, retryable in _GRAFANA_FAILURES if said in lowered), (None, True))


def _renderer_failure(subject, grafana_message):
    """A render's 500 with Grafana's own body is its renderer failing: say so rather than the send's "rendering or SMTP"."""
    hint = _known_failure(grafana_message)[0] or "see the Grafana server log for the renderer's error."
    return "Grafana could not render %s (HTTP 500: %s); %s" % (subject, grafana_message, hint)


def _capitalized(text):
    return text[:1].upper() + text[1:]


def _connection_reason(msg):
    """fetch_url's text without its prefixes, e.g. 'Connection refused'."""
    reason = re.sub(r"^(Request failed|Connection failure): ", "", msg)
    reason = re.sub(r"^<\w+ error (.*)>$", r"\1", reason)
    return reason.strip() or "no answer"


def _grafana_message(info):
    """(Grafana's `message`, or None; a short summary of a body that is not Grafana JSON, or '')."""
    text = to_text(info.get("body") or b"", errors="surrogate_or_strict")
    try:
        body = json.loads(text)
    except ValueError:
        return None, ", %s" % _summary(text) if text.strip() else ""
    if isinstance(body, dict) and body.get("message"):
        return to_text(body["message"]), ""
    return None, ""


def _summary(text):
    """A body that is not JSON, in a few words: an HTML page by its title or, without one, by its
    text with the tags stripped (never markup); any other body by its start, cut short."""
    title = _HTML_TITLE.search(text)
    if title:
        return "an HTML page titled '%s'" % _cut(_html_text(title.group(1)), 80)
    if _HTML_MARKUP.search(text):
        words = _html_text(_HTML_TAG.sub(" ", _HTML_HIDDEN.sub(" ", text)))
        return "an HTML page saying '%s'" % _cut(words, 120) if words else "an HTML page without text"
    first = " ".join(text.strip().split())
    return "'%s'" % _cut(first, 80) if first else "an empty body"


def _html_text(text):
    """HTML text with entities decoded and white space collapsed."""
    from html import unescape  # pylint: disable=import-outside-toplevel  # only for an HTML error page
    return " ".join(unescape(text).split())


def _cut(text, limit):
    return text[:limit] + ("..." if len(text) > limit else "")
