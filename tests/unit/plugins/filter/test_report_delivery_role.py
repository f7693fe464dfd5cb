# Copyright (c) reportops.grafana contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Unit tests of the role's private filters (plugins/filter/_report_delivery.py)."""

from __future__ import annotations

import pytest

from ansible.errors import AnsibleFilterError

from ansible_collections.reportops.grafana.plugins.filter._report_delivery import (
    FilterModule,
    checked_once,
    report_delivery_hosts,
    report_delivery_inventory,
    report_delivery_jobs,
    report_delivery_environment,
    report_delivery_fleet,
    report_delivery_names,
    report_delivery_outcomes,
    report_delivery_plan,
    report_delivery_run,
    report_delivery_stats,
    report_delivery_summary,
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
                report_delivery_environment={"ANSIBLE_COLLECTIONS_PATH": "/opt/collections"})


class HostVars(dict):
    """hostvars as filters see it: host name to a mapping of that host's variables."""


def test_filter_names():
    assert sorted(FilterModule().filters()) == sorted([
        "_report_delivery_checked", "_report_delivery_plan", "_report_delivery_summary", "_report_delivery_stats", "_report_delivery_hosts",
        "_report_delivery_inventory", "_report_delivery_jobs", "_report_delivery_history",
        "_report_delivery_preflight", "_report_delivery_environment", "_report_delivery_fleet", "_report_delivery_run",
        "_report_delivery_names", "_report_delivery_outcomes"])


def test_plan_gives_module_options_for_this_environment():
    plan = report_delivery_plan(DELIVERIES, ["dev", "grafana_environments"])
    assert plan == [
        {"name": "weekly-slo", "report": "Weekly SLO", "use_emails_from_report": True, "min_interval": "1h"},
        {"name": "capacity", "report": "Daily Capacity", "emails": ["ops@example.com", "cap@example.com"]},
    ]
    assert [d["name"] for d in report_delivery_plan(DELIVERIES, ["prod", "production"])] == ["weekly-slo", "capacity", "prod-only"]
    assert report_delivery_plan(DELIVERIES, ["prod", "production"])[2] == {
        "name": "prod-only", "report_id": "9", "emails": ["a@example.com"], "delivery_key": "k"}


@pytest.mark.parametrize("only, expected", [
    ([], ["weekly-slo", "capacity"]), (None, ["weekly-slo", "capacity"]), ("capacity", ["capacity"]),
    (["prod-only"], []), (["retired"], []),
])
def test_plan_only(only, expected):
    assert [d["name"] for d in report_delivery_plan(DELIVERIES, ["dev"], only)] == expected


def test_plan_checks_every_delivery_not_only_this_environments():
    deliveries = DELIVERIES + [{"name": "elsewhere", "report_id": 1, "emails": "bad", "environments": ["qa"]}]
    with pytest.raises(AnsibleFilterError, match=r"^Invalid report_delivery_deliveries: delivery 'elsewhere': emails has 1 invalid"):
        report_delivery_plan(deliveries, ["dev"])


@pytest.mark.parametrize("only", [None, "capacity,prod-only", ["weekly-slo"]])
@pytest.mark.parametrize("environments", [["dev", "grafana_environments"], ["prod", "production"], ["qa"]])
def test_plan_from_the_runs_check_is_the_plan_checked_again(only, environments):
    checked = checked_once(DELIVERIES, only)
    assert report_delivery_plan(DELIVERIES, environments, only, checked) == report_delivery_plan(DELIVERIES, environments, only)


def test_plan_takes_the_runs_check_without_checking_again():
    checked = checked_once(DELIVERIES)
    # Proof that nothing is checked again: a delivery changed inside the run's check comes out as it is.
    checked["deliveries"][0]["delivery"] = {"name": "as-checked"}
    assert [d["name"] for d in report_delivery_plan(DELIVERIES, ["dev"], None, checked)] == ["as-checked", "capacity"]


@pytest.mark.parametrize("deliveries, only", [(DELIVERIES[:2], None), (DELIVERIES, "capacity")])
def test_plan_of_other_deliveries_checks_them_itself(deliveries, only):
    # An environment whose deliveries (or `only`) differ from those of the run's check has its own check.
    checked = checked_once(DELIVERIES)
    assert report_delivery_plan(deliveries, ["prod"], only, checked) == report_delivery_plan(deliveries, ["prod"], only)


