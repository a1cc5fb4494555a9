// More new connections than their processes can be looked up for and judged (a scan from the
// host): the attributions asked and not answered are bounded (MAX_PENDING_ATTRIBUTIONS; past the
// bound a connection is judged for the host only, at once, and says so), so are the judgments in
// flight live (maxPendingJudgments; past it a connection is counted, not judged) and the alerts
// held (MAX_HELD_ALERTS); the flow table is fitted to the heap. Against a real LevelDB baseline.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import winston from 'winston';
import { Baseline } from '../../lib/baseline/index.js';
import { MAX_HELD_ALERTS, MAX_PENDING_ATTRIBUTIONS } from '../../lib/pipeline/pipeline.js';
import { fitFlowTable, youngGenerationFix } from '../../lib/pipeline/index.js';
import { CORPUS_DIR, REPO_ROOT } from '../helpers/env.js';
import { ethernet, ipv4, ipv6, tcp, udp, ETHERTYPE_IPV4, ETHERTYPE_IPV6, TCP_SYN } from '../helpers/packets.js';
import { NOBODY, testPipeline } from '../helpers/pipeline.js';
import { until } from '../helpers/wait.js';

const T0 = Date.UTC(2026, 0, 1);
const RST = 0x04;
const EXTERNAL = ['203.0.113.0/24', '198.51.100.0/24', '2001:db8::/32'];

/** A SYN (or a RST) from 10.0.0.1 to the n-th address of 203.0.113.0/24 and 198.51.100.0/24, port by n. */
function segment(n: number, flags = TCP_SYN): Buffer {
  const dst = n % 2 === 0 ? `203.0.113.${(n >> 1) % 256}` : `198.51.100.${(n >> 1) % 256}`;
  return ethernet({ type: ETHERTYPE_IPV4 }, ipv4({ src: '10.0.0.1', dst, protocol: 6 }, tcp({ srcPort: 20000 + (n % 40000), dstPort: 1 + Math.floor(n / 512), flags, seq: n })));
}

