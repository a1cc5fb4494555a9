import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseCmdline, parseStat, parseStatus, ProcFs, readProcess, UserNames, parsePasswd } from '../../lib/procfs/index.js';
import { FIXTURES_DIR } from '../helpers/env.js';
import { BTIME, FakeProc } from './faketree.js';

const CAPTURED = path.join(FIXTURES_DIR, 'procfs', 'real', 'process');

describe('procfs/process parsers on captured text', () => {
  // A real `sleep` run through a symlink named "we ird) x" (test/procfs/capture-fixtures.ts).
  const expected = JSON.parse(fs.readFileSync(path.join(CAPTURED, 'expected.json'), 'utf8'));

  it('parseStat takes comm up to the last ")" even when it holds spaces and ")"', () => {
    const stat = parseStat(fs.readFileSync(path.join(CAPTURED, 'stat'), 'utf8'));
    assert.ok(stat);
    assert.equal(stat.pid, expected.pid);
    assert.equal(stat.comm, expected.comm);
    assert.equal(stat.ppid, expected.ppid);
    assert.equal(stat.state, 'S');
    assert.ok(Number.isSafeInteger(stat.startTicks) && stat.startTicks > 0);
  });

  it('parseStatus reads name, real and effective uid, ppid, tgid', () => {
    const st = parseStatus(fs.readFileSync(path.join(CAPTURED, 'status'), 'utf8'));
    assert.deepEqual(st, { name: expected.comm, uid: expected.uid, euid: expected.uid, ppid: expected.ppid, tgid: expected.pid });
  });

  it('parseCmdline splits on NUL and drops the trailing terminator', () => {
    assert.deepEqual(parseCmdline(fs.readFileSync(path.join(CAPTURED, 'cmdline'))), expected.argv);
  });
});

describe('procfs/process parsers on hand-written text', () => {
  it('parseStat: starttime is field 22; malformed text is undefined', () => {
    const text = '42 (a) b (c) R 7 42 42 0 -1 4194560 0 0 0 0 0 0 0 0 20 0 1 0 987654 0 0\n';
    assert.deepEqual(parseStat(text), { pid: 42, comm: 'a) b (c', state: 'R', ppid: 7, startTicks: 987654 });
    for (const bad of ['', '42 a R 7', '42 (x) R 7 1 2', '42 (x) R seven 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0']) {
      assert.equal(parseStat(bad), undefined, bad);
    }
  });

  it('parseStatus: real uid is the first Uid column', () => {
    assert.deepEqual(parseStatus('Name:\tsudo\nUid:\t1000\t0\t0\t0\nPPid:\t5\n'), { name: 'sudo', uid: 1000, euid: 0, ppid: 5 });
    assert.deepEqual(parseStatus('garbage'), {});
  });

  it('parseCmdline: keeps empty middle args, drops zeroed padding, keeps a rewritten title whole', () => {
    assert.deepEqual(parseCmdline(Buffer.from('a\0\0b\0')), ['a', '', 'b']);
    assert.deepEqual(parseCmdline(Buffer.from('nginx: worker process\0\0\0\0')), ['nginx: worker process']);
    assert.deepEqual(parseCmdline(Buffer.alloc(0)), []);
    assert.deepEqual(parseCmdline('x\0y'), ['x', 'y']);
  });

  it('parsePasswd: first entry per uid, bad lines skipped', () => {
    const users = parsePasswd('root:x:0:0:root:/root:/bin/bash\n#c\nbad\nalice:x:1000:1000::/home/a:/bin/sh\nalias:x:1000:1000::/:/bin/sh\nnobody:x:NaN:1::/:/\n');
    assert.deepEqual([...users], [[0, 'root'], [1000, 'alice']]);
  });
});

describe('procfs/readProcess on a fake /proc tree', () => {
  let tree: FakeProc;
  let passwd: string;
  beforeEach(() => {
    tree = new FakeProc();
    passwd = path.join(tree.root, 'passwd.fixture');
    fs.writeFileSync(passwd, 'root:x:0:0::/root:/bin/bash\nsvc-billing:x:1001:1001::/srv:/usr/sbin/nologin\n');
    tree.addPid(10, { comm: 'systemd', ppid: 0, uid: 0, argv: ['/sbin/init', 'splash'], exe: '/usr/lib/systemd/systemd', cwd: '/' });
    tree.addPid(20, { comm: 'java', ppid: 10, uid: 1001, euid: 0, argv: ['/usr/bin/java', '-jar', 'billing.jar'], exe: '/usr/lib/jvm/java-17/bin/java (deleted)', cwd: '/opt/billing', startTicks: 12345 });
  });
  afterEach(() => tree.cleanup());

  it('reads the process and one level of parent', async () => {
    const info = await readProcess(new ProcFs(tree.root), 20, { passwdFile: passwd });
    assert.ok(info);
    assert.equal(info.name, 'java');
    assert.equal(info.exe, '/usr/lib/jvm/java-17/bin/java (deleted)', '(deleted) kept as-is');
    assert.deepEqual(info.argv, ['/usr/bin/java', '-jar', 'billing.jar']);
    assert.equal(info.commandLine, '/usr/bin/java -jar billing.jar');
    assert.equal(info.cwd, '/opt/billing');
    assert.equal(info.uid, 1001, 'real uid, not the effective 0');
    assert.equal(info.userName, 'svc-billing');
    // btime 1700000000 + 12345 ticks / 100 = 1700000123.45 s
    assert.equal(BTIME, 1_700_000_000);
    assert.equal(info.startTime, '2023-11-14T22:15:23.450Z');
    assert.deepEqual(info.parent, { pid: 10, name: 'systemd', exe: '/usr/lib/systemd/systemd', argv: ['/sbin/init', 'splash'], commandLine: '/sbin/init splash' });
  });

  it('returns undefined for a vanished process, and a bare parent pid for a vanished parent', async () => {
    const proc = new ProcFs(tree.root);
    tree.removePid(10);
    const info = await readProcess(proc, 20, { passwdFile: passwd });
    assert.deepEqual(info?.parent, { pid: 10 });
    tree.removePid(20);
    assert.equal(await readProcess(proc, 20, { passwdFile: passwd }), undefined);
    assert.equal(await readProcess(proc, 999999), undefined);
  });

  it('caches the passwd file for its TTL and re-reads it after', async () => {
    let now = 0;
    const users = new UserNames({ ttlMs: 1000, now: () => now });
    const proc = new ProcFs(tree.root);
    assert.equal((await readProcess(proc, 20, { passwdFile: passwd, users }))?.userName, 'svc-billing');
    fs.writeFileSync(passwd, 'billing2:x:1001:1001::/:/bin/sh\n');
    assert.equal((await readProcess(proc, 20, { passwdFile: passwd, users }))?.userName, 'svc-billing', 'cached');
    now = 1500;
    assert.equal((await readProcess(proc, 20, { passwdFile: passwd, users }))?.userName, 'billing2', 'expired');
    assert.deepEqual(users.stats, { loads: 2, hits: 1, evictions: 0 });
    assert.equal(await users.lookup(1001, path.join(os.tmpdir(), 'no-such-passwd-ew')), undefined);
  });

  it('bounds the passwd cache by file count', async () => {
    const users = new UserNames({ maxFiles: 2 });
    for (const f of ['a', 'b', 'c']) await users.lookup(0, path.join(tree.root, f));
    assert.equal(users.stats.evictions, 1);
  });
});
