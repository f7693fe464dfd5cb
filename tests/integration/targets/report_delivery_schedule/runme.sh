#!/usr/bin/env bash
# shellcheck disable=SC2154  # work, output, python and urls are set by helpers.sh
# Role reportops.grafana.report_delivery, entry point schedule, with systemd and cron in temporary
# folders (report_delivery_manage_service: false). Runs the command that a timer or a cron line
# would run and checks that the reports reach the three simulated environments.
# No `set -x`: it would print the credentials that these checks look for.
set -eu
source ../report_delivery_main/files/helpers.sh
start_environments

# The ansible-playbook of this Python's installation, with its absolute shebang, as a user's would be
# (ansible-test puts wrappers first on PATH that start `python` from PATH, which the broken-python
# check below replaces on purpose).
playbook="$("$python" -c 'import os, sys; path = os.path.join(sys.prefix, "bin", "ansible-playbook"); print(path if os.access(path, os.X_OK) else "")')"
[ -n "$playbook" ] || playbook="$(command -v ansible-playbook)"
collections_path="${ANSIBLE_COLLECTIONS_PATH:-$(cd ../../../../../.. && pwd)}"
etc="$work/etc/reportops-grafana"
units="$work/systemd"
cron_file="$work/cron.d/reportops-grafana"
mkdir -p "$units" "$work/cron.d"
cat >"$work/schedule-vars.yml" <<VARS
report_delivery_environment_hosts: [grafana_environments]
report_delivery_schedule_dir: $etc
report_delivery_systemd_dir: $units
report_delivery_cron_file: $cron_file
report_delivery_manage_service: false
report_delivery_ansible_playbook: $playbook
report_delivery_user: $(id -un)
report_delivery_randomized_delay: 30
report_delivery_schedule_env:
  ANSIBLE_COLLECTIONS_PATH: $collections_path
VARS
schedule=(ansible-playbook -i "$work/inventory" files/schedule.yml -e "@$work/schedule-vars.yml")

mode() { stat -c '%a' "$1"; }
changed() { sed -n 's/^localhost *: .*changed=\([0-9]*\).*/\1/p' "$output"; }
file_has() {  # file_has FILE TEXT
    grep -qxF -- "$2" "$1" || fail "$1 lacks the line: $2"
}
fingerprint() { (cd "$work" && find etc systemd cron.d -type f -print0 | sort -z | xargs -0 -r md5sum); }

# A controller where every python on PATH is a broken shim (as a half-removed pyenv or a stale
# venv leaves them): the scheduled run must use the Python of its ansible-playbook, not discovery.
broken_bin="$work/broken-bin"
mkdir -p "$broken_bin"
for name in python python3 python3.8 python3.9 python3.10 python3.11 python3.12 python3.13 python3.14; do
    printf '#!/bin/sh\necho "%s: this interpreter is broken" >&2\nexit 127\n' "$name" >"$broken_bin/$name"
    chmod +x "$broken_bin/$name"
done

run_unit() {  # run_unit SERVICE_FILE: run its ExecStart= with its Environment= settings, broken pythons first on PATH
    local exec_start env_args=()
    exec_start="$(sed -n 's/^ExecStart=//p' "$1")"
    while IFS= read -r line; do env_args+=("$line"); done < <(sed -n 's/^Environment="\(.*\)"$/\1/p' "$1")
    # Word splitting of ExecStart is intended: the role writes only unquoted, space-free words.
    # shellcheck disable=SC2086
    env PATH="$broken_bin:$PATH" "${env_args[@]}" $exec_start
}

run_cron_line() {  # run_cron_line NAME: run the command of its line, with the file's variables
    local line
    line="$(grep -E "/deliveries/$1\.yml " "$cron_file")"
    (set -a; eval "$(grep -E '^[A-Za-z_][A-Za-z0-9_]*=' "$cron_file")"; sh -c "$(echo "$line" | cut -d' ' -f7-)")
}