def test_runs_check_of_invalid_deliveries_fails_each_environment():
    deliveries = DELIVERIES + [{"name": "elsewhere", "report_id": 1, "emails": "bad", "environments": ["qa"]}]
    checked = checked_once(deliveries)
    assert sorted(checked) == ["error", "key"]
    for environment in ("dev", "prod"):
        with pytest.raises(AnsibleFilterError, match=r"^Invalid report_delivery_deliveries: delivery 'elsewhere': emails has 1 invalid"):
            report_delivery_plan(deliveries, [environment], None, checked)


@pytest.mark.parametrize("only, expected", [
    (["weekly-sloo"], "Invalid report_delivery_only: no delivery is named weekly-sloo; did you mean weekly-slo? (known: capacity, "
                      "prod-only, retired, weekly-slo)."),
    (["zzz"], "Invalid report_delivery_only: no delivery is named zzz (known: capacity, prod-only, retired, weekly-slo)."),
    (["bad name"], "report_delivery_only must be 1 to 64 letters"),
    ({"a": 1}, "report_delivery_only must be a list of names"),
])
def test_plan_bad_only(only, expected):
    with pytest.raises(AnsibleFilterError) as error:
        report_delivery_plan(DELIVERIES, ["dev"], only)
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
        report_delivery_plan([delivery], ["dev"])
    assert expected in str(error.value)


RUNS = {
    "dev": {"changed": True, "deliveries": [{"name": "a", "outcome": "sent"}, {"name": "b", "outcome": "sent"},
                                            {"name": "c", "outcome": "skipped"}]},
    "staging": {"failed": True, "msg": "1 of 2 deliveries failed: b: boom",
                "deliveries": [{"name": "a", "outcome": "sent"}, {"name": "b", "outcome": "failed", "message": "boom"}]},
    "prod": {"failed": True, "msg": "Error while resolving value for 'deliveries': The filter plugin "
                                    "'reportops.grafana._report_delivery_plan' failed: Invalid report_delivery_deliveries: x"},
    "qa": {"changed": False, "deliveries": []},
}


def test_summary_one_line_per_environment():
    hostvars = HostVars((host, {"_report_delivery_run": run}) for host, run in RUNS.items())
    hostvars["gone"] = {}
    lines = report_delivery_summary(["dev", "staging", "prod", "qa", "gone"], hostvars)
    assert lines == [
        "dev: 2 sent, 1 skipped",
        "staging: 1 sent, 1 failed | b FAILED: boom",
        "prod: nothing sent | FAILED: Invalid report_delivery_deliveries: x",
        "qa: nothing to deliver",
        "gone: FAILED before sending (invalid variables or an earlier task, see above; the task that plans an environment"
        " on this controller hides its error, since it holds the connection: run with -e report_delivery_fleet=false"
        " to see it)",
    ]


def test_summary_of_a_check_mode_run_says_what_would_go_to_whom():
    hostvars = HostVars(dev={"_report_delivery_run": {"deliveries": [
        {"name": "a", "outcome": "checked", "report": "Weekly SLO", "report_id": "1", "recipients": ["a@example.com", "b@example.com"],
         "recipients_source": "emails"},
        {"name": "b", "outcome": "checked", "report": None, "report_id": "3", "recipients": ["ops@example.com"],
         "recipients_source": "report"},
        {"name": "c", "outcome": "skipped", "report_id": "4"}]}})
    assert report_delivery_summary(["dev"], hostvars) == [
        "dev: 2 checked, 1 skipped",
        "dev a: would send report 'Weekly SLO' (id 1) to a@example.com, b@example.com",
        "dev b: would send report id 3 to its saved recipients (ops@example.com)"]


def test_stats():
    hostvars = HostVars((host, {"_report_delivery_run": run}) for host, run in RUNS.items())
    hostvars["gone"] = {}
    stats = report_delivery_stats(["dev", "prod", "gone"], hostvars)
    # `status` is the deprecated copy of `outcome` that AWX workflows of 0.1.0 read.
    assert stats == {"dev": {"deliveries": [dict(record, status=record["outcome"]) for record in RUNS["dev"]["deliveries"]],
                             "error": ""},
                     "prod": {"deliveries": [], "error": "Invalid report_delivery_deliveries: x"},
                     "gone": {"deliveries": [], "error": "did not run"}}


