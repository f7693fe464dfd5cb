# shellcheck shell=bash
# Sourced by runme.sh targets (alias needs/target/setup_simulator). Gives a scratch folder $work,
# `start_simulator NAME [ARGS...]` (state in $work/NAME, sets SIM_URL) and `fail MESSAGE`.
# Simulators and $work are removed when the script exits.

python="${ANSIBLE_TEST_PYTHON_INTERPRETER:-python}"
simulator_script="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/../../../../simulator/grafana_sim.py"
simulator_state_dirs=()
work="$(mktemp -d)"

cleanup() {
    local state_dir
    for state_dir in "${simulator_state_dirs[@]}"; do
        "$python" "$simulator_script" stop --state-dir "$state_dir" >/dev/null 2>&1 || true
    done
    rm -rf "$work"
}
trap cleanup EXIT

start_simulator() {
    local state_dir="$work/$1"
    shift
    simulator_state_dirs+=("$state_dir")
    SIM_URL="$("$python" "$simulator_script" serve --background --state-dir "$state_dir" --lifetime 600 "$@" \
               | "$python" -c 'import json, sys; print(json.loads(sys.stdin.read().splitlines()[-1])["url"])')"
    export SIM_URL
}

fail() {
    echo "FAILED: $*" >&2
    exit 1
}
