// pcap-file.ts, the replay's own reader of classic pcap files, against libpcap (replayFile with
// `libpcap: true`) as the reference: the same records (bytes, lengths, time, link type), the same
// result, over every capture of the shared corpus, over the pcap variants Wireshark's editcap
// writes, and over files written here in the byte orders and timestamp units libpcap reads, cut
// short, with records past the snap length, large enough that records straddle the reader's
// chunks, and 400 random ones; a paused read resumes at its offset.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pcapFileHeader } from '../../lib/capture/pcap-file.js';
import { CORPUS_DIR, corpusFile, haveCommand, requirePrereq } from '../helpers/env.js';
import { delivered, deliveredByLibpcap, deliveredPaused } from '../helpers/capture-readers.js';

interface Rec { sec: number; frac: number; data: Buffer; wire?: number }

/** A classic pcap in either byte order, µs or ns units, with the given header fields. */
function writeClassic(file: string, recs: Rec[], o: { be?: boolean; ns?: boolean; snap?: number; linkType?: number; minor?: number } = {}): void {
  const u32 = (b: Buffer, v: number, at: number): void => { if (o.be) b.writeUInt32BE(v >>> 0, at); else b.writeUInt32LE(v >>> 0, at); };
  const u16 = (b: Buffer, v: number, at: number): void => { if (o.be) b.writeUInt16BE(v, at); else b.writeUInt16LE(v, at); };
  const head = Buffer.alloc(24);
  u32(head, o.ns ? 0xa1b23c4d : 0xa1b2c3d4, 0);
  u16(head, 2, 4);
  u16(head, o.minor ?? 4, 6);
  u32(head, o.snap ?? 262144, 16);
  u32(head, o.linkType ?? 1, 20);
  const parts: Buffer[] = [head];
  for (const r of recs) {
    const h = Buffer.alloc(16);
    u32(h, r.sec, 0);
    u32(h, r.frac, 4);
    u32(h, r.data.length, 8);
    u32(h, r.wire ?? r.data.length, 12);
    parts.push(h, r.data);
  }
  fs.writeFileSync(file, Buffer.concat(parts));
}

/** Deterministic records of 0 to `max` bytes with distinct contents. */
function records(n: number, max: number, seed = 1): Rec[] {
  let x = seed;
  const next = (): number => { x = (Math.imul(x, 1103515245) + 12345) >>> 0; return x; };
  return Array.from({ length: n }, (_, i) => {
    const len = next() % (max + 1);
    const data = Buffer.alloc(len);
    for (let j = 0; j < len; j++) data[j] = (next() >>> 24) ^ i;
    return { sec: 1_700_000_000 + i, frac: next() % 1_000_000, data, wire: len + (i % 5 === 0 ? 40 : 0) };
  });
}

