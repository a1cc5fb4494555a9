// The baseline's file system fills up while the pipeline runs (a real LevelDB on a small
// tmpfs, filled after it opened): judging each new destination fails, the failures are logged
// at the 1st, 10th, 100th, ... only, closing names the state dir and the fix, and a replay says
// how many connections raised no alert and fails.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Writable } from 'node:stream';
import { Baseline, BaselineWriteError } from '../../lib/baseline/index.js';
import { Spool } from '../../lib/outputs/spool.js';
import { consumerName } from '../../lib/outputs/spool-forwarders.js';
import { replayFile } from '../../lib/capture/index.js';
import { createLogger, loadConfig } from '../../lib/config/index.js';
import { AlertOutputs } from '../../lib/pipeline/outputs.js';
import { describeFailure } from '../../lib/config/fatal.js';
import { DEFAULT_NAME_ORDER, Pipeline, type PipelineSettings } from '../../lib/pipeline/index.js';
import { REPO_ROOT, isRoot, requirePrereq } from '../helpers/env.js';
import { ethernet, ipv4, tcp, ETHERTYPE_IPV4, TCP_ACK, TCP_RST, TCP_SYN } from '../helpers/packets.js';
import { fillUp, mountTmpfs, type Tmpfs } from '../helpers/tmpfs.js';

const DOC_RANGES = ['192.0.2.0/24', '198.51.100.0/24', '203.0.113.0/24', '2001:db8::/32'];
/** The pipeline as the replay sets it up, alerts out at once. */
const SETTINGS: PipelineSettings = {
  hostName: 'h', hostId: 'h', dnsPorts: [53], alertDelayMs: 0, baselineWindowMs: 90 * 86_400_000, dnsCacheSize: 100_000,
  dnsRetentionMs: 3_600_000, flowTableSize: 200_000, tcpIdleMs: 300_000, udpIdleMs: 60_000, internalCidrs: [], externalCidrs: DOC_RANGES,
  normalizeVersions: true, nameOrder: DEFAULT_NAME_ORDER, dnsQueryWindowMs: 5000, acceptUnmatchedDns: false, groupingRules: [], suppressions: [],
};

