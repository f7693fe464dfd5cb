# -*- coding: utf-8 -*-
# Copyright: reportops maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Stand-in for the get-pip.py bootstrap script that ansible-test downloads.

ansible-test bootstraps pip into the empty virtual environments it creates for
sanity tests (``--venv``) by running ``get-pip-<pip version>.py``, fetched from a
host that is not reachable from every machine, and cached as
``~/.ansible/test/cache/get_pip_<pip version with dots as underscores>.py``.
``tests/utils/seed_get_pip.py`` copies this file to that cache path.

ansible-test runs the cached file as ``__main__`` (through its ``quiet_pip.py``)
with the same arguments it would give get-pip.py, for example::

    --disable-pip-version-check pip==25.2
    --disable-pip-version-check pip==23.1.2 setuptools==67.7.2 wheel==0.37.1

ansible-core 2.17+ adds ``--no-setuptools --no-wheel``.

Like get-pip.py, this script runs a pip that it brings along to execute
``pip install --upgrade --force-reinstall <arguments>``, so the pinned pip
(and setuptools/wheel) versions that ansible-test asks for are installed from
the package index that pip is configured to use.  Unlike get-pip.py it never
adds setuptools or wheel implicitly (ansible-test always names them or turns
them off); ``--no-pip``/``--no-setuptools``/``--no-wheel`` are accepted and
dropped, and pip itself is added when no pip requirement is given.

The pip used for that one run is the wheel bundled with the interpreter's
``ensurepip`` (or Debian's ``/usr/share/python-wheels``); when neither exists,
the pinned pip wheel is downloaded from the simple index in ``PIP_INDEX_URL``
(default: PyPI) and its sha256 digest is checked.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import glob
import hashlib
import json
import os
import re
import shutil
import sys
import tempfile
import zipfile

from urllib.parse import urljoin
from urllib.request import Request, urlopen

MARKER = 'reportops-offline-get-pip'
DEFAULT_INDEX = 'https://pypi.org/simple'
# get-pip.py options that are not pip options: they only turn off its implicit installs.
NO_OPTIONS = ('--no-pip', '--no-setuptools', '--no-wheel')


def log(message):
    """Write a progress message to stderr."""
    sys.stderr.write('get-pip (offline stand-in): %s\n' % message)


def version_key(path):
    """Return a sort key for a pip wheel file name."""
    match = re.search(r'pip-([0-9][0-9.]*)', os.path.basename(path))
    if not match:
        return ()
    return tuple(int(part) for part in match.group(1).strip('.').split('.') if part.isdigit())


def bundled_pip_wheel():
    """Return the path of a pip wheel shipped with this interpreter, or None."""
    candidates = []
    try:
        import ensurepip  # pylint: disable=import-outside-toplevel
    except ImportError:
        ensurepip = None
    if ensurepip is not None:
        candidates.extend(glob.glob(os.path.join(os.path.dirname(ensurepip.__file__), '_bundled', 'pip-*.whl')))
    candidates.extend(glob.glob('/usr/share/python-wheels/pip-*.whl'))
    if not candidates:
        return None
    return sorted(candidates, key=version_key)[-1]


def requested_pip_version(args):
    """Return the exact pip version requested on the command line, or None."""
    for arg in args:
        match = re.match(r'^pip==([0-9][0-9a-zA-Z.]*)$', arg)
        if match:
            return match.group(1)
    return None


def fetch(url, accept=None):
    """Return the body of a URL as bytes."""
    request = Request(url, headers={'Accept': accept} if accept else {})
    response = urlopen(request, timeout=300)  # pylint: disable=consider-using-with
    try:
        return response.read()
    finally:
        response.close()


def list_pip_wheels(index):
    """Return (file name, url, sha256) for each pip wheel on a PEP 503/691 simple index page."""
    page_url = index.rstrip('/') + '/pip/'
    body = fetch(page_url, 'application/vnd.pypi.simple.v1+json, text/html;q=0.1').decode('utf-8')
    wheels = []
    if body.lstrip().startswith('{'):
        for item in json.loads(body)['files']:
            wheels.append((item['filename'], urljoin(page_url, item['url']), item.get('hashes', {}).get('sha256')))
    else:
        for href in re.findall(r'href="([^"]+)"', body):
            url, _sep, fragment = href.replace('&amp;', '&').partition('#')
            digest = fragment[len('sha256='):] if fragment.startswith('sha256=') else None
            wheels.append((url.rsplit('/', 1)[-1], urljoin(page_url, url), digest))
    return [wheel for wheel in wheels if re.match(r'^pip-[0-9][0-9.]*-py3-none-any\.whl$', wheel[0])]


def download_pip_wheel(version, directory):
    """Download a pip wheel (the given version, or the newest) from the package index and return its path."""
    index = os.environ.get('PIP_INDEX_URL') or DEFAULT_INDEX
    log('no bundled pip wheel; looking up pip %s on %s' % (version or '(newest)', index))
    wheels = list_pip_wheels(index)
    if version:
        wheels = [wheel for wheel in wheels if wheel[0] == 'pip-%s-py3-none-any.whl' % version]
    if not wheels:
        raise SystemExit('get-pip (offline stand-in): no pip %s wheel found on %s' % (version or '', index))
    filename, url, digest = sorted(wheels, key=lambda wheel: version_key(wheel[0]))[-1]
    data = fetch(url)
    if digest and hashlib.sha256(data).hexdigest() != digest:
        raise SystemExit('get-pip (offline stand-in): sha256 mismatch for %s' % url)
    path = os.path.join(directory, filename)
    with open(path, 'wb') as wheel_file:
        wheel_file.write(data)
    return path


def main():
    """Install pip (and any other requested packages) the way get-pip.py does."""
    args = [arg for arg in sys.argv[1:] if arg not in NO_OPTIONS]
    if '--no-pip' not in sys.argv[1:] and not any(re.match(r'^pip([<>=!~ \[]|$)', arg) for arg in args):
        args.append('pip')

    workdir = tempfile.mkdtemp(prefix='get-pip-offline-')
    try:
        wheel = bundled_pip_wheel()
        if wheel is None:
            wheel = download_pip_wheel(requested_pip_version(args), workdir)
        log('running pip from %s to install: %s' % (os.path.basename(wheel), ' '.join(args)))

        # Unpack the wheel instead of importing from the zip file: pip's vendored certifi needs real files.
        unpacked = os.path.join(workdir, 'pip-runner')
        with zipfile.ZipFile(wheel) as archive:
            archive.extractall(unpacked)
        sys.path.insert(0, unpacked)

        from pip._internal.cli.main import main as pip_main  # pylint: disable=import-outside-toplevel,import-error

        status = pip_main(['install', '--upgrade', '--force-reinstall'] + args)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    sys.exit(status)


if __name__ == '__main__':
    main()
