# -*- coding: utf-8 -*-
# Copyright (c) reportops.grafana contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

# Private to the reportops.grafana collection: not a public API, may change without notice.

"""The one HTTP client of the collection: auth, the transport, JSON, error mapping and the retry policy."""

from __future__ import annotations

import base64
import json
import random
import re
import threading
import time

from ansible.module_utils.common.text.converters import to_bytes, to_native, to_text
from ansible.module_utils.six.moves.urllib.parse import quote, urlencode

from ansible_collections.reportops.grafana.plugins.module_utils._module import ModuleError, checked_connection

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
# Grafana answers these only when it did not act on the request, so a POST may be repeated.
RETRYABLE_STATUSES = (429, 503)
RETRY_DELAY_CAP = 30
RECOMMENDED_MIN_TIMEOUT = 60
# The longest wait between two render retries: the exponential steps stop growing here.
MAX_RENDER_BACKOFF = 300

# Connection failures come only as text; these say nothing reached Grafana.
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


class GrafanaError(ModuleError):
    """A request that did not succeed: one sentence that says what to do (`message`, made once, here) and what
    happened as data, for callers that decide on it (never by parsing the sentence)."""

    def __init__(self, message, status=None, grafana_message=None, attempts=1, may_have_acted=False,
                 grafana_failed=False):
        super().__init__(message)
        self.status = status
        self.grafana_message = grafana_message
        self.attempts = attempts
        self.may_have_acted = may_have_acted
        # A 500 with Grafana's own error: its handler says the render or the mail failed, nothing was sent.
        self.grafana_failed = grafana_failed

    def status_field(self, name="status"):
        """The result's field for the HTTP status of the answer, when there was one."""
        return {name: self.status} if self.status else {}

    def result_fields(self):
        return self.status_field()


class RetryPolicy:
    """When a request is repeated and how long the client waits: `retries` more times when Grafana provably did not
    act (no connection at all, 429, 503; Retry-After honoured), `render_retries` more times when Grafana itself
    reports the render or the mail as failed (its own 500, unless its configuration is at fault), after
    `render_backoff` seconds doubled for each retry, with jitter. What may have acted (a timeout, a dropped
    connection, 502, 504, a 500 that is not Grafana's) is never repeated."""

    def __init__(self, retries=0, render_retries=0, render_backoff=0.0):
        self.retries = retries
        self.render_retries = render_retries
        self.render_backoff = render_backoff

    @staticmethod
    def delay(status, info, attempt):
        """Seconds to wait after attempt number `attempt` (1, 2, ...) got `status`, or None when Grafana may have
        acted on it; whether another attempt is left is the caller's (`retries`)."""
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

    def with_retries(self, retries):
        """This policy with another `retries` (a call's own)."""
        return RetryPolicy(retries, self.render_retries, self.render_backoff) if retries is not None else self

    def renders_again(self, grafana_message, render_retry):
        """Whether Grafana's own failure `grafana_message` (None: not Grafana's) may be repeated after
        `render_retry` render retries."""
        return (grafana_message is not None and render_retry < self.render_retries
                and _known_failure(grafana_message)[1])

    def render_step(self, retry):
        """The longest wait before render retry number `retry` (1, 2, ...): the backoff, doubled for each retry, capped."""
        return min(self.render_backoff * 2 ** (retry - 1), MAX_RENDER_BACKOFF)

    def render_delay(self, retry, uniform=random.uniform):
        """Seconds to wait before render retry `retry`: at least half its step, the rest random, so that the
        deliveries that failed together (all fired at the top of the hour) do not all come back together."""
        step = self.render_step(retry)
        return uniform(step / 2.0, step)

    def longest(self, timeout):
        """The longest a request under this policy can take when each try times out after `timeout` seconds and every
        wait is the longest (the Grafana ledger's lease covers it)."""
        one_render = timeout * (self.retries + 1) + RETRY_DELAY_CAP * self.retries
        return int(one_render * (self.render_retries + 1)
                   + sum(self.render_step(retry) for retry in range(1, self.render_retries + 1)) + 0.999)


NO_RETRIES = RetryPolicy()

# One SSL context per set of TLS settings and module run, shared by its clients and threads (an SSLContext may be
# shared): building one loads the CA store, which costs more than a request to a near Grafana.
_SSL_CONTEXTS = {}
_SSL_CONTEXTS_LOCK = threading.Lock()


def ssl_context(ca_path=None, validate_certs=True, client_cert=None, client_key=None):
    """The run's SSL context for these TLS settings, built by ansible-core's make_context the first time."""
    key = (ca_path, validate_certs, client_cert, client_key)
    with _SSL_CONTEXTS_LOCK:
        if key not in _SSL_CONTEXTS:
            _SSL_CONTEXTS[key] = _new_ssl_context(*key)
        return _SSL_CONTEXTS[key]


