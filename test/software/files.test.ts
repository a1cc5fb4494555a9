import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { FileInspector, parseDpkgStatus, resolveInRoot } from '../../lib/software/index.js';
import { FIXTURES_DIR, haveCommand, requirePrereq } from '../helpers/env.js';

const DPKGROOT = path.join(FIXTURES_DIR, 'software', 'dpkgroot');
const sha = (file: string): string => createHash('sha256').update(fs.readFileSync(file)).digest('hex');

/** A /proc tree with one pid whose root is a copy of the dpkg fixture root; btime 1_700_000_000, start 100 s later. */
function fakeTree(): { proc: string; root: string; hostRoot: string; startMs: number; cleanup: () => void } {
  const base = fs.mkdtempSync(path.join(os.tmpdir(), 'ew-files-'));
  const proc = path.join(base, 'proc');
  const root = path.join(base, 'containerroot');
  const hostRoot = path.join(base, 'host');
  fs.cpSync(DPKGROOT, root, { recursive: true, verbatimSymlinks: true });
  fs.mkdirSync(path.join(proc, '42'), { recursive: true });
  fs.mkdirSync(path.join(hostRoot, 'usr/bin'), { recursive: true });
  fs.writeFileSync(path.join(hostRoot, 'usr/bin/hosttool'), 'host tool\n');
  fs.writeFileSync(path.join(proc, 'stat'), 'cpu 1 2 3\nbtime 1700000000\n');
  fs.writeFileSync(path.join(proc, '42', 'stat'), `42 (nginx) S 1 42 42 0 -1 4194560 0 0 0 0 0 0 0 0 20 0 1 0 10000 0 0\n`);
  fs.symlinkSync(root, path.join(proc, '42', 'root'));
  const startMs = (1_700_000_000 + 100) * 1000;
  // Every fixture file older than the process start.
  for (const f of ['usr/sbin/nginx', 'usr/bin/bash', 'usr/local/bin/local-tool', 'usr/lib/x86_64-linux-gnu/libc.so.6']) {
    fs.utimesSync(path.join(root, f), new Date(startMs - 86_400_000), new Date(startMs - 86_400_000));
  }
  return { proc, root, hostRoot, startMs, cleanup: () => fs.rmSync(base, { recursive: true, force: true }) };
}

describe('software/files: parsers and path resolution', () => {
  it('parseDpkgStatus keeps installed packages, by name and name:arch', () => {
    const v = parseDpkgStatus(fs.readFileSync(path.join(DPKGROOT, 'var/lib/dpkg/status'), 'utf8'));
    assert.equal(v.get('nginx'), '1.22.1-9');
    assert.equal(v.get('libc6:amd64'), '2.36-9+deb12u4');
    assert.equal(v.get('bash'), '5.2.15-2+b7');
    assert.equal(v.has('apache2'), false, 'config-files only is not installed');
  });

  it('resolveInRoot follows absolute symlinks inside the root, not ours', async () => {
    const t = fakeTree();
    try {
      assert.equal(await resolveInRoot(t.root, '/usr/local/bin/nginx-link'), path.join(t.root, 'usr/sbin/nginx'));
      assert.equal(await resolveInRoot(t.root, '/bin/bash'), path.join(t.root, 'usr/bin/bash'));
      assert.equal(await resolveInRoot(t.root, '/usr/../usr/sbin/nginx'), path.join(t.root, 'usr/sbin/nginx'));
      assert.equal(await resolveInRoot(t.root, '/nope'), undefined);
      fs.symlinkSync('/loop', path.join(t.root, 'loop'));
      assert.equal(await resolveInRoot(t.root, '/loop'), undefined, 'a symlink loop ends');
    } finally {
      t.cleanup();
    }
  });
});

