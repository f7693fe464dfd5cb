# Copyright (c) reportops.grafana contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Unit tests of the role's private filters (plugins/filter/_report_delivery.py)."""

from __future__ import annotations

import pytest

from ansible.errors import AnsibleFilterError

from ansible_collections.reportops.grafana.plugins.filter._report_delivery import (
    FilterModule,
    report_delivery_hosts,
    report_delivery_inventory,
    report_delivery_jobs,
    report_delivery_plan,
    report_delivery_results,
)

DELIVERIES = [
    {"name": "weekly-slo", "report": "Weekly SLO", "use_emails_from_report": True, "min_interval": " 1h ",
     "schedule": "0  7 * * mon-fri"},
    {"name": "capacity", "report": "Daily Capacity", "emails": "ops@example.com; cap@example.com", "schedule": "@daily"},
    {"name": "prod-only", "report_id": 9, "emails": ["a@example.com"], "environments": ["production"], "delivery_key": "k"},
    {"name": "retired", "report": "Weekly SLO", "emails": "old@example.com", "state": "absent", "schedule": "0 8 * * *"},
]
SETTINGS = dict(report_delivery_scheduler="systemd", report_delivery_schedule_dir="/etc/rg",
                report_delivery_systemd_dir="/etc/systemd/system", report_delivery_cron_file="/etc/cron.d/rg",
                report_delivery_ansible_playbook="/opt/venv/bin/ansible-playbook", report_delivery_user="root",
                report_delivery_unit_prefix="rg", report_delivery_randomized_delay=120,
                report_delivery_schedule_env={"ANSIBLE_COLLECTIONS_PATH": "/opt/collections"})


class HostVars(dict):
    """hostvars as filters see it: host name to a mapping of that host's variables."""


def test_filter_names():
    # Entry point main has two: each environment's plan, then every environment's result.
    assert sorted(FilterModule().filters()) == sorted([
        "_report_delivery_plan", "_report_delivery_results", "_report_delivery_hosts", "_report_delivery_inventory",
        "_report_delivery_jobs", "_report_delivery_history", "_report_delivery_preflight"])


def planned(deliveries, environments, only=None):
    """The deliveries an environment known by these names keeps, or AnsibleFilterError with its plan's error."""
    plan = report_delivery_plan(deliveries, environments[0], environments[1:], only)
    if plan["error"]:
        assert not plan["together"] and not plan["alone"] and plan["environment"] == {"name": environments[0]}
        raise AnsibleFilterError(plan["error"])
    return plan["environment"]["deliveries"]


def test_plan_gives_module_options_for_this_environment():
    plan = planned(DELIVERIES, ["dev", "grafana_environments"])
    assert plan == [
        {"name": "weekly-slo", "report": "Weekly SLO", "use_emails_from_report": True, "min_interval": "1h"},
        {"name": "capacity", "report": "Daily Capacity", "emails": ["ops@example.com", "cap@example.com"]},
    ]
    assert [d["name"] for d in planned(DELIVERIES, ["prod", "production"])] == ["weekly-slo", "capacity", "prod-only"]
    assert planned(DELIVERIES, ["prod", "production"])[2] == {
        "name": "prod-only", "report_id": "9", "emails": ["a@example.com"], "delivery_key": "k"}


@pytest.mark.parametrize("only, expected", [
    ([], ["weekly-slo", "capacity"]), (None, ["weekly-slo", "capacity"]), ("capacity", ["capacity"]),
    (["prod-only"], []), (["retired"], []),
])
def test_plan_only(only, expected):
    assert [d["name"] for d in planned(DELIVERIES, ["dev"], only)] == expected


def test_plan_checks_every_delivery_not_only_this_environments():
    deliveries = DELIVERIES + [{"name": "elsewhere", "report_id": 1, "emails": "bad", "environments": ["qa"]}]
    with pytest.raises(AnsibleFilterError, match=r"^Invalid report_delivery_deliveries: delivery 'elsewhere': emails has 1 invalid"):
        planned(deliveries, ["dev"])


@pytest.mark.parametrize("only, expected", [
    (["weekly-sloo"], "Invalid report_delivery_only: no delivery is named weekly-sloo; did you mean weekly-slo? (known: capacity, "
                      "prod-only, retired, weekly-slo)."),
    (["zzz"], "Invalid report_delivery_only: no delivery is named zzz (known: capacity, prod-only, retired, weekly-slo)."),
    (["bad name"], "report_delivery_only must be 1 to 64 letters"),
    ({"a": 1}, "report_delivery_only must be a list of names"),
])
def test_plan_bad_only(only, expected):
    with pytest.raises(AnsibleFilterError) as error:
        planned(DELIVERIES, ["dev"], only)
    assert expected in str(error.value)


