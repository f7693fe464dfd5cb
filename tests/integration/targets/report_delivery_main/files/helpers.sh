# shellcheck shell=bash disable=SC2154  # work and python are set by setup_simulator's simulator.sh
# Shared by the report_delivery_* integration targets (sourced by their runme.sh).
# Starts three simulators (dev, staging, prod: the same report names with different ids, and
# different credentials) and writes an inventory of the three environments into $work/inventory.
# Never `set -x`: it would print the credentials that these tests look for in the output.

helpers_dir="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# $python, $work (removed at exit with the simulators), start_simulator; then run, run_failing, contains, recap, equals.
# shellcheck source=../../setup_simulator/files/simulator.sh
source "$helpers_dir/../../setup_simulator/files/simulator.sh"
# shellcheck source=../../setup_simulator/files/checks.sh
source "$helpers_dir/../../setup_simulator/files/checks.sh"
output="$work/output.log"
secrets=(dev-secret-token-1111 staging-secret-password-2222 prod-secret-token-3333)

fail() {  # fail MESSAGE: with the errors and the end of the last command's output
    echo "FAILED: $*" >&2
    if [ -f "$output" ]; then
        echo "--- errors in the output:" >&2
        grep -E '^(fatal|failed|ERROR|\[ERROR\])' "$output" | cut -c1-1500 >&2 || true
        echo "--- end of the output:" >&2
        tail -n 40 "$output" >&2
    fi
    exit 1
}

sim() {  # sim ENV COMMAND [ARG]
    "$python" "$helpers_dir/sim.py" "${urls[$1]}" "${@:2}"
}

declare -A urls
start_environments() {
    local env
    for env in dev staging prod; do
        start_simulator "sim-$env" --config "$helpers_dir/$env.json" --lifetime 1200
        urls[$env]="$SIM_URL"
    done
    mkdir -p "$work/inventory/host_vars" "$work/inventory/group_vars/all"
    cat >"$work/inventory/hosts.yml" <<INVENTORY
all:
  children:
    grafana_environments:
      vars:
        ansible_connection: local
        ansible_python_interpreter: $python
        report_delivery_ledger_path: $work/ledger.json
      hosts:
        dev:
          report_delivery_url: ${urls[dev]}
          report_delivery_token: dev-secret-token-1111
        staging:
          report_delivery_url: ${urls[staging]}
          report_delivery_url_username: reporter
          report_delivery_url_password: staging-secret-password-2222
        prod:
          report_delivery_url: ${urls[prod]}
    production:
      hosts:
        prod:
INVENTORY
    # prod's token is vaulted, as it would be in a real inventory.
    printf 'test-vault-password' >"$work/vault-password"
    export ANSIBLE_VAULT_PASSWORD_FILE="$work/vault-password"
    ansible-vault encrypt_string --name report_delivery_token prod-secret-token-3333 \
        >"$work/inventory/host_vars/prod.yml" 2>/dev/null
    cp "$helpers_dir/deliveries.yml" "$work/inventory/group_vars/all/deliveries.yml"
}

no_secrets() {  # no_secrets [FILE...]: no credential in these files ($output by default)
    local secret file
    for file in "${@:-$output}"; do
        for secret in "${secrets[@]}"; do
            if grep -q -- "$secret" "$file"; then
                fail "a credential appears in $file"
            fi
        done
    done
}

count() {  # count TEXT: how many times $output holds TEXT
    grep -oF -- "$1" "$output" | wc -l
}

module_runs() {  # module_runs NAME: how many times $output (at -vvv) ran the collection's module NAME
    grep -c "^Using module file .*/plugins/modules/$1\.py\$" "$output" || true
}

list_files() {  # list_files DIR: the names of the files in DIR, sorted, each followed by a space
    local name
    while IFS= read -r name; do printf '%s ' "$name"; done < <(find "$1" -mindepth 1 -maxdepth 1 -printf '%f\n' | sort)
}
