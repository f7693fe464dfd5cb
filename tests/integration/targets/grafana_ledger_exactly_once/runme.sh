#!/usr/bin/env bash
# shellcheck disable=SC2154  # work, python and fail come from ../setup_simulator/files/simulator.sh
# ledger: grafana across runners that share no file system, as AWX jobs in fresh containers run:
# ansible processes started together, each with its own ledger_path, against one simulator.
# No `set -x`: it would echo the token.
set -eu

source ../setup_simulator/files/simulator.sh
start_simulator sim
export GRAFANA_URL="$SIM_URL" GRAFANA_TOKEN=sim-token-sender
sends_route="POST /api/reports/email"

control() {  # control METHOD PATH [JSON]: a /_sim/ call; prints the answer
    "$python" -c 'import sys, urllib.request
url, method, path = sys.argv[1:4]
body = sys.argv[4].encode() if len(sys.argv) > 4 else None
request = urllib.request.Request(url + path, data=body, method=method, headers={"Content-Type": "application/json"})
print(urllib.request.urlopen(request, timeout=30).read().decode())' "$SIM_URL" "$@"
}

sends() {  # POSTs to /api/reports/email since the last reset
    control GET /_sim/stats | "$python" -c 'import json, sys; print(json.load(sys.stdin)["by_route"].get(sys.argv[1], 0))' "$sends_route"
}

claims() {  # claims TEXT: the ledger annotations whose text holds TEXT, as "id state" lines
    "$python" -c 'import json, sys, urllib.request
request = urllib.request.Request(sys.argv[1] + "/api/annotations?tags=reportops.grafana&limit=500",
                                 headers={"Authorization": "Bearer sim-token-sender"})
for item in json.load(urllib.request.urlopen(request, timeout=30)):
    if sys.argv[2] in item["text"]:
        print(item["id"], json.loads(item["text"].splitlines()[1])["state"])' "$SIM_URL" "$1"
}

run() {  # run NAME MODULE ARGS: one ansible process; its one-line result in $work/NAME.out; returns its rc
    local name="$1" module="$2" args="$3"
    timeout 300 ansible localhost -o -m "reportops.grafana.$module" -a "$args" >"$work/$name.out" 2>"$work/$name.err"
}

field() {  # field NAME EXPRESSION [ARG]: a Python expression on the result `r` of run NAME (ARG is sys.argv[3])
    "$python" -c 'import json, sys
text = open(sys.argv[1]).read()
r = json.loads(text.split(" => ", 1)[1])
print(eval(sys.argv[2]))' "$work/$1.out" "$2" "${3:-}"
}

kill_tree() {  # kill_tree PID: SIGKILL the process and all its descendants, found by parentage
    # (ansible-core 2.19+ starts its workers in sessions of their own, so a process group is not enough).
    "$python" -c 'import os, signal, sys
children = {}
for entry in os.listdir("/proc"):
    try:
        with open("/proc/%s/stat" % entry) as handle:
            children.setdefault(int(handle.read().rsplit(")", 1)[1].split()[1]), []).append(int(entry))
    except (OSError, ValueError, IndexError):
        continue
tree, index = [int(sys.argv[1])], 0
while index < len(tree):
    tree.extend(children.get(tree[index], []))
    index += 1
for pid in tree:
    try:
        os.kill(pid, signal.SIGKILL)
    except OSError:
        pass' "$1"
}

send_args() {  # send_args KEY RUNNER [EXTRA]: one delivery of report 1, this runner's own ledger folder
    echo "report_id=1 emails=sre@example.com delivery_key=$1 ledger=grafana ledger_path=$work/$2/ledger.json ${3:-}"
}

# 1. Twelve runners of one delivery started together, rendering takes 6 s: one send.
control PATCH /_sim/settings '{"render_seconds": 6}' >/dev/null
started=$(date +%s.%N)
pids=()
for index in $(seq -w 1 12); do
    run "runner-$index" grafana_report_send "$(send_args exactly-once "runner-$index")" &
    pids+=("$!")
done
failures=0
for pid in "${pids[@]}"; do
    wait "$pid" || failures=$((failures + 1))
done
took=$("$python" -c 'import sys, time; print("%.1f" % (time.time() - float(sys.argv[1])))' "$started")
[ "$failures" = 0 ] || fail "$failures of 12 runners failed: $(cat "$work"/runner-*.out "$work"/runner-*.err)"
[ "$(sends)" = 1 ] || fail "12 runners made $(sends) sends"
sent=0
slowest_skip=0
for index in $(seq -w 1 12); do
    if [ "$(field "runner-$index" 'r["sent"] and r["changed"]')" = True ]; then
        sent=$((sent + 1))
        send_took=$(field "runner-$index" 'r["elapsed"]')
    else
        slowest_skip=$(field "runner-$index" 'max(r["elapsed"], float(sys.argv[3]))' "$slowest_skip")
        [ "$(field "runner-$index" '"another runner" in r["skipped_reason"] and not r["changed"]')" = True ] \
            || fail "runner $index: $(cat "$work/runner-$index.out")"
    fi
done
[ "$sent" = 1 ] || fail "$sent runners say they sent"
[ "$(claims exactly-once)" = "$(claims exactly-once | grep ' sent$')" ] || fail "claims left: $(claims exactly-once)"
[ "$(claims exactly-once | wc -l)" = 1 ] || fail "expected one record: $(claims exactly-once)"
echo "12 runners, one delivery_key, render 6 s: $(sends) POST /api/reports/email, 12 runs without error (1 sent, 11 skipped);" \
     "all 12 ansible processes done in ${took}s; the send took ${send_took}s in its module, the slowest skip ${slowest_skip}s"

