// The benchmark's in-memory reader ((c) in bench/run.ts): it must hand the pipeline what libpcap
// and the pipeline's own pcap reader hand it, or "the pipeline's own cost" measures another
// workload. Checked packet by packet against replayFile (the real libpcap, and pcap-file.ts),
// then through the whole replay: the same stats and the same alerts, and the replay's pause and
// resume over it.
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import winston from 'winston';
import { generateCapture } from '../../bench/gen-capture.js';
import { forEachRecord, memoryReader } from '../../bench/measure.js';
import { replayFile } from '../../lib/capture/index.js';
import { loadConfig } from '../../lib/config/index.js';
import { runReplay, type CaptureReader } from '../../lib/pipeline/index.js';

const PACKETS = 20_000;
/** replayFile with libpcap reading even the classic pcap files pcap-file.ts reads. */
const libpcap: CaptureReader = (file, onPacket, opts = {}) => replayFile(file, onPacket, { ...opts, libpcap: true });
const silent = winston.createLogger({ silent: true, transports: [new winston.transports.Console({ silent: true })] });

/** A digest of every delivery: frame bytes, lengths, time and link type, in order. */
function deliveries(read: CaptureReader, file: string, opts: Parameters<CaptureReader>[2] = {}): { digest: string; count: number; result: ReturnType<CaptureReader> } {
  const h = crypto.createHash('sha256');
  let count = 0;
  const result = read(file, (buf, caplen, wireLen, tsMs, linkType, _handle, at = 0) => {
    h.update(buf.subarray(at, at + caplen));
    h.update(`${caplen} ${wireLen} ${tsMs} ${linkType};`);
    count++;
  }, opts);
  return { digest: h.digest('hex'), count, result };
}

describe('bench: the capture read from memory', function () {
  this.timeout(60_000);
  let dir: string;
  let file: string;
  let read: CaptureReader;

  before(function () {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'egresswatch-memread-'));
    file = path.join(dir, 'a.pcap');
    generateCapture(file, { packets: PACKETS, seed: 11 });
    // Every seventh record as if cut by a snap length: its length on the wire beyond what was captured.
    const data = fs.readFileSync(file);
    let i = 0;
    forEachRecord(data, (_data, at, caplen) => {
      if (i++ % 7 === 0) data.writeUInt32LE(caplen + 100, at - 4);
    });
    fs.writeFileSync(file, data);
    read = memoryReader(file, fs.readFileSync(file));
  });
  after(function () {
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('delivers what libpcap and the pipeline\'s reader deliver: every frame, its lengths, its time and the link type', function () {
    const a = deliveries(libpcap, file);
    const b = deliveries(read, file);
    const c = deliveries(replayFile, file);
    assert.equal(a.count, PACKETS);
    assert.equal(b.count, a.count);
    assert.equal(b.digest, a.digest);
    assert.deepEqual(b.result, a.result);
    assert.equal(c.digest, a.digest);
    assert.deepEqual(c.result, a.result);
  });

  it('skips as replayFile skips, pauses where it pauses and resumes at the offset it gives', function () {
    const skip = 1234;
    assert.equal(deliveries(read, file, { skip }).digest, deliveries(libpcap, file, { skip }).digest);
    let asked = 0;
    const pauseAtThird = (): boolean => ++asked === 3;
    const a = deliveries(replayFile, file, { skip, shouldPause: pauseAtThird });
    asked = 0;
    const b = deliveries(read, file, { skip, shouldPause: pauseAtThird });
    asked = 0;
    const c = deliveries(libpcap, file, { skip, shouldPause: pauseAtThird });
    assert.equal(a.result.paused, true);
    assert.ok(a.result.offset !== undefined && a.result.offset > 24);
    assert.deepEqual(b.result, a.result);
    assert.equal(b.digest, a.digest);
    assert.equal(c.digest, a.digest);
    assert.equal(c.result.packets, a.result.packets);
    // The rest from the offset: the records after the pause, as a read that skips them gives.
    const rest = { skip: a.result.packets, offset: a.result.offset };
    const whole = deliveries(libpcap, file, { skip: a.result.packets });
    assert.equal(deliveries(read, file, rest).digest, whole.digest);
    assert.equal(deliveries(replayFile, file, rest).digest, whole.digest);
    assert.equal(deliveries(replayFile, file, rest).result.packets, PACKETS);
  });

  it('refuses a file it does not hold', function () {
    assert.throws(() => read(path.join(dir, 'other.pcap'), () => undefined), /holds .*a\.pcap/);
  });

  it('gives the whole replay the same stats and alerts as libpcap', async function () {
    const replay = async (name: string, reader?: CaptureReader) => {
      const state = path.join(dir, name);
      const config = loadConfig({
        flags: { stateDir: state, alertsFile: path.join(state, 'alerts.json'), learningPeriod: '0', externalCidr: ['192.0.2.0/24', '198.51.100.0/24', '203.0.113.0/24', '2001:db8::/32'] },
        env: {},
      });
      const stats = await runReplay(config, [file], silent, reader);
      // event.id is random per run; the rest of an alert follows from the packets.
      const alerts = fs.readFileSync(path.join(state, 'alerts.json'), 'utf8').trim().split('\n')
        .map((l) => { const a = JSON.parse(l) as { event: Record<string, unknown> }; delete a.event.id; return JSON.stringify(a); });
      return { stats: { ...stats, seconds: 0, packetsPerSecond: 0 }, alerts };
    };
    const a = await replay('libpcap', libpcap);
    const b = await replay('memory', read);
    const c = await replay('pcap-file');
    assert.ok(a.stats.alerts > 10, `alerts ${a.stats.alerts}`);
    assert.deepEqual(b.stats, a.stats);
    assert.deepEqual(b.alerts, a.alerts);
    assert.deepEqual(c.stats, a.stats);
    assert.deepEqual(c.alerts, a.alerts);
  });
});
