// User names that no passwd file holds (directory accounts through SSSD / LDAP, systemd's
// DynamicUser= and homed users) come from the name service, through the real getent(1).
// The directory is a real NSS module, libnss-extrausers, switched on in a private mount
// namespace of a child process (its own nsswitch.conf, and a tmpfs over /var/lib holding the
// module's passwd file): the host's files are not touched.
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { NameService } from '../../lib/procfs/index.js';
import { haveCommand, isRoot, REPO_ROOT, requirePrereq } from '../helpers/env.js';

const EXTRAUSERS_LIBS = ['/usr/lib/libnss_extrausers.so.2', '/lib/libnss_extrausers.so.2', '/usr/lib/x86_64-linux-gnu/libnss_extrausers.so.2'];
/** A uid that /etc/passwd does not list (checked in the test). */
const DIRECTORY_UID = 61234;
const DIRECTORY_USER = 'dir.dev';

describe('procfs/NameService (getent)', function () {
  this.timeout(20000);
  let dir: string;
  before(function () {
    requirePrereq(this, haveCommand('getent'), 'getent (libc-bin)');
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ew-nss-'));
  });
  after(() => {
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
  });

  it('names a uid the name service knows, and remembers it', async () => {
    const nss = new NameService();
    assert.equal(await nss.lookup(0), 'root');
    assert.equal(await nss.lookup(0), 'root');
    assert.deepEqual({ asked: nss.stats.asked, found: nss.stats.found, cached: nss.stats.cached }, { asked: 1, found: 1, cached: 1 });
  });

  it('answers undefined for a uid nobody knows, and does not ask again within the miss TTL', async () => {
    let now = 1_000;
    const nss = new NameService({ missTtlMs: 60_000, now: () => now });
    const uid = unusedUid();
    assert.equal(await nss.lookup(uid), undefined);
    assert.equal(nss.stats.unknown, 1);
    now += 30_000;
    assert.equal(await nss.lookup(uid), undefined);
    assert.equal(nss.stats.asked, 1, 'cached miss');
    now += 31_000;
    assert.equal(await nss.lookup(uid), undefined);
    assert.equal(nss.stats.asked, 2, 'asked again after the miss TTL');
  });

  it('turns itself off when getent cannot be run, without throwing', async () => {
    const nss = new NameService({ command: path.join(dir, 'no-such-getent') });
    assert.equal(await nss.lookup(0), undefined);
    assert.equal(nss.stats.unavailable, 1);
    assert.equal(await nss.lookup(1), undefined);
    assert.equal(nss.stats.asked, 1, 'not asked again');
  });

  it('gives up an ask that hangs (an unreachable directory) after its timeout', async () => {
    const slow = path.join(dir, 'slow-getent');
    fs.writeFileSync(slow, '#!/bin/sh\nexec sleep 10\n', { mode: 0o755 });
    const nss = new NameService({ command: slow, timeoutMs: 200 });
    const t0 = Date.now();
    assert.equal(await nss.lookup(4242), undefined);
    assert.ok(Date.now() - t0 < 5000, 'not held for the sleep');
    assert.equal(nss.stats.failures, 1);
  });

  it('runs at most four getent at once; the rest wait their turn', async () => {
    const counter = path.join(dir, 'counting-getent');
    const log = path.join(dir, 'concurrency.log');
    // Each run notes how many are running (files in a directory), sleeps, then answers "unknown".
    fs.mkdirSync(path.join(dir, 'running'), { recursive: true });
    fs.writeFileSync(counter, `#!/bin/sh\ntouch "${dir}/running/$$"\nls "${dir}/running" | wc -l >> "${log}"\nsleep 0.2\nrm -f "${dir}/running/$$"\nexit 2\n`, { mode: 0o755 });
    const nss = new NameService({ command: counter });
    const answers = await Promise.all(Array.from({ length: 10 }, (_, i) => nss.lookup(50_000 + i)));
    assert.deepEqual(answers, Array(10).fill(undefined));
    assert.equal(nss.stats.asked, 10);
    const peaks = fs.readFileSync(log, 'utf8').trim().split('\n').map(Number);
    assert.equal(peaks.length, 10);
    assert.ok(Math.max(...peaks) <= 4, `at most 4 at once: ${peaks.join(',')}`);
  });

  it('bounds what it remembers', async () => {
    const nss = new NameService({ maxEntries: 2 });
    for (const uid of [0, 1, 2]) await nss.lookup(uid);
    await nss.lookup(0);
    assert.equal(nss.stats.asked, 4, 'uid 0 was dropped as the oldest and asked again');
  });

  it('names a directory user through a real NSS module: the agent reads the process from /proc', function () {
    requirePrereq(this, isRoot(), 'root (a private mount namespace)');
    requirePrereq(this, haveCommand('unshare') && haveCommand('setpriv'), 'unshare and setpriv (util-linux)');
    requirePrereq(this, EXTRAUSERS_LIBS.some((f) => fs.existsSync(f)), 'libnss-extrausers');
    assert.ok(!fs.readFileSync('/etc/passwd', 'utf8').split('\n').some((l) => l.split(':')[2] === String(DIRECTORY_UID)), `uid ${DIRECTORY_UID} must not be in /etc/passwd`);
    const conf = path.join(dir, 'nsswitch.conf');
    fs.writeFileSync(conf, 'passwd: files extrausers\ngroup: files\nshadow: files\nhosts: files\n');
    const users = path.join(dir, 'extrausers-passwd');
    fs.writeFileSync(users, `${DIRECTORY_USER}:x:${DIRECTORY_UID}:${DIRECTORY_UID}:Directory Developer:/nonexistent:/bin/false\n`);
    const child = path.join(REPO_ROOT, 'dist', 'test', 'procfs', 'name-service-child.js');
    const script = [
      'set -e',
      'mount --make-rprivate /',
      `mount --bind ${conf} /etc/nsswitch.conf`,
      'mount -t tmpfs ew-nss /var/lib',
      'mkdir /var/lib/extrausers',
      `cp ${users} /var/lib/extrausers/passwd`,
      ': > /var/lib/extrausers/group',
      `exec ${JSON.stringify(process.execPath)} ${child} ${DIRECTORY_UID}`,
    ].join('\n');
    const r = spawnSync('unshare', ['--mount', 'sh', '-c', script], { encoding: 'utf8', timeout: 15000 });
    assert.equal(r.status, 0, `child failed: ${r.stderr}`);
    const out = JSON.parse(r.stdout.trim().split('\n').pop() ?? '{}') as Record<string, unknown>;
    assert.equal(out.uid, DIRECTORY_UID);
    assert.equal(out.withService, DIRECTORY_USER, 'named by the name service');
    assert.equal(out.withoutService, null, 'the passwd file alone does not name it');
    assert.equal(out.root, 'root', 'a uid in the passwd file is still named from it');
    // Outside that namespace the host's name service does not know the user.
    assert.equal(execFileSyncStatus('getent', ['passwd', String(DIRECTORY_UID)]), 2);
  });
});

function execFileSyncStatus(cmd: string, args: string[]): number | null {
  try {
    execFileSync(cmd, args, { stdio: 'ignore' });
    return 0;
  } catch (err) {
    return (err as { status: number | null }).status;
  }
}

/** A uid that neither /etc/passwd nor the name service knows. */
function unusedUid(): number {
  for (let uid = 47_000; ; uid++) if (execFileSyncStatus('getent', ['passwd', String(uid)]) === 2) return uid;
}
