// The exec watcher (native/execwatch.c through ExecWatch), on the real kernel's process events:
// short-lived programs (curl refused at once on loopback: it lives a millisecond or two) are
// copied at their exec, and after they have exited and been reaped, SnapshotProcFs answers for
// them from that copy: executable, command line, working directory, status. And the failure path.
import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import { once } from 'node:events';
import fs from 'node:fs';
import path from 'node:path';
import { ExecWatch, SNAPSHOT_FILES, SNAPSHOT_LINKS, SnapshotProcFs, programBefore } from '../../lib/procfs/index.js';
import { REPO_ROOT, haveCommand, isRoot, requirePrereq } from '../helpers/env.js';
import { firstLine } from '../helpers/stream.js';

const ADDON = path.join(REPO_ROOT, 'native', 'build', 'Release', 'egresswatch_netlink.node');
const RUNS = 10;
/** The python3 interpreter's own path (not a shim in PATH: pyenv's execs its way through a dozen programs). */
function realPython(): string {
  return fs.realpathSync(execFileSync('python3', ['-c', 'import sys; print(sys.executable)'], { encoding: 'utf8' }).trim());
}

/**
 * Forks a child that tries a connection (refused on loopback) and exits 2 ms later (a worker's
 * request takes that much; the copy is taken within tens of µs, not reliably under a loaded
 * machine within the fifty a refused connect takes); prints its pid once reaped.
 */
const FORKER = `import os, socket, sys, time
pid = os.fork()
if pid == 0:
    try:
        socket.create_connection(('127.0.0.1', 9), 1)
    except OSError:
        pass
    time.sleep(0.002)
    os._exit(0)
os.waitpid(pid, 0)
print(pid, flush=True)
`;

