// programBefore and CopyProcFs: a process that exec'd another program after its connection's
// first packet is described from the copy of what it ran then (a script's `exec cat <&3` after
// `exec 3<>/dev/tcp/...`), and only then: a fork copy, an exec before the packet, no copy at
// all, or a copy of another process under a reused pid leave the live description alone.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { CopyProcFs, ProcFs, programBefore, type ExecCopy, type ProgramCopies } from '../../lib/procfs/index.js';
import { SoftwareContext } from '../../lib/software/index.js';
import { FakeProc } from './faketree.js';

const PID = 4242;

function copy(event: number, kind: 'exec' | 'fork', argv: string[], exe: string, startTicks = 777): ExecCopy {
  const after = ['S', '100', String(PID), String(PID), '0', '-1', '0', ...Array(12).fill('0'), String(startTicks), ...Array(30).fill('0')];
  return {
    at: event + 0.05,
    event,
    kind,
    files: new Map([
      ['stat', Buffer.from(`${PID} (${exe.split('/').pop()}) ${after.join(' ')}\n`)],
      ['status', Buffer.from(`Name:\tx\nTgid:\t${PID}\nPid:\t${PID}\nPPid:\t100\nUid:\t1000\t1000\t1000\t1000\n`)],
      ['cmdline', Buffer.from(argv.map((a) => `${a}\0`).join(''))],
    ]),
    links: new Map([['exe', exe], ['cwd', '/srv']]),
  };
}

/** Copies of one pid, oldest first, answered as ExecWatch does. */
function copies(list: ExecCopy[]): ProgramCopies {
  return {
    last: () => (list.length === 0 ? undefined : { event: list[list.length - 1].event, kind: list[list.length - 1].kind }),
    get: (_pid, before) => [...list].reverse().find((c) => before === undefined || c.event <= before),
  };
}

describe('procfs/programBefore: the program a process ran at its connection', () => {
  const script = copy(1000, 'exec', ['bash', '/srv/exfil.sh'], '/usr/bin/bash');
  const cat = copy(2000, 'exec', ['cat'], '/usr/bin/cat');

  it('an exec after the packet: the copy from before it', () => {
    assert.equal(programBefore(copies([script, cat]), PID, 1500), script);
  });

  it('no exec since the packet, a fork copy last, nothing copied, or nothing copied before the packet: undefined', () => {
    assert.equal(programBefore(copies([script, cat]), PID, 2500), undefined, 'cat ran at the packet');
    assert.equal(programBefore(copies([script, copy(2000, 'fork', ['bash', '/srv/exfil.sh'], '/usr/bin/bash')]), PID, 1500), undefined);
    assert.equal(programBefore(copies([]), PID, 1500), undefined);
    assert.equal(programBefore(copies([cat]), PID, 1500), undefined, 'started before the watcher: what it ran is not known');
  });

  it('an exec after the packet that was not copied (gone at once): the copy from before it still answers', () => {
    const uncopied: ProgramCopies = {
      last: () => ({ event: 2000, kind: 'exec' }),
      get: (_pid, before) => (before !== undefined && before >= 1000 && before < 2000 ? script : undefined),
    };
    assert.equal(programBefore(uncopied, PID, 1500), script);
  });

  it('a copy of another process under the same pid (other start time) is not taken for it', () => {
    const older = copy(1000, 'exec', ['python3', '/old.py'], '/usr/bin/python3', 555);
    assert.equal(programBefore(copies([older, cat]), PID, 1500), undefined);
  });
});

describe('procfs/CopyProcFs + SoftwareContext.describe(pid, asOf)', () => {
  let tree: FakeProc;
  beforeEach(() => {
    tree = new FakeProc();
    tree.addPid(100, { comm: 'sshd', ppid: 1, uid: 0, argv: ['sshd: alice'], exe: '/usr/sbin/sshd' });
    tree.addPid(PID, { comm: 'cat', ppid: 100, uid: 1000, argv: ['cat'], exe: '/usr/bin/cat', cwd: '/srv', startTicks: 777 });
  });
  afterEach(() => fs.rmSync(tree.root, { recursive: true, force: true }));

  it('answers the pid\'s copied files and links from the copy, anything else from the tree', async () => {
    const proc = new CopyProcFs(new ProcFs(tree.root), PID, copy(1000, 'exec', ['bash', '/srv/exfil.sh'], '/usr/bin/bash'));
    assert.equal(await proc.readLink(`${PID}/exe`), '/usr/bin/bash');
    assert.equal((await proc.readText(`${PID}/cmdline`))?.split('\0')[1], '/srv/exfil.sh');
    assert.equal(await proc.readLink('100/exe'), '/usr/sbin/sshd', 'its parent: live');
    assert.equal(await proc.readLink(`${PID}/root`), undefined, 'not copied: read from the tree (which has none)');
  });

  it('describes the script that connected, not the cat it exec\'d after', async () => {
    const ctx = new SoftwareContext({ proc: new ProcFs(tree.root), hostRoot: tree.root, catalog: false, files: false, nameService: false, hosts: false });
    const now = await ctx.describe(PID);
    assert.equal(now?.software.id, '/usr/bin/cat');
    const then = await ctx.describe(PID, copy(1000, 'exec', ['bash', '/srv/exfil.sh'], '/usr/bin/bash'));
    assert.equal(then?.software.id, '/srv/exfil.sh');
    assert.equal(then?.process.exe, '/usr/bin/bash');
    assert.equal(then?.process.pid, PID);
    assert.equal(then?.process.parent?.exe, '/usr/sbin/sshd');
  });
});
