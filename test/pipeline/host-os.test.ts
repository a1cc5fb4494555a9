// ECS host.os from os-release files as distributions ship them, and this machine's own.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseOsRelease, readHostOs } from '../../lib/pipeline/host-os.js';

const UBUNTU = `PRETTY_NAME="Ubuntu 22.04.4 LTS"
NAME="Ubuntu"
VERSION_ID="22.04"
VERSION="22.04.4 LTS (Jammy Jellyfish)"
VERSION_CODENAME=jammy
ID=ubuntu
ID_LIKE=debian
HOME_URL="https://www.ubuntu.com/"
UBUNTU_CODENAME=jammy
`;
const RHEL = `NAME="Red Hat Enterprise Linux"
VERSION="9.3 (Plow)"
ID="rhel"
ID_LIKE="fedora"
VERSION_ID="9.3"
PRETTY_NAME="Red Hat Enterprise Linux 9.3 (Plow)"
# a comment
ANSI_COLOR="0;31"
`;

describe('pipeline/host-os', () => {
  let root: string;
  beforeEach(() => { root = fs.mkdtempSync(path.join(os.tmpdir(), 'ew-hostos-')); });
  afterEach(() => fs.rmSync(root, { recursive: true, force: true }));

  it('parses os-release with and without quotes, skipping comments', () => {
    const u = parseOsRelease(UBUNTU);
    assert.equal(u.NAME, 'Ubuntu');
    assert.equal(u.VERSION_ID, '22.04');
    assert.equal(u.ID_LIKE, 'debian');
    assert.equal(parseOsRelease(RHEL).ID, 'rhel');
    assert.equal(parseOsRelease('NAME="a \\"quoted\\" name"\n').NAME, 'a "quoted" name');
  });

  it('reads the host root\'s /etc/os-release, else /usr/lib/os-release; kernel and architecture are this machine\'s', () => {
    fs.mkdirSync(path.join(root, 'usr', 'lib'), { recursive: true });
    fs.writeFileSync(path.join(root, 'usr', 'lib', 'os-release'), RHEL);
    const h = readHostOs(root);
    assert.deepEqual(h.os, { type: 'linux', name: 'Red Hat Enterprise Linux', version: '9.3', platform: 'rhel', family: 'fedora', full: 'Red Hat Enterprise Linux 9.3 (Plow)', kernel: os.release() });
    assert.ok(['x86_64', 'aarch64'].includes(h.architecture) || h.architecture === process.arch);
    fs.mkdirSync(path.join(root, 'etc'));
    fs.writeFileSync(path.join(root, 'etc', 'os-release'), UBUNTU);
    assert.equal(readHostOs(root).os.family, 'debian');
  });

  it('no os-release at all: the kernel still', () => {
    assert.deepEqual(readHostOs(root).os, { type: 'linux', kernel: os.release() });
  });

  it('this machine\'s', () => {
    const h = readHostOs('/');
    const own = parseOsRelease(fs.readFileSync(fs.existsSync('/etc/os-release') ? '/etc/os-release' : '/usr/lib/os-release', 'utf8'));
    assert.equal(h.os.platform, own.ID);
  });
});