echo "== systemd: install"
run "schedule with systemd" "${schedule[@]}" --diff -v
equals "units" "$(list_files "$units")" "reportops-grafana-capacity.service reportops-grafana-capacity.timer reportops-grafana-dev-exec.service reportops-grafana-dev-exec.timer reportops-grafana-weekly-slo.service reportops-grafana-weekly-slo.timer "
equals "delivery files" "$(list_files "$etc/deliveries")" "capacity.yml dev-exec.yml weekly-slo.yml "
equals "schedule dir mode" "$(mode "$etc")" 700
equals "deliveries dir mode" "$(mode "$etc/deliveries")" 700
equals "inventory mode" "$(mode "$etc/inventory.yml")" 600
equals "delivery file mode" "$(mode "$etc/deliveries/weekly-slo.yml")" 600
equals "timer mode" "$(mode "$units/reportops-grafana-weekly-slo.timer")" 644
equals "service mode" "$(mode "$units/reportops-grafana-weekly-slo.service")" 644
no_secrets "$units"/* "$etc"/deliveries/*
grep -q prod-secret-token-3333 "$etc/inventory.yml" || fail "the inventory file lacks prod's (decrypted) token"
grep -qF "ansible_python_interpreter: '{{ ansible_playbook_python }}'" "$etc/inventory.yml" \
    || fail "the inventory file does not use the Python of the scheduled ansible-playbook"
grep -qF 'ANSIBLE_VAULT;' "$etc/inventory.yml" && fail "the inventory file holds a vaulted value"
timer="$units/reportops-grafana-weekly-slo.timer"
file_has "$timer" "OnCalendar=Mon..Fri *-*-* 07:00:00"
file_has "$timer" "Persistent=true"
file_has "$timer" "RandomizedDelaySec=30"
file_has "$timer" "Unit=reportops-grafana-weekly-slo.service"
file_has "$timer" "WantedBy=timers.target"
file_has "$units/reportops-grafana-capacity.timer" "OnCalendar=*-*-* 00:00:00"
file_has "$units/reportops-grafana-dev-exec.timer" "OnCalendar=Mon *-*-* 09:00:00"
file_has "$units/reportops-grafana-dev-exec.timer" "OnCalendar=*-*-01..07 09:00:00"
service="$units/reportops-grafana-weekly-slo.service"
file_has "$service" "ExecStart=$playbook -i $etc/inventory.yml -e @$etc/deliveries/weekly-slo.yml reportops.grafana.deliver"
file_has "$service" "Environment=\"ANSIBLE_COLLECTIONS_PATH=$collections_path\""
file_has "$service" "User=$(id -un)"
file_has "$service" "Type=oneshot"
if command -v systemd-analyze >/dev/null; then
    for file in "$units"/*.timer; do
        sed -n 's/^OnCalendar=//p' "$file" | while IFS= read -r calendar; do
            systemd-analyze calendar "$calendar" >/dev/null || fail "systemd-analyze rejects $calendar"
        done
    done
fi

echo "== systemd: a second run changes nothing"
run "schedule again" "${schedule[@]}"
equals "changed tasks on the second run" "$(changed)" 0

echo "== systemd: check mode shows a change and makes none"
before="$(fingerprint)"
run "check mode" "${schedule[@]}" -e @files/deliveries-moved.yml --check --diff
contains "-OnCalendar=Mon..Fri *-*-* 07:00:00"
contains "+OnCalendar=Sat,Sun *-*-* 08:15:00"
[ "$(changed)" -gt 0 ] || fail "check mode reported no change"
equals "files after check mode" "$(fingerprint)" "$before"

echo "== systemd: the timer's command sends the report to every environment"
output="$work/unit.log"
run_unit "$service" >"$output" 2>&1 || fail "the ExecStart of $service failed (broken pythons first on PATH)"
no_secrets "$output"
contains '"dev: 1 sent"'
equals "dev outbox" "$(sim dev outbox)" "1 lead@example.com,sre-dev@example.com"
equals "staging outbox" "$(sim staging outbox)" "5 lead@example.com,sre-staging@example.com"
equals "prod outbox" "$(sim prod outbox)" "9 lead@example.com,sre-prod@example.com"
output="$work/output.log"

echo "== cron: switching the scheduler replaces the timers with cron lines"
cron=("${schedule[@]}" -e report_delivery_scheduler=cron)
run "schedule with cron" "${cron[@]}" --diff
equals "units after switching to cron" "$(list_files "$units" | wc -w)" 0
equals "cron file mode" "$(mode "$cron_file")" 644
no_secrets "$cron_file"
file_has "$cron_file" "ANSIBLE_COLLECTIONS_PATH=$collections_path"
user="$(id -un)"
for entry in "weekly-slo|0 7 \* \* 1-5" "capacity|0 0 \* \* \*" "dev-exec|0 9 1-7 \* 1"; do
    name="${entry%%|*}"
    when="${entry#*|}"
    grep -Eq "^$when $user sleep ([0-9]|[12][0-9]|30) && $playbook -i $etc/inventory.yml -e @$etc/deliveries/$name\.yml reportops\.grafana\.deliver\$" "$cron_file" \
        || fail "no cron line for $name"
done
equals "cron lines" "$(grep -c 'reportops.grafana.deliver$' "$cron_file")" 3

echo "== cron: a second run changes nothing"
run "cron again" "${cron[@]}"
equals "changed tasks on the second cron run" "$(changed)" 0

echo "== cron: the line's command sends the report to every environment"
for env in dev staging prod; do sim $env reset; done
output="$work/cron-run.log"
run_cron_line capacity >"$output" 2>&1 || fail "the cron command of capacity failed"
no_secrets "$output"
equals "dev outbox" "$(sim dev outbox)" "2 capacity@example.com,ops@example.com"
equals "staging outbox" "$(sim staging outbox)" "6 capacity@example.com,ops@example.com"
equals "prod outbox" "$(sim prod outbox)" "10 capacity@example.com,ops@example.com"
output="$work/output.log"

echo "== cron: removed and absent deliveries lose their line and file (check mode first)"
before="$(fingerprint)"
run "cron removal, check mode" "${cron[@]}" -e @files/deliveries-reduced.yml --check --diff
[ "$(changed)" -gt 0 ] || fail "check mode reported no change"
contains "-0 0 * * * $user sleep"
equals "files after check mode" "$(fingerprint)" "$before"
run "cron removal" "${cron[@]}" -e @files/deliveries-reduced.yml
equals "cron lines after removal" "$(grep -c 'reportops.grafana.deliver$' "$cron_file")" 1
grep -q "/deliveries/weekly-slo.yml " "$cron_file" || fail "the line of weekly-slo is gone"
equals "delivery files after removal" "$(list_files "$etc/deliveries")" "weekly-slo.yml "
run "cron removal again" "${cron[@]}" -e @files/deliveries-reduced.yml
equals "changed tasks after removal" "$(changed)" 0

echo "== systemd again: only weekly-slo, and the cron file is gone"
run "back to systemd" "${schedule[@]}" -e @files/deliveries-reduced.yml
equals "units" "$(list_files "$units")" "reportops-grafana-weekly-slo.service reportops-grafana-weekly-slo.timer "
[ ! -e "$cron_file" ] || fail "the cron file is still there"

echo "== no scheduled delivery: everything goes"
run "nothing scheduled" "${schedule[@]}" -e '{"report_delivery_deliveries": []}'
equals "units" "$(list_files "$units" | wc -w)" 0
equals "delivery files" "$(list_files "$etc/deliveries" | wc -w)" 0

echo "== invalid settings fail before anything is written"
fresh=(-e "report_delivery_schedule_dir=$work/fresh" -e "report_delivery_systemd_dir=$work/fresh-units")
run_failing "invalid cron expression" "${schedule[@]}" "${fresh[@]}" \
    -e '{"report_delivery_deliveries": [{"name": "bad", "report": "Weekly SLO", "emails": "a@example.com", "schedule": "0 7 * jab mon"}]}'
contains "Invalid cron expression '0 7 * jab mon': the month field (4th) has 'jab'"
run_failing "a delivery that would fail at its hour" "${schedule[@]}" "${fresh[@]}" \
    -e '{"report_delivery_deliveries": [{"name": "later", "report": "Weekly SLO", "emails": "not-an-address", "min_interval": "12x", "schedule": "@daily"}]}'
contains "delivery 'later': emails has 1 invalid address(es): 'not-an-address'"
contains "delivery 'later': min_interval must be a positive duration"
run_failing "a secret in report_delivery_schedule_env" "${schedule[@]}" "${fresh[@]}" \
    -e '{"report_delivery_schedule_env": {"GRAFANA_TOKEN": "x"}}'
contains "report_delivery_schedule_env: GRAFANA_TOKEN is not allowed"
# The deprecated name still works, and says so (the one deprecation warning a run may print: not through run()).
"${schedule[@]}" --check -e '{"report_delivery_schedule_env": {}}' \
    -e "{\"report_delivery_environment\": {\"ANSIBLE_COLLECTIONS_PATH\": \"$collections_path\"}}" >"$output" 2>&1 \
    || fail "the deprecated report_delivery_environment (exit $?)"
tr -s ' \n' ' ' <"$output" | grep -qF "report_delivery_environment is renamed report_delivery_schedule_env" \
    || fail "no deprecation warning for report_delivery_environment"
run_failing "an unknown environment" "${schedule[@]}" "${fresh[@]}" -e '{"report_delivery_environment_hosts": ["qa"]}'
contains "not in the inventory: qa"
[ ! -e "$work/fresh" ] || fail "a failed run wrote the schedule folder"

echo "report_delivery_schedule: all checks passed"
