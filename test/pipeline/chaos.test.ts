// The whole packet path under what a broken or hostile network sends. Every packet of every
// corpus capture that libpcap opens (real traffic, written by others' tools), and a generated
// bench capture, go through one pipeline as they are, then again mutated: bits flipped, bytes
// overwritten in the headers and in the DNS, TLS, HTTP and QUIC payloads, frames cut short or
// repeated, timestamps stepping back. Nothing may throw out of onPacket, no internal error may be
// counted, finish() must complete, and every alert must be one JSON object a reader can parse.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import winston from 'winston';
import { Baseline } from '../../lib/baseline/index.js';
import { DEFAULT_NAME_ORDER, Pipeline } from '../../lib/pipeline/index.js';
import { REPO_ROOT } from '../helpers/env.js';
import { prng } from '../helpers/prng.js';
import { chaosRounds, corpusCaptures, framesOf, type Frame } from '../helpers/chaos-frames.js';

describe('pipeline: chaos (real captures, then mutated)', function () {
  this.timeout(180_000);
  let dir = '';
  before(() => { dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ew-chaos-')); });
  after(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('nothing throws, no internal error, finish() completes, every alert is JSON', async () => {
    const bench = path.join(dir, 'bench.pcap');
    const gen = spawnSync(process.execPath, [path.join(REPO_ROOT, 'dist', 'bench', 'gen-capture.js'), '--packets', '20000', '--out', bench], { encoding: 'utf8' });
    assert.equal(gen.status, 0, gen.stderr);
    const files = [...corpusCaptures(), bench];
    assert.ok(files.length > 100, `corpus captures: ${files.length}`);
    const frames = files.flatMap(framesOf);
    assert.ok(frames.length > 25_000, `frames: ${frames.length}`);

    let clock = 0;
    const baseline = await Baseline.open({ dir: path.join(dir, 'baseline'), windowMs: 90 * 86_400_000, learningPeriodMs: 0, now: () => clock });
    const alerts: string[] = [];
    const p = new Pipeline({
      hostName: 'chaos', hostId: 'chaos', dnsPorts: [53, 5353], alertDelayMs: 1000, baselineWindowMs: 90 * 86_400_000, dnsCacheSize: 2000,
      dnsRetentionMs: 3_600_000, flowTableSize: 5000, tcpIdleMs: 300_000, udpIdleMs: 60_000, internalCidrs: [], externalCidrs: ['0.0.0.0/0', '::/0'],
      normalizeVersions: true, nameOrder: DEFAULT_NAME_ORDER, dnsQueryWindowMs: 5000, acceptUnmatchedDns: true, groupingRules: [], suppressions: [],
    }, { baseline, emit: (a) => alerts.push(JSON.stringify(a)), logger: winston.createLogger({ silent: true }), now: () => clock });

    const rand = prng(20261205);
    const feed = (f: Frame): void => {
      clock = f.ts;
      p.onPacket(f.data, f.data.length, f.wire, f.ts, f.linkType);
      p.tick(f.ts);
      if (rand() < 0.01) p.expire(f.ts);
    };
    // As captured, then five mutated rounds; a few frames twice, a few with time stepping back.
    for (const f of chaosRounds(frames, 5, rand)) feed(f);
    await p.finish();
    await baseline.close();

    assert.ok(p.stats.packets >= frames.length * 6, 'every frame went in');
    assert.equal(p.stats.internalErrors, 0, 'internal errors');
    assert.equal(p.decodeStats.errors.internal ?? 0, 0, 'decoder backstop never used');
    assert.ok(p.decodeStats.totalErrors() > 0, 'the mutations were seen as malformed packets');
    assert.ok(p.dnsStats.responses > 0 && p.flows.stats.outbound > 0, 'DNS and connections went through');
    assert.ok(alerts.length > 0, 'alerts were raised');
    for (const line of alerts) {
      assert.ok(!line.includes('\n'), 'one line per alert');
      const a = JSON.parse(line) as { destination?: { ip?: string } };
      assert.equal(typeof a.destination?.ip, 'string');
    }
  });
});
