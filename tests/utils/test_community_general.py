# Copyright: reportops maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""community_general provides the mail target's collection from a download or a pre-fetched copy,
and says how to provide one when it has neither. Each check runs the script as the integration
session does, in a process of its own, with a HOME made for the test."""

import os
import subprocess
import sys
import zipfile

SCRIPT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "community_general.py")
MAIL = "ansible_collections/community/general/plugins/modules/mail.py"


def run(*args, env=None):
    environment = dict(os.environ)
    environment.pop("REPORTOPS_COMMUNITY_GENERAL", None)
    environment.update(env or {})
    return subprocess.run([sys.executable, SCRIPT] + list(args), env=environment, capture_output=True, text=True, check=False)


def fake_wheel(path):
    with zipfile.ZipFile(path, "w") as wheel:
        wheel.writestr(MAIL, "# the mail module\n")
        wheel.writestr("ansible_collections/community/docker/plugins/modules/docker_container.py", "")
        wheel.writestr("ansible-9.13.0.dist-info/METADATA", "Name: ansible\n")
    return path


def test_from_a_prefetched_wheel_only_community_general(tmp_path):
    wheel = fake_wheel(tmp_path / "ansible-9.13.0-py3-none-any.whl")
    home = tmp_path / "home"
    result = run("--home", str(home), env={"REPORTOPS_COMMUNITY_GENERAL": str(wheel)})
    assert result.returncode == 0, result.stderr
    collections = home / ".cache" / "reportops-grafana" / "community-general"
    assert (collections / MAIL).read_text() == "# the mail module\n"
    assert not (collections / "ansible_collections" / "community" / "docker").exists()
    found = run("--installed", env={"HOME": str(home)})
    assert (found.returncode, found.stdout.strip()) == (0, str(collections))


def test_from_a_prefetched_folder_replacing_an_older_copy(tmp_path):
    source = tmp_path / "source"
    (source / MAIL).parent.mkdir(parents=True)
    (source / MAIL).write_text("# new\n")
    home = tmp_path / "home"
    old = home / ".cache" / "reportops-grafana" / "community-general" / "ansible_collections" / "stale.txt"
    old.parent.mkdir(parents=True)
    old.write_text("stale")
    result = run("--home", str(home), env={"REPORTOPS_COMMUNITY_GENERAL": str(source)})
    assert result.returncode == 0, result.stderr
    assert (home / ".cache" / "reportops-grafana" / "community-general" / MAIL).read_text() == "# new\n"
    assert not old.exists()


def test_a_bad_prefetched_copy_is_named(tmp_path):
    for source, says in ((tmp_path / "missing.whl", "does not exist"), (tmp_path, "holds no")):
        result = run("--home", str(tmp_path / "home"), env={"REPORTOPS_COMMUNITY_GENERAL": str(source)})
        assert result.returncode == 1
        assert says in result.stderr and str(source) in result.stderr


def test_without_a_network_says_how_to_provide_a_copy(tmp_path):
    # An index on a closed loopback port, no pip configuration files, no retries: what an offline host meets.
    # (Without pip in this Python the download fails as well, with the same advice.)
    result = run("--home", str(tmp_path / "home"), env={
        "PIP_INDEX_URL": "http://127.0.0.1:9/simple", "PIP_CONFIG_FILE": os.devnull, "PIP_RETRIES": "0",
        "PIP_TIMEOUT": "2", "PIP_NO_CACHE_DIR": "1"})
    assert result.returncode == 1
    assert "could not download ansible==9.13.0" in result.stderr
    assert "REPORTOPS_COMMUNITY_GENERAL" in result.stderr and "pip download --no-deps" in result.stderr
    assert not (tmp_path / "home" / ".cache" / "reportops-grafana" / "community-general").exists()


def test_the_target_is_told_what_is_missing(tmp_path):
    result = run("--installed", env={"HOME": str(tmp_path)})
    assert result.returncode == 1 and result.stdout == ""
    assert "no copy in %s" % (tmp_path / ".cache" / "reportops-grafana" / "community-general") in result.stderr
    assert "REPORTOPS_COMMUNITY_GENERAL" in result.stderr
