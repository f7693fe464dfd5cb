# -*- coding: utf-8 -*-
# Copyright: reportops maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Provide community.general for the integration target grafana_report_render_mail.

That target runs the recipe of docs/render.md, which mails with community.general.mail.
ansible-core does not ship community.general and Galaxy is not reachable from every build
host, so the collection is taken from the ``ansible`` wheel on PyPI, which bundles it: pip
downloads the wheel without its dependencies (through pip's own cache and configuration:
index, proxy, certificates) and only ``ansible_collections/community/general`` is unpacked::

    python tests/utils/community_general.py [--home DIR]   # fetch (DIR: default ~)
    python tests/utils/community_general.py --installed    # print its collections path, or say what is missing

The copy goes to DIR/.cache/reportops-grafana/community-general. The integration sessions of
``make test`` fetch it with the bootstrap venv's Python (the session venvs may have no pip: uv
makes them without) into the HOME that each session creates empty for its run, and ansible-test
passes that HOME to the target: no earlier run's copy is ever used.

Without a network, set REPORTOPS_COMMUNITY_GENERAL to a copy fetched elsewhere: the wheel
(``pip download --no-deps ansible==9.13.0``) or a folder that holds
``ansible_collections/community/general``.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import argparse
import glob
import os
import shutil
import subprocess
import sys
import tempfile
import zipfile

# The last ansible release whose community.general still supports ansible-core 2.16.
ANSIBLE_WHEEL = 'ansible==9.13.0'
PREFIX = 'ansible_collections/community/general/'
# Below HOME: the one place where the target finds what the session fetched.
LOCATION = os.path.join('.cache', 'reportops-grafana', 'community-general')
SOURCE_VARIABLE = 'REPORTOPS_COMMUNITY_GENERAL'
HOW_TO_PROVIDE = (
    'To run without a network, fetch the wheel where PyPI is reachable (`pip download --no-deps --only-binary=:all: %s`) '
    'and set %s to its path, or to a folder that holds %s.' % (ANSIBLE_WHEEL, SOURCE_VARIABLE, PREFIX.rstrip('/'))
)


class ProvideError(Exception):
    """community.general could not be provided; the message says why and what to do."""


def download_wheel(directory):
    """Download the ansible wheel into directory with pip and return its path."""
    command = [sys.executable, '-m', 'pip', 'download', '--quiet', '--disable-pip-version-check', '--no-deps',
               '--only-binary=:all:', '--dest', directory, ANSIBLE_WHEEL]
    try:
        subprocess.run(command, check=True, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, universal_newlines=True)
    except subprocess.CalledProcessError as exc:
        raise ProvideError('pip could not download %s (exit %d):\n%s\n%s' % (
            ANSIBLE_WHEEL, exc.returncode, exc.output.strip()[-2000:], HOW_TO_PROVIDE))
    wheels = glob.glob(os.path.join(directory, 'ansible-*.whl'))
    if not wheels:
        raise ProvideError('pip downloaded no ansible wheel into %s. %s' % (directory, HOW_TO_PROVIDE))
    return wheels[0]


def unpack(wheel, destination):
    """Write the community.general tree of an ansible wheel into destination."""
    try:
        with zipfile.ZipFile(wheel) as archive:
            names = [name for name in archive.namelist() if name.startswith(PREFIX)]
            if not names:
                raise ProvideError('%s holds no %s. %s' % (wheel, PREFIX, HOW_TO_PROVIDE))
            archive.extractall(destination, names)
    except (OSError, zipfile.BadZipFile) as exc:
        raise ProvideError('cannot read %s as a wheel: %s. %s' % (wheel, exc, HOW_TO_PROVIDE))


def provide(destination, source=None):
    """Fill destination from source (a wheel or a collections folder), or from a download when source is None."""
    partial = tempfile.mkdtemp(prefix='.community-general-', dir=os.path.dirname(destination))
    try:
        if source is None:
            unpack(download_wheel(partial), os.path.join(partial, 'tree'))
        elif os.path.isdir(source):
            if not os.path.isdir(os.path.join(source, PREFIX)):
                raise ProvideError('%s=%s holds no %s. %s' % (SOURCE_VARIABLE, source, PREFIX, HOW_TO_PROVIDE))
            shutil.copytree(os.path.join(source, PREFIX), os.path.join(partial, 'tree', PREFIX))
        elif os.path.isfile(source):
            unpack(source, os.path.join(partial, 'tree'))
        else:
            raise ProvideError('%s=%s does not exist. %s' % (SOURCE_VARIABLE, source, HOW_TO_PROVIDE))
        shutil.rmtree(destination, ignore_errors=True)
        os.rename(os.path.join(partial, 'tree'), destination)
    finally:
        shutil.rmtree(partial, ignore_errors=True)


def installed(home):
    """Return the collections path of the copy below home, or raise ProvideError saying how to get one."""
    collections = os.path.join(home, LOCATION)
    if not os.path.isfile(os.path.join(collections, PREFIX, 'plugins', 'modules', 'mail.py')):
        raise ProvideError(
            'no copy in %s. The integration sessions of `make test` fetch it before ansible-test runs; to run the target '
            'another way, run `python tests/utils/community_general.py` first (a Python with pip). %s' % (
                collections, HOW_TO_PROVIDE))
    return collections


def main(argv=None):
    """Fetch community.general below a HOME, or print where the copy is."""
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n', 1)[0])
    parser.add_argument('--home', default=os.path.expanduser('~'), help='the HOME to fetch into (default: ~)')
    parser.add_argument('--installed', action='store_true', help='print the copy\'s collections path; fail if none')
    args = parser.parse_args(argv)
    source = os.environ.get(SOURCE_VARIABLE) or None
    try:
        if args.installed:
            print(installed(args.home))
            return 0
        destination = os.path.join(os.path.abspath(args.home), LOCATION)
        if not os.path.isdir(os.path.dirname(destination)):
            os.makedirs(os.path.dirname(destination))
        provide(destination, source)
    except ProvideError as exc:
        sys.stderr.write('community.general for grafana_report_render_mail: %s\n' % exc)
        return 1
    print('community.general from %s in %s' % (source or ANSIBLE_WHEEL + ' (PyPI)', destination))
    return 0


if __name__ == '__main__':
    sys.exit(main())
