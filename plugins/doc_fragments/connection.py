# -*- coding: utf-8 -*-
# Copyright (c) reportops.grafana contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations


class ModuleDocFragment:
    # Connection options shared by every module of the collection; the argument spec that
    # matches them is _client.connection_argument_spec().
    DOCUMENTATION = r"""
options:
  url:
    description:
      - Base URL of the Grafana instance, C(http) or C(https), including any sub-path Grafana is served under,
        for example C(https://grafana.example.com/grafana).
      - Must not embed credentials; use O(token) or O(url_username) and O(url_password).
      - If not set, the value of the E(GRAFANA_URL) environment variable is used.
    type: str
    required: true
    aliases: [grafana_url]
  token:
    description:
      - "Grafana service account token (or legacy API key), sent as C(Authorization: Bearer)."
      - Exactly one of O(token) and O(url_username) must be given.
      - If not set, the value of the E(GRAFANA_TOKEN) environment variable is used.
    type: str
    aliases: [grafana_api_key, api_key]
  url_username:
    description:
      - User name for HTTP basic authentication (on-premises Grafana only), instead of O(token).
      - Requires O(url_password).
      - If not set, the value of the E(GRAFANA_USER) environment variable is used.
    type: str
    aliases: [grafana_user]
  url_password:
    description:
      - Password for O(url_username). There is no default password.
      - If not set, the value of the E(GRAFANA_PASSWORD) environment variable is used.
    type: str
    aliases: [grafana_password]
  org_id:
    description:
      - Grafana organization to act in, sent as the C(X-Grafana-Org-Id) header.
      - When omitted, Grafana uses the token's organization, or the user's current one.
      - A service account token belongs to one organization; asking for another fails with HTTP 401.
      - If not set, the value of the E(GRAFANA_ORG_ID) environment variable is used.
    type: int
  validate_certs:
    description:
      - Whether to verify the TLS certificate of O(url). Set to V(false) only for testing.
      - If not set, the value of the E(GRAFANA_VALIDATE_CERTS) environment variable is used, else V(true).
    type: bool
    default: true
  ca_path:
    description:
      - PEM file with the CA certificate(s) to trust for O(url), for a private CA.
      - If not set, the value of the E(GRAFANA_CA_PATH) environment variable is used.
    type: path
  client_cert:
    description:
      - PEM client certificate for mutual TLS. May include the private key, else use O(client_key).
    type: path
  client_key:
    description:
      - PEM private key for O(client_cert).
    type: path
  use_proxy:
    description:
      - Whether to use a proxy from the usual C(https_proxy)/C(http_proxy)/C(no_proxy) environment variables.
    type: bool
    default: true
  timeout:
    description:
      - Seconds to wait for each answer from Grafana. Sending is synchronous (Grafana renders and mails the
        report before it answers), and Grafana recommends at least 60 seconds; a lower value gives a warning.
      - If not set, the value of the E(GRAFANA_TIMEOUT) environment variable is used.
    type: int
    default: 120
notes:
  - Credentials can come from the E(GRAFANA_*) environment variables, which is how an AWX/AAP credential type
    or an ad-hoc command should pass them, so that they never appear on a command line.
"""

    # Every module of the collection runs in check mode; each module's own documentation says what
    # check mode does there (its check_mode description) and whether it has a diff.
    ATTRIBUTES = r"""
attributes:
  action_group:
    description: Use C(group/reportops.grafana.grafana) in C(module_defaults) to set connection options once.
    support: full
    membership:
      - reportops.grafana.grafana
  check_mode:
    support: full
"""

    # A module that only reads Grafana.
    READ_ONLY = r"""
attributes:
  check_mode:
    description: Only reads Grafana; runs the same in check mode.
  diff_mode:
    support: none
    description: Read-only; nothing changes.
"""