@pytest.mark.parametrize("delivery, expected", [
    ({"name": "a", "report_id": 1, "emails": "a@example.com", "environments": []}, "environments must be a non-empty list"),
    ({"name": "a", "report_id": 1, "emails": "a@example.com", "environments": [1]}, "environments must be a non-empty list"),
    ({"name": "a", "report_id": 1, "emails": "a@example.com", "state": "gone"}, "state must be present or absent, got 'gone'"),
    ({"name": "a", "report_id": 1, "emails": "a@example.com", "schedule": 7}, "schedule: Invalid cron expression 7"),
    ({"name": "a", "report_id": 1, "emails": "a@example.com", "color": "red"}, "delivery 'a': unknown key color: known keys: name, report,"),
    ({"name": "a", "report_id": 1, "emails": "a@example.com", "min_intervall": "12h"},
     "delivery 'a': unknown key min_intervall: did you mean min_interval?"),
])
def test_plan_role_options(delivery, expected):
    with pytest.raises(AnsibleFilterError) as error:
        planned([delivery], ["dev"])
    assert expected in str(error.value)


OPTIONS = {"concurrency": 4, "ledger": "file", "history": "none"}
CONNECTION = {"url": "http://dev.test", "token": "glsa_role_unit_token"}
SENT = {"name": "a", "outcome": "sent", "message": "Report was sent"}
FAILED = {"name": "b", "outcome": "failed", "message": "boom"}


def test_plan_of_an_environment_sent_together_holds_its_connection_and_run_options():
    plan = report_delivery_plan(DELIVERIES, "prod", ["production"], None, CONNECTION, OPTIONS, True)
    assert plan == dict(together=True, alone=False, archive=True, error="", environment=dict(
        CONNECTION, name="prod", deliveries=planned(DELIVERIES, ["prod", "production"]), **OPTIONS))
    # Sent from its own host: neither connection nor options, which module_defaults give there.
    alone = report_delivery_plan(DELIVERIES, "prod", ["production"])
    assert alone["alone"] and not alone["together"] and not alone["archive"] and set(alone["environment"]) == {"name", "deliveries"}


def test_plan_of_wrong_deliveries_gets_the_error_instead_of_raising():
    plan = report_delivery_plan([{"name": "bad name", "report_id": 1, "emails": "a@example.com"}], "dev", [], None, CONNECTION, OPTIONS)
    assert plan["environment"] == {"name": "dev"} and not plan["together"] and not plan["alone"]
    assert plan["error"].startswith("Invalid report_delivery_deliveries: delivery 'bad name': name must be")
    # Its connection is in no part of the plan.
    assert "glsa_role_unit_token" not in str(plan)


def _host(together=True, error="", **variables):
    plan = dict(together=together and not error, alone=not together and not error, archive=False, error=error,
                environment=dict(name="x", deliveries=[]))
    return dict(variables, _report_delivery_planned=plan)


def test_results_read_each_environment_once_from_the_run_together_or_its_own():
    together = {"environments": [{"name": "dev", "changed": True, "failed": False, "deliveries": [SENT]},
                                 {"name": "prod", "changed": False, "failed": True, "msg": "Nothing was sent: HTTP 401"}]}
    hostvars = HostVars(
        dev=_host(), prod=_host(),
        # Sent from its own host, registered with failed_when: false: its `msg` says it failed.
        jump=_host(together=False, _report_delivery_sent_alone={
            "changed": True, "failed": False, "deliveries": [SENT, FAILED], "msg": "1 of 2 deliveries failed: b: boom"}),
        quiet=_host(together=False, _report_delivery_sent_alone={"changed": True, "deliveries": [SENT]}),
        broken=_host(error="Invalid report_delivery_deliveries: x"),
        gone={})
    results = report_delivery_results(["dev", "prod", "jump", "quiet", "broken", "gone"], hostvars, together)
    # One line on each failing environment's host, naming what failed; the reason is said once, in the summary.
    assert results["outcomes"] == {
        "dev": dict(changed=True, failed=False, msg=""),
        "prod": dict(changed=False, failed=True, msg="prod: nothing was sent; the summary says why."),
        # An environment sent from its own host shows its change on its own task.
        "jump": dict(changed=False, failed=True, msg="jump: 1 delivery failed (b); the summary says why."),
        "quiet": dict(changed=False, failed=False, msg=""),
        "broken": dict(changed=False, failed=True, msg="broken: its deliveries are wrong, so nothing was sent; the summary says why."),
        "gone": dict(changed=False, failed=True, msg="gone: nothing was sent; the summary says why.")}
    assert results["lines"] == [
        "dev: 1 sent", "prod: nothing sent | FAILED: Nothing was sent: HTTP 401", "jump: 1 sent, 1 failed | b FAILED: boom",
        "quiet: 1 sent", "broken: nothing sent | FAILED: Invalid report_delivery_deliveries: x",
        "gone: FAILED before sending (invalid variables or an earlier task, see above; the task that plans an environment"
        " on this controller hides its error, since it holds the connection: run with -e report_delivery_fleet=false"
        " to see it)"]
    # For AWX/AAP: the records in their 0.1.0 shape (`status`, a deprecated copy of `outcome`), and why it failed.
    assert results["stats"]["dev"] == {"deliveries": [dict(SENT, status="sent")], "error": ""}
    assert results["stats"]["broken"] == {"deliveries": [], "error": "Invalid report_delivery_deliveries: x"}
    assert results["stats"]["gone"] == {"deliveries": [], "error": "did not run"}
    assert results["runs"]["dev"] == together["environments"][0] and results["runs"]["gone"] is None


