#!/usr/bin/env bash
# shellcheck disable=SC2154  # work and python are set by ../setup_simulator/files/simulator.sh
# The recipe of docs/render.md (render a report over last month, mail it with community.general.mail),
# run as written there against the simulator and a real SMTP server on loopback (aiosmtpd), then the
# mail is read back. community.general comes from the `ansible` wheel on PyPI: the integration session
# of `make test` fetches it before ansible-test runs, into the HOME it makes for this run
# (tests/utils/community_general.py); only its collections path is added here, so the venv's
# ansible-core is unchanged. No `set -x`: it would print the token.
set -eu
# $python, $work (removed at exit with the simulator) and start_simulator.
source ../setup_simulator/files/simulator.sh
here="$(pwd)"
recipe="$here/../../../../docs/render.md"
output="$work/output.log"
smtpd_pid=""
# The SMTP server too, before simulator.sh's cleanup.
trap '[ -z "$smtpd_pid" ] || kill "$smtpd_pid" 2>/dev/null || true; cleanup' EXIT

fail() {
    echo "FAILED: $*" >&2
    [ ! -f "$output" ] || tail -n 40 "$output" >&2
    exit 1
}

# Its message says what is missing and how to provide it.
collections="$("$python" "$here/../../../utils/community_general.py" --installed)" || fail "community.general is missing"
export ANSIBLE_COLLECTIONS_PATH="${ANSIBLE_COLLECTIONS_PATH:+$ANSIBLE_COLLECTIONS_PATH:}$collections"

start_simulator sim
url="$SIM_URL"
port="$("$python" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()')"
"$python" -m aiosmtpd -n -l "127.0.0.1:$port" -c aiosmtpd.handlers.Mailbox "$work/maildir" >"$work/smtpd.log" 2>&1 &
smtpd_pid=$!
for _ in $(seq 50); do
    "$python" -c 'import socket, sys; socket.create_connection(("127.0.0.1", int(sys.argv[1])), 1).close()' "$port" 2>/dev/null && break
    sleep 0.1
done

# The recipe, exactly as docs/render.md shows it (its first yaml block).
"$python" - "$recipe" "$work/render-and-mail.yml" <<'PYTHON'
import re, sys
text = open(sys.argv[1], encoding="utf-8").read()
open(sys.argv[2], "w", encoding="utf-8").write(re.search(r"```yaml\n(.*?)```", text, re.DOTALL).group(1))
PYTHON

echo "== the recipe renders last month and mails it"
GRAFANA_URL="$url" GRAFANA_TOKEN=sim-token-sender ansible-playbook "$work/render-and-mail.yml" -v \
    -e "smtp_host=127.0.0.1 smtp_port=$port smtp_secure=never report_file=$work/slo-last-month.pdf" >"$output" 2>&1 \
    || fail "the recipe failed (exit $?)"
if grep -q sim-token-sender "$output"; then fail "the token appears in the output"; fi

"$python" - "$work/maildir" <<'PYTHON' || fail "the mail is not what the recipe sends"
import email, email.policy, glob, os, sys
mails = glob.glob(os.path.join(sys.argv[1], "new", "*"))
assert len(mails) == 1, "%d mails" % len(mails)
with open(mails[0], "rb") as handle:
    message = email.message_from_binary_file(handle, policy=email.policy.default)
assert message["To"] == "auditors@example.com", message["To"]
assert message["Subject"] == "Weekly SLO, last month (1 pages)", message["Subject"]
attachments = [part for part in message.iter_attachments() if part.get_filename() == "slo-last-month.pdf"]
assert attachments, [part.get_filename() for part in message.iter_attachments()]
pdf = attachments[0].get_content()
assert pdf.startswith(b"%PDF-"), pdf[:20]
for text in (b"Report: Weekly SLO", b"Time range: now-1M/M to now-1M/M", b"Variable env = prod"):
    assert text in pdf, text
assert b"sim-token-sender" not in pdf
print("mail checked: %s, %d bytes of PDF" % (message["Subject"], len(pdf)))
PYTHON

echo "grafana_report_render_mail: all checks passed"
