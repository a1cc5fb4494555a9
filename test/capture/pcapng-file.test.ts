// pcapng-file.ts, the replay's own reader of pcapng files in their usual form, against libpcap
// (replayFile with `libpcap: true`) as the reference: the same packets (bytes, lengths, time,
// link type) and the same result, over every pcapng of the corpus, over every classic capture
// of the corpus as editcap writes it in pcapng, over files written here (both byte orders,
// micro- and nanosecond units, timestamps past 2^53 units, the forms it leaves to libpcap: a
// second section, another link type, other resolutions, simple packets, a packet past the snap
// length, no interface, a block cut short), 300 randomly damaged ones, and paused reads that go on
// from where they stopped.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { isPlainPcapng, readPcapngFile } from '../../lib/capture/pcapng-file.js';
import { CORPUS_DIR, corpusFile, haveCommand, requirePrereq } from '../helpers/env.js';
import { delivered, deliveredByLibpcap, deliveredPaused, pcapngBlock, words } from '../helpers/capture-readers.js';

/** Whether pcapng-file.ts reads `file` to its end by itself (no block left to libpcap). */
function ours(file: string): boolean {
  const head = fs.readFileSync(file).subarray(0, 24);
  return isPlainPcapng(head) && !readPcapngFile(file, () => undefined).handOff;
}

function same(file: string, what = file): void {
  const a = deliveredByLibpcap(file);
  const b = delivered(file);
  assert.equal(b.count, a.count, what);
  assert.equal(b.digest, a.digest, what);
  assert.deepEqual(b.result, a.result, what);
}

function shb(le: boolean, minor = 0): Buffer {
  const body = Buffer.alloc(16);
  if (le) { body.writeUInt32LE(0x1a2b3c4d, 0); body.writeUInt16LE(1, 4); body.writeUInt16LE(minor, 6); } else { body.writeUInt32BE(0x1a2b3c4d, 0); body.writeUInt16BE(1, 4); body.writeUInt16BE(minor, 6); }
  body.fill(0xff, 8, 16);
  return pcapngBlock(le, 0x0a0d0d0a, body);
}

function idb(le: boolean, linkType: number, o: { tsresol?: number; snap?: number; tsoffset?: boolean } = {}): Buffer {
  const head = Buffer.alloc(8);
  if (le) { head.writeUInt16LE(linkType, 0); head.writeUInt32LE(o.snap ?? 65535, 4); } else { head.writeUInt16BE(linkType, 0); head.writeUInt32BE(o.snap ?? 65535, 4); }
  const opts: Buffer[] = [];
  const opt = (code: number, value: Buffer): void => {
    const h = Buffer.alloc(4);
    if (le) { h.writeUInt16LE(code, 0); h.writeUInt16LE(value.length, 2); } else { h.writeUInt16BE(code, 0); h.writeUInt16BE(value.length, 2); }
    opts.push(h, value, Buffer.alloc((4 - (value.length % 4)) % 4));
  };
  opt(2, Buffer.from('eth0')); // if_name: an option before the resolution
  if (o.tsresol !== undefined) opt(9, Buffer.from([o.tsresol]));
  if (o.tsoffset) opt(14, Buffer.alloc(8, 1));
  if (opts.length > 0) opts.push(Buffer.alloc(4));
  return pcapngBlock(le, 1, Buffer.concat([head, ...opts]));
}

function epb(le: boolean, iface: number, units: bigint, data: Buffer, wire = data.length): Buffer {
  return pcapngBlock(le, 6, Buffer.concat([words(le, iface, Number(units >> 32n), Number(units & 0xffffffffn), data.length, wire), data]));
}

/** Blocks libpcap skips: name resolution, interface statistics. */
function otherBlocks(le: boolean): Buffer[] {
  return [pcapngBlock(le, 4, Buffer.alloc(4)), pcapngBlock(le, 5, Buffer.concat([words(le, 0, 1, 2), Buffer.alloc(4)]))];
}

function frame(i: number, len = 60 + (i % 50)): Buffer {
  return Buffer.alloc(len, i & 0xff);
}