describe('software/FileInspector on a fake proc tree with a container root', () => {
  let t: ReturnType<typeof fakeTree>;
  beforeEach(() => { t = fakeTree(); });
  afterEach(() => t.cleanup());

  it('hashes through PID/root, owner and version from the root\'s dpkg database', async () => {
    const fi = new FileInspector({ procRoot: t.proc, hostRoot: t.hostRoot });
    const f = await fi.inspect(42, '/usr/sbin/nginx');
    assert.ok(f);
    assert.equal(f.sha256, sha(path.join(DPKGROOT, 'usr/sbin/nginx')));
    assert.equal(f.size, fs.statSync(path.join(DPKGROOT, 'usr/sbin/nginx')).size);
    assert.equal(f.mtime, new Date(t.startMs - 86_400_000).toISOString());
    assert.equal(f.changed, false);
    assert.deepEqual(f.package, { name: 'nginx', version: '1.22.1-9', manager: 'dpkg' });
    assert.deepEqual((await fi.inspect(42, '/usr/lib/x86_64-linux-gnu/libc.so.6'))?.package, { name: 'libc6', version: '2.36-9+deb12u4', manager: 'dpkg' });
    assert.deepEqual((await fi.inspect(42, '/usr/bin/bash'))?.package?.name, 'bash', 'usr-merged path finds the /bin listing');
    assert.equal((await fi.inspect(42, '/usr/local/bin/local-tool'))?.package, undefined);
    assert.equal((await fi.inspect(42, '/usr/local/bin/nginx-link'))?.sha256, sha(path.join(DPKGROOT, 'usr/sbin/nginx')));
    assert.equal(fi.dpkg.stats.builds, 1);
  });

  it('changed: mtime after the process start, or an exe " (deleted)"', async () => {
    const fi = new FileInspector({ procRoot: t.proc, hostRoot: t.hostRoot });
    const file = path.join(t.root, 'usr/sbin/nginx');
    fs.utimesSync(file, new Date(t.startMs + 5000), new Date(t.startMs + 5000));
    assert.equal((await fi.inspect(42, '/usr/sbin/nginx'))?.changed, true);
    assert.equal((await fi.inspect(42, '/usr/sbin/nginx', { startTime: new Date(t.startMs + 10_000).toISOString() }))?.changed, false, 'hint used');
    fs.utimesSync(file, new Date(t.startMs - 5000), new Date(t.startMs - 5000));
    const del = await fi.inspect(42, '/usr/sbin/nginx (deleted)');
    assert.equal(del?.changed, true);
    assert.equal(del?.path, '/usr/sbin/nginx');
    fs.rmSync(file);
    assert.deepEqual(await fi.inspect(42, '/usr/sbin/nginx (deleted)'), { path: '/usr/sbin/nginx', changed: true });
    assert.equal(await fi.inspect(42, '/usr/sbin/nginx'), undefined);
  });

  it('caches hashes by (dev, ino, size, mtime) with a bound; re-hashes a modified file', async () => {
    const fi = new FileInspector({ procRoot: t.proc, hostRoot: t.hostRoot, maxEntries: 2 });
    await fi.inspect(42, '/usr/sbin/nginx');
    await fi.inspect(42, '/usr/local/bin/nginx-link');
    assert.equal(fi.stats.hashed, 1);
    assert.equal(fi.stats.hashHits, 1);
    fs.appendFileSync(path.join(t.root, 'usr/sbin/nginx'), 'patched\n');
    const f = await fi.inspect(42, '/usr/sbin/nginx');
    assert.equal(f?.sha256, sha(path.join(t.root, 'usr/sbin/nginx')));
    assert.equal(fi.stats.hashed, 2);
    await fi.inspect(42, '/usr/bin/bash');
    assert.equal(fi.stats.hashEvictions, 1);
  });

  it('does not hash files above maxHashBytes, and says so', async () => {
    const fi = new FileInspector({ procRoot: t.proc, hostRoot: t.hostRoot, maxHashBytes: 8 });
    const f = await fi.inspect(42, '/usr/sbin/nginx');
    assert.equal(f?.sha256, undefined);
    assert.equal(f?.sha256Skipped, 'too-large');
    assert.equal(fi.stats.tooLarge, 1);
  });

  it('falls back to hostRoot when PID/root is gone', async () => {
    const fi = new FileInspector({ procRoot: t.proc, hostRoot: t.hostRoot });
    fs.rmSync(path.join(t.proc, '42', 'root'));
    const f = await fi.inspect(42, '/usr/bin/hosttool');
    assert.equal(f?.sha256, sha(path.join(t.hostRoot, 'usr/bin/hosttool')));
    assert.equal(f?.package, undefined);
  });

  it('rebuilds the dpkg index when the info directory changes', async () => {
    const fi = new FileInspector({ procRoot: t.proc, hostRoot: t.hostRoot });
    assert.equal((await fi.inspect(42, '/usr/local/bin/local-tool'))?.package, undefined);
    const info = path.join(t.root, 'var/lib/dpkg/info');
    fs.writeFileSync(path.join(info, 'local-tool.list'), '/.\n/usr/local/bin/local-tool\n');
    fs.appendFileSync(path.join(t.root, 'var/lib/dpkg/status'), '\nPackage: local-tool\nStatus: install ok installed\nArchitecture: all\nVersion: 0.3-1\n');
    fs.utimesSync(info, new Date(), new Date(Date.now() + 2000));
    assert.deepEqual((await fi.inspect(42, '/usr/local/bin/local-tool'))?.package, { name: 'local-tool', version: '0.3-1', manager: 'dpkg' });
    assert.equal(fi.dpkg.stats.builds, 2);
  });

  it('rpm: asked with --root and -qf when the root has an rpm database; skipped without the command', async () => {
    fs.mkdirSync(path.join(t.root, 'var/lib/rpm'), { recursive: true });
    fs.rmSync(path.join(t.root, 'var/lib/dpkg'), { recursive: true });
    // rpm is not installed on this Debian machine: a stand-in that answers like `rpm -qf` and records its arguments.
    const argsFile = path.join(t.root, 'rpm-args');
    const fake = path.join(t.root, 'rpm-standin');
    fs.writeFileSync(fake, `#!/bin/sh\nprintf '%s\\n' "$@" > '${argsFile}'\n[ "$6" = /usr/sbin/nginx ] || { echo "file $6 is not owned by any package"; exit 1; }\nprintf 'nginx 1.20.1-14.el9'\n`, { mode: 0o755 });
    const fi = new FileInspector({ procRoot: t.proc, hostRoot: t.hostRoot, rpm: { command: fake } });
    assert.deepEqual((await fi.inspect(42, '/usr/sbin/nginx'))?.package, { name: 'nginx', version: '1.20.1-14.el9', manager: 'rpm' });
    assert.deepEqual(fs.readFileSync(argsFile, 'utf8').trim().split('\n'), ['--root', path.join(t.proc, '42', 'root'), '-qf', '--queryformat', '%{NAME} %{VERSION}-%{RELEASE}', '/usr/sbin/nginx']);
    assert.equal((await fi.inspect(42, '/usr/bin/bash'))?.package, undefined, 'not owned');
    await fi.inspect(42, '/usr/sbin/nginx');
    assert.equal(fi.rpm.stats.queries, 2, 'answers cached');
    let now = 0;
    const timed = new FileInspector({ procRoot: t.proc, hostRoot: t.hostRoot, rpm: { command: fake, ttlMs: 1000, now: () => now } });
    await timed.inspect(42, '/usr/sbin/nginx');
    await timed.inspect(42, '/usr/sbin/nginx');
    now = 1500;
    await timed.inspect(42, '/usr/sbin/nginx');
    assert.equal(timed.rpm.stats.queries, 2, 'asked again after ttlMs');
    const none = new FileInspector({ procRoot: t.proc, hostRoot: t.hostRoot, rpm: { command: path.join(t.root, 'no-such-rpm') } });
    assert.equal((await none.inspect(42, '/usr/sbin/nginx'))?.package, undefined);
    assert.equal(none.rpm.stats.queries, 0);
  });
});

