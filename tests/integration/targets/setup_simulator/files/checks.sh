# shellcheck shell=bash disable=SC2154  # output and secrets are set by the caller
# Sourced by runme.sh targets after simulator.sh: checks of a command's output. The caller sets
# $output (the file each command writes to) and the array $secrets (credentials that must never
# appear in it).

# ansible-test turns deprecation warnings off for the targets (ANSIBLE_DEPRECATION_WARNINGS=false): on again, so that
# no_deprecations sees what a user would.
export ANSIBLE_DEPRECATION_WARNINGS=true

run() {  # run DESCRIPTION COMMAND...: must succeed; output in $output
    local description="$1"
    shift
    "$@" >"$output" 2>&1 || { tail -n 60 "$output" >&2; fail "$description (exit $?)"; }
    no_secrets
    no_deprecations
}

run_failing() {  # run_failing DESCRIPTION COMMAND...: must fail
    local description="$1"
    shift
    if "$@" >"$output" 2>&1; then tail -n 60 "$output" >&2; fail "$description: succeeded but should have failed"; fi
    no_secrets
    no_deprecations
}

no_deprecations() {  # nothing the run did deserves a deprecation warning (issue 25: one came from a filter lookup)
    if grep -q "DEPRECATION" "$output"; then grep "DEPRECATION" "$output" >&2; fail "a deprecation warning appears in the output"; fi
}

no_secrets() {
    local secret
    for secret in "${secrets[@]}"; do
        if grep -q -- "$secret" "$output"; then fail "a credential appears in the output"; fi
    done
}

contains() {
    grep -qF -- "$1" "$output" || { tail -n 60 "$output" >&2; fail "the output lacks: $1"; }
}

recap() {  # recap HOST FAILED [CHANGED]: the play recap's line of HOST has these counts
    local counts="failed=$2"
    [ -z "${3:-}" ] || counts="changed=$3 .*$counts"
    grep -Eq "^$1 +: .*$counts( |\$)" "$output" || { grep -E "^$1 +:" "$output" >&2; fail "$1: the play recap lacks $counts"; }
}

equals() {  # equals DESCRIPTION ACTUAL EXPECTED
    [ "$2" = "$3" ] || fail "$1: got '$2', expected '$3'"
}
