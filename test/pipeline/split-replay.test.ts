// The replay on two threads (--replay-threads 2; split-replay.ts): the ring the threads share,
// and the replay itself against the one-thread replay on the same captures (the shared corpus,
// the benchmark's generator, a scan that makes the replay pause): the same statistics and the
// same alert lines, in the same order. Every test that replays built frames checks the same
// (test/helpers/replay-frames.ts).
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { Worker } from 'node:worker_threads';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import winston from 'winston';
import { loadConfig } from '../../lib/config/index.js';
import { replayFile } from '../../lib/capture/index.js';
import { runReplay } from '../../lib/pipeline/index.js';
import { makeRing, READER_FAILED, READER_SILENT, RingReader, RingStopped, RingWriter, WRITER_FAILED } from '../../lib/pipeline/split-ring.js';
import { replayThreads, SPLIT_MIN_BYTES, SPLIT_MIN_HEAP_BYTES } from '../../lib/pipeline/split-thread.js';
import { generateCapture } from '../../bench/gen-capture.js';
import { memoryReader } from '../../bench/measure.js';
import { writePcap, type PcapFrame } from '../helpers/packets.js';
import { scanCapture } from '../helpers/scan-capture.js';
import { assertSameReplays, replayOnce, type Replayed } from '../helpers/replay-frames.js';
import { CORPUS_DIR, REPO_ROOT, requirePrereq } from '../helpers/env.js';
import { chaosRounds, corpusCaptures, framesOf, type Frame } from '../helpers/chaos-frames.js';
import { prng } from '../helpers/prng.js';

const silent = winston.createLogger({ silent: true });

/** Writes record `seq` (fields and bytes derived from it) and returns what it wrote. */
function writeRecord(w: RingWriter, seq: number, fields: number, bytes: number): void {
  const at = w.begin(1 + (seq % 200), seq, seq * 0.5, fields, bytes);
  for (let k = 0; k < fields; k++) w.i32[(at >> 2) + k] = seq * 31 + k;
  const b = w.bytesAt(fields);
  for (let k = 0; k < bytes; k++) w.buf[b + k] = (seq + k) & 0xff;
  w.end();
}

function checkRecord(r: RingReader, at: number, seq: number, fields: number, bytes: number): void {
  assert.equal(r.typeOf(at), 1 + (seq % 200));
  assert.equal(r.bytesOf(at), bytes);
  assert.equal(r.f64[(at >> 3) + 1], seq);
  assert.equal(r.f64[(at >> 3) + 2], seq * 0.5);
  const f = (at + 24) >> 2;
  for (let k = 0; k < fields; k++) assert.equal(r.i32[f + k], seq * 31 + k, `record ${seq} field ${k}`);
  const b = at + 24 + fields * 4;
  for (let k = 0; k < bytes; k++) {
    if (r.buf[b + k] !== ((seq + k) & 0xff)) assert.fail(`record ${seq} byte ${k}`);
  }
}