describe('software/FileInspector on this machine\'s real /proc and dpkg database', () => {
  it('/usr/bin/curl → package curl at the version dpkg-query prints, sha256 as sha256sum prints', async function () {
    requirePrereq(this, haveCommand('dpkg-query') && fs.existsSync('/usr/bin/curl'), 'dpkg-query and /usr/bin/curl');
    const version = execFileSync('dpkg-query', ['-W', '-f=${Version}', 'curl'], { encoding: 'utf8' }).trim();
    const sum = execFileSync('sha256sum', ['/usr/bin/curl'], { encoding: 'utf8' }).split(' ')[0];
    const fi = new FileInspector({ procRoot: '/proc' });
    const f = await fi.inspect(process.pid, '/usr/bin/curl');
    assert.deepEqual(f?.package, { name: 'curl', version, manager: 'dpkg' });
    assert.equal(f?.sha256, sum);
    assert.equal(f?.changed, false);
  });

  it('a running sleep: the exe read through /proc/PID/exe, owned by coreutils', async function () {
    requirePrereq(this, haveCommand('dpkg-query') && fs.existsSync('/usr/bin/sleep'), 'dpkg-query and /usr/bin/sleep');
    // With merged /usr dpkg may list /bin/sleep only (Debian 12 does): ask for both spellings.
    const owner = execFileSync('sh', ['-c', 'dpkg-query -S /usr/bin/sleep 2>/dev/null || dpkg-query -S /bin/sleep'], { encoding: 'utf8' }).split(':')[0];
    const child = spawn('/usr/bin/sleep', ['30'], { stdio: 'ignore' });
    try {
      await new Promise((r) => setTimeout(r, 100));
      const fi = new FileInspector({ procRoot: '/proc' });
      const exe = fs.readlinkSync(`/proc/${child.pid}/exe`);
      const f = await fi.inspect(child.pid as number, exe, { exe: true });
      assert.equal(f?.sha256, sha('/usr/bin/sleep'));
      assert.equal(f?.package?.name, owner);
      assert.equal(f?.changed, false);
    } finally {
      child.kill();
    }
  });
});
