# -*- coding: utf-8 -*-
# Copyright (c) reportops.grafana contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

import re

import yaml

from ansible_collections.reportops.grafana.plugins.doc_fragments import connection, deliveries, history, ledger, retries

# The argument spec that matches it is _fleet.environment_options(): the connection options without `required` (each
# environment's are checked on their own) and the deliveries, both from their own fragments, so that each option is
# documented once. Read by ansible-doc and ansible-test on the controller, where PyYAML is always there.
_OPTION_REFERENCE = re.compile(r"O\((?=(%s)\b)" % "|".join(
    list(yaml.safe_load(connection.ModuleDocFragment.DOCUMENTATION)["options"]) + ["deliveries"]))


def _nested(documentation):
    """The options of a fragment as suboptions of environments[]: `required` only where the argument spec has it, and
    O(option) references pointing inside environments[]."""
    text = _OPTION_REFERENCE.sub("O(environments[].", documentation)
    options = yaml.safe_load(text)["options"]
    options.get("url", {}).pop("required", None)
    return options


def _own_run_options():
    """The run options (the ledger, retries and history fragments' and concurrency) as suboptions of environments[]:
    each environment may set its own; unset, it takes the module's option of that name. No default, no text repeated."""
    options = {"concurrency": {"type": "int"}}
    for fragment in (ledger, retries, history):
        options.update(yaml.safe_load(fragment.ModuleDocFragment.DOCUMENTATION)["options"])
    for name, option in options.items():
        option.pop("default", None)
        option["description"] = ["This environment's own O(%s); unset, it takes the module's." % name]
    return options


def _environments():
    suboptions = dict(name=dict(description=["The environment's name (the role gives its inventory host name), unique in the run."],
                                type="str", required=True))
    suboptions.update(_nested(connection.ModuleDocFragment.DOCUMENTATION))
    suboptions.update(_nested(deliveries.ModuleDocFragment.DOCUMENTATION))
    suboptions["url"]["description"].append("Required in every environment, from this option or E(GRAFANA_URL).")
    suboptions.update(_own_run_options())
    return yaml.safe_dump({"options": {"environments": {
        "description": [
            "The environments (Grafanas) of the run, each with its connection and its deliveries.",
            "An environment whose connection or deliveries are wrong fails alone: the others are still sent.",
        ],
        "type": "list",
        "elements": "dict",
        "required": True,
        "suboptions": suboptions,
    }}}, sort_keys=False, width=120)


class ModuleDocFragment:
    """DOCUMENTATION is made below, when Ansible loads the fragment: assigned in the class body, ansible-test's yamllint
    would try to read it as a string literal."""


ModuleDocFragment.DOCUMENTATION = _environments()
