#!/usr/bin/env bash
# shellcheck disable=SC2154  # work, python and fail come from ../setup_simulator/files/simulator.sh
# No token or password in any output at -vvvv, in the ledger, or in any process's arguments.
# No `set -x`: it would echo the secrets this test looks for.
set -eu

source ../setup_simulator/files/simulator.sh
start_simulator sim

token=sim-token-sender
password=sim-reporter-password
# The secrets reach Ansible in a vars file, as a vault or an AWX credential would give them.
umask 077
printf 'secret_token: %s\nsecret_password: %s\nledger_path: %s\n' "$token" "$password" "$work/ledger/ledger.json" >"$work/secrets.yml"
run=(ansible-playbook -i "localhost," -c local -e "ansible_python_interpreter=$python" -e "@$work/secrets.yml")

free_of_secrets() {  # free_of_secrets FILE...: neither secret appears in them
    if grep -l -e "$token" -e "$password" "$@"; then
        fail "a secret appears in the file(s) above"
    fi
}

"${run[@]}" -vvvv paths.yml >"$work/paths.out" 2>&1 || fail "paths.yml: $(tail -n 20 "$work/paths.out")"
grep -q 'ignored=5' "$work/paths.out" || fail "expected 5 ignored failures: $(grep -A1 'PLAY RECAP' "$work/paths.out")"
free_of_secrets "$work/paths.out"
[ -s "$work/ledger/ledger.json" ] || fail "no ledger was written"
free_of_secrets "$work/ledger/ledger.json"

# A slow send: sample the arguments of the playbook's processes (it and all it starts) while it runs. Other processes
# of the machine are not this collection's: a parallel test session may hold the same test token.
"$python" -c 'import json, sys, urllib.request
request = urllib.request.Request(sys.argv[1] + "/_sim/settings", data=json.dumps({"render_seconds": 3}).encode(), method="PATCH",
                                 headers={"Content-Type": "application/json"})
urllib.request.urlopen(request).read()' "$SIM_URL"
"${run[@]}" -vvvv slow_send.yml >"$work/slow.out" 2>&1 &
playbook=$!
samples="$work/process-arguments.txt"
"$python" - "$playbook" >"$samples" <<'PYTHON'
import os, sys, time

playbook = sys.argv[1]


def processes():
    """{pid: (state, parent pid)} of every process now."""
    found = {}
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            with open("/proc/%s/stat" % pid) as stat:
                found[pid] = tuple(stat.read().rsplit(")", 1)[1].split()[:2])
        except OSError:
            pass
    return found


while True:
    states = processes()
    if states.get(playbook, ("Z",))[0] == "Z":  # gone, or ended and not yet reaped
        break
    parents, tree = dict((pid, parent) for pid, (state, parent) in states.items()), {playbook}
    while True:
        more = {pid for pid, parent in parents.items() if parent in tree} - tree
        if not more:
            break
        tree |= more
    for pid in sorted(tree):
        try:
            with open("/proc/%s/cmdline" % pid, "rb") as cmdline:
                print(cmdline.read().replace(b"\0", b" ").decode("utf-8", "replace"))
        except OSError:
            pass
    time.sleep(0.2)
PYTHON
wait "$playbook" || fail "slow_send.yml: $(tail -n 20 "$work/slow.out")"
grep -q 'AnsiballZ_grafana_report_send' "$samples" || fail "the module process was never seen, so the check proves nothing"
free_of_secrets "$work/slow.out" "$samples"
echo "secrets: all checks passed ($(wc -l <"$samples") process arguments sampled)"