describe('capture: the replay\'s own pcapng reader (pcapng-file.ts) against libpcap', function () {
  this.timeout(120_000);
  let dir = '';
  before(() => { dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ew-pcapngfile-')); });
  after(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('every pcapng of the corpus, and every classic capture of it as editcap writes it in pcapng', function () {
    requirePrereq(this, fs.existsSync(corpusFile('manifest.tsv')), `packet corpus at ${CORPUS_DIR}`);
    requirePrereq(this, haveCommand('editcap'), 'editcap (Wireshark)');
    const files: string[] = [];
    const walk = (d: string): void => {
      for (const e of fs.readdirSync(d, { withFileTypes: true })) {
        if (e.isDirectory()) walk(path.join(d, e.name));
        else if (/\.(pcap|pcapng)$/.test(e.name)) files.push(path.join(d, e.name));
      }
    };
    walk(CORPUS_DIR);
    let whole = 0;
    for (const f of files) {
      const rel = path.relative(CORPUS_DIR, f);
      let file = f;
      if (f.endsWith('.pcap')) {
        file = path.join(dir, `${rel.replaceAll('/', '__')}.pcapng`);
        try {
          execFileSync('editcap', ['-F', 'pcapng', f, file], { stdio: 'ignore' });
        } catch {
          continue; // a capture editcap cannot read either
        }
      }
      same(file, rel);
      if (ours(file)) whole++;
    }
    assert.ok(whole > 100, `pcapng files read whole by pcapng-file.ts: ${whole}`);
  });

  for (const le of [true, false]) {
    for (const tsresol of [undefined, 6, 9]) {
      it(`${le ? 'little' : 'big'}-endian, if_tsresol ${tsresol ?? 'absent'}: the same packets and times, skipped blocks between`, () => {
        const file = path.join(dir, 'plain.pcapng');
        const parts = [shb(le), idb(le, 1, { tsresol }), idb(le, 1, { tsresol: tsresol === 9 ? 6 : 9 })];
        const unit = tsresol === 9 ? 1_000_000_000n : 1_000_000n;
        for (let i = 0; i < 200; i++) {
          // Times from 1970 to past 2^53 units (nanoseconds since 2255), on both interfaces.
          const units = BigInt(i) * 123_456_789_123n * unit / 1000n + BigInt(i * 977);
          parts.push(epb(le, i % 2, units, frame(i), 1500));
          if (i % 37 === 0) parts.push(...otherBlocks(le));
        }
        fs.writeFileSync(file, Buffer.concat(parts));
        assert.equal(ours(file), true);
        same(file);
        assert.equal(delivered(file).count, 200);
      });
    }
  }

  const leftToLibpcap: [string, (le: boolean) => Buffer[]][] = [
    ['a second section', (le) => [shb(le), idb(le, 1), epb(le, 0, 1n, frame(1)), shb(le), idb(le, 1), epb(le, 0, 2n, frame(2))]],
    ['an interface of another link type (libpcap stops, pcapng.ts reads on)', (le) => [shb(le), idb(le, 1), epb(le, 0, 1n, frame(1)), idb(le, 101), epb(le, 1, 2n, frame(2)), epb(le, 0, 3n, frame(3))]],
    ['an interface of another snap length (libpcap stops, pcapng.ts reads on)', (le) => [shb(le), idb(le, 1, { tsresol: 9 }), epb(le, 0, 1_700_000_000_123_456_789n, frame(1)), idb(le, 1, { snap: 1000 }), epb(le, 1, 2n, frame(2)), epb(le, 0, 1_700_000_000_987_654_321n, frame(3))]],
    ['millisecond and binary resolutions', (le) => [shb(le), idb(le, 1, { tsresol: 3 }), idb(le, 1, { tsresol: 0x94 }), epb(le, 0, 123456n, frame(1)), epb(le, 1, 1n << 40n, frame(2))]],
    ['a time offset', (le) => [shb(le), idb(le, 1, { tsoffset: true }), epb(le, 0, 5n, frame(1))]],
    ['a simple packet block', (le) => [shb(le), idb(le, 1), epb(le, 0, 1n, frame(1)), pcapngBlock(le, 3, Buffer.concat([words(le, 80), frame(2, 80)]))]],
    ['a packet longer than the snap length', (le) => [shb(le), idb(le, 1, { snap: 64 }), epb(le, 0, 1n, frame(1, 60)), epb(le, 0, 2n, frame(2, 100)), epb(le, 0, 3n, frame(3, 60))]],
    ['a packet of an interface not described', (le) => [shb(le), idb(le, 1), epb(le, 0, 1n, frame(1)), epb(le, 3, 2n, frame(2))]],
    ['no interface at all', (le) => [shb(le)]],
    ['a packet before any interface', (le) => [shb(le), epb(le, 0, 1n, frame(1)), idb(le, 1)]],
    ['section version 1.2', (le) => [shb(le, 2), idb(le, 1), epb(le, 0, 1n, frame(1))]],
  ];
  for (const [what, make] of leftToLibpcap) {
    it(`${what}: left to libpcap from there, the same result`, () => {
      for (const le of [true, false]) {
        const file = path.join(dir, 'odd.pcapng');
        fs.writeFileSync(file, Buffer.concat(make(le)));
        same(file, `${what} (${le ? 'LE' : 'BE'})`);
      }
    });
  }

  it('a file cut inside a block, anywhere: the packets before it and libpcap\'s verdict', () => {
    const file = path.join(dir, 'cut.pcapng');
    const whole = Buffer.concat([shb(true), idb(true, 1, { tsresol: 9 }), ...Array.from({ length: 30 }, (_, i) => epb(true, 0, BigInt(i) * 1_000_000_007n, frame(i)))]);
    for (let size = 0; size <= whole.length; size += 7) {
      fs.writeFileSync(file, whole.subarray(0, size));
      same(file, `cut at ${size}`);
    }
  });

  it('300 randomly damaged files (a byte changed in lengths, types, options, times): what libpcap delivers', () => {
    let x = 99;
    const next = (n: number): number => { x = (Math.imul(x, 1103515245) + 12345) >>> 0; return (x >>> 8) % n; };
    const file = path.join(dir, 'damaged.pcapng');
    for (let round = 0; round < 300; round++) {
      const le = next(2) === 0;
      const parts = [shb(le), idb(le, [1, 101, 113][next(3)], { tsresol: [undefined, 6, 9][next(3)], snap: [0, 200, 65535][next(3)] })];
      for (let i = next(20); i > 0; i--) parts.push(next(8) === 0 ? otherBlocks(le)[next(2)] : epb(le, 0, BigInt(next(1 << 30)) * 1_000_003n, frame(i, next(180))));
      const buf = Buffer.concat(parts);
      for (let k = next(3) + 1; k > 0; k--) buf[28 + next(buf.length - 28)] = next(256); // past the section header
      fs.writeFileSync(file, buf);
      same(file, `round ${round}`);
    }
  });

  /**
   * replayFile paused at every other check and resumed as the replay resumes: the digest, how
   * many reads it took, the packets, and the offset each paused read of our own reader gave.
   */
  function pausedRead(file: string): { digest: string; reads: number; packets: number; resumedAt: number[] } {
    const r = deliveredPaused(file, 2);
    const resumedAt = r.paused.map((p, i) => {
      assert.ok(p.pcapng !== undefined && p.pcapng.offset > (r.paused[i - 1]?.pcapng?.offset ?? 0), 'a paused read says where it stopped');
      return p.pcapng.offset;
    });
    return { digest: r.digest, reads: r.paused.length + 1, packets: r.last.packets, resumedAt };
  }

  it('a paused read goes on from the block where it stopped: the same packets as one read', () => {
    const file = path.join(dir, 'big.pcapng');
    const parts = [shb(true), idb(true, 1)];
    for (let i = 0; i < 5000; i++) parts.push(epb(true, 0, BigInt(1_700_000_000_000_000 + i * 1000), frame(i, 200 + (i % 1300))));
    fs.writeFileSync(file, Buffer.concat(parts));
    assert.ok(fs.statSync(file).size > 2 * (1 << 20));
    const whole = deliveredByLibpcap(file);
    const r = pausedRead(file);
    assert.equal(r.reads, 3);
    assert.equal(r.packets, 5000);
    assert.equal(r.digest, whole.digest);
    // Each resumed read starts at its offset: read from there alone, the file's rest is what it delivers.
    const rest = readPcapngFile(file, () => undefined, { from: { offset: r.resumedAt[0], section: { littleEndian: true, linkType: 1, divisors: [1e6], snapLengths: [65535] } } });
    assert.equal(rest.packets, 5000 - 2048);
    assert.equal(rest.handOff, false);
  });

  it('a paused read of a big-endian file with interfaces of both resolutions keeps them when it goes on', () => {
    const file = path.join(dir, 'big-be.pcapng');
    const parts = [shb(false), idb(false, 1, { tsresol: 9 }), idb(false, 1)];
    for (let i = 0; i < 3000; i++) {
      if (i === 1500) parts.push(idb(false, 1, { tsresol: 6 })); // described after the first pause
      const iface = i < 1500 ? i % 2 : i % 3;
      const units = iface === 0 ? BigInt(1_700_000_000_000_000_000 + i * 1_000_123) : BigInt(1_700_000_000_000_000 + i * 1000);
      parts.push(epb(false, iface, units, frame(i, 100 + (i % 800))));
      if (i % 500 === 0) parts.push(...otherBlocks(false));
    }
    fs.writeFileSync(file, Buffer.concat(parts));
    assert.equal(ours(file), true);
    const r = pausedRead(file);
    assert.equal(r.reads, 2);
    assert.equal(r.digest, deliveredByLibpcap(file).digest);
  });

  it('a paused read that meets a block left to libpcap after it goes on: libpcap reads the rest, the same packets', () => {
    const file = path.join(dir, 'big-then-section.pcapng');
    const parts = [shb(true), idb(true, 1)];
    for (let i = 0; i < 2500; i++) parts.push(epb(true, 0, BigInt(1_700_000_000_000_000 + i * 1000), frame(i)));
    parts.push(shb(true), idb(true, 1)); // a second section: libpcap's
    for (let i = 2500; i < 2600; i++) parts.push(epb(true, 0, BigInt(1_700_000_000_000_000 + i * 1000), frame(i)));
    fs.writeFileSync(file, Buffer.concat(parts));
    const whole = deliveredByLibpcap(file);
    assert.equal(whole.count, 2600);
    const r = pausedRead(file);
    assert.equal(r.packets, 2600);
    assert.equal(r.digest, whole.digest);
  });
});
