// The exec watcher (native/execwatch.c through ExecWatch), on the real kernel's process events:
// short-lived programs (curl refused at once on loopback: it lives a millisecond or two) are
// copied at their exec, and after they have exited and been reaped, SnapshotProcFs answers for
// them from that copy: executable, command line, working directory, status. And the failure path.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import fs from 'node:fs';
import path from 'node:path';
import { ExecWatch, SNAPSHOT_FILES, SNAPSHOT_LINKS, SnapshotProcFs } from '../../lib/procfs/index.js';
import { REPO_ROOT, haveCommand, isRoot, requirePrereq } from '../helpers/env.js';

const ADDON = path.join(REPO_ROOT, 'native', 'build', 'Release', 'egresswatch_netlink.node');
const RUNS = 10;

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
      execWatchGet: () => undefined, execWatchStats: (): [number, number, number, number, number] => [0, 0, 0, 0, 0], execWatchClose: () => 0,
    };
    assert.equal(ExecWatch.open('/proc', SNAPSHOT_FILES, SNAPSHOT_LINKS, { addon: refusing, log: (m) => logs.push(m) }), undefined);
    assert.match(logs[1], /Operation not permitted/);
  });
});
