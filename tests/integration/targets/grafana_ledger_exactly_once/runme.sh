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
    "$python" -c 'import json, os, sys, urllib.request
request = urllib.request.Request(sys.argv[1] + "/api/annotations?tags=reportops.grafana&limit=500",
                                 headers={"Authorization": "Bearer " + os.environ["GRAFANA_TOKEN"]})
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

wave() {  # wave NAME COUNT KEY EXPECTED_SENDS: COUNT runners of one delivery started together
    # Asserts the invariant, not a schedule: EXPECTED_SENDS sends in all, no run fails, and every run that
    # did not send skipped for a reason that names the holder ("another runner") or the record ("already sent").
    local name="$1" count="$2" key="$3" expected="$4" before pids=() failures=0 sent=0 started took index
    before=$(sends)
    started=$(date +%s.%N)
    for index in $(seq -w 1 "$count"); do
        run "$name-$index" grafana_report_send "$(send_args "$key" "$name-$index")" &
        pids+=("$!")
    done
    for pid in "${pids[@]}"; do
        wait "$pid" || failures=$((failures + 1))
    done
    took=$("$python" -c 'import sys, time; print("%.1f" % (time.time() - float(sys.argv[1])))' "$started")
    [ "$failures" = 0 ] || fail "$name: $failures of $count runners failed: $(cat "$work/$name"-*.out "$work/$name"-*.err)"
    [ "$(($(sends) - before))" = "$expected" ] || fail "$name: $count runners made $(($(sends) - before)) sends, expected $expected"
    for index in $(seq -w 1 "$count"); do
        if [ "$(field "$name-$index" 'r["sent"] and r["changed"]')" = True ]; then
            sent=$((sent + 1))
        else
            [ "$(field "$name-$index" 'not r["changed"] and ("another runner" in r["skipped_reason"]
                                                             or "already sent" in r["skipped_reason"])')" = True ] \
                || fail "$name runner $index: $(cat "$work/$name-$index.out")"
        fi
    done
    [ "$sent" = "$expected" ] || fail "$name: $sent runners say they sent, expected $expected"
    echo "$name: $count runners, one delivery_key: $(($(sends) - before)) sends, $count runs without error; done in ${took}s"
}

# 1. Twelve runners of one delivery started together, rendering takes 6 s: one send; a later wave of 6: none.
#    First as Grafana 11.3+ lists (a count, a dashboard search of 0.4 s, then the query cut to the count;
#    tags stored up to 0.25 s after the row), then as before 11.3 (one query).
control PATCH /_sim/settings '{"render_seconds": 6, "annotations_search_seconds": 0.4, "annotations_tag_seconds": 0.25}' >/dev/null
wave runner 12 exactly-once 1
[ "$(claims exactly-once)" = "$(claims exactly-once | grep ' sent$')" ] || fail "claims left: $(claims exactly-once)"
[ "$(claims exactly-once | wc -l)" = 1 ] || fail "expected one record: $(claims exactly-once)"
wave later 6 exactly-once 0
control PATCH /_sim/settings '{"annotations_two_queries": false}' >/dev/null
wave single-pass 12 exactly-once-before-11.3 1
wave single-pass-later 6 exactly-once-before-11.3 0
control PATCH /_sim/settings '{"annotations_two_queries": true, "annotations_search_seconds": 0, "annotations_tag_seconds": 0}' >/dev/null

# 2. A later runner skips: the record counts for the delivery key.
run later grafana_report_send "$(send_args exactly-once later)" || fail "later runner: $(cat "$work/later.out")"
[ "$(field later '"already sent" in r["skipped_reason"]')" = True ] || fail "later runner: $(cat "$work/later.out")"
[ "$(sends)" = 2 ] || fail "the later runner sent"

# 3. A token whose annotations:read covers dashboards only lists no organization annotation: nothing is sent.
if GRAFANA_TOKEN=sim-token-dashboard-reader run blind grafana_report_send "$(send_args blind-token blind)"; then
    fail "a token that cannot read the ledger was accepted: $(cat "$work/blind.out")"
fi
[ "$(field blind '"annotations:read with scope annotations:type:organization" in r["msg"] and not r["sent"]')" = True ] \
    || fail "blind token: $(cat "$work/blind.out")"
[ "$(sends)" = 2 ] || fail "the blind token sent"
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
statuses=$(for index in 1 2 3 4; do field "deliver-$index" 'r["deliveries"][0]["outcome"]'; done | sort | tr '\n' ' ')
[ "$statuses" = "sent skipped skipped skipped " ] || fail "grafana_report_deliver statuses: $statuses"
echo "ledger: grafana: all checks passed"
