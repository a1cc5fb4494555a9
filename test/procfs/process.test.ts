import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseCmdline, parseLoginUid, parseStat, parseStatus, ProcFs, readProcess, UserNames, parsePasswd } from '../../lib/procfs/index.js';
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

describe('procfs/parseLoginUid', () => {
  it('reads a uid and leaves unset, empty and malformed values out', () => {
    assert.equal(parseLoginUid('1000'), 1000);
    assert.equal(parseLoginUid('0\n'), 0);
    assert.equal(parseLoginUid('4294967295'), undefined);
    assert.equal(parseLoginUid('99999999999'), undefined);
    assert.equal(parseLoginUid(''), undefined);
    assert.equal(parseLoginUid('-1'), undefined);
    assert.equal(parseLoginUid(undefined), undefined);
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
    assert.equal(info.euid, 0, 'the effective uid, which differs');
    assert.equal(info.effectiveUserName, 'root');
    assert.equal(info.loginUid, undefined, 'no loginuid file');
    // btime 1700000000 + 12345 ticks / 100 = 1700000123.45 s
    assert.equal(BTIME, 1_700_000_000);
    assert.equal(info.startTime, '2023-11-14T22:15:23.450Z');
    assert.deepEqual(info.parent, { pid: 10, name: 'systemd', exe: '/usr/lib/systemd/systemd', argv: ['/sbin/init', 'splash'], commandLine: '/sbin/init splash', cwd: '/' });
  });

  it('reads the login uid (kept through sudo and su) and names it from the host passwd file', async () => {
    tree.addPid(30, { comm: 'curl', ppid: 10, uid: 0, argv: ['curl', 'https://example.com/'], loginuid: '1001' });
    tree.addPid(31, { comm: 'cron', ppid: 10, uid: 0, argv: ['/usr/sbin/cron', '-f'], loginuid: '4294967295' });
    const proc = new ProcFs(tree.root);
    const sudoed = await readProcess(proc, 30, { passwdFile: passwd });
    assert.equal(sudoed?.userName, 'root');
    assert.equal(sudoed?.euid, undefined, 'effective = real: not repeated');
    assert.equal(sudoed?.loginUid, 1001);
    assert.equal(sudoed?.loginUserName, 'svc-billing');
    const daemon = await readProcess(proc, 31, { passwdFile: passwd });
    assert.equal(daemon?.loginUid, undefined, 'unset (4294967295): a daemon nobody logged in for');
    assert.equal(daemon?.loginUserName, undefined);
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
    // Each read names the real uid and the effective one (0): one load, the other a hit.
    assert.deepEqual(users.stats, { loads: 2, hits: 4, evictions: 0 });
    assert.equal(await users.lookup(1001, path.join(os.tmpdir(), 'no-such-passwd-ew')), undefined);
  });

  it('bounds the passwd cache by file count', async () => {
    const users = new UserNames({ maxFiles: 2 });
    for (const f of ['a', 'b', 'c']) await users.lookup(0, path.join(tree.root, f));
    assert.equal(users.stats.evictions, 1);
  });
});