@pytest.mark.parametrize("deliveries, only, expected", [
    (DELIVERIES, None, "weekly-slo, capacity, prod-only, retired"),
    (DELIVERIES, "capacity, prod-only", "capacity, prod-only"),
    ([{"name": "d%d" % number} for number in range(7)], [], "d0, d1, d2, d3, d4 and 2 more"),
    ([{"report_id": 1}, "not a delivery", {"name": "a"}], None, "a"),
    ("not a list", None, "none"),
    (DELIVERIES, {"not": "names"}, "weekly-slo, capacity, prod-only, retired"),
])
def test_names_for_the_banner_never_raise(deliveries, only, expected):
    assert report_delivery_names(deliveries, only) == expected


OPTIONS = {"concurrency": 4, "ledger": "file", "history": "none"}
CONNECTION = {"url": "http://dev.test", "token": "glsa_role_unit_token"}


def test_environment_plans_the_deliveries_and_keeps_the_connection():
    planned = report_delivery_environment(DELIVERIES, "prod", ["production"], None, None, CONNECTION, OPTIONS, True)
    assert planned == dict(fleet=True, archive=True, options=OPTIONS, error="", environment=dict(
        CONNECTION, name="prod", deliveries=report_delivery_plan(DELIVERIES, ["prod", "production"])))
    # Without a connection (an environment that runs on its own), it is not sent with the others.
    alone = report_delivery_environment(DELIVERIES, "prod", ["production"], None, None, None, OPTIONS)
    assert alone["fleet"] is False and alone["archive"] is False and set(alone["environment"]) == {"name", "deliveries"}


def test_environment_with_wrong_deliveries_gets_the_error_instead_of_raising():
    planned = report_delivery_environment([{"name": "bad name", "report_id": 1, "emails": "a@example.com"}], "dev", [], None, None,
                                          CONNECTION, OPTIONS)
    assert planned["fleet"] is False and planned["environment"] == {"name": "dev"}
    assert planned["error"].startswith("Invalid report_delivery_deliveries: delivery 'bad name': name must be")


def _planned(fleet=True, options=None, error=""):
    return {"_report_delivery_environment": dict(fleet=fleet, options=options or OPTIONS, error=error,
                                                 environment=dict(CONNECTION, deliveries=[]))}


def test_fleet_takes_the_environments_on_the_controller_that_agree_on_the_run_options():
    hostvars = HostVars(dev=_planned(), jump=_planned(fleet=False), staging=_planned(options=dict(OPTIONS, concurrency=2)),
                        prod=_planned(), broken=_planned(fleet=False, error="Invalid report_delivery_deliveries: x"))
    hostvars["prod"]["_report_delivery_environment"]["archive"] = True
    plan = report_delivery_fleet(["dev", "jump", "staging", "prod", "broken"], hostvars)
    assert plan == dict(hosts=["dev", "prod"], options=OPTIONS, alone=["jump", "staging"], archiving=["prod"])
    # Only names and options: this is shown in the output, a connection never is.
    assert "glsa_role_unit_token" not in str(plan)
    assert report_delivery_fleet(["jump"], hostvars) == dict(hosts=[], options={}, alone=["jump"], archiving=[])


SENT = {"name": "a", "outcome": "sent", "message": "Report was sent"}


def test_run_of_an_environment_from_the_fleet_or_its_own_run():
    fleet_plan = {"hosts": ["dev", "prod"]}
    fleet = {"environments": [{"name": "dev", "changed": True, "failed": False, "deliveries": [SENT]},
                              {"name": "prod", "changed": False, "failed": True, "msg": "Nothing was sent: HTTP 401"}]}
    shared = dict(_report_delivery_fleet_plan=fleet_plan, _report_delivery_fleet=fleet)
    own = {"changed": True, "deliveries": [SENT]}
    hostvars = HostVars(
        dev=dict(shared, _report_delivery_run={"skipped": True}, **_planned()),
        prod=dict(shared, **_planned()),
        jump=dict(shared, _report_delivery_run=own, **_planned(fleet=False)),
        broken=dict(shared, **_planned(fleet=False, error="Invalid report_delivery_deliveries: x")),
        gone={})

    def run(host):
        variables = hostvars[host]
        return report_delivery_run(host, variables.get("_report_delivery_environment"), variables.get("_report_delivery_fleet_plan"),
                                   variables.get("_report_delivery_fleet"), variables.get("_report_delivery_run"))

    assert run("dev") == fleet["environments"][0]
    assert run("prod") == fleet["environments"][1]
    # Its own task registers with failed_when: false: it failed when it says why (msg).
    assert run("jump") == dict(own, failed=False)
    hostvars["jump"]["_report_delivery_run"] = {"changed": False, "failed": False, "msg": "1 of 1 deliveries failed: a: boom"}
    assert run("jump")["failed"] is True
    assert run("broken") == dict(failed=True, changed=False, msg="Invalid report_delivery_deliveries: x")
    assert run("gone") is None
    # The fleet's module failed as a whole: each of its environments fails with its message.
    hostvars["dev"]["_report_delivery_fleet"] = {"failed": False, "msg": "MODULE FAILURE"}
    assert run("dev") == dict(failed=True, changed=False, msg="MODULE FAILURE")