describe('pipeline: the baseline\'s disk fills up', function () {
  this.timeout(60_000);
  let fsys: Tmpfs | undefined;
  let mnt = '';
  let capture = '';

  before(function () {
    requirePrereq(this, isRoot(), 'root (mounts a small tmpfs to fill)');
  });
  beforeEach(() => {
    fsys = mountTmpfs('ew-bfull-', '2m');
    mnt = fsys.dir;
    capture = path.join(os.tmpdir(), `ew-bfull-${process.pid}.pcap`);
    const gen = spawnSync(process.execPath, [path.join(REPO_ROOT, 'dist', 'bench', 'gen-capture.js'), '--packets', '20000', '--out', capture], { encoding: 'utf8' });
    assert.equal(gen.status, 0, gen.stderr);
  });
  afterEach(() => {
    fsys?.remove();
    fsys = undefined;
    fs.rmSync(capture, { force: true });
  });

  function fill(): void {
    fillUp(path.join(mnt, 'filler'), 65536);
  }

  it('no alert without its baseline entry; failures logged at 1, 10, 100; close() is a BaselineWriteError naming the dir and the fix', async () => {
    const logged: { message: string; failures?: number }[] = [];
    const sink = new Writable({ write(c: Buffer, _e, done) { logged.push(JSON.parse(c.toString()) as { message: string }); done(); } });
    const logger = createLogger('info', { stream: sink, text: false });
    let now = 0;
    const dir = path.join(mnt, 'baseline');
    const baseline = await Baseline.open({ dir, windowMs: 90 * 86_400_000, learningPeriodMs: 0, now: () => now, learningFromFirstObservation: true });
    fill();
    const alerts: unknown[] = [];
    const p = new Pipeline(SETTINGS, { baseline, emit: (a) => alerts.push(a), logger, now: () => now });
    replayFile(capture, (buf, caplen, wireLen, ts, linkType, _h, at) => {
      now = ts;
      p.onPacket(buf, caplen, wireLen, ts, linkType, undefined, at);
    });
    await p.finish();
    assert.equal(alerts.length, 0, 'no alert whose baseline entry is not on disk');
    const n = p.stats.judgeErrors;
    assert.ok(n >= 100, `judge errors ${n}`);
    const lines = logged.filter((l) => l.message.startsWith('connection could not be judged'));
    const points = [1, 10, 100, 1000, 10_000].filter((k) => k <= n);
    assert.deepEqual(lines.map((l) => l.failures), points);
    await assert.rejects(baseline.close(), (err: unknown) => {
      assert.ok(err instanceof BaselineWriteError);
      assert.match(err.message, new RegExp(`cannot write the baseline database '${dir}': .*No space left on device.*--state-dir`));
      const f = describeFailure(err, false);
      assert.equal(f.exitCode, 1);
      assert.ok(!f.line.includes('unexpected'), f.line);
      return true;
    });
  });

  it('a connection that could not be judged does not make the next one to its destination a skipped repeat: that one alerts once there is room', async () => {
    const dir = path.join(mnt, 'baseline');
    let now = Date.UTC(2026, 11, 1, 10, 0, 0);
    const baseline = await Baseline.open({ dir, windowMs: 90 * 86_400_000, learningPeriodMs: 0, now: () => now, learningFromFirstObservation: true });
    fill();
    const alerts: unknown[] = [];
    const p = new Pipeline(SETTINGS, { baseline, emit: (a) => alerts.push(a), logger: createLogger('error', { stream: new Writable({ write(_c, _e, done) { done(); } }), text: false }), now: () => now });
    // A connection from a new source port each time: SYN, SYN-ACK, RST.
    let port = 40000;
    const connect = (ip: string): void => {
      port++;
      const frames = [
        ethernet({ type: ETHERTYPE_IPV4 }, ipv4({ src: '10.0.0.5', dst: ip, protocol: 6 }, tcp({ srcPort: port, dstPort: 443, flags: TCP_SYN, seq: 1 }))),
        ethernet({ type: ETHERTYPE_IPV4 }, ipv4({ src: ip, dst: '10.0.0.5', protocol: 6 }, tcp({ srcPort: 443, dstPort: port, flags: TCP_SYN | TCP_ACK, seq: 9 }))),
        ethernet({ type: ETHERTYPE_IPV4 }, ipv4({ src: '10.0.0.5', dst: ip, protocol: 6 }, tcp({ srcPort: port, dstPort: 443, flags: TCP_RST, seq: 2 }))),
      ];
      for (const f of frames) p.onPacket(f, f.length, f.length, now++, 1);
    };
    // New destinations until one cannot be written (a small entry may still fit a page the log has).
    let failed: string | undefined;
    for (let i = 1; i <= 250 && failed === undefined; i++) {
      const ip = `203.0.113.${i}`;
      connect(ip);
      await p.drain();
      if (p.stats.judgeErrors > 0) failed = ip;
    }
    assert.ok(failed, 'a destination could not be judged on the full disk');
    const before = alerts.length;
    assert.ok(!alerts.some((a) => (a as { destination: { ip: string } }).destination.ip === failed), 'and raised no alert');
    fs.truncateSync(path.join(mnt, 'filler'), 0);
    // The store is opened again before the next write, at most once a second (level-reopen.ts).
    await new Promise((r) => setTimeout(r, 1100));
    now += 5_000; // within a minute: before, a repeat of a judged key, skipped
    connect(failed);
    await p.finish();
    assert.equal(alerts.length, before + 1, 'the next connection to it alerts once the baseline takes its entry');
    assert.equal((alerts.at(-1) as { destination: { ip: string } }).destination.ip, failed);
    await baseline.close();
  });

  it('last-seen updates that cannot be written are told to onError, kept, and written once there is room (and survive a reopen)', async () => {
    let now = 1_000;
    const errors: Error[] = [];
    const dir = path.join(mnt, 'baseline');
    const b = await Baseline.open({ dir, windowMs: 86_400_000, learningPeriodMs: 0, now: () => now, flushIntervalMs: 30, onError: (e) => errors.push(e) });
    // 300 destinations (their entries on disk), then an update of each: ~20 KB, more than the
    // slack of the log's last page.
    const groups = Array.from({ length: 300 }, (_, i) => `site${i}.example`);
    await Promise.all(groups.map((group) => b.observeSync({ host: 'h', group, time: now })?.durable));
    fill();
    now += 5_000;
    for (const group of groups) assert.deepEqual(b.observeSync({ host: 'h', group, time: now })?.verdict.novelFor, []);
    for (let i = 0; i < 100 && errors.length === 0; i++) await new Promise((r) => setTimeout(r, 20));
    assert.ok(errors.length > 0, 'the background flush failed and said so');
    assert.match(errors[0].message, /No space left on device/);
    fs.rmSync(path.join(mnt, 'filler'));
    // The first write after a failed one opens the store again (its log may end in part of a
    // record, after which LevelDB would lose what it appends: recovery stops there).
    const before = b.counters.flushes;
    for (let i = 0; i < 150 && b.counters.flushes === before; i++) await new Promise((r) => setTimeout(r, 20));
    assert.ok(b.counters.flushes > before, 'a flush succeeded once there was room');
    assert.equal(b.reopens, 1);
    await b.close();
    const again = await Baseline.open({ dir, windowMs: 86_400_000, learningPeriodMs: 0, now: () => now });
    try {
      const entries = [];
      for await (const e of again.entries({ kind: 'host' })) entries.push(e);
      assert.equal(entries.length, groups.length);
      assert.ok(entries.every((e) => e.lastSeen === now && e.count === 2), 'the updates made while the disk was full');
    } finally {
      await again.close();
    }
  });

  it('spool: an alert appended once the disk has room again is still there after a restart', async () => {
    const dir = path.join(mnt, 'spool');
    const alert = (i: number) => ({ event: { id: `a-${i}` }, pad: 'x'.repeat(2000) });
    let spool = await Spool.open({ dir });
    spool.consumer('c');
    for (let i = 0; i < 3; i++) await spool.append(alert(i));
    fill();
    // Appends fail while it is full (the caller counts them as not spooled) ...
    const failed = await Promise.allSettled(Array.from({ length: 20 }, (_, i) => spool.append(alert(100 + i))));
    assert.ok(failed.some((r) => r.status === 'rejected'), 'appends failed on the full disk');
    fs.rmSync(path.join(mnt, 'filler'));
    // ... and the next one, past the reopen gap, goes to a store opened again.
    await new Promise((r) => setTimeout(r, 1_100));
    await spool.append(alert(999));
    await spool.close();
    spool = await Spool.open({ dir });
    spool.consumer('c');
    const ids = (await spool.readBatch('c', 1000, 1 << 30)).map((e) => (e.alert.event as { id: string }).id);
    await spool.close();
    assert.ok(ids.includes('a-999'), `the alert appended after the disk had room: ${ids.join(' ')}`);
    assert.deepEqual(ids.slice(0, 3), ['a-0', 'a-1', 'a-2']);
  });

  it('forwarding: alerts the spool cannot take wait in memory, in order, and are spooled once the disk has room', async function () {
    const logged: { message: string }[] = [];
    const sink = new Writable({ write(c: Buffer, _e, done) { logged.push(JSON.parse(c.toString()) as { message: string }); done(); } });
    const logger = createLogger('info', { stream: sink, text: false });
    // A collector nobody listens on: the forwarder retries, the spool keeps everything.
    const config = loadConfig({ flags: { 'state-dir': path.join(mnt, 'state'), 'alerts-file': path.join(os.tmpdir(), `ew-fwd-${process.pid}.json`),
      'collector-url': 'http://127.0.0.1:9/ingest' }, env: {} });
    const out = await AlertOutputs.open(config, logger, true);
    const alert = (i: number) => ({ seq: i, event: { id: `f-${i}` }, pad: 'x'.repeat(3000) });
    try {
      out.emit(alert(0));
      await out.flush();
      fill();
      for (let i = 1; i <= 30; i++) out.emit(alert(i));
      await out.flush();
      assert.equal(out.spoolCaughtUp, false);
      const waiting = out.stats().spool_unspooled as number;
      assert.ok(waiting > 0, 'alerts wait for the spool');
      assert.equal(logged.filter((l) => l.message.startsWith('alerts not spooled')).length, 1, 'told once');
      fs.rmSync(path.join(mnt, 'filler'));
      out.emit(alert(31));
      await out.flush();
      // The first append after the failure waits out the store's reopen gap: retried until it goes in.
      for (let i = 0; i < 100 && !out.spoolCaughtUp; i++) {
        await new Promise((r) => setTimeout(r, 100));
        out.emit(alert(100 + i));
        await out.flush();
      }
      assert.equal(out.spoolCaughtUp, true);
      assert.ok(logged.some((l) => l.message.startsWith('spool writable again')));
      const seqs = (await out.spool!.readBatch(consumerName('http', 'http://127.0.0.1:9/ingest'), 10_000, 1 << 30)).map((e) => e.alert.seq as number);
      assert.deepEqual(seqs.slice(0, 32), [...Array(32).keys()], 'every alert spooled once, in order');
      assert.equal(out.stats().spool_unspooled_dropped, 0);
    } finally {
      await out.close();
      fs.rmSync(config.alertsFile, { force: true });
    }
  });

  it('egresswatch replay: stats name the write error and the connections without a verdict; exit 1 with one line', async () => {
    // The state dir is opened first by a replay of nothing, then the disk is filled.
    const state = path.join(mnt, 'state');
    const cli = path.join(REPO_ROOT, 'dist', 'agent', 'cli.js');
    const alertsFile = path.join(os.tmpdir(), `ew-bfull-${process.pid}.json`);
    const empty = path.join(os.tmpdir(), `ew-bfull-empty-${process.pid}.pcap`);
    fs.writeFileSync(empty, Buffer.from('d4c3b2a1020004000000000000000000ffff000001000000', 'hex'));
    try {
      const first = spawnSync(process.execPath, [cli, 'replay', empty, '--state-dir', state, '--alerts-file', alertsFile], { encoding: 'utf8' });
      assert.equal(first.status, 0, first.stderr);
      fill();
      // LevelDB needs a little room to open again (a new manifest, log and table): 32 KiB, not the
      // ~50 KB the run's new entries take.
      fs.truncateSync(path.join(mnt, 'filler'), fs.statSync(path.join(mnt, 'filler')).size - 32768);
      const r = spawnSync(process.execPath, [cli, 'replay', capture, '--stats-json', '--state-dir', state, '--alerts-file', alertsFile,
        ...DOC_RANGES.flatMap((c) => ['--external-cidr', c])], { encoding: 'utf8', timeout: 50_000 });
      assert.equal(r.status, 1, r.stderr);
      assert.ok(r.stdout !== '', `no stats printed; stderr: ${r.stderr}`);
      const stats = JSON.parse(r.stdout) as { connectionsNotJudged: number; baselineWriteError: string; alerts: number };
      assert.ok(stats.connectionsNotJudged > 0);
      assert.match(stats.baselineWriteError, /No space left on device/);
      const last = r.stderr.trim().split('\n').at(-1) ?? '';
      assert.match(last, new RegExp(`^egresswatch: cannot write the baseline database '${state}/baseline': .*; ${stats.connectionsNotJudged} connection\\(s\\) could not be judged and raised no alert$`));
    } finally {
      fs.rmSync(alertsFile, { force: true });
      fs.rmSync(empty, { force: true });
    }
  });
});