def _new_ssl_context(ca_path, validate_certs, client_cert, client_key):
    """The context ansible-core's Request.open would build for these settings."""
    # urls is imported on the first https request: the role's filters import this module on the controller.
    from ansible.module_utils import urls  # pylint: disable=import-outside-toplevel
    cadata = None
    if "context" not in urls.Request.open.__code__.co_varnames:
        # ansible-core 2.16 adds the CA certificates get_ca_certs finds (ca_path's, else the distribution's folders'
        # and /etc/ansible's); later versions pass ca_path alone.
        ca_path, cadata, dummy = urls.get_ca_certs(ca_path)
    return urls.make_context(cafile=ca_path, cadata=cadata, validate_certs=validate_certs, client_cert=client_cert,
                             client_key=client_key)


class Transport:
    """HTTP to one Grafana with the connection options, as fetch_url makes it (proxy or not, TLS checks, CA, client
    certificate) but with one opener and SSL context for the run, never a redirect (a POST must not be replayed
    elsewhere) and no .netrc. open_request() uses it."""

    def __init__(self, base_url, params):
        self.base_url = base_url
        self.params = params
        self._opener = None

    def opener(self):
        if self._opener is None:
            import urllib.request  # pylint: disable=import-outside-toplevel  # see _new_ssl_context
            handlers = [_no_redirects()]
            if not self.params["use_proxy"]:
                handlers.append(urllib.request.ProxyHandler({}))
            if self.base_url.startswith("https:"):
                handlers.append(urllib.request.HTTPSHandler(context=ssl_context(
                    self.params["ca_path"], self.params["validate_certs"], self.params["client_cert"],
                    self.params["client_key"])))
            self._opener = urllib.request.build_opener(*handlers)
        return self._opener


def _no_redirects():
    """A redirect handler that follows none: the 3xx is the answer, as fetch_url gives it with follow_redirects=none."""
    import urllib.error  # pylint: disable=import-outside-toplevel  # see _new_ssl_context
    import urllib.request  # pylint: disable=import-outside-toplevel

    class NoRedirects(urllib.request.HTTPRedirectHandler):
        def redirect_request(self, req, fp, code, msg, headers, newurl):  # pylint: disable=too-many-arguments
            raise urllib.error.HTTPError(newurl, code, msg, headers, fp)

    return NoRedirects()


def open_request(transport, url, data=None, headers=None, method="GET", timeout=None):
    """One request: (the response or None, info) as fetch_url gives them. info holds `status` (-1 without an HTTP
    answer), `msg`, the answer's headers in lower case and, for a failed answer, its `body`. A URL that cannot be
    opened at all raises GrafanaError (where fetch_url fails the module)."""
    import http.client  # pylint: disable=import-outside-toplevel  # see _new_ssl_context
    import urllib.error  # pylint: disable=import-outside-toplevel
    import urllib.request  # pylint: disable=import-outside-toplevel
    info = dict(url=url, status=-1)
    try:
        request = urllib.request.Request(url, data=to_bytes(data, nonstring="passthru"), headers=headers or {},
                                         method=method)
        response = transport.opener().open(request, timeout=timeout)
    except urllib.error.HTTPError as exc:
        body = exc.read() if exc.fp is not None else b""
        info.update(_lowered(exc.headers), msg=to_native(exc), body=body, status=exc.code)
        return None, info
    except urllib.error.URLError as exc:
        info.update(msg="Request failed: %s" % to_native(exc), status=int(getattr(exc, "code", -1)))
        return None, info
    except ValueError as exc:
        raise GrafanaError(to_native(exc))
    except OSError as exc:
        info.update(msg="Connection failure: %s" % to_native(exc))
        return None, info
    except http.client.BadStatusLine as exc:
        info.update(msg="Connection failure: connection was closed before a valid response was received: %s"
                    % to_native(exc.line))
        return None, info
    except Exception as exc:  # pylint: disable=broad-except  # as fetch_url: any fault is this request's failure
        info.update(msg="An unknown error occurred: %s" % to_native(exc))
        return None, info
    info.update(_lowered(response.headers), msg="OK (%s bytes)" % response.headers.get("Content-Length", "unknown"),
                url=response.geturl(), status=response.getcode())
    return response, info


def _lowered(headers):
    """An answer's headers by lower-case name, repeated ones joined (as fetch_url gives them)."""
    lowered = {}
    for name, value in (headers.items() if headers is not None else ()):
        name = name.lower()
        lowered[name] = "%s, %s" % (lowered[name], value) if name in lowered else value
    return lowered