describe('pipeline/split-ring: the ring the two threads of a replay share', () => {
  it('hands over records of every size in order, whole, across many wraps of the ring', () => {
    const ring = makeRing(4096);
    const w = new RingWriter(ring);
    const r = new RingReader(ring);
    // A simple PRNG: the same sizes each run.
    let x = 12345;
    const rand = (n: number): number => {
      x = (x * 1103515245 + 12345) & 0x7fffffff;
      return x % n;
    };
    const sizes: [number, number][] = [];
    let read = 0;
    for (let seq = 0; seq < 5000; seq++) {
      const size: [number, number] = [rand(6), rand(700)];
      sizes.push(size);
      writeRecord(w, seq, size[0], size[1]);
      // At most two records wait: never more than the ring holds, so the writer never waits here.
      if (seq - read >= 1) {
        w.publish();
        for (let at = r.next(0); at >= 0; at = r.next(0)) {
          checkRecord(r, at, read, sizes[read][0], sizes[read][1]);
          r.done(at);
          read += 1;
        }
      }
    }
    w.publish();
    for (let at = r.next(0); at >= 0; at = r.next(0)) {
      checkRecord(r, at, read, sizes[read][0], sizes[read][1]);
      r.done(at);
      read += 1;
    }
    assert.equal(read, 5000);
  });

  it('a writer with no room left stops when the reader has failed, and says so', () => {
    const ring = makeRing(4096);
    const w = new RingWriter(ring);
    const r = new RingReader(ring);
    for (let seq = 0; seq < 3; seq++) writeRecord(w, seq, 0, 1100);
    r.fail(READER_FAILED);
    assert.throws(() => writeRecord(w, 3, 0, 1100), (err: unknown) => err instanceof RingStopped && err.state === READER_FAILED);
  });

  it('a reader with nothing to read stops when the writer has failed, after the records written before', () => {
    const ring = makeRing(4096);
    const w = new RingWriter(ring);
    const r = new RingReader(ring);
    writeRecord(w, 0, 2, 10);
    w.publish();
    w.fail(WRITER_FAILED);
    const at = r.next(0);
    checkRecord(r, at, 0, 2, 10);
    r.done(at);
    assert.throws(() => r.next(1000), (err: unknown) => err instanceof RingStopped && err.state === WRITER_FAILED);
  });

  it('a writer with no room left gives up on a reader that neither reads nor beats (gone without a word), not on one that beats', async () => {
    const ring = makeRing(4096);
    const w = new RingWriter(ring, 1500);
    const r = new RingReader(ring);
    for (let seq = 0; seq < 3; seq++) writeRecord(w, seq, 0, 1100);
    // A reader on another thread that beats for 3.5 s (its beat is in whole seconds), then neither reads nor beats.
    const beater = new Worker(`
      const { workerData } = require('node:worker_threads');
      import(workerData.ring).then(({ RingReader }) => {
        const r = new RingReader(workerData.buffers);
        const t = setInterval(() => r.beat(), 200);
        setTimeout(() => clearInterval(t), 3500);
      });`, { eval: true, workerData: { ring: new URL('../../lib/pipeline/split-ring.js', import.meta.url).href, buffers: ring } });
    try {
      const t = performance.now();
      assert.throws(() => writeRecord(w, 3, 0, 1100), (err: unknown) => err instanceof RingStopped && err.state === READER_SILENT && /stopped answering/.test(err.message));
      const waited = performance.now() - t;
      // Without the beats it gives up after 1.5 s; with them not before they stop (~3.5 s, less up to a second of their resolution).
      assert.ok(waited >= 3000, `it waited while the reader beat, then its bound: ${Math.round(waited)} ms`);
      assert.equal(r.state, READER_SILENT, 'and says so to the reader');
    } finally {
      await beater.terminate();
    }
  });

  it('refuses a ring that is not a power of two and a record larger than half of it', () => {
    assert.throws(() => makeRing(5000), /power of two/);
    const w = new RingWriter(makeRing(4096));
    assert.throws(() => w.begin(1, 0, 0, 0, 3000), /does not fit/);
  });
});

