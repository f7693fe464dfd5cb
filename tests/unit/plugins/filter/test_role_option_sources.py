# Copyright (c) reportops.grafana contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The modules' argument specs are the one source of every option: each place of the role that repeats an option
is checked against them here, so that a drift fails with the option's name."""

from __future__ import annotations

import os
import re

import pytest
import yaml

from ansible.errors import AnsibleFilterError

from ansible_collections.reportops.grafana.plugins.filter._report_delivery import (
    CONNECTION_VARIABLES,
    INVENTORY_VARIABLES,
    ROLE_PREFIX,
    connection_problems,
    report_delivery_hosts,
    report_delivery_inventory,
)
from ansible_collections.reportops.grafana.plugins.module_utils._module import connection_argument_spec
from ansible_collections.reportops.grafana.plugins.module_utils._delivery import DELIVERIES_SUBOPTIONS
from ansible_collections.reportops.grafana.plugins.module_utils._report_definition import REPORT_ARGUMENT_SPEC
from ansible_collections.reportops.grafana.plugins.plugin_utils._role_deliveries import ROLE_ARGUMENT_SPEC

ROLE = os.path.join(os.path.dirname(__file__), "..", "..", "..", "..", "roles", "report_delivery")
CONNECTION = connection_argument_spec()


def _yaml(*path):
    with open(os.path.join(ROLE, *path)) as handle:
        return yaml.safe_load(handle)


def _text(*path):
    with open(os.path.join(ROLE, *path)) as handle:
        return handle.read()


def _entry_points_with_connection():
    """Entry points whose tasks set module_defaults from _report_delivery_connection (they talk to Grafana).

    A new entry point (e.g. `dashboard`) that uses the mapping is found here and must document every connection
    variable in meta/argument_specs.yml (with the *connection_<option> anchors of the entry point `main`). A file
    that another one includes (archive.yml) is part of that entry point."""
    names = os.listdir(os.path.join(ROLE, "tasks"))
    included = set(re.findall(r"(?:include|import)_tasks: (\S+\.yml)", "".join(_text("tasks", name) for name in names)))
    return sorted(name[:-len(".yml")] for name in names
                  if "_report_delivery_connection" in _text("tasks", name) and name not in included)


def test_module_defaults_mapping_is_the_connection_spec():
    mapping = _yaml("vars", "main.yml")["_report_delivery_connection"]
    assert sorted(mapping) == sorted(CONNECTION), "vars/main.yml differs from connection_argument_spec()"
    for option, value in mapping.items():
        assert re.match(r"^\{\{ %s%s \| default\(omit(, true)?\) \}\}$" % (ROLE_PREFIX, option), value), option


def test_use_proxy_has_a_role_variable():
    assert ROLE_PREFIX + "use_proxy" in CONNECTION_VARIABLES


def test_written_inventory_has_every_connection_variable():
    assert set(CONNECTION_VARIABLES) <= set(INVENTORY_VARIABLES)
    variables = dict((name, True if CONNECTION[name[len(ROLE_PREFIX):]]["type"] == "bool" else
                      7 if CONNECTION[name[len(ROLE_PREFIX):]]["type"] == "int" else "x") for name in CONNECTION_VARIABLES)
    variables.update(report_delivery_url="https://grafana.example.com", report_delivery_url_username=None,
                     report_delivery_url_password=None)
    written = report_delivery_inventory(["dev"], {"dev": variables})["all"]["hosts"]["dev"]
    assert sorted(name for name in written if name.startswith(ROLE_PREFIX)) == sorted(
        name for name, value in variables.items() if value is not None)


@pytest.mark.parametrize("entry_point", _entry_points_with_connection())
def test_each_entry_point_documents_every_connection_option(entry_point):
    options = _yaml("meta", "argument_specs.yml")["argument_specs"][entry_point]["options"]
    for option, spec in CONNECTION.items():
        assert ROLE_PREFIX + option in options, "%s: %s%s is not documented" % (entry_point, ROLE_PREFIX, option)
        assert options[ROLE_PREFIX + option]["type"] == spec["type"], "%s: %s%s" % (entry_point, ROLE_PREFIX, option)