class GrafanaClient:
    """Talks to one Grafana instance with the module's connection options."""

    def __init__(self, module, retry_policy=NO_RETRIES):
        """Raises InputError when the connection options are invalid: the module decides how to exit. `retry_policy`
        is the sends' (other requests are never repeated)."""
        params = module.params
        self.base_url = checked_connection(params)
        if params["timeout"] < RECOMMENDED_MIN_TIMEOUT:
            module.warn("timeout is %ds: Grafana renders the report before it answers and recommends at least %ds."
                        % (params["timeout"], RECOMMENDED_MIN_TIMEOUT))
        if not params["validate_certs"] and self.base_url.startswith("https"):
            module.warn("validate_certs is false: the TLS certificate of %s is not verified." % self.base_url)
        self.warn = module.warn
        self.transport = Transport(self.base_url, params)
        self.timeout = params["timeout"]
        self.headers = {"Accept": "application/json", "User-Agent": USER_AGENT}
        if params["token"]:
            self.headers["Authorization"] = "Bearer %s" % params["token"]
        elif params["url_username"]:
            # Sent at once: Grafana answers 401 without a challenge.
            credentials = "%s:%s" % (params["url_username"], params["url_password"] or "")
            self.headers["Authorization"] = "Basic %s" % to_text(base64.b64encode(to_bytes(credentials, errors="surrogate_or_strict")))
        if params["org_id"] is not None:
            self.headers["X-Grafana-Org-Id"] = str(params["org_id"])
        self.basic_auth = not params["token"]
        self.org_id = params["org_id"]
        self.retry_policy = retry_policy
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

    def send_report(self, report_id, emails=None, retries=None):
        """POST /api/reports/email, repeated as the client's retry policy says (with `retries` when given); returns
        (Grafana's answer, attempts, which counts every request). id goes as a JSON string."""
        body = {"id": report_id}
        if emails:
            body["emails"] = ",".join(emails)
        else:
            body["useEmailsFromReport"] = True
        return self.request("POST", PATHS["send_report"], body=body, subject="report %s" % report_id,
                            advice={403: SEND_NEEDS}, policy=self.retry_policy.with_retries(retries))

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

    def longest_send(self, retries=None):
        """The longest a send_report() with `retries` can take (the Grafana ledger's lease covers it)."""
        return self.retry_policy.with_retries(retries).longest(self.timeout)

    # -- transport ---------------------------------------------------------------------------

    def request(self, method, path, body=None, query=None, subject="the request", advice=None,  # pylint: disable=too-many-arguments
                raw=False, answer_headers=None, policy=NO_RETRIES):
        """One API call: returns (decoded JSON answer, attempts) or raises GrafanaError.

        `advice` holds the call's own entries of DEFAULT_ADVICE by status; for another status its entry is a
        sentence added to the message. With `raw`, the answer is (status, body bytes, Content-Type) instead of JSON,
        and a 204 is a success too. A dict given as `answer_headers` receives the info of a successful answer (its
        headers, lower-case). `policy` (a RetryPolicy) says what is repeated; the attempts count every request.
        """
        url = self.base_url + path + ("?" + urlencode(query) if query else "")
        headers = dict(self.headers)
        data = None
        if body is not None:
            data = json.dumps(body)
            headers["Content-Type"] = "application/json"
        attempts = render_retry = 0
        while True:
            response, info, tried = self._attempts(method, url, data, headers, policy)
            attempts += tried
            status = info["status"]
            if answer_headers is not None and status in (200, 204):
                answer_headers.update(info)
            if raw and status in (200, 204):
                return (status, response.read() if response else b"", info.get("content-type", "")), attempts
            if status == 200:
                return self._decode(response.read(), subject, status, attempts), attempts
            grafana_message = _grafana_message(info)[0] if status == 500 else None
            if not policy.renders_again(grafana_message, render_retry):
                note = " %d attempts in all (render_retries: %d)." % (attempts, policy.render_retries) if render_retry else ""
                raise self._error(method, status, info, subject, attempts, {**DEFAULT_ADVICE, **(advice or {})}, note)
            render_retry += 1
            time.sleep(policy.render_delay(render_retry))

    def _attempts(self, method, url, data, headers, policy):
        """The request, repeated where Grafana provably did not act: (response, info, attempts) of the last."""
        attempt = 0
        while True:
            attempt += 1
            response, info = open_request(self.transport, url, data=data, headers=headers, method=method,
                                          timeout=self.timeout)
            delay = None if info["status"] in (200, 204) else policy.delay(info["status"], info, attempt)
            if attempt > policy.retries or delay is None:
                return response, info, attempt
            time.sleep(delay)

    def _decode(self, raw, subject, status, attempts):
        text = to_text(raw or b"", errors="surrogate_or_strict")
        try:
            return json.loads(text) if text.strip() else {}
        except ValueError:
            raise GrafanaError("Grafana answered %s for %s with a body that is not JSON (%s); check that url points at Grafana."
                               % (status, subject, text_summary(text)), status=status, attempts=attempts)

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
    """The transport's text without its prefixes, e.g. 'Connection refused'."""
    reason = re.sub(r"^(Request failed|Connection failure): ", "", msg)
    reason = re.sub(r"^<\w+ error (.*)>$", r"\1", reason)
    return reason.strip() or "no answer"


def _grafana_message(info):
    """(Grafana's `message`, or None; a short summary of a body that is not Grafana JSON, or '')."""
    text = to_text(info.get("body") or b"", errors="surrogate_or_strict")
    try:
        body = json.loads(text)
    except ValueError:
        return None, ", %s" % text_summary(text) if text.strip() else ""
    if isinstance(body, dict) and body.get("message"):
        return to_text(body["message"]), ""
    return None, ""


def text_summary(text):
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
