# -*- coding: utf-8 -*-
# Copyright: reportops maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Seed ansible-test's get-pip cache with tests/utils/get_pip_offline.py.

Run it with the Python of a virtual environment that has ansible-core installed::

    .venv/core-latest/bin/python tests/utils/seed_get_pip.py

It reads the installed ansible_test sources to learn which pip versions
ansible-test pins for the virtual environments it creates and under which
name it caches get-pip.py, then writes the offline stand-in to each of those
cache files that is missing (or that holds an older copy of the stand-in).
A real get-pip.py already in the cache is left alone.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os
import re
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
STAND_IN = os.path.join(HERE, 'get_pip_offline.py')
MARKER = 'reportops-offline-get-pip'


def ansible_test_root():
    """Return the directory of the installed ansible_test package."""
    import ansible_test  # pylint: disable=import-outside-toplevel,import-error

    return os.path.dirname(os.path.abspath(ansible_test.__file__))


def read(path):
    """Return the text of a file."""
    with open(path) as text_file:  # pylint: disable=unspecified-encoding
        return text_file.read()


def pinned_pip_versions(root):
    """Return the pip versions that get_venv_packages() in ansible_test can ask for."""
    source = read(os.path.join(root, '_internal', 'python_requirements.py'))
    start = source.find('def get_venv_packages(')
    if start < 0:
        raise SystemExit('seed_get_pip: get_venv_packages() not found in ansible_test; its pip bootstrap changed, update tests/utils/')
    end = source.find('\ndef ', start + 1)
    body = source[start:end if end > 0 else len(source)]
    versions = set(re.findall(r'''\bpip\s*=\s*['"]([0-9][0-9.]*)['"]''', body))
    versions.update(re.findall(r'''['"]pip['"]\s*:\s*['"]([0-9][0-9.]*)['"]''', body))
    if not versions:
        raise SystemExit('seed_get_pip: no pinned pip version found in get_venv_packages(); update tests/utils/seed_get_pip.py')
    return sorted(versions)


def cache_path_template(root):
    """Return the cache path template that ansible-test uses for get-pip.py, as a %-format string."""
    source = read(os.path.join(root, '_util', 'target', 'setup', 'requirements.py'))
    match = re.search(r'''['"](~/\.ansible/test/cache/get_pip_%s\.py)['"]\s*%\s*pip_version\.replace\(['"]\.['"],\s*['"]_['"]\)''', source)
    if not match:
        raise SystemExit('seed_get_pip: the get-pip cache path in ansible_test changed; update tests/utils/seed_get_pip.py')
    return match.group(1)


def main():
    """Seed the cache files."""
    root = ansible_test_root()
    template = cache_path_template(root)
    content = read(STAND_IN)
    for version in pinned_pip_versions(root):
        path = os.path.expanduser(template % version.replace('.', '_'))
        if os.path.exists(path):
            current = read(path)
            if MARKER not in current:
                print('seed_get_pip: keeping %s (not ours)' % path)
                continue
            if current == content:
                print('seed_get_pip: %s is up to date (pip %s)' % (path, version))
                continue
        directory = os.path.dirname(path)
        if not os.path.isdir(directory):
            os.makedirs(directory)
        temp = '%s.seed-%d' % (path, os.getpid())
        with open(temp, 'w') as cache_file:  # pylint: disable=unspecified-encoding
            cache_file.write(content)
        os.rename(temp, path)
        print('seed_get_pip: wrote %s (pip %s)' % (path, version))
    return 0


if __name__ == '__main__':
    sys.exit(main())
