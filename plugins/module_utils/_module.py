# -*- coding: utf-8 -*-
# Copyright (c) reportops.grafana contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

# Private to the reportops.grafana collection: not a public API, may change without notice.

"""The module side of the collection: the connection options and their checks, the modules' argument specs, the one
view of a module that collection code gets, the errors that end a module run, and the one way a module exits."""

from __future__ import annotations

import re

from ansible.module_utils.basic import env_fallback
from ansible.module_utils.six.moves.urllib.parse import urlsplit

# A token copied with its header's scheme ("Bearer glsa_..."), which Grafana would refuse as a generic 401.
_BEARER_PREFIX = re.compile(r"^\s*bearer\s", re.IGNORECASE)


class ModuleError(Exception):
    """What fails a module run: one sentence that says what to do (`message`), and the result's fields it knows."""

    def __init__(self, message):
        super().__init__(message)
        self.message = message

    def result_fields(self):
        """Fields of the failed module's result (none here; GrafanaError adds the HTTP status)."""
        return {}


class InputError(ModuleError, ValueError):
    """Bad input, found before any request: an option, a delivery, a definition that cannot work as given."""


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


def checked_base_url(url):
    """Grafana's base URL without a trailing slash; InputError when it is not one."""
    parts = urlsplit(url.strip())
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise InputError("url must be an http:// or https:// URL with a host name, such as https://grafana.example.com.")
    if parts.username is not None or parts.password is not None:
        # Never repeat the URL here: it holds a credential.
        raise InputError("url must not embed credentials; use token, or url_username and url_password.")
    if parts.query or parts.fragment:
        raise InputError("url must be Grafana's base URL, without a query or fragment.")
    return "%s://%s%s" % (parts.scheme, parts.netloc, parts.path.rstrip("/"))


def checked_connection(params):
    """The value checks of the connection options that their types do not make (the modules, and the role when it
    installs a schedule): returns the base URL, or raises InputError. Options that are None are not checked."""
    base_url = checked_base_url(params["url"]) if params.get("url") is not None else None
    if _BEARER_PREFIX.match(params.get("token") or ""):
        # Refused, not stripped: the value was copied from a header, so the same mistake is likely elsewhere (a
        # vault, an AWX credential); never shown, as it holds the token.
        raise InputError("token must be the token itself (a service account token such as glsa_...), without the "
                         "'Bearer ' prefix: the collection sends it as a Bearer token.")
    if params.get("org_id") is not None and params["org_id"] < 1:
        raise InputError("org_id must be a positive integer, got %d." % params["org_id"])
    if params.get("timeout") is not None and params["timeout"] < 1:
        raise InputError("timeout must be a positive number of seconds, got %d." % params["timeout"])
    return base_url


class ModuleView:
    """The module as one Grafana's code sees it: a fleet's environment has its own params (its own connection) and
    warnings that name it. Everything else is the module's."""

    def __init__(self, module, params, warning_prefix=""):
        self._module = module
        self.params = params
        self.warning_prefix = warning_prefix

    def warn(self, warning):
        self._module.warn(self.warning_prefix + warning)

    def __getattr__(self, name):
        return getattr(self._module, name)


def exit_module(module, result, failure):
    """Exit the module: fail_json with `failure` (a message) when there is one, else exit_json."""
    if failure:
        module.fail_json(msg=failure, **result)
    module.exit_json(**result)


def run_module(module, work, failed_result=None):
    """The one way a module runs: `work(module)` returns (the result, a failure's message or None); a ModuleError it
    raises fails the module with its sentence, `failed_result` and the error's own fields (an HTTP status)."""
    try:
        result, failure = work(module)
    except ModuleError as exc:
        result, failure = dict(failed_result or {}, **exc.result_fields()), exc.message
    exit_module(module, result, failure)