describe('capture: the replay\'s own pcap reader (pcap-file.ts) against libpcap', function () {
  this.timeout(120_000);
  let dir = '';
  before(() => { dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ew-pcapfile-')); });
  after(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('takes classic pcap 2.4 only, in both byte orders and both time units', () => {
    const head = (fill: (b: Buffer) => void): Buffer => { const b = Buffer.alloc(24); fill(b); return b; };
    const le = head((b) => { b.writeUInt32LE(0xa1b2c3d4, 0); b.writeUInt16LE(2, 4); b.writeUInt16LE(4, 6); b.writeUInt32LE(0, 16); b.writeUInt32LE(101, 20); });
    assert.deepEqual(pcapFileHeader(le), { littleEndian: true, nanos: false, linkType: 12, snapLength: 262144 });
    const be = head((b) => { b.writeUInt32BE(0xa1b23c4d, 0); b.writeUInt16BE(2, 4); b.writeUInt16BE(4, 6); b.writeUInt32BE(96, 16); b.writeUInt32BE(0x14000071, 20); });
    assert.deepEqual(pcapFileHeader(be), { littleEndian: false, nanos: true, linkType: 113, snapLength: 96 });
    assert.equal(pcapFileHeader(le.subarray(0, 23)), undefined, 'short');
    assert.equal(pcapFileHeader(head((b) => { b.writeUInt32LE(0x0a0d0d0a, 0); })), undefined, 'pcapng');
    assert.equal(pcapFileHeader(head((b) => { b.writeUInt32LE(0xa1b2cd34, 0); b.writeUInt16LE(2, 4); b.writeUInt16LE(4, 6); })), undefined, 'modified pcap');
    assert.equal(pcapFileHeader(head((b) => { b.writeUInt32LE(0xa1b2c3d4, 0); b.writeUInt16LE(2, 4); b.writeUInt16LE(3, 6); })), undefined, 'version 2.3');
    assert.equal(pcapFileHeader(head((b) => { b.writeUInt32LE(0xa1b2c3d4, 0); b.writeUInt16LE(2, 4); b.writeUInt16LE(4, 6); b.writeUInt32LE(0x00300001, 20); })), undefined, 'reserved bits');
  });

  it('every capture of the shared corpus: the records and the result libpcap gives', function () {
    requirePrereq(this, fs.existsSync(corpusFile('manifest.tsv')), `packet corpus at ${CORPUS_DIR}`);
    const files: string[] = [];
    const walk = (d: string): void => {
      for (const e of fs.readdirSync(d, { withFileTypes: true })) {
        if (e.isDirectory()) walk(path.join(d, e.name));
        else if (/\.(pcap|cap|pcapng|dmp)$/.test(e.name)) files.push(path.join(d, e.name));
      }
    };
    walk(CORPUS_DIR);
    let ours = 0;
    for (const f of files) {
      const head = Buffer.alloc(24);
      const fd = fs.openSync(f, 'r');
      const got = fs.readSync(fd, head, 0, 24, 0);
      fs.closeSync(fd);
      if (pcapFileHeader(head.subarray(0, got)) !== undefined) ours++;
      const a = deliveredByLibpcap(f);
      const b = delivered(f);
      const rel = path.relative(CORPUS_DIR, f);
      assert.equal(b.count, a.count, rel);
      assert.equal(b.digest, a.digest, rel);
      assert.deepEqual(b.result, a.result, rel);
    }
    assert.ok(ours > 100, `classic pcap files read by pcap-file.ts: ${ours} of ${files.length}`);
  });

  for (const variant of [{}, { be: true }, { ns: true }, { be: true, ns: true }, { linkType: 101 }, { linkType: 276 }]) {
    it(`a file of ${JSON.stringify(variant)}: the same records, times and link type`, () => {
      const file = path.join(dir, 'variant.pcap');
      const recs = records(300, 1500);
      if (variant.ns) for (const r of recs) r.frac = r.frac * 1000 + 999;
      writeClassic(file, recs, variant);
      const a = deliveredByLibpcap(file);
      const b = delivered(file);
      assert.equal(a.count, 300);
      assert.equal(b.digest, a.digest);
      assert.deepEqual(b.result, a.result);
    });
  }

  it('a file cut in a record header or in a record: the records before, readError, as libpcap', () => {
    const file = path.join(dir, 'cut.pcap');
    writeClassic(file, records(20, 200, 3));
    const size = fs.statSync(file).size;
    for (const cut of [1, 5, 15, 16, 17, 100]) {
      fs.truncateSync(file, size - cut);
      const a = deliveredByLibpcap(file);
      const b = delivered(file);
      assert.equal(b.digest, a.digest, `cut ${cut}`);
      assert.deepEqual(b.result, a.result, `cut ${cut}`);
      writeClassic(file, records(20, 200, 3));
    }
    fs.truncateSync(file, 24);
    assert.deepEqual(delivered(file).result, { packets: 0, linkType: 1, readError: false });
  });

  it('records longer than the snap length, or than libpcap takes at all: libpcap reads on from the first of them', () => {
    const file = path.join(dir, 'snap.pcap');
    for (const long of [200, 300_000]) {
      const recs = records(50, 120, 5);
      recs[30].data = Buffer.alloc(long, 7);
      writeClassic(file, recs, { snap: 150 });
      const a = deliveredByLibpcap(file);
      const b = delivered(file);
      assert.ok(a.count >= 30, `${long}: ${a.count} records`);
      assert.equal(b.count, a.count, `${long}`);
      assert.equal(b.digest, a.digest, `${long}`);
      assert.deepEqual(b.result, a.result, `${long}`);
    }
  });

  it('a file of many chunks read whole, and in pauses resumed at their offsets', () => {
    const file = path.join(dir, 'big.pcap');
    const recs = records(9000, 1600, 9);
    recs[4000].data = Buffer.alloc(262144, 1); // the largest record libpcap takes, across a chunk's end
    writeClassic(file, recs);
    assert.ok(fs.statSync(file).size > 3 * (1 << 20));
    const whole = deliveredByLibpcap(file);
    assert.equal(whole.count, 9000);
    assert.equal(delivered(file).digest, whole.digest);
    // Paused every third check (every 3,072 records), each part resumed at the offset the last gave.
    const r = deliveredPaused(file, 3);
    assert.equal(r.paused.length + 1, 3, 'parts');
    assert.equal(r.last.packets, 9000);
    r.paused.forEach((p, i) => assert.ok(p.offset !== undefined && p.offset > (r.paused[i - 1]?.offset ?? 24)));
    assert.equal(r.digest, whole.digest);
  });

  it('400 random files (byte order, units, snap lengths, odd record lengths, cut ends): what libpcap delivers', () => {
    let x = 12345;
    const next = (n: number): number => { x = (Math.imul(x, 1103515245) + 12345) >>> 0; return (x >>> 8) % n; };
    const file = path.join(dir, 'random.pcap');
    let handedOff = 0;
    let cut = 0;
    for (let round = 0; round < 400; round++) {
      const snap = [0, 64, 1500, 65535, 262144, 262145, 0x7fffffff][next(7)];
      const recs: Rec[] = [];
      for (let i = next(40); i > 0; i--) {
        // Mostly under the snap length; now and then past it, past libpcap's maximum, or empty.
        const pick = next(20);
        const len = pick === 0 ? 0 : pick === 1 ? Math.min(snap || 262144, 262144) + 1 + next(100) : pick === 2 ? 262144 + next(10) : next(Math.min(snap || 2000, 2000) + 1);
        if (pick === 1 || pick === 2) handedOff++;
        recs.push({ sec: next(2_000_000_000), frac: next(1_000_000_000), data: Buffer.alloc(len, round & 0xff), wire: len + next(3) * 100 });
      }
      writeClassic(file, recs, { be: next(2) === 0, ns: next(2) === 0, snap, linkType: [1, 101, 113, 276, 0][next(5)] });
      if (next(4) === 0) {
        fs.truncateSync(file, Math.max(24, fs.statSync(file).size - 1 - next(40)));
        cut++;
      }
      const a = deliveredByLibpcap(file);
      const b = delivered(file);
      assert.equal(b.count, a.count, `round ${round}`);
      assert.equal(b.digest, a.digest, `round ${round}`);
      assert.deepEqual(b.result, a.result, `round ${round}`);
    }
    assert.ok(handedOff > 50 && cut > 50, `records left to libpcap ${handedOff}, files cut ${cut}`);
  });

  it('files Wireshark\'s editcap writes (pcap, nanosecond pcap, the modified and vendor variants): what libpcap delivers', function () {
    requirePrereq(this, haveCommand('editcap'), 'editcap (Wireshark)');
    requirePrereq(this, fs.existsSync(corpusFile('manifest.tsv')), `packet corpus at ${CORPUS_DIR}`);
    const sources = ['zeek/http__cooper-grill-dvwa.pcapng', 'zeek/pcapng-multi-interface.pcapng', 'zeek/vlan-pcp-dei.pcapng', 'zeek/dns-https.pcap'];
    let ours = 0;
    for (const src of sources) {
      for (const format of ['pcap', 'nsecpcap', 'modpcap', 'nokiapcap', 'rh6_1pcap']) {
        const file = path.join(dir, `${path.basename(src)}.${format}`);
        execFileSync('editcap', ['-F', format, corpusFile(src), file]);
        if (pcapFileHeader(fs.readFileSync(file).subarray(0, 24)) !== undefined) ours++;
        const a = deliveredByLibpcap(file);
        const b = delivered(file);
        assert.ok(a.count > 0, `${file}: ${a.count} records`);
        assert.equal(b.digest, a.digest, file);
        assert.deepEqual(b.result, a.result, file);
      }
    }
    assert.ok(ours >= 12, `files read by pcap-file.ts: ${ours}`);
  });

  it('a file that cannot be opened: the CaptureError of a missing file', () => {
    const r = delivered(path.join(dir, 'missing.pcap'));
    assert.match(String(r.result), /^cannot open capture file .*missing\.pcap/);
  });
});