def test_outcomes_give_each_environment_of_the_fleet_and_each_refused_one_its_line():
    fleet = {"environments": [{"name": "dev", "changed": True, "failed": False, "deliveries": [SENT]},
                              {"name": "prod", "changed": False, "failed": True, "msg": "Nothing was sent: HTTP 401"}]}
    shared = dict(_report_delivery_fleet_plan={"hosts": ["dev", "prod"], "alone": ["jump"]})
    hostvars = HostVars(dev=dict(shared, **_planned()), prod=dict(shared, **_planned()),
                        jump=dict(shared, _report_delivery_run={"changed": True}, **_planned(fleet=False)),
                        broken=dict(shared, **_planned(fleet=False, error="Invalid report_delivery_deliveries: x")))
    failing = {"name": "b", "outcome": "failed", "message": "boom"}
    hostvars["jump"]["_report_delivery_run"] = {"changed": True, "failed": False, "msg": "1 of 2 deliveries failed: b: boom",
                                                "deliveries": [SENT, failing]}
    # One line each, naming the environment and what failed; the reason is said once, in the summary.
    assert report_delivery_outcomes(["dev", "prod", "jump", "broken"], hostvars, fleet) == {
        "dev": dict(changed=True, failed=False, msg=""),
        "prod": dict(changed=False, failed=True, msg="prod: nothing was sent; the summary says why."),
        # An environment on its own shows its change on its own task.
        "jump": dict(changed=False, failed=True, msg="jump: 1 delivery failed (b); the summary says why."),
        "broken": dict(changed=False, failed=True, msg="broken: nothing was sent; the summary says why.")}
    lines = report_delivery_summary(["prod", "jump", "broken"], hostvars, fleet)
    assert lines == ["prod: nothing sent | FAILED: Nothing was sent: HTTP 401", "jump: 1 sent, 1 failed | b FAILED: boom",
                     "broken: nothing sent | FAILED: Invalid report_delivery_deliveries: x"]
    # No result (the module failed as a whole): each environment of the fleet fails; the summary has the module's message.
    hostvars["dev"]["_report_delivery_fleet"] = {"msg": "MODULE FAILURE"}
    assert report_delivery_outcomes(["dev"], hostvars, {"msg": "MODULE FAILURE"}) == {
        "dev": dict(changed=False, failed=True, msg="dev: nothing was sent; the summary says why.")}
    assert report_delivery_summary(["dev"], hostvars, {"msg": "MODULE FAILURE"}) == ["dev: nothing sent | FAILED: MODULE FAILURE"]


def test_summary_and_stats_are_the_same_for_the_fleet_and_for_runs_of_their_own():
    per_host = HostVars((host, {"_report_delivery_run": run}) for host, run in RUNS.items())
    environments = [dict(run, name=host, failed=bool(run.get("failed")), changed=bool(run.get("changed")))
                    for host, run in RUNS.items()]
    shared = dict(_report_delivery_fleet_plan={"hosts": list(RUNS)}, _report_delivery_fleet={"environments": environments})
    fleet = HostVars((host, dict(shared, _report_delivery_run={"skipped": True}, **_planned())) for host in RUNS)
    hosts = list(RUNS)
    assert report_delivery_summary(hosts, fleet) == report_delivery_summary(hosts, per_host)
    assert report_delivery_stats(hosts, fleet) == report_delivery_stats(hosts, per_host)
    # Given once by the role's task, the batch's result gives the same.
    given = shared["_report_delivery_fleet"]
    assert report_delivery_stats(hosts, fleet, given) == report_delivery_stats(hosts, per_host)


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
    (dict(report_delivery_environment={"GRAFANA_TOKEN": "x"}), "report_delivery_environment: GRAFANA_TOKEN is not allowed"),
    (dict(report_delivery_environment={"my_api_key": "x"}), "report_delivery_environment: my_api_key is not allowed"),
    (dict(report_delivery_environment={"1X": "x"}), "report_delivery_environment: 1X is not allowed"),
    (dict(report_delivery_environment={"PATH": "/bin:$HOME"}), "the value of PATH must not hold quotes, backslashes, % or $"),
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
