// SnapshotProcFs: facts copied while a process lives answer for it once it is gone; a copy
// taken across an exec is taken again.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { SnapshotProcFs } from '../../lib/procfs/index.js';

function fakeProc(root: string, pid: number, cmdline: string[], exe: string): void {
  const dir = path.join(root, String(pid));
  fs.mkdirSync(dir, { recursive: true });
  fs.writeFileSync(path.join(dir, 'stat'), `${pid} (x) S 1 ${pid} ${pid} 0 -1 0 0 0 0 0 0 0 0 20 0 1 0 100 0 0\n`);
  fs.writeFileSync(path.join(dir, 'cmdline'), `${cmdline.join('\0')}\0`);
  fs.rmSync(path.join(dir, 'exe'), { force: true });
  fs.symlinkSync(exe, path.join(dir, 'exe'));
}

describe('procfs/SnapshotProcFs', () => {
  let root = '';
  beforeEach(() => { root = fs.mkdtempSync(path.join(os.tmpdir(), 'egw-snap-')); });
  afterEach(() => fs.rmSync(root, { recursive: true, force: true }));

  it('answers for a vanished process from its copy, and only within the ttl', async () => {
    let now = 1000;
    const snap = new SnapshotProcFs(root, { now: () => now, ttlMs: 500 });
    fakeProc(root, 42, ['/usr/bin/python3', '/opt/app/worker.py'], '/usr/bin/python3.11');
    snap.capture([42, 43]);
    assert.equal(snap.snapshotStats.captured, 1, 'pid 43 does not exist');
    fs.rmSync(path.join(root, '42'), { recursive: true });
    assert.equal((await snap.readBytes('42/cmdline'))?.toString(), '/usr/bin/python3\0/opt/app/worker.py\0');
    assert.equal(await snap.readLink('42/exe'), '/usr/bin/python3.11');
    now += 600;
    assert.equal(await snap.readLink('42/exe'), undefined, 'expired');
  });

  it('an exited process not yet reaped (empty command line, no exe) is described from its copy', async () => {
    const snap = new SnapshotProcFs(root);
    fakeProc(root, 9, ['/usr/bin/python3', '/opt/app/quick.py'], '/usr/bin/python3.11');
    snap.capture([9]);
    // The zombie: the entry is still there, cmdline reads empty, the exe link is gone.
    fs.writeFileSync(path.join(root, '9', 'cmdline'), '');
    fs.rmSync(path.join(root, '9', 'exe'));
    assert.equal((await snap.readBytes('9/cmdline'))?.toString(), '/usr/bin/python3\0/opt/app/quick.py\0');
    assert.equal(await snap.readLink('9/exe'), '/usr/bin/python3.11');
    // Without a copy, an empty command line stays what the kernel said (a kernel thread has none).
    fakeProc(root, 10, [], '/usr/bin/true');
    fs.writeFileSync(path.join(root, '10', 'cmdline'), '');
    assert.equal((await snap.readBytes('10/cmdline'))?.length, 0);
  });

  it('a copy whose exe changed while it was read (a wrapper exec-ing its program) is taken again', async () => {
    fakeProc(root, 7, ['setpriv', '--reuid=app', '--', '/usr/bin/python3', '/opt/app/quick.py'], '/usr/bin/setpriv');
    let reads = 0;
    class Racing extends SnapshotProcFs {
      protected override link(pid: number, name: string): string | undefined {
        // The exec lands after the first copy read the wrapper's command line, before its exe.
        if (name === 'exe' && ++reads === 2) fakeProc(root, 7, ['/usr/bin/python3', '/opt/app/quick.py'], '/usr/bin/python3.11');
        return super.link(pid, name);
      }
    }
    const snap = new Racing(root);
    snap.capture([7]);
    assert.equal(snap.snapshotStats.execRaces, 1);
    fs.rmSync(path.join(root, '7'), { recursive: true });
    assert.equal(await snap.readLink('7/exe'), '/usr/bin/python3.11');
    assert.equal((await snap.readBytes('7/cmdline'))?.toString(), '/usr/bin/python3\0/opt/app/quick.py\0', 'command line and exe of one program');
  });

  it('a snapshot taken before the process\'s last exec gives way to that exec\'s copy, or to nothing when it was not copied', async () => {
    let now = 1000;
    let last: { event: number; kind: 'exec' | 'fork' } | undefined;
    let copy: { at: number; files: Map<string, Buffer>; links: Map<string, string> } | undefined;
    const snap = new SnapshotProcFs(root, { now: () => now, execCopies: { get: () => copy, last: () => last } });
    // A script holding a socket is snapshotted; then it execs curl, which exits.
    fakeProc(root, 55, ['bash', '/opt/job.sh'], '/usr/bin/bash');
    snap.capture([55]);
    fs.rmSync(path.join(root, '55'), { recursive: true });
    now = 1200;
    last = { event: 900, kind: 'exec' }; // the script's own exec, before the snapshot
    assert.equal(await snap.readLink('55/exe'), '/usr/bin/bash', 'the snapshot is the latest program');
    last = { event: 1100, kind: 'exec' };
    copy = { at: 1100.1, files: new Map([['cmdline', Buffer.from('curl\0-s\0https://x\0')]]), links: new Map([['exe', '/usr/bin/curl']]) };
    assert.equal(await snap.readLink('55/exe'), '/usr/bin/curl', 'curl, exec\'d after the snapshot');
    assert.equal((await snap.readBytes('55/cmdline'))?.toString(), 'curl\0-s\0https://x\0');
    assert.equal(snap.snapshotStats.supersededByExec, 1);
    // Another one: snapshotted, then an exec that was not copied (the watcher's budget spent).
    fakeProc(root, 56, ['bash', '/opt/job.sh'], '/usr/bin/bash');
    snap.capture([56]);
    fs.rmSync(path.join(root, '56'), { recursive: true });
    copy = undefined;
    last = { event: 1300, kind: 'exec' };
    assert.equal(await snap.readLink('56/exe'), undefined, 'not known, rather than the script');
  });
});