# 2. A later runner skips: the record counts for the delivery key.
run later grafana_report_send "$(send_args exactly-once later)" || fail "later runner: $(cat "$work/later.out")"
[ "$(field later '"already sent" in r["skipped_reason"]')" = True ] || fail "later runner: $(cat "$work/later.out")"
[ "$(sends)" = 1 ] || fail "the later runner sent"

# 3. A token whose annotations:read covers dashboards only lists no organization annotation: nothing is sent.
if GRAFANA_TOKEN=sim-token-dashboard-reader run blind grafana_report_send "$(send_args blind-token blind)"; then
    fail "a token that cannot read the ledger was accepted: $(cat "$work/blind.out")"
fi
[ "$(field blind '"annotations:read with scope annotations:type:organization" in r["msg"] and not r["sent"]')" = True ] \
    || fail "blind token: $(cat "$work/blind.out")"
[ "$(sends)" = 1 ] || fail "the blind token sent"
# Real Grafana finds an annotation for PATCH and DELETE through the caller's read filter, so this token
# cannot remove its own claim either (404): the claim holds the delivery until its lease ends, and the
# message says so.
[ "$(field blind '"could not be removed" in r["msg"] and "holds the delivery until" in r["msg"]')" = True ] \
    || fail "blind token, its claim: $(cat "$work/blind.out")"
[ "$(claims blind-token | cut -d' ' -f2)" = claimed ] || fail "the blind token's claim: $(claims blind-token)"

# 4. A runner killed after claiming holds the delivery until its lease ends (10 + timeout 2 s + 10 s
#    with no retries and no render retries, and 10 s of clock tolerance); the next run after that sends once.
ansible localhost -o -m reportops.grafana.grafana_report_send \
    -a "$(send_args killed killed 'timeout=2 retries=0 render_retries=0')" >"$work/killed.out" 2>&1 &
victim=$!
for _ in $(seq 300); do
    [ -z "$(claims "'killed'")" ] || break
    sleep 0.1
done
claimed_at=$(date +%s)
kill_tree "$victim"
wait "$victim" 2>/dev/null || true
[ "$(claims "'killed'" | cut -d' ' -f2)" = claimed ] || fail "no claim of the killed runner: $(claims "'killed'")"
control PATCH /_sim/settings '{"render_seconds": 0.2}' >/dev/null
before=$(sends)
run held grafana_report_send "$(send_args killed held 'timeout=2 retries=0')" || fail "held: $(cat "$work/held.out")"
[ "$(field held '"another runner" in r["skipped_reason"]')" = True ] || fail "held: $(cat "$work/held.out")"
sleep $((claimed_at + 33 - $(date +%s)))
run after-lease grafana_report_send "$(send_args killed after-lease 'timeout=2 retries=0')" \
    || fail "after the lease: $(cat "$work/after-lease.out")"
[ "$(field after-lease 'r["sent"]')" = True ] || fail "after the lease: $(cat "$work/after-lease.out")"
[ "$(sends)" = $((before + 1)) ] || fail "expected one send after the lease, got $(($(sends) - before))"
[ "$(claims "'killed'" | cut -d' ' -f2)" = sent ] || fail "the dead claim stayed: $(claims "'killed'")"

# 5. A 500 from Grafana on the send releases the claim: the next run sends.
control POST /_sim/faults '{"path": "/api/reports/email", "mode": "status", "status": 500, "count": 1}' >/dev/null
before=$(sends)
if run failing grafana_report_send "$(send_args after-500 failing render_retries=0)"; then
    fail "the 500 was not reported: $(cat "$work/failing.out")"
fi
[ "$(field failing '"HTTP 500" in r["msg"] and "released, so the next run sends it" in r["msg"]')" = True ] \
    || fail "500: $(cat "$work/failing.out")"
[ -z "$(claims after-500)" ] || fail "the failed send kept its claim: $(claims after-500)"
run retried grafana_report_send "$(send_args after-500 retried)" || fail "retry: $(cat "$work/retried.out")"
[ "$(field retried 'r["sent"]')" = True ] && [ "$(sends)" = $((before + 2)) ] || fail "retry: $(cat "$work/retried.out")"

# 6. grafana_report_deliver (the role's engine) uses the same protocol: four runners at once, one send.
control PATCH /_sim/settings '{"render_seconds": 3}' >/dev/null
before=$(sends)
pids=()
for index in 1 2 3 4; do
    run "deliver-$index" grafana_report_deliver "{\"deliveries\": [{\"name\": \"weekly\", \"report_id\": 2,
        \"use_emails_from_report\": true, \"delivery_key\": \"deliver-once\"}], \"ledger\": \"grafana\",
        \"ledger_path\": \"$work/deliver-$index/ledger.json\"}" &
    pids+=("$!")
done
for pid in "${pids[@]}"; do
    wait "$pid" || fail "a grafana_report_deliver runner failed: $(cat "$work"/deliver-*.out)"
done
[ "$(sends)" = $((before + 1)) ] || fail "four grafana_report_deliver runners made $(($(sends) - before)) sends"
statuses=$(for index in 1 2 3 4; do field "deliver-$index" 'r["deliveries"][0]["status"]'; done | sort | tr '\n' ' ')
[ "$statuses" = "sent skipped skipped skipped " ] || fail "grafana_report_deliver statuses: $statuses"
echo "ledger: grafana: all checks passed"
