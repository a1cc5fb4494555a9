// Doctor checks that do not need a child process: CapEff decoding, directory and LevelDB checks
// on real temp directories, the clock, and the collector check against a real local server.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import type { AddressInfo } from 'node:net';
import { Baseline } from '../../lib/baseline/index.js';
import {
  checkAlertsFile, checkCapabilities, checkClock, checkCollector, checkLevelDb, checkLocalResolver, checkWritableDir, collectorTargetsOf,
  formatReport, hasCapability, parseCapEff,
} from '../../lib/doctor/index.js';
import { haveCommand, requirePrereq } from '../helpers/env.js';

const status = (capEff: string): string => `Name:\tnode\nCapInh:\t0000000000000000\nCapEff:\t${capEff}\nCapBnd:\t000001ffffffffff\n`;

describe('doctor/checks', () => {
  let dir: string;
  beforeEach(() => { dir = fs.mkdtempSync(path.join(os.tmpdir(), 'egw-doctor-')); });
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('decodes CapEff: bits 2, 12, 13, 19', () => {
    // 0x82000 = bit 13 (CAP_NET_RAW) + bit 19 (CAP_SYS_PTRACE)
    const m = parseCapEff(status('0000000000082000'));
    assert.equal(m, 0x82000n);
    assert.ok(hasCapability(m!, 13) && hasCapability(m!, 19));
    assert.ok(!hasCapability(m!, 12) && !hasCapability(m!, 2));
    assert.equal(parseCapEff('Name:\tx\n'), undefined);
  });

  it('capabilities: all four ok, missing NET_RAW fails, missing others warn', () => {
    const all = (1n << 2n) | (1n << 12n) | (1n << 13n) | (1n << 19n);
    assert.equal(checkCapabilities(status(all.toString(16)), 1000).status, 'ok');
    const noRaw = checkCapabilities(status((all & ~(1n << 13n)).toString(16)), 1000);
    assert.equal(noRaw.status, 'fail');
    assert.match(noRaw.detail, /missing CAP_NET_RAW/);
    assert.match(noRaw.fix!, /AmbientCapabilities=/);
    const noPtrace = checkCapabilities(status((all & ~(1n << 19n)).toString(16)), 0);
    assert.equal(noPtrace.status, 'warn');
    assert.match(noPtrace.detail, /uid 0 \(root\).*missing CAP_SYS_PTRACE/);
  });

  it('state dir: created when missing; a path under a regular file fails with a fix', () => {
    const fresh = checkWritableDir('state dir', path.join(dir, 'a', 'b'), '--state-dir');
    assert.equal(fresh.status, 'ok');
    assert.match(fresh.detail, /created now/);
    assert.ok(fs.statSync(path.join(dir, 'a', 'b')).isDirectory());
    assert.deepEqual(fs.readdirSync(path.join(dir, 'a', 'b')), []); // the probe is removed
    fs.writeFileSync(path.join(dir, 'file'), '');
    const bad = checkWritableDir('state dir', path.join(dir, 'file', 'state'), '--state-dir');
    assert.equal(bad.status, 'fail');
    assert.match(bad.detail, /ENOTDIR/);
    assert.match(bad.fix!, /--state-dir/);
  });

  it('alerts file: a directory in its place fails', () => {
    fs.mkdirSync(path.join(dir, 'alerts.json'));
    const r = checkAlertsFile(path.join(dir, 'alerts.json'));
    assert.equal(r.status, 'fail');
    assert.match(r.detail, /not a regular file/);
    fs.writeFileSync(path.join(dir, 'a2.json'), '{}\n');
    assert.equal(checkAlertsFile(path.join(dir, 'a2.json')).status, 'ok');
    assert.equal(fs.readFileSync(path.join(dir, 'a2.json'), 'utf8'), '{}\n');
  });

  it('alerts file: a FIFO is reported as waiting for a reader until one has it open, then ok; /dev/null is ok', function () {
    requirePrereq(this, haveCommand('mkfifo'), 'mkfifo');
    const fifo = path.join(dir, 'alerts.fifo');
    assert.equal(spawnSync('mkfifo', [fifo]).status, 0);
    const alone = checkAlertsFile(fifo);
    assert.equal(alone.status, 'warn');
    assert.match(alone.detail, /FIFO that no process reads yet/);
    const reader = fs.openSync(fifo, fs.constants.O_RDONLY | fs.constants.O_NONBLOCK);
    try {
      const read = checkAlertsFile(fifo);
      assert.equal(read.status, 'ok', read.detail);
      assert.match(read.detail, /a FIFO, open for writing/);
    } finally {
      fs.closeSync(reader);
    }
    assert.equal(checkAlertsFile('/dev/null').status, 'ok');
  });

  it('leveldb: scratch db removed; a baseline held by an agent is reported in use, not opened', async () => {
    let r = await checkLevelDb(dir);
    assert.deepEqual(r.map((c) => [c.name, c.status]), [['leveldb', 'ok'], ['baseline', 'ok']]);
    assert.deepEqual(fs.readdirSync(dir), []);
    const b = await Baseline.open({ dir: path.join(dir, 'baseline'), windowMs: 1000, learningPeriodMs: 0, now: () => 0 });
    try {
      r = await checkLevelDb(dir);
      assert.equal(r[1].status, 'ok');
      assert.match(r[1].detail, /in use by a running agent/);
    } finally {
      await b.close();
    }
    r = await checkLevelDb(dir);
    assert.match(r[1].detail, /opens \(no agent running on it\)/);
    // Damaged: CURRENT names a manifest that is gone. The doctor says what the agent would.
    fs.writeFileSync(path.join(dir, 'baseline', 'CURRENT'), 'MANIFEST-999999\n');
    r = await checkLevelDb(dir);
    assert.equal(r[1].status, 'warn');
    assert.match(r[1].detail, /is damaged: .*MANIFEST-999999.*the agent runs LevelDB's repair on it when it starts/);
    assert.match(r[1].fix!, /aside \(the agent starts a new baseline/);
    // Looking does not change it: still damaged for the agent to repair.
    assert.equal(fs.readFileSync(path.join(dir, 'baseline', 'CURRENT'), 'utf8'), 'MANIFEST-999999\n');
  });

  it('clock: a date before 2024 fails; a clock that jumps warns', async () => {
    assert.equal((await checkClock(() => Date.UTC(2001, 0, 1), 10)).status, 'fail');
    let calls = 0;
    const jumpy = (): number => Date.UTC(2025, 5, 1) + (calls++ === 0 ? 0 : 60_000);
    const j = await checkClock(jumpy, 10);
    assert.equal(j.status, 'warn');
    assert.match(j.detail, /moved/);
    assert.equal((await checkClock(Date.now, 10)).status, 'ok');
  });

  it('collector: skipped when not configured, ok when a server answers, warn when refused', async () => {
    assert.deepEqual(collectorTargetsOf({ stateDir: '/x', collectorUrls: [] }), []);
    assert.deepEqual(collectorTargetsOf({ collectorUrls: ['https://a.example/i'], collectorCa: '/ca.pem' }),
      [{ url: 'https://a.example/i', ca: '/ca.pem', cert: undefined, key: undefined }]);
    assert.match((await checkCollector(undefined)).detail, /skipped/);
    const server = http.createServer((_req, res) => { res.statusCode = 401; res.end(); });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const port = (server.address() as AddressInfo).port;
    try {
      const [target] = collectorTargetsOf({ collectorUrls: [`http://127.0.0.1:${port}/ingest`] });
      const r = await checkCollector(target);
      assert.equal(r.status, 'ok');
      assert.match(r.detail, /HTTP 401/);
    } finally {
      await new Promise((resolve) => server.close(resolve));
    }
    const refused = await checkCollector({ url: `http://127.0.0.1:${port}/ingest` });
    assert.equal(refused.status, 'warn');
    assert.match(refused.detail, /not reachable/);
  });

  it('local resolver: warns when named interfaces leave out lo and resolv.conf names a loopback resolver; silent otherwise', () => {
    fs.mkdirSync(path.join(dir, 'etc'));
    fs.writeFileSync(path.join(dir, 'etc/resolv.conf'), 'nameserver 127.0.0.53\noptions edns0 trust-ad\n');
    const w = checkLocalResolver(['eth0'], dir);
    assert.equal(w?.status, 'warn');
    assert.match(w?.detail ?? '', /nameserver 127\.0\.0\.53 answers .* over lo, which --interface eth0 does not capture/);
    assert.match(w?.fix ?? '', /--interface lo/);
    assert.equal(checkLocalResolver(['any'], dir), undefined);
    assert.equal(checkLocalResolver(['eth0', 'lo'], dir), undefined);
    fs.writeFileSync(path.join(dir, 'etc/resolv.conf'), 'nameserver 10.0.0.2\n');
    assert.equal(checkLocalResolver(['eth0'], dir), undefined);
  });

  it('formats one line per check with the fix, and a summary', () => {
    const text = formatReport({ canRun: false, captureHandlesHeld: false, checks: [
      { status: 'ok', name: 'clock', detail: 'fine' },
      { status: 'fail', name: 'state dir', detail: '/x broken', fix: 'repair it' },
    ] });
    assert.deepEqual(text.trim().split('\n'), [
      'ok    clock      fine', 'FAIL  state dir  /x broken  (fix: repair it)', 'egresswatch cannot run here: 1 check(s) failed',
    ]);
  });
});