describe('pipeline: overload (a scan from the host)', function () {
  this.timeout(60_000);
  let dir: string;
  let baseline: Baseline | undefined;

  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ew-overload-'));
  });
  afterEach(async () => {
    await baseline?.close();
    baseline = undefined;
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('past the bound of attributions waiting, a connection is judged for the host only, at once, marked; the log says when it starts and ends', async () => {
    let now = T0;
    baseline = await Baseline.open({ dir, windowMs: 90 * 86_400_000, learningPeriodMs: 0, now: () => now });
    const released: (() => void)[] = [];
    // Answers nobody until told to: every connection's attribution waits.
    const attributor = { ...NOBODY, attribute: () => new Promise((resolve) => released.push(() => resolve({ method: 'none', confidence: 'low' }))) };
    const logged: { level: string; message: string; shed?: number }[] = [];
    const logger = winston.createLogger({ level: 'info', transports: [new winston.transports.Console({ silent: true })] });
    logger.on('data', (info: { level: string; message: string; shed?: number }) => logged.push(info));
    const alerts: any[] = [];
    const p = testPipeline((a) => alerts.push(a), {
      attributor,
      settings: { externalCidrs: EXTERNAL, flowTableSize: 100_000, alertDelayMs: 0 },
      deps: { baseline, logger, now: () => now },
    });
    const extra = 300;
    for (let n = 0; n < MAX_PENDING_ATTRIBUTIONS + extra; n++) {
      const f = segment(n);
      p.onPacket(f, f.length, f.length, now, 1);
      // Refused at once: the connection ends, its name cannot come, it is judged now.
      const r = segment(n, RST);
      p.onPacket(r, r.length, r.length, now, 1);
    }
    assert.equal(p.pendingAttributions, MAX_PENDING_ATTRIBUTIONS, 'bounded');
    assert.equal(p.stats.attributionsShed, extra);
    assert.equal(logged.filter((l) => /attribution overloaded/.test(l.message)).length, 1, 'said once');
    // The shed ones (one to each of 300 addresses) are judged at once; the others wait for their owners.
    await until(() => alerts.length >= extra, 'the shed connections\' alerts');
    const shed = alerts.filter((a) => a.egresswatch.attribution.skipped === 'overload');
    assert.equal(shed.length, extra, 'every shed connection alerts, judged for the host (each to an address of its own)');
    for (const a of shed) {
      assert.equal(a.egresswatch.attribution.attributed, false);
      assert.match(a.message, /^a process not looked up \(too many new connections at once\) on h /);
      assert.deepEqual(a.egresswatch.novel_for, ['host']);
    }
    assert.equal(alerts.length, shed.length, 'the attributed ones still wait for their owners');
    for (const r of released) r();
    await p.drain();
    now += 1000;
    p.tick(now);
    assert.equal(p.pendingAttributions, 0);
    const caughtUp = logged.find((l) => /caught up/.test(l.message));
    assert.equal(caughtUp?.shed, extra, 'the end of it, with how many were shed');
    // Every address is alerted on once: the 300 by a shed connection (host only), the other 212 once their owners came.
    const addresses = new Set(alerts.map((a) => a.destination.ip));
    assert.equal(addresses.size, alerts.length, 'no address twice');
    assert.equal(addresses.size, 512);
    await p.finish();
  });

  it('live, past the bound of judgments waiting, a new connection is tracked but not judged, counted and logged; none are lost without it', async () => {
    for (const bound of [50, undefined]) {
      let now = T0;
      const b = await Baseline.open({ dir: path.join(dir, String(bound)), windowMs: 90 * 86_400_000, learningPeriodMs: 0, now: () => now });
      const released: (() => void)[] = [];
      const attributor = { ...NOBODY, attribute: () => new Promise((resolve) => released.push(() => resolve({ method: 'none', confidence: 'low' }))) };
      const logged: { message: string; unjudged?: number }[] = [];
      const logger = winston.createLogger({ level: 'info', transports: [new winston.transports.Console({ silent: true })] });
      logger.on('data', (info: { message: string; unjudged?: number }) => logged.push(info));
      const alerts: any[] = [];
      const p = testPipeline((a) => alerts.push(a), {
        attributor,
        settings: { externalCidrs: EXTERNAL, flowTableSize: 100_000, alertDelayMs: 0, maxPendingJudgments: bound },
        deps: { baseline: b, logger, now: () => now },
      });
      for (let n = 0; n < 60; n++) {
        for (const flags of [TCP_SYN, RST]) {
          const f = segment(n, flags);
          p.onPacket(f, f.length, f.length, now, 1);
        }
      }
      assert.equal(p.stats.connectionsUnjudged, bound === undefined ? 0 : 10, `bound ${bound}`);
      assert.equal(logged.filter((l) => /judging overloaded/.test(l.message)).length, bound === undefined ? 0 : 1);
      for (const r of released) r();
      await p.drain();
      now += 1000;
      p.tick(now);
      assert.equal(alerts.length, bound === undefined ? 60 : 50, 'every judged connection alerts (each to a new address)');
      if (bound !== undefined) assert.equal(logged.find((l) => /caught up/.test(l.message))?.unjudged, 10);
      await p.finish();
      await b.close();
    }
  });

  it('a connection left unjudged when it settles leaves its key free: the next one to that destination is judged', async () => {
    let now = T0;
    const b = await Baseline.open({ dir, windowMs: 90 * 86_400_000, learningPeriodMs: 0, now: () => now });
    baseline = b;
    // Unnamed connections wait for a reverse lookup; the first one's never comes until released.
    let release: (() => void) | undefined;
    const ptr = { lookup: (ip: string) => ip === '203.0.113.1' ? new Promise<undefined>((r) => { release = () => r(undefined); }) : Promise.resolve(undefined) };
    const alerts: any[] = [];
    const p = testPipeline((a) => alerts.push(a), {
      settings: { externalCidrs: EXTERNAL, alertDelayMs: 0, maxPendingJudgments: 1 },
      deps: { baseline: b, attributor: undefined, ptr: ptr as never, now: () => now },
    });
    const seg = (dst: string, port: number, flags: number): Buffer => ethernet({ type: ETHERTYPE_IPV4 }, ipv4({ src: '10.0.0.1', dst, protocol: 6 }, tcp({ srcPort: port, dstPort: 443, flags, seq: port })));
    const send = (f: Buffer): void => p.onPacket(f, f.length, f.length, now, 1);
    send(seg('203.0.113.3', 40003, TCP_SYN)); // starts while there is room
    send(seg('203.0.113.1', 40001, TCP_SYN));
    send(seg('203.0.113.1', 40001, RST)); // judged: waits for its reverse lookup
    send(seg('203.0.113.3', 40003, RST)); // settles with no room left: not judged
    assert.equal(p.stats.connectionsUnjudged, 1);
    release?.();
    await until(() => alerts.length === 1, 'the first connection\'s alert');
    now += 1000;
    send(seg('203.0.113.3', 40004, TCP_SYN));
    send(seg('203.0.113.3', 40004, RST));
    await p.drain();
    assert.deepEqual(alerts.map((a) => a.destination.ip), ['203.0.113.1', '203.0.113.3'], 'not taken for a repeat of the one left unjudged');
    await p.finish();
  });

  it('a DNS query socket is not looked up past the bound either', async () => {
    baseline = await Baseline.open({ dir, windowMs: 90 * 86_400_000, learningPeriodMs: 0, now: () => T0 });
    let asked = 0;
    const attributor = { ...NOBODY, attribute: () => new Promise(() => undefined), socketOwner: () => { asked++; return new Promise(() => undefined); } };
    const p = testPipeline(() => undefined, { attributor, settings: { externalCidrs: EXTERNAL, flowTableSize: 100_000 }, deps: { baseline } });
    for (let n = 0; n < MAX_PENDING_ATTRIBUTIONS; n++) {
      const f = segment(n);
      p.onPacket(f, f.length, f.length, T0, 1);
    }
    const query = Buffer.from('abcd01000001000000000000076578616d706c6503636f6d0000010001', 'hex');
    const q = ethernet({ type: ETHERTYPE_IPV4 }, ipv4({ src: '10.0.0.1', dst: '10.0.0.53', protocol: 17 }, udp({ srcPort: 53000, dstPort: 53 }, query)));
    p.onPacket(q, q.length, q.length, T0, 1);
    assert.equal(asked, 0, 'not looked up');
    assert.equal(p.stats.attributionsShed, 1);
  });

  it('held alerts are bounded: past the bound the one held longest goes out at once, counted', async () => {
    let now = T0;
    baseline = await Baseline.open({ dir, windowMs: 90 * 86_400_000, learningPeriodMs: 0, now: () => now });
    const alerts: any[] = [];
    const p = testPipeline((a) => alerts.push(a), {
      settings: { externalCidrs: EXTERNAL, flowTableSize: 100_000, alertDelayMs: 10_000 },
      deps: { baseline, now: () => now },
    });
    // Distinct ports to distinct addresses; each a new destination group (the address: no name).
    const total = MAX_HELD_ALERTS + 200;
    for (let n = 0; n < total; n++) {
      const dst = `2001:db8::${(n >> 16).toString(16)}:${(n & 0xffff).toString(16)}`;
      const f = ethernet({ type: ETHERTYPE_IPV6 }, ipv6({ src: '2001:db8:ffff::1', dst, nextHeader: 6 }, tcp({ srcPort: 40000, dstPort: 443, flags: TCP_SYN, seq: n })));
      p.onPacket(f, f.length, f.length, now, 1);
      now += 0.01;
      // Owners answered as they come (none found): no attribution is shed here.
      if (n % 1000 === 999) await new Promise((r) => setImmediate(r));
    }
    assert.equal(p.stats.attributionsShed, 0);
    // The SYNs wait up to a second for first bytes before they are judged.
    now += 1500;
    p.tick(now);
    await p.drain();
    assert.ok(p.heldAlerts <= MAX_HELD_ALERTS, `${p.heldAlerts} held`);
    assert.equal(p.alertsReleasedEarly, total - MAX_HELD_ALERTS, 'the excess went out early');
    assert.equal(alerts.length, total - MAX_HELD_ALERTS);
    assert.ok(alerts.every((a) => a.egresswatch.flow.open === true), 'out before their flows ended or their window did');
    await p.finish();
    assert.equal(alerts.length, total, 'none lost');
    assert.equal(new Set(alerts.map((a) => a.destination.ip)).size, total);
  });

  it('the flow table is made to fit the heap, and the log says so naming the setting', () => {
    const MiB = 1048576;
    assert.equal(fitFlowTable(200_000, 4144 * MiB), 200_000, 'a large heap: as configured');
    const small = fitFlowTable(200_000, 259 * MiB);
    assert.ok(small >= 100_000 && small < 150_000, `a 512 MiB pod's heap: ${small}`);
    assert.equal(fitFlowTable(5000, 259 * MiB), 5000, 'never above what was asked');
    assert.equal(fitFlowTable(200_000, 1 * MiB), 1000, 'never below the least size');
    const file = path.join(CORPUS_DIR, 'tcpdump', 'dns_tcp.pcap');
    const r = spawnSync(process.execPath, ['--max-old-space-size=128', path.join(REPO_ROOT, 'dist', 'agent', 'cli.js'), 'replay', file,
      '--state-dir', path.join(dir, 'state'), '--alerts-file', path.join(dir, 'alerts.json'), '--stats-json'], { encoding: 'utf8', timeout: 60_000 });
    assert.equal(r.status, 0, r.stderr);
    const warning = r.stderr.split('\n').find((l) => l.includes('flow table made smaller to fit the heap'));
    assert.ok(warning, r.stderr);
    assert.match(warning, /flowTableSize/);
    assert.match(warning, /--max-old-space-size|more memory/);
    const hint = r.stderr.split('\n').find((l) => l.includes('small heap with V8\'s smallest young generation'));
    assert.match(hint ?? '', /--max-semi-space-size=16/, r.stderr);
    const big = spawnSync(process.execPath, ['--max-old-space-size=128', '--max-semi-space-size=16', path.join(REPO_ROOT, 'dist', 'agent', 'cli.js'), 'replay', file,
      '--state-dir', path.join(dir, 'state2'), '--alerts-file', path.join(dir, 'alerts2.json'), '--stats-json'], { encoding: 'utf8', timeout: 60_000 });
    assert.equal(big.status, 0, big.stderr);
    assert.doesNotMatch(big.stderr, /young generation/, 'the flag given: no hint');
  });

  it('the young-generation hint: only for a small heap without --max-semi-space-size', () => {
    const MiB = 1048576;
    assert.match(youngGenerationFix(259 * MiB, [], undefined) ?? '', /--max-semi-space-size=16/);
    assert.equal(youngGenerationFix(4144 * MiB, [], undefined), undefined);
    assert.equal(youngGenerationFix(259 * MiB, ['--max-semi-space-size=16'], undefined), undefined);
    assert.equal(youngGenerationFix(259 * MiB, [], '--max-old-space-size=200 --max-semi-space-size=8'), undefined);
    assert.notEqual(youngGenerationFix(259 * MiB, ['--max-old-space-size=200'], '--inspect'), undefined);
  });
});
