// Who a real process runs as, read from the real /proc: a process whose effective uid differs
// from its real one (as a set-user-ID program's does), and a root process with a login uid
// (what sudo and su keep of the user who logged in; written here as pam_loginuid writes it).
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { ProcFs, readProcess, type ProcessInfo } from '../../lib/procfs/index.js';
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

  it('leaves the login user out for a process nobody logged in for', async function () {
    requirePrereq(this, fs.readFileSync('/proc/self/loginuid', 'utf8').trim() === '4294967295', 'a test run whose own login uid is unset');
    const info = await started('sh', ['-c', 'echo ready && exec sleep 30']);
    assert.equal(info.loginUid, undefined);
  });
});
