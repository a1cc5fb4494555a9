// Frames of real captures and their mutations, for the tests of what a broken or hostile network
// sends (test/pipeline/chaos.test.ts, split-replay.test.ts).
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { replayFile } from '../../lib/capture/index.js';
import { CORPUS_DIR } from './env.js';

export interface Frame { data: Buffer; wire: number; ts: number; linkType: number }

/** The corpus captures libpcap opens (manifest column libpcap_1.10.3_pcap_open_offline). */
export function corpusCaptures(): string[] {
  const rows = fs.readFileSync(path.join(CORPUS_DIR, 'manifest.tsv'), 'utf8').trim().split('\n').map((l) => l.split('\t'));
  const col = rows[0].indexOf('libpcap_1.10.3_pcap_open_offline');
  assert.ok(col > 0, 'manifest has the libpcap column');
  return rows.slice(1).filter((r) => (r[col] ?? '').startsWith('ok')).map((r) => path.join(CORPUS_DIR, r[0]));
}

export function framesOf(file: string): Frame[] {
  const out: Frame[] = [];
  replayFile(file, (buf, caplen, wire, ts, linkType, _h, at = 0) => out.push({ data: Buffer.from(buf.subarray(at, at + caplen)), wire, ts, linkType }));
  return out;
}

/** One mutation of `f`, chosen by `rand`. */
export function mutate(f: Frame, rand: () => number): Frame {
  const data = Buffer.from(f.data);
  const at = (limit: number): number => Math.floor(rand() * Math.max(1, Math.min(limit, data.length)));
  const r = rand();
  let caplen = data.length;
  if (r < 0.3) {
    for (let i = 1 + Math.floor(rand() * 6); i > 0; i--) data[at(data.length)] ^= 1 << Math.floor(rand() * 8);
  } else if (r < 0.5) {
    // Headers: link, IP, TCP/UDP (the first 80 bytes).
    for (let i = 1 + Math.floor(rand() * 4); i > 0; i--) data[at(80)] = Math.floor(rand() * 256);
  } else if (r < 0.75) {
    // Payloads: DNS records, TLS / HTTP first bytes, QUIC Initials.
    const from = Math.min(data.length, 40 + Math.floor(rand() * 40));
    for (let i = 1 + Math.floor(rand() * 8); i > 0 && from < data.length; i--) data[from + Math.floor(rand() * (data.length - from))] = Math.floor(rand() * 256);
  } else {
    caplen = Math.floor(rand() * data.length);
  }
  return { data: data.subarray(0, caplen), wire: rand() < 0.5 ? f.wire : data.length, ts: f.ts, linkType: f.linkType };
}


/**
 * The frames as captured, then `rounds` rounds of them mutated; in a mutated round 2% of the
 * frames with time stepping back (up to a minute), and 2% fed twice.
 */
export function* chaosRounds(frames: Frame[], rounds: number, rand: () => number): Generator<Frame> {
  yield* frames;
  for (let round = 0; round < rounds; round++) {
    for (const f of frames) {
      const m = mutate(f, rand);
      yield rand() < 0.02 ? { ...m, ts: m.ts - 60_000 * rand() } : m;
      if (rand() < 0.02) yield m;
    }
  }
}