def test_the_entry_points_with_a_connection_are_found():
    assert set(_entry_points_with_connection()) >= {"main", "definitions", "export_definitions", "history"}


def test_definitions_task_passes_every_grafana_report_option():
    task = _yaml("tasks", "definitions.yml")[0]["block"][0]
    passed = task["reportops.grafana.grafana_report"]
    missing = sorted(set(REPORT_ARGUMENT_SPEC) - set(passed))
    assert not missing, "tasks/definitions.yml does not pass grafana_report option(s): %s" % ", ".join(missing)
    assert sorted(set(passed) - set(REPORT_ARGUMENT_SPEC)) == []
    for option, value in passed.items():
        default = "" if REPORT_ARGUMENT_SPEC[option].get("required") else " | default(omit)"
        assert value == "{{ item.%s%s }}" % (option, default), option


def test_role_deliveries_document_the_module_suboptions():
    options = _yaml("meta", "argument_specs.yml")["argument_specs"]["main"]["options"]["report_delivery_deliveries"]["options"]
    assert sorted(options) == sorted(list(DELIVERIES_SUBOPTIONS) + list(ROLE_ARGUMENT_SPEC))


@pytest.mark.parametrize("variables, expected", [
    ({"report_delivery_url": "https://admin:s3cret@grafana.example.com"}, "url must not embed credentials"),
    ({"report_delivery_url": "grafana.example.com"}, "http:// or https://"),
    ({"report_delivery_org_id": 0}, "org_id must be a positive integer"),
    ({"report_delivery_org_id": "two"}, "org_id"),
    ({"report_delivery_timeout": 0}, "timeout must be a positive"),
    ({"report_delivery_validate_certs": "maybe"}, "validate_certs"),
    ({"report_delivery_token": "t", "report_delivery_url_username": "u"}, "mutually exclusive: token|url_username"),
])
def test_schedule_time_checks_the_connection_like_the_modules(variables, expected):
    problems = connection_problems("dev", variables)
    assert problems and expected in " ".join(problems) and "s3cret" not in " ".join(problems)
    with pytest.raises(AnsibleFilterError, match="^Invalid connection variables: dev: "):
        report_delivery_hosts(["dev"], {"all": ["dev"]}, {"dev": variables})


def test_schedule_time_accepts_what_the_modules_accept():
    # Ansible's booleans (t, f) and an unset URL (the scheduled run may take GRAFANA_URL) are fine.
    assert connection_problems("dev", {"report_delivery_validate_certs": "f", "report_delivery_use_proxy": "t",
                                       "report_delivery_org_id": "2"}) == []


class _Secret(object):
    """Stands for a value that only str() turns into its text, as a vaulted value of ansible-core < 2.19 is."""

    def __str__(self):
        return "prod-secret-token"


def _vaulted(text):
    """A vaulted value as a filter of this ansible-core gets it."""
    from ansible.parsing.vault import VaultLib, VaultSecret
    from ansible.parsing.yaml.objects import AnsibleVaultEncryptedUnicode

    vault = VaultLib([("default", VaultSecret(b"vault-password"))])
    try:
        value = AnsibleVaultEncryptedUnicode(vault.encrypt(text))
        value.vault = vault
    except AttributeError:  # ansible-core 2.19 decrypts vaulted values before a filter sees them
        value = _Secret()
    return value


@pytest.mark.parametrize("token", [_vaulted("prod-secret-token"), _Secret()])
def test_schedule_time_reads_a_vaulted_token(token):
    assert connection_problems("prod", {"report_delivery_url": "https://grafana.example.com",
                                        "report_delivery_token": token}) == []
