// Who a real process runs as, read from the real /proc: a process whose effective uid differs
// from its real one (as a set-user-ID program's does), a root process with a login uid (what
// sudo and su keep of the user who logged in; written here as pam_loginuid writes it), and a
// process in a user namespace of its own whose root is host uid 100000 (as in a rootless
// container).
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { ProcFs, insideUid, parseUidMap, readProcess, type ProcessInfo } from '../../lib/procfs/index.js';
import { haveCommand, isRoot, requirePrereq } from '../helpers/env.js';

const NOBODY = 65534;

describe('procfs/readProcess: effective and login users of real processes', function () {
  this.timeout(20000);
  const proc = new ProcFs('/proc');
  const children: ChildProcess[] = [];
  before(function () {
    requirePrereq(this, isRoot(), 'root (to change uids and the login uid)');
    requirePrereq(this, haveCommand('python3'), 'python3');
    requirePrereq(this, fs.existsSync('/proc/self/loginuid'), 'a kernel with audit (/proc/PID/loginuid)');
    requirePrereq(this, fs.readFileSync('/etc/passwd', 'utf8').split('\n').some((l) => l.split(':')[2] === String(NOBODY)), `uid ${NOBODY} in /etc/passwd`);
  });
  afterEach(() => {
    for (const c of children.splice(0)) c.kill('SIGKILL');
  });

  /** Starts `cmd`, then reads it once its first stdout line says it is ready. */
  async function started(cmd: string, args: string[]): Promise<ProcessInfo> {
    const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    children.push(child);
    let err = '';
    child.stderr?.on('data', (d: Buffer) => { err += d.toString(); });
    await new Promise<void>((resolve, reject) => {
      child.stdout?.once('data', () => resolve());
      child.once('exit', (code) => reject(new Error(`${cmd} exited (${code}): ${err}`)));
    });
    await sleep(20);
    const info = await readProcess(proc, child.pid as number);
    assert.ok(info, 'the process is read');
    return info;
  }

  it('reports the effective user of a process whose real and effective uids differ', async () => {
    const info = await started('python3', ['-c', `import os, time; os.setresuid(${NOBODY}, 0, 0); print('ready', flush=True); time.sleep(30)`]);
    assert.equal(info.uid, NOBODY);
    assert.equal(info.userName, 'nobody');
    assert.equal(info.euid, 0);
    assert.equal(info.effectiveUserName, 'root');
  });

  it('reports the login user of a root process started from a user\'s login', async () => {
    const info = await started('sh', ['-c', `echo ${NOBODY} > /proc/self/loginuid && echo ready && exec sleep 30`]);
    assert.equal(info.uid, 0);
    assert.equal(info.userName, 'root');
    assert.equal(info.euid, undefined, 'effective = real');
    assert.equal(info.loginUid, NOBODY);
    assert.equal(info.loginUserName, 'nobody');
  });

  it('names a user-namespaced process\'s uid as its own passwd file numbers it', async function () {
    requirePrereq(this, haveCommand('unshare') && haveCommand('setpriv'), 'unshare and setpriv (util-linux)');
    // Host uid 100000 makes a user namespace of its own where it is root, as rootless podman does.
    const info = await started('setpriv', ['--reuid=100000', '--regid=100000', '--clear-groups', 'unshare', '--user', '--map-root-user', 'sh', '-c', 'echo ready; exec sleep 30']);
    assert.equal(info.uid, 100000, 'the host\'s uid');
    assert.equal(info.nsUid, 0, 'the namespace\'s own');
    assert.equal(info.userName, 'root', 'named from its passwd file with its own uid');
  });

  it('leaves the login user out for a process nobody logged in for', async function () {
    requirePrereq(this, fs.readFileSync('/proc/self/loginuid', 'utf8').trim() === '4294967295', 'a test run whose own login uid is unset');
    const info = await started('sh', ['-c', 'echo ready && exec sleep 30']);
    assert.equal(info.loginUid, undefined);
  });
});

describe('procfs/parseUidMap, insideUid', () => {
  it('reads a rootless container\'s map and translates host uids into it', () => {
    const map = parseUidMap('         0       1000          1\n         1     100000      65536\n');
    assert.deepEqual(map, [{ inside: 0, outside: 1000, count: 1 }, { inside: 1, outside: 100000, count: 65536 }]);
    assert.equal(insideUid(map!, 1000), 0);
    assert.equal(insideUid(map!, 100000), 1);
    assert.equal(insideUid(map!, 100999), 1000);
    assert.equal(insideUid(map!, 165536), undefined, 'past the range');
    assert.equal(insideUid(map!, 0), undefined, 'host root is not mapped in');
  });
  it('the initial namespace\'s identity map, and junk, are no map', () => {
    assert.equal(parseUidMap('         0          0 4294967295\n'), undefined);
    assert.equal(parseUidMap(''), undefined);
    assert.equal(parseUidMap('x y z\n'), undefined);
  });
});
