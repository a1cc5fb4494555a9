// Hosts files as systems write them, and a real process's own /etc/hosts read through
// /proc/PID/root: a private mount namespace binds a file of the test over /etc/hosts for that
// process alone (as a container's runtime gives it one).
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { HostsFiles, ProcFs, parseHosts } from '../../lib/procfs/index.js';
import { SoftwareContext } from '../../lib/software/index.js';
import { haveCommand, isRoot, requirePrereq } from '../helpers/env.js';
import { FakeProc } from './faketree.js';

const DEBIAN = `127.0.0.1	localhost
127.0.1.1	build-7.corp.example	build-7

# The following lines are desirable for IPv6 capable hosts
::1     localhost ip6-localhost ip6-loopback
ff02::1 ip6-allnodes
ff02::2 ip6-allrouters
`;

// What kubelet writes for a pod with hostAliases, and Docker for --add-host.
const KUBELET = `# Kubernetes-managed hosts file.
127.0.0.1	localhost
::1	localhost ip6-localhost ip6-loopback
fe00::0	ip6-localnet
10.244.1.17	billing-7d9c-x2k4q

# Entries added by HostAliases.
203.0.113.50	payments.partner.example	payments
2001:DB8:0:0::50	payments-v6.partner.example
`;

const ODD = `198.51.100.7 Mixed.Case.Example. alias   # trailing comment
198.51.100.7 second-line-loses.example
198.51.100.8
not-an-address bogus.example
10.0.0 short.example
198.51.100.9 bad_name!.example ok-after-bad.example
fe80::1%eth0 linklocal.example
::ffff:192.0.2.5 mapped.example
`;

describe('procfs/parseHosts', () => {
  it('reads a Debian default file', () => {
    const m = parseHosts(DEBIAN);
    assert.equal(m.get('127.0.1.1'), 'build-7.corp.example');
    assert.equal(m.get('::1'), 'localhost');
    assert.equal(m.get('ff02::2'), 'ip6-allrouters');
  });

  it('reads a Kubernetes pod\'s file with hostAliases; IPv6 in canonical text', () => {
    const m = parseHosts(KUBELET);
    assert.equal(m.get('203.0.113.50'), 'payments.partner.example');
    assert.equal(m.get('2001:db8::50'), 'payments-v6.partner.example');
    assert.equal(m.get('fe00::'), 'ip6-localnet');
  });

  it('first line and first name win; case and final dots are dropped; junk is skipped', () => {
    const m = parseHosts(ODD);
    assert.equal(m.get('198.51.100.7'), 'mixed.case.example');
    assert.equal(m.has('198.51.100.8'), false, 'an address without a name');
    assert.equal(m.has('10.0.0'), false);
    assert.equal(m.get('198.51.100.9'), 'ok-after-bad.example');
    assert.equal(m.get('fe80::1'), 'linklocal.example');
    assert.equal(m.get('::ffff:192.0.2.5'), 'mapped.example');
    assert.equal([...m.values()].includes('bogus.example'), false);
  });
});

describe('procfs/HostsFiles', () => {
  let root: string;
  beforeEach(() => {
    root = fs.mkdtempSync(path.join(os.tmpdir(), 'ew-hosts-'));
    fs.mkdirSync(path.join(root, 'etc'));
  });
  afterEach(() => fs.rmSync(root, { recursive: true, force: true }));

  it('reads <root>/etc/hosts once while it is unchanged, again once it changes', async () => {
    const file = path.join(root, 'etc', 'hosts');
    fs.writeFileSync(file, '203.0.113.5 a.example\n');
    const h = new HostsFiles();
    assert.equal((await h.read(path.join(root, 'etc', 'hosts')))?.get('203.0.113.5'), 'a.example');
    assert.equal((await h.read(path.join(root, 'etc', 'hosts')))?.get('203.0.113.5'), 'a.example');
    assert.deepEqual(h.stats, { loads: 1, hits: 1 });
    fs.writeFileSync(file, '203.0.113.5 changed.example longer\n');
    assert.equal((await h.read(path.join(root, 'etc', 'hosts')))?.get('203.0.113.5'), 'changed.example');
    assert.equal(h.stats.loads, 2);
  });

  it('no file, or a directory in its place: undefined', async () => {
    const h = new HostsFiles();
    assert.equal(await h.read(path.join(root, 'etc', 'hosts')), undefined);
    fs.mkdirSync(path.join(root, 'etc', 'hosts'));
    assert.equal(await h.read(path.join(root, 'etc', 'hosts')), undefined);
  });

  it('names what a real process\'s own /etc/hosts says, read through /proc/PID/root while it runs', async function () {
    requirePrereq(this, isRoot() && haveCommand('unshare'), 'root and unshare (a private mount namespace)');
    const file = path.join(root, 'etc', 'hosts');
    fs.writeFileSync(file, KUBELET);
    // The process sees the test's file at /etc/hosts; the host's own file is untouched.
    const child = spawn('unshare', ['--mount', 'sh', '-c', `mount --bind ${file} /etc/hosts && echo ready && exec sleep 30`], { stdio: ['ignore', 'pipe', 'inherit'] });
    try {
      await once(child.stdout!, 'data');
      const ctx = new SoftwareContext({ proc: new ProcFs('/proc'), hostRoot: '/', parentDepth: 0, catalog: false, files: false, nameService: false });
      const d = await ctx.describe(child.pid as number);
      assert.equal(d?.hosts?.get('203.0.113.50'), 'payments.partner.example');
      const own = await new HostsFiles().read('/etc/hosts');
      assert.notEqual(own?.get('203.0.113.50'), 'payments.partner.example', 'not the host\'s file');
    } finally {
      child.kill('SIGKILL');
    }
  });

  it('a container\'s /etc/hosts that is an absolute symlink is followed inside its root, not the agent\'s', async () => {
    const tree = new FakeProc();
    try {
      tree.addPid(700, { comm: 'app', ppid: 1, uid: 0, argv: ['/app'] });
      const croot = path.join(tree.root, '700', 'root');
      fs.mkdirSync(path.join(croot, 'etc', 'hosts.d'), { recursive: true });
      fs.writeFileSync(path.join(croot, 'etc', 'hosts.d', 'real'), '198.51.100.70 inside.container.example\n');
      fs.symlinkSync('/etc/hosts.d/real', path.join(croot, 'etc', 'hosts'));
      const ctx = new SoftwareContext({ proc: new ProcFs(tree.root), hostRoot: '/', parentDepth: 0, catalog: false, files: false, nameService: false });
      const d = await ctx.describe(700);
      assert.equal(d?.hosts?.get('198.51.100.70'), 'inside.container.example');
    } finally {
      tree.cleanup();
    }
  });
});