describe('procfs/execwatch: programs gone within milliseconds are still described', function () {
  this.timeout(30_000);
  const logs: string[] = [];
  let watch: ExecWatch;

  before(function () {
    requirePrereq(this, fs.existsSync(ADDON), `the netlink addon (${ADDON}; npm run build)`);
    requirePrereq(this, isRoot(), 'root (CAP_NET_ADMIN for the process events connector)');
    requirePrereq(this, haveCommand('curl'), 'curl');
    const w = ExecWatch.open('/proc', SNAPSHOT_FILES, SNAPSHOT_LINKS, { log: (m) => logs.push(m) });
    assert.ok(w, `ExecWatch.open failed: ${logs.join('; ')}`);
    watch = w;
  });
  after(() => watch?.close());

  it(`copies each of ${RUNS} short curl runs at its exec; after they are reaped the copy answers for them`, async () => {
    const curl = fs.realpathSync('/usr/bin/curl');
    const proc = new SnapshotProcFs('/proc', { execCopies: watch });
    let described = 0;
    for (let i = 0; i < RUNS; i++) {
      const url = `http://127.0.0.1:9/run-${i}`;
      const child = spawn(curl, ['-s', '--max-time', '2', url], { cwd: '/tmp', stdio: 'ignore' });
      await once(child, 'exit');
      const pid = child.pid!;
      assert.throws(() => fs.statSync(`/proc/${pid}`), 'reaped: /proc knows nothing of it');
      const copy = watch.get(pid);
      if (copy === undefined) continue; // gone before the copy: counted below
      assert.ok(Math.abs(copy.at - Date.now()) < 5_000, 'copied just now');
      assert.equal(await proc.readLink(`${pid}/exe`), curl);
      assert.equal(await proc.readLink(`${pid}/cwd`), '/tmp');
      assert.deepEqual((await proc.readBytes(`${pid}/cmdline`))?.toString().split('\0').filter(Boolean), [curl, '-s', '--max-time', '2', url]);
      assert.match((await proc.readText(`${pid}/status`)) ?? '', new RegExp(`^Uid:\\s+${process.getuid!()}\\s`, 'm'));
      described++;
    }
    // The watcher's thread reads a program's files in tens of µs; curl lives a millisecond or two.
    assert.ok(described >= RUNS - 1, `${described} of ${RUNS} described from their exec copies; stats ${JSON.stringify(watch.stats)}`);
    assert.ok(watch.stats.copies >= described && watch.stats.execs >= RUNS);
    assert.ok(proc.snapshotStats.servedFromExec >= described * 3);
  });

  it(`copies each of ${RUNS} forked children (no exec) at its fork: its own pid and parent, its parent's program`, async function () {
    requirePrereq(this, haveCommand('python3'), 'python3');
    const python = realPython();
    const proc = new SnapshotProcFs('/proc', { execCopies: watch });
    const forksBefore = watch.stats.forks;
    let described = 0;
    for (let i = 0; i < RUNS; i++) {
      // The child tries a connection (refused at once on loopback) and exits: it lives well under
      // a millisecond. The parent reaps it before it prints its pid.
      const parent = spawn(python, ['-c', FORKER, String(i)], { cwd: '/tmp', stdio: ['ignore', 'pipe', 'inherit'] });
      const out = await firstLine(parent.stdout!);
      await once(parent, 'exit');
      const child = Number(out);
      assert.ok(Number.isInteger(child) && child > 0, `the child's pid: ${out}`);
      assert.throws(() => fs.statSync(`/proc/${child}`), 'reaped: /proc knows nothing of it');
      if (watch.get(child) === undefined) continue; // gone before the copy: counted below
      assert.equal(await proc.readLink(`${child}/exe`), python);
      assert.deepEqual((await proc.readBytes(`${child}/cmdline`))?.toString().split('\0').filter(Boolean), [python, '-c', FORKER, String(i)]);
      const status = (await proc.readText(`${child}/status`)) ?? '';
      assert.match(status, new RegExp(`^Pid:\\s+${child}$`, 'm'));
      assert.match(status, new RegExp(`^PPid:\\s+${parent.pid}$`, 'm'));
      assert.match((await proc.readText(`${child}/stat`)) ?? '', new RegExp(`^${child} \\(`));
      described++;
    }
    assert.ok(watch.stats.forks - forksBefore >= RUNS, `forks counted: ${JSON.stringify(watch.stats)}`);
    assert.ok(described >= RUNS - 2, `${described} of ${RUNS} forked children described from their fork copies; stats ${JSON.stringify(watch.stats)}`);
  });

  it('a child that execs after its fork is described by its exec copy, not its fork copy', async () => {
    const sleep = fs.realpathSync('/bin/sleep');
    // Node forks and execs sleep (which lives 50 ms: its exec copy is surely taken).
    const child = spawn(sleep, ['0.05'], { cwd: '/tmp', stdio: 'ignore' });
    await once(child, 'exit');
    const copy = watch.get(child.pid!);
    assert.ok(copy, `a copy: ${JSON.stringify(watch.stats)}`);
    assert.equal(copy.kind, 'exec');
    assert.equal(copy.links.get('exe'), sleep);
    assert.deepEqual(copy.files.get('cmdline')?.toString().split('\0').filter(Boolean), [sleep, '0.05']);
  });

  it('stamps each copy with its exec\'s kernel time on the wall clock: what a process ran at a moment between two execs', async function () {
    requirePrereq(this, haveCommand('python3'), 'python3');
    const python = realPython();
    const sleep = fs.realpathSync('/bin/sleep');
    // Python tells the wall-clock time, then becomes sleep (the same pid).
    const child = spawn(python, ['-c', "import os, time; print(time.time() * 1000, flush=True); time.sleep(0.05); os.execv('/bin/sleep', ['sleep', '0.2'])"], { stdio: ['ignore', 'pipe', 'inherit'] });
    const t = Number(await firstLine(child.stdout!));
    await once(child, 'exit');
    const pid = child.pid!;
    const last = watch.last(pid);
    assert.ok(last, `a copy: ${JSON.stringify(watch.stats)}`);
    assert.equal(last.kind, 'exec');
    assert.ok(last.event > t && last.event - t < 5_000, `sleep's exec (${last.event}) after the time python told (${t})`);
    const then = watch.get(pid, t);
    assert.ok(then, 'the copy of python');
    assert.equal(then.links.get('exe'), python);
    assert.ok(then.event <= t, `python's exec (${then.event}) before the time it told (${t})`);
    assert.equal(watch.get(pid)?.links.get('exe'), sleep);
    assert.equal(programBefore(watch, pid, t)?.links.get('exe'), python, 'the program at t: python');
    assert.equal(programBefore(watch, pid, last.event + 1), undefined, 'after the exec: sleep, as /proc says');
  });

  it('a burst of fork + exec past the budgets: copies bounded a second, the rest counted, and no child described by its fork copy once it exec\'d', async function () {
    requirePrereq(this, haveCommand('python3'), 'python3');
    // A watcher of its own with small budgets (20 exec and 200 fork copies a second), so that a
    // burst this machine can make surely exceeds them, and many a child has its fork copied and
    // its exec not; the suite's watcher is opened again after.
    watch.close();
    const logs: string[] = [];
    const small = ExecWatch.open('/proc', SNAPSHOT_FILES, SNAPSHOT_LINKS, { budgets: { execs: 20, forks: 200 }, log: (m) => logs.push(m) });
    try {
      assert.ok(small, logs.join('; '));
      const started = Date.now();
      // Three parents forking 300 children each, 5 ms apart (~500 a second, past both budgets, for
      // over a second: a fresh budget window begins during the burst); each child waits 2 ms (its
      // fork copy is taken meanwhile) and execs sleep 0.05 (reaped by the kernel); the parent
      // prints its pid. The interpreter itself: a shim's execs would spend the budget first.
      const FORKS = 3 * 300;
      const python = realPython();
      const burst = Array.from({ length: 3 }, () => spawn(python, ['-c',
        'import os, signal, time\nsignal.signal(signal.SIGCHLD, signal.SIG_IGN)\nfor _ in range(300):\n    pid = os.fork()\n    if pid == 0:\n        time.sleep(0.002)\n        os.execv("/bin/sleep", ["sleep", "0.05"])\n    print(pid)\n    time.sleep(0.005)\n',
      ], { stdio: ['ignore', 'pipe', 'ignore'] }));
      // Each parent's output on its own: chunks of two parents interleaved would join half lines.
      const outs = burst.map(() => '');
      burst.forEach((p, i) => p.stdout!.on('data', (d: Buffer) => { outs[i] += String(d); }));
      await Promise.all(burst.map((p) => once(p, 'close'))); // exited, and its output all read
      const children = outs.flatMap((o) => o.split('\n').filter(Boolean).map(Number));
      await new Promise((r) => setTimeout(r, 300)); // the watcher's thread catches up
      const seconds = (Date.now() - started) / 1000;
      const st = small.stats;
      assert.equal(children.length, FORKS);
      // Every fork and exec announced, unless the socket overran (events lost, counted).
      if (st.overruns === 0) assert.ok(st.forks >= FORKS && st.execs >= FORKS, JSON.stringify(st));
      assert.ok(st.forksSkipped > 0 && st.skipped > 0, `over both budgets: ${JSON.stringify(st)}`);
      // Budget windows the burst can have touched: one per started second, plus the one it began in.
      const windows = Math.ceil(seconds) + 1;
      assert.ok(st.forks - st.forksSkipped <= 200 * windows, `${st.forks - st.forksSkipped} fork copies tried in ${seconds.toFixed(2)} s`);
      assert.ok(st.execs - st.skipped <= 20 * windows, `${st.execs - st.skipped} exec copies tried in ${seconds.toFixed(2)} s`);
      // A child whose exec was not copied (over the budget, or gone first) must not be answered
      // for by its fork copy (its parent's program): what get() gives is its exec's copy, or
      // nothing (its exec or fork noted as not copied).
      const newest = children.map((pid) => small.get(pid)).filter((c) => c !== undefined);
      assert.ok(newest.length > 0, `copies of the children: ${JSON.stringify(st)}`);
      const forkCopies = newest.filter((c) => c.kind === 'fork').length;
      assert.equal(forkCopies, 0, `${forkCopies} of ${newest.length} children answered for by their fork copy after their exec`);
    } finally {
      small?.close();
      const again = ExecWatch.open('/proc', SNAPSHOT_FILES, SNAPSHOT_LINKS, { log: (m) => logs.push(m) });
      assert.ok(again, logs.join('; '));
      watch = again;
    }
  });

  it('has no copy for a pid that never exec\'d; a second watcher in the process is refused', () => {
    assert.equal(watch.get(2 ** 22 + 12345), undefined);
    const more: string[] = [];
    assert.equal(ExecWatch.open('/proc', SNAPSHOT_FILES, SNAPSHOT_LINKS, { log: (m) => more.push(m) }), undefined);
    assert.match(more[0], /another one is open in this process/);
  });
});

describe('procfs/execwatch: unavailable', () => {
  it('says why once and gives undefined: no addon, a kernel that refuses', () => {
    const logs: string[] = [];
    assert.equal(ExecWatch.open('/proc', SNAPSHOT_FILES, SNAPSHOT_LINKS, { addon: '/nonexistent/egresswatch_netlink.node', log: (m) => logs.push(m) }), undefined);
    assert.match(logs[0], /exec watcher unavailable \(addon not built/);
    const refusing = {
      execWatchOpen: () => -1, execWatchError: () => 'bind to the process events group: Operation not permitted',
      execWatchGet: () => undefined, execWatchLast: () => undefined,
      execWatchStats: (): [number, number, number, number, number, number, number] => [0, 0, 0, 0, 0, 0, 0], execWatchClose: () => 0,
    };
    assert.equal(ExecWatch.open('/proc', SNAPSHOT_FILES, SNAPSHOT_LINKS, { addon: refusing, log: (m) => logs.push(m) }), undefined);
    assert.match(logs[1], /Operation not permitted/);
  });
});