def test_results_of_a_run_together_that_failed_as_a_whole_fail_each_of_its_environments():
    hostvars = HostVars(dev=_host(_report_delivery_sent_together={"msg": "MODULE FAILURE"}))
    results = report_delivery_results(["dev"], hostvars, {"msg": "MODULE FAILURE"})
    assert results["outcomes"]["dev"] == dict(changed=False, failed=True, msg="dev: nothing was sent; the summary says why.")
    assert results["lines"] == ["dev: nothing sent | FAILED: MODULE FAILURE"]


def test_results_of_an_earlier_batch_come_from_its_own_run():
    earlier = {"environments": [{"name": "dev", "changed": True, "failed": False, "deliveries": [SENT]}]}
    hostvars = HostVars(dev=_host(_report_delivery_sent_together=earlier), prod=_host())
    this_batch = {"environments": [{"name": "prod", "changed": False, "failed": False, "deliveries": [dict(SENT, outcome="skipped")]}]}
    assert report_delivery_results(["dev", "prod"], hostvars, this_batch)["lines"] == ["dev: 1 sent", "prod: 1 skipped"]


def test_summary_of_a_check_mode_run_says_what_would_go_to_whom():
    hostvars = HostVars(dev=_host(together=False, _report_delivery_sent_alone={"deliveries": [
        {"name": "a", "outcome": "checked", "report": "Weekly SLO", "report_id": "1", "recipients": ["a@example.com", "b@example.com"],
         "recipients_source": "emails"},
        {"name": "b", "outcome": "checked", "report": None, "report_id": "3", "recipients": ["ops@example.com"],
         "recipients_source": "report"},
        {"name": "c", "outcome": "skipped", "report_id": "4"}]}))
    assert report_delivery_results(["dev"], hostvars)["lines"] == [
        "dev: 2 checked, 1 skipped",
        "dev a: would send report 'Weekly SLO' (id 1) to a@example.com, b@example.com",
        "dev b: would send report id 3 to its saved recipients (ops@example.com)"]


GROUPS = {"all": ["dev", "staging", "prod", "scheduler"], "ungrouped": ["scheduler"],
          "grafana_environments": ["dev", "staging", "prod"], "production": ["prod"]}


@pytest.mark.parametrize("names, expected", [
    (["grafana_environments"], ["dev", "staging", "prod"]),
    (["prod", "grafana_environments"], ["prod", "dev", "staging"]),
    (["production", "prod"], ["prod"]),
])
def test_hosts(names, expected):
    assert report_delivery_hosts(names, GROUPS) == expected


@pytest.mark.parametrize("names, expected", [
    (["qa", "grafana_environments", "uat"], "not in the inventory: qa, uat"),
    ([], "it names no inventory host"),
])
def test_hosts_invalid(names, expected):
    with pytest.raises(AnsibleFilterError, match=expected):
        report_delivery_hosts(names, GROUPS)


def test_inventory_keeps_connection_variables_and_groups_and_runs_the_playbooks_python():
    hostvars = HostVars(
        dev={"report_delivery_url": "http://dev", "report_delivery_token": "t1", "report_delivery_org_id": 2,
             "report_delivery_validate_certs": False, "report_delivery_ledger_path": None, "unrelated": "x",
             "group_names": ["grafana_environments"]},
        prod={"report_delivery_url": "http://prod", "group_names": ["grafana_environments", "production"]},
    )
    inventory = report_delivery_inventory(["dev", "prod"], hostvars)
    assert inventory == {"all": {
        "hosts": {
            "dev": {"ansible_connection": "local", "ansible_python_interpreter": "{{ ansible_playbook_python }}",
                    "report_delivery_url": "http://dev", "report_delivery_token": "t1", "report_delivery_org_id": 2,
                    "report_delivery_validate_certs": False},
            "prod": {"ansible_connection": "local", "ansible_python_interpreter": "{{ ansible_playbook_python }}",
                     "report_delivery_url": "http://prod"},
        },
        "children": {"grafana_environments": {"hosts": {"dev": None, "prod": None}}, "production": {"hosts": {"prod": None}}},
    }}
    pinned = report_delivery_inventory(["prod"], hostvars, "/usr/bin/python3.11")
    assert pinned["all"]["hosts"]["prod"]["ansible_python_interpreter"] == "/usr/bin/python3.11"