describe('pipeline/split-replay: two threads replay as one does', function () {
  this.timeout(180_000);
  let dir: string;
  const EXTERNAL = { 'external-cidr': ['192.0.2.0/24', '198.51.100.0/24', '203.0.113.0/24', '2001:db8::/32'] };

  before(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ew-split-'));
  });
  after(() => fs.rmSync(dir, { recursive: true, force: true }));

  async function both(name: string, files: string[], flags: Record<string, unknown>, configFile?: string): Promise<[Replayed, Replayed]> {
    const one = await replayOnce(dir, `${name}-1`, files, { ...flags, 'replay-threads': 1 }, silent, configFile);
    const two = await replayOnce(dir, `${name}-2`, files, { ...flags, 'replay-threads': 2 }, silent, configFile);
    assertSameReplays(one, two);
    return [one, two];
  }

  it('by default with two processors or more, room in the heap and large captures (or a pipe); --replay-threads 1 or 2 decides', () => {
    const config = (n: number) => loadConfig({ flags: { 'replay-threads': n }, env: {} });
    const small = path.join(dir, 'small.pcap');
    fs.writeFileSync(small, Buffer.alloc(1000));
    const large = path.join(dir, 'large.pcap');
    fs.writeFileSync(large, '');
    fs.truncateSync(large, SPLIT_MIN_BYTES); // sparse: no disk taken
    assert.equal(replayThreads(config(1), [large]), 1);
    assert.equal(replayThreads(config(2), [small]), 2);
    const two = os.availableParallelism() >= 2 ? 2 : 1;
    assert.equal(replayThreads(config(0), [small]), 1);
    assert.equal(replayThreads(config(0), [large]), two);
    assert.equal(replayThreads(config(0), [small, '/dev/stdin']), fs.statSync('/dev/stdin').isFile() ? 1 : two);
    // A heap held small (a memory limit) has no room for two threads' heaps: one thread.
    assert.equal(replayThreads(config(0), [large], SPLIT_MIN_HEAP_BYTES - 1), 1);
    assert.equal(replayThreads(config(2), [large], SPLIT_MIN_HEAP_BYTES - 1), 2, 'unless asked for');
    assert.throws(() => config(3), /replay-threads/);
  });

  it('the shared corpus, every file in one replay: the same counts and alerts (mid-stream on, and unmatched DNS answers taken)', async function () {
    const manifest = path.join(CORPUS_DIR, 'manifest.tsv');
    requirePrereq(this, fs.existsSync(manifest), `corpus at ${CORPUS_DIR}`);
    const files = fs.readFileSync(manifest, 'utf8').trim().split('\n').slice(1).map((l) => path.join(CORPUS_DIR, l.split('\t')[0]));
    const [one] = await both('corpus', files, { midstream: true });
    assert.ok(one.stats.alerts > 10 && one.stats.packets > 5000, `${one.stats.alerts} alerts over ${one.stats.packets} packets`);
    assert.ok(one.stats.failedFiles.length > 0, 'files that cannot be opened are told the same way too');
    const [loose] = await both('corpus-unmatched', files, { midstream: true, 'dns-accept-unmatched': true });
    assert.ok(loose.stats.alerts >= one.stats.alerts);
  });

  it("the benchmark's generated capture (CNAME chains, IPv6, VLANs, TCP and UDP), with a ring small enough for the reading to wait on the judging", async () => {
    const file = path.join(dir, 'gen.pcap');
    generateCapture(file, { packets: 60_000, seed: 7 });
    const [one, two] = await both('gen', [file], EXTERNAL);
    assert.ok(one.stats.alerts > 500, `${one.stats.alerts} alerts`);
    assert.ok(two.stats.dnsAnswers > 5000);
    // A 64 KiB ring: the reading thread fills it thousands of times and waits for room.
    const config = loadConfig({ flags: { 'state-dir': path.join(dir, 'small', 'state'), 'alerts-file': path.join(dir, 'small', 'alerts.json'), 'learning-period': '0', 'replay-threads': 2, ...EXTERNAL }, env: {} });
    const small = await runReplay(config, [file], silent, replayFile, { ringBytes: 65536 });
    assertSameReplays(one, { stats: small, text: fs.readFileSync(path.join(dir, 'small', 'alerts.json'), 'utf8') });
    // The benchmark's reader of a capture held in memory goes through the same path.
    const memConfig = loadConfig({ flags: { 'state-dir': path.join(dir, 'mem', 'state'), 'alerts-file': path.join(dir, 'mem', 'alerts.json'), 'learning-period': '0', 'replay-threads': 2, ...EXTERNAL }, env: {} });
    const mem = await runReplay(memConfig, [file], silent, memoryReader(file, fs.readFileSync(file)));
    assertSameReplays(one, { stats: mem, text: fs.readFileSync(path.join(dir, 'mem', 'alerts.json'), 'utf8') });
  });

  it('real captures mutated (bits flipped, bytes overwritten, frames cut, repeated, time stepping back): the same counts and alerts', async function () {
    requirePrereq(this, fs.existsSync(path.join(CORPUS_DIR, 'manifest.tsv')), `corpus at ${CORPUS_DIR}`);
    const gen = path.join(dir, 'chaos-gen.pcap');
    generateCapture(gen, { packets: 20_000, seed: 11 });
    const frames = [...corpusCaptures(), gen].flatMap(framesOf);
    const rand = prng(20261206);
    // One file per link type, in the corpus's order: as captured, then three mutated rounds.
    const byLink = new Map<number, PcapFrame[]>();
    const add = (f: Frame): void => {
      const list = byLink.get(f.linkType) ?? [];
      byLink.set(f.linkType, list);
      list.push({ ts: f.ts, data: f.data, wireLength: f.wire });
    };
    for (const f of chaosRounds(frames, 3, rand)) add(f);
    const files = [...byLink].map(([linkType, list]) => {
      const file = path.join(dir, `chaos-${linkType}.pcap`);
      writePcap(file, linkType, list);
      return file;
    });
    const [one] = await both('chaos', files, { 'external-cidr': ['0.0.0.0/0', '::/0'], 'dns-accept-unmatched': true, midstream: true });
    assert.ok(Object.values(one.stats.decodeErrors).reduce((a, b) => a + b, 0) > 0, 'the mutations were seen as malformed packets');
    assert.ok(one.stats.alerts > 100 && one.stats.dnsAnswers > 1000, `${one.stats.alerts} alerts, ${one.stats.dnsAnswers} DNS answers`);
  });

  it('a scan of 20,000 new destinations: pauses where the one-thread replay pauses, with the same alerts', async () => {
    const file = path.join(dir, 'scan.pcap');
    scanCapture(file, 20_000);
    const [one] = await both('scan', [file], { 'external-cidr': ['2001:db8::/32'], 'alerts-max-size': '1GiB' });
    assert.ok(one.stats.replayPauses >= 1, `paused ${one.stats.replayPauses} times`);
    assert.equal(one.stats.alerts, 20_000);
  });

  it('with grouping rules, suppressions, a learning period and OCSF from a config file: the same counts and alerts', async () => {
    const file = path.join(dir, 'rules.pcap');
    generateCapture(file, { packets: 40_000, seed: 3 });
    const yaml = path.join(dir, 'rules.yaml');
    fs.writeFileSync(yaml, [
      'groupingRules:',
      // The generator's names are svcN.siteG.example, N = 2G or 2G + 1.
      "  - { match: '/^svc[0-9]*0\\.(site[0-9]+)\\.example$/', group: '$1.grouped' }",
      "  - { match: '*.site2156.example', group: 'wild' }",
      'suppressions:',
      "  - { domainGroup: 'site1029.example', comment: 'test: a known destination' }",
      'learningPeriod: 3s',
      'format: ocsf',
      '',
    ].join('\n'));
    const [one] = await both('rules', [file], EXTERNAL, yaml);
    assert.ok(one.stats.alerts > 100, `${one.stats.alerts} alerts`);
    assert.ok(one.text.includes('"class_uid"'), 'OCSF lines');
    assert.ok(one.text.includes('"wild"') && one.text.includes('0.grouped"'), 'the grouping rules named groups');
    assert.ok(!one.text.includes('(site1029.example)'), 'the suppressed group does not alert (it does without the rule)');
  });

  it('the CLI with --stdout and --stats-json: the same lines on standard output, the statistics last', async () => {
    const file = path.join(dir, 'cli.pcap');
    generateCapture(file, { packets: 5_000, seed: 5 });
    const out = (threads: number): string[] => {
      const r = spawnSync(process.execPath, [path.join(REPO_ROOT, 'dist', 'agent', 'cli.js'), 'replay', file, '--stdout', '--stats-json',
        '--replay-threads', String(threads), '--state-dir', path.join(dir, `cli-${threads}`), '--alerts-file', path.join(dir, `cli-${threads}.json`),
        ...EXTERNAL['external-cidr'].flatMap((c) => ['--external-cidr', c])], { encoding: 'utf8', timeout: 60_000 });
      assert.equal(r.status, 0, r.stderr);
      return r.stdout.trim().split('\n');
    };
    const [one, two] = [out(1), out(2)];
    const stats = (lines: string[]): Record<string, unknown> => {
      const { seconds: _s, packetsPerSecond: _p, ...rest } = JSON.parse(lines[lines.length - 1]) as Record<string, unknown>;
      return rest;
    };
    assert.deepEqual(stats(two), stats(one));
    assert.equal(two.length - 1, stats(two).alerts, 'one line per alert, then the statistics');
    assert.deepEqual(two.slice(0, -1), one.slice(0, -1));
  });

  it('a state dir that cannot be made fails the same way, and the replay ends', async () => {
    const blocker = path.join(dir, 'not-a-dir');
    fs.writeFileSync(blocker, '');
    const errors: string[] = [];
    for (const threads of [1, 2]) {
      const config = loadConfig({ flags: { 'state-dir': path.join(blocker, 'state'), 'alerts-file': path.join(dir, `err-${threads}.json`), 'replay-threads': threads }, env: {} });
      await runReplay(config, [path.join(dir, 'scan.pcap')], silent).then(
        () => assert.fail('replayed without a state dir'),
        (err: Error) => errors.push(`${err.name}: ${err.message}`),
      );
    }
    assert.equal(errors[1], errors[0]);
    // The reading thread waiting for room in a small ring when the judging thread fails: it stops, and tells the judging thread's error.
    const config = loadConfig({ flags: { 'state-dir': path.join(blocker, 'state'), 'alerts-file': path.join(dir, 'err-small.json'), 'replay-threads': 2 }, env: {} });
    await runReplay(config, [path.join(dir, 'gen.pcap')], silent, replayFile, { ringBytes: 65536 }).then(
      () => assert.fail('replayed without a state dir'),
      (err: Error) => assert.equal(`${err.name}: ${err.message}`, errors[0]),
    );
  });
});
