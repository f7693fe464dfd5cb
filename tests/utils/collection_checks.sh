#!/usr/bin/env bash
# Collection-wide checks that `make test` runs once (not per ansible-core): ansible-lint
# (production profile), documentation lint, changelog lint, the execution environment
# definition rendered by ansible-builder, and the demo, which builds the collection tarball,
# installs it into a clean collections path and runs a playbook from the installed copy.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/../.."
root="$PWD"
tools="$root/.venv/tools"
requirements=tests/utils/requirements-tools.txt
stamp="$tools/.requirements.sha256"
if [ ! -x "$tools/bin/python" ] || ! sha256sum --status -c "$stamp" 2>/dev/null; then
    rm -rf "$tools"
    python3 -m venv "$tools"
    "$tools/bin/pip" install --quiet --upgrade pip
    "$tools/bin/pip" install --quiet -r "$requirements"
    sha256sum "$requirements" >"$stamp"
fi
export PATH="$tools/bin:$PATH"

# The collection as Ansible finds it: build/tools/ansible_collections/reportops/grafana.
layout="$root/build/tools"
rm -rf "$layout"
mkdir -p "$layout/ansible_collections/reportops"
ln -s "$root" "$layout/ansible_collections/reportops/grafana"

status=0
check() {  # check NAME COMMAND...: run, report, remember a failure and go on
    local name="$1"
    shift
    echo "== $name"
    if "$@"; then
        echo ">> $name: PASS"
    else
        echo ">> $name: FAIL"
        status=1
    fi
}

check "ansible-lint --profile production" \
    env ANSIBLE_COLLECTIONS_PATH="$layout" ansible-lint --profile production --offline --nocolor
check "antsibull-docs lint-collection-docs --plugin-docs" \
    antsibull-docs lint-collection-docs --plugin-docs "$layout/ansible_collections/reportops/grafana"
check "antsibull-changelog lint" antsibull-changelog lint

# shellcheck disable=SC2329  # called through check below
ee_check() {
    # ansible-builder reads a collection's meta/execution-environment.yml from the collection root.
    local ee="$root/build/ee"
    rm -rf "$ee"
    mkdir -p "$ee"
    cp -r meta "$ee/"
    cp meta/execution-environment.yml "$ee/execution-environment.yml"
    (cd "$ee" && ansible-builder create --file execution-environment.yml --context context >/dev/null)
    grep -q 'ansible-core>=2.16.0' "$ee/context/Dockerfile"
}
check "ansible-builder create (meta/execution-environment.yml)" ee_check
check "demo: build, install, run from the installed copy" bash tests/demo/run.sh
exit "$status"