def test_jobs():
    jobs = report_delivery_jobs(DELIVERIES, SETTINGS)
    assert [job["name"] for job in jobs] == ["weekly-slo", "capacity"]
    slo = jobs[0]
    assert slo["schedule"] == "0 7 * * mon-fri" and slo["cron"] == "0 7 * * 1-5"
    assert slo["calendars"] == ["Mon..Fri *-*-* 07:00:00"]
    assert slo["unit"] == "rg-weekly-slo"
    assert slo["unit_files"] == ["/etc/systemd/system/rg-weekly-slo.service", "/etc/systemd/system/rg-weekly-slo.timer"]
    assert slo["vars_file"] == "/etc/rg/deliveries/weekly-slo.yml"
    assert slo["command"] == "/opt/venv/bin/ansible-playbook -i /etc/rg/inventory.yml -e @/etc/rg/deliveries/weekly-slo.yml reportops.grafana.deliver"
    assert slo["variables"] == {"report_delivery_only": ["weekly-slo"], "report_delivery_deliveries": [
        {"name": "weekly-slo", "report": "Weekly SLO", "use_emails_from_report": True, "min_interval": "1h", "schedule": "0 7 * * mon-fri"}]}
    assert 0 <= slo["cron_delay"] <= 120
    assert slo["cron_delay"] == report_delivery_jobs(DELIVERIES, SETTINGS)[0]["cron_delay"]  # the same on every run
    assert report_delivery_jobs(DELIVERIES, dict(SETTINGS, report_delivery_randomized_delay=0))[0]["cron_delay"] == 0


@pytest.mark.parametrize("delivery, expected", [
    # What the module would refuse at the timer's hour is refused when the timer is installed.
    ({"min_interval": "12x"}, "min_interval must be a positive duration"),
    ({"emails": "not-an-address"}, "emails has 1 invalid address(es)"),
    ({"delivery_key": ""}, "delivery_key must be a non-empty string"),
    ({"schedule": "0 25 * * *"}, "the hour field (2nd) has 25"),
])
def test_jobs_refuse_what_would_fail_at_send_time(delivery, expected):
    base = {"name": "a", "report_id": 1, "emails": "a@example.com", "schedule": "@daily"}
    with pytest.raises(AnsibleFilterError) as error:
        report_delivery_jobs([dict(base, **delivery)], SETTINGS)
    assert str(error.value).startswith("Invalid report_delivery_deliveries: delivery 'a': ") and expected in str(error.value)


@pytest.mark.parametrize("settings, expected", [
    (dict(report_delivery_schedule_dir="/etc/my dir"), "report_delivery_schedule_dir may hold only letters"),
    (dict(report_delivery_user="$(id)"), "report_delivery_user may hold only letters"),
    (dict(report_delivery_scheduler="cron", report_delivery_cron_file="/etc/cron.d/rg.cron"), "cron ignores files"),
    (dict(report_delivery_randomized_delay=-1), "report_delivery_randomized_delay must not be negative"),
    (dict(report_delivery_schedule_env={"GRAFANA_TOKEN": "x"}), "report_delivery_schedule_env: GRAFANA_TOKEN is not allowed"),
    (dict(report_delivery_schedule_env={"my_api_key": "x"}), "report_delivery_schedule_env: my_api_key is not allowed"),
    (dict(report_delivery_schedule_env={"1X": "x"}), "report_delivery_schedule_env: 1X is not allowed"),
    (dict(report_delivery_schedule_env={"PATH": "/bin:$HOME"}), "the value of PATH must not hold quotes, backslashes, % or $"),
    # The deprecated name is still read.
    (dict(report_delivery_environment={"GRAFANA_TOKEN": "x"}), "report_delivery_schedule_env: GRAFANA_TOKEN is not allowed"),
])
def test_jobs_refuse_unsafe_settings(settings, expected):
    with pytest.raises(AnsibleFilterError) as error:
        report_delivery_jobs(DELIVERIES, dict(SETTINGS, **settings))
    assert str(error.value).startswith("Invalid schedule settings: ") and expected in str(error.value)


def test_jobs_report_settings_and_deliveries_at_once():
    with pytest.raises(AnsibleFilterError) as error:
        report_delivery_jobs([{"name": "a", "report_id": 0, "emails": "a@example.com"}], dict(SETTINGS, report_delivery_user="a b"))
    assert "Invalid schedule settings: report_delivery_user" in str(error.value)
    assert "Invalid report_delivery_deliveries: delivery 'a': report_id must be" in str(error.value)