describe('procfs/readProcess: user name inside the process root, parent chain', () => {
  let tree: FakeProc;
  let hostRoot: string;
  beforeEach(() => {
    tree = new FakeProc();
    hostRoot = fs.mkdtempSync(path.join(os.tmpdir(), 'ew-hostroot-'));
    fs.mkdirSync(path.join(hostRoot, 'etc'));
    fs.writeFileSync(path.join(hostRoot, 'etc', 'passwd'), 'root:x:0:0::/root:/bin/bash\nhostuser:x:101:101::/:/bin/sh\nalice:x:1000:1000::/home/alice:/bin/bash\n');
    tree.addPid(1, { comm: 'systemd', ppid: 0, uid: 0, argv: ['/sbin/init'], exe: '/usr/lib/systemd/systemd' });
    tree.addPid(500, { comm: 'containerd-shim', ppid: 1, uid: 0, argv: ['/usr/bin/containerd-shim-runc-v2', '-namespace', 'k8s.io'], exe: '/usr/bin/containerd-shim-runc-v2' });
    tree.addPid(510, { comm: 'nginx', ppid: 500, uid: 0, argv: ['nginx: master process nginx -g daemon off;'], exe: '/usr/sbin/nginx' });
    tree.addPid(520, { comm: 'nginx', ppid: 510, uid: 101, argv: ['nginx: worker process'], exe: '/usr/sbin/nginx' });
    tree.addPid(600, { comm: 'bash', ppid: 1, uid: 1000, argv: ['-bash'], exe: '/usr/bin/bash' });
    // The container's root: a real directory for 510, a symlink to it for 520 (as /proc/PID/root is a link).
    const croot = path.join(tree.root, 'croot');
    fs.mkdirSync(path.join(croot, 'etc'), { recursive: true });
    fs.writeFileSync(path.join(croot, 'etc', 'passwd'), 'root:x:0:0:root:/root:/bin/sh\nnginx:x:101:101:nginx user:/nonexistent:/bin/false\n');
    fs.renameSync(croot, path.join(tree.root, '510', 'root'));
    fs.symlinkSync(path.join(tree.root, '510', 'root'), path.join(tree.root, '520', 'root'));
  });
  afterEach(() => {
    tree.cleanup();
    fs.rmSync(hostRoot, { recursive: true, force: true });
  });

  it('names the uid from PID/root/etc/passwd before the host file', async () => {
    const users = new UserNames();
    const proc = new ProcFs(tree.root);
    const worker = await readProcess(proc, 520, { hostRoot, users });
    assert.equal(worker?.userName, 'nginx', 'the container says nginx, the host says hostuser');
    const master = await readProcess(proc, 510, { hostRoot, users });
    assert.equal(master?.userName, 'root');
    assert.equal(users.stats.loads, 1, 'one cache entry for the file both pids reach');
  });

  it('a container\'s /etc/passwd that is an absolute symlink is followed inside its root, not to the host\'s names', async () => {
    tree.addPid(530, { comm: 'app', ppid: 500, uid: 101, argv: ['/app/server'] });
    const croot = path.join(tree.root, '530', 'root');
    fs.mkdirSync(path.join(croot, 'etc'), { recursive: true });
    fs.writeFileSync(path.join(croot, 'etc', 'passwd.image'), 'root:x:0:0::/root:/bin/sh\nappuser:x:101:101::/app:/bin/false\n');
    fs.symlinkSync('/etc/passwd.image', path.join(croot, 'etc', 'passwd'));
    const info = await readProcess(new ProcFs(tree.root), 530, { hostRoot, users: new UserNames() });
    assert.equal(info?.userName, 'appuser', 'the image\'s name, not the host\'s hostuser for uid 101');
  });

  it('falls back to <hostRoot>/etc/passwd, then passwdFile overrides it, then no name', async () => {
    const proc = new ProcFs(tree.root);
    assert.equal((await readProcess(proc, 600, { hostRoot }))?.userName, 'alice');
    const other = path.join(hostRoot, 'other-passwd');
    fs.writeFileSync(other, 'bob:x:1000:1000::/:/bin/sh\n');
    assert.equal((await readProcess(proc, 600, { hostRoot, passwdFile: other, users: new UserNames() }))?.userName, 'bob');
    fs.writeFileSync(path.join(hostRoot, 'etc', 'passwd'), 'root:x:0:0::/root:/bin/bash\n');
    const bare = await readProcess(proc, 600, { hostRoot, users: new UserNames() });
    assert.equal(bare?.userName, undefined);
    assert.equal(bare?.uid, 1000);
  });

  it('a container passwd without the uid does not borrow the host name', async () => {
    fs.writeFileSync(path.join(tree.root, '510', 'root', 'etc', 'passwd'), 'root:x:0:0:root:/root:/bin/sh\n');
    const info = await readProcess(new ProcFs(tree.root), 520, { hostRoot, users: new UserNames() });
    assert.equal(info?.userName, undefined);
  });

  it('reads parents nearest first up to parentDepth and stops after pid 1', async () => {
    const proc = new ProcFs(tree.root);
    const info = await readProcess(proc, 520, { hostRoot });
    assert.deepEqual(info?.parents?.map((p) => [p.pid, p.name]), [[510, 'nginx'], [500, 'containerd-shim'], [1, 'systemd']]);
    assert.equal(info?.parent, info?.parents?.[0]);
    assert.equal(info?.parents?.[1].commandLine, '/usr/bin/containerd-shim-runc-v2 -namespace k8s.io');
    const two = await readProcess(proc, 520, { hostRoot, parentDepth: 2 });
    assert.deepEqual(two?.parents?.map((p) => p.pid), [510, 500]);
    const none = await readProcess(proc, 520, { hostRoot, parentDepth: 0 });
    assert.deepEqual(none?.parents, []);
    assert.equal(none?.parent, undefined);
  });

  it('stops on a loop and at a vanished ancestor', async () => {
    tree.addPid(700, { comm: 'a', ppid: 701, uid: 0, argv: ['a'] });
    tree.addPid(701, { comm: 'b', ppid: 700, uid: 0, argv: ['b'] });
    const proc = new ProcFs(tree.root);
    assert.deepEqual((await readProcess(proc, 700, { hostRoot, parentDepth: 10 }))?.parents?.map((p) => p.pid), [701]);
    tree.removePid(500);
    const info = await readProcess(proc, 520, { hostRoot });
    assert.deepEqual(info?.parents, [
      { pid: 510, name: 'nginx', exe: '/usr/sbin/nginx', argv: ['nginx: master process nginx -g daemon off;'], commandLine: 'nginx: master process nginx -g daemon off;' },
      { pid: 500 },
    ]);
  });
});
