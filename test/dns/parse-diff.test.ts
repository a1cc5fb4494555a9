// The hand-written parser against the dns-packet based one it replaced (reference-parse.ts),
// message by message: same result, same counters. Messages are built here with compression
// pointers, mixed case, odd bytes in labels (dots, non-ASCII, a trailing dot) and CNAME
// chains, then corrupted at random, so every path of the name reader meets its reference.
import assert from 'node:assert/strict';
import { DnsStats, parseDnsResponse } from '../../lib/dns/index.js';
import { addressToString } from '../../lib/decode/index.js';
import { referenceParse } from './reference-parse.js';

type Rnd = () => number;

function prng(seed: number): Rnd {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s >>> 8; // an LCG's low bits repeat with short periods
  };
}

/** Labels of a name; most plain, some with the bytes that need care. */
const LABELS = ['www', 'WWW', 'Example', 'example', 'com', 'net', 'cdn', 'edge1', 'a.b', 'x.', '.', 'k\u212a', 'caf\u00e9', 'CAF\u00c9', 'tab\tx', 'z'];

function randomName(rnd: Rnd): string[] {
  const n = 1 + (rnd() % 4);
  const out: string[] = [];
  for (let i = 0; i < n; i++) out.push(LABELS[rnd() % LABELS.length]);
  return out;
}

/** Message writer: names either as labels or, when seen before, as a pointer to them. */
class Writer {
  bytes: number[] = [];
  private seen = new Map<string, number>();

  u16(v: number): void {
    this.bytes.push((v >> 8) & 0xff, v & 0xff);
  }

  u32(v: number): void {
    this.u16(v >>> 16);
    this.u16(v & 0xffff);
  }

  name(labels: string[], compress: boolean): void {
    for (let i = 0; i < labels.length; i++) {
      const key = labels.slice(i).join('\u0000');
      const at = this.seen.get(key);
      if (compress && at !== undefined && at < 0x3fff) {
        this.u16(0xc000 | at);
        return;
      }
      if (!this.seen.has(key)) this.seen.set(key, this.bytes.length);
      const b = Buffer.from(labels[i], 'utf8');
      this.bytes.push(b.length, ...b);
    }
    this.bytes.push(0);
  }
}

/** A response's header (id 0x1234) with one question, `name` (A, IN), and `answers` records to follow. */
function responseHead(w: Writer, name: string[], answers: number): void {
  for (const v of [0x1234, 0x8180, 1, answers, 0, 0]) w.u16(v);
  w.name(name, false);
  w.u16(1);
  w.u16(1);
}

/**
 * A TXT record owned by the question whose RDATA is `hops` pointers, each to the one before and
 * the first to the question (at 12); returns the offset of the last.
 */
function pointerChain(w: Writer, hops: number): number {
  w.u16(0xc00c);
  w.u16(16);
  w.u16(1);
  w.u32(60);
  w.u16(2 * hops);
  let prev = 12;
  for (let i = 0; i < hops; i++) {
    const here = w.bytes.length;
    w.u16(0xc000 | prev);
    prev = here;
  }
  return prev;
}

/** An A record (TTL 60) whose owner is a pointer to offset `owner`. */
function aRecord(w: Writer, owner: number, ip: number[]): void {
  w.u16(0xc000 | owner);
  w.u16(1);
  w.u16(1);
  w.u32(60);
  w.u16(4);
  w.bytes.push(...ip);
}

function randomMessage(rnd: Rnd): Buffer {
  const w = new Writer();
  const compress = rnd() % 3 !== 0;
  const chain = [randomName(rnd)];
  for (let i = rnd() % 4; i > 0; i--) chain.push(randomName(rnd));
  const records: (() => void)[] = [];
  const rr = (owner: string[], type: number, klass: number, rdata: () => void) => () => {
    w.name(owner, compress);
    w.u16(type);
    w.u16(klass);
    w.u32(rnd() % 5 === 0 ? 0x80000000 + (rnd() % 100) : rnd() % 3600);
    const lenAt = w.bytes.length;
    w.u16(0);
    rdata();
    const len = w.bytes.length - lenAt - 2;
    w.bytes[lenAt] = len >> 8;
    w.bytes[lenAt + 1] = len & 0xff;
  };
  const addr = (n: number) => () => {
    for (let i = 0; i < n; i++) w.bytes.push(rnd() % 3 === 0 ? 0 : rnd() & 0xff);
  };
  for (let i = 0; i + 1 < chain.length; i++) records.push(rr(chain[i], 5, 1, () => w.name(chain[i + 1], compress)));
  const owners = [...chain, randomName(rnd)];
  for (let i = 1 + (rnd() % 4); i > 0; i--) {
    const owner = owners[rnd() % owners.length];
    const kind = rnd() % 6;
    if (kind === 0) records.push(rr(owner, 28, 1, addr(16)));
    else if (kind === 1) records.push(rr(owner, 1, 0x8001, addr(4)));
    else if (kind === 2) records.push(rr(owner, 1, 3, addr(4)));
    else if (kind === 3) records.push(rr(owner, 16, 1, addr(rnd() % 6)));
    else records.push(rr(owner, 1, 1, addr(4)));
  }
  if (rnd() % 4 === 0) records.push(rr(chain[0], 5, 1, () => w.name(chain[0], compress))); // a loop
  for (let i = records.length - 1; i > 0; i--) {
    const j = rnd() % (i + 1);
    [records[i], records[j]] = [records[j], records[i]];
  }
  const extra = rnd() % 3;
  const questions = rnd() % 8 === 0 ? 0 : 1;
  w.u16(rnd() & 0xffff);
  w.u16(0x8180 | (rnd() % 8 === 0 ? 3 : 0));
  w.u16(questions);
  w.u16(records.length);
  w.u16(0);
  w.u16(extra);
  if (questions === 1) {
    w.name(chain[0], compress);
    w.u16(1);
    w.u16(1);
  }
  for (const r of records) r();
  for (let i = 0; i < extra; i++) rr(randomName(rnd), 1, 1, addr(4))();
  return Buffer.from(w.bytes);
}

function counters(stats: DnsStats): Record<string, unknown> {
  return { ...stats, malformed: { ...stats.malformed } };
}

describe('dns/parseDnsResponse against the dns-packet based reference', () => {
  it('gives the same result and counters for 20,000 built messages, whole and corrupted', () => {
    const rnd = prng(0xd15);
    const mine = new DnsStats();
    const ref = new DnsStats();
    let answers = 0;
    let corrupted = 0;
    for (let i = 0; i < 20_000; i++) {
      const msg = randomMessage(rnd);
      const at = 5 + (rnd() % 30);
      const buf = Buffer.alloc(at + msg.length + 9, 0xc0);
      msg.copy(buf, at);
      let len = msg.length;
      if (i % 2 === 1) {
        corrupted++;
        for (let k = 1 + (rnd() % 3); k > 0; k--) buf[at + (rnd() % msg.length)] = rnd() & 0xff;
        if (rnd() % 3 === 0) len = rnd() % (msg.length + 1);
      }
      const a = parseDnsResponse(buf, at, len, mine);
      const b = referenceParse(buf, at, len, ref);
      assert.deepEqual(a, b, `message ${i}: ${buf.subarray(at, at + len).toString('hex')}`);
      answers += a?.answers.length ?? 0;
    }
    assert.deepEqual(counters(mine), counters(ref));
    // The walk must have met every outcome, or the comparison proves little.
    assert.ok(answers > 5000, `answers ${answers}`);
    assert.ok(corrupted === 10_000);
    for (const k of ['answers-truncated', 'answers-name-bad-pointer', 'bad-rdlength', 'truncated', 'name-bad-label']) {
      assert.ok((mine.malformed[k] ?? 0) > 0, `no ${k} in ${JSON.stringify(mine.malformed)}`);
    }
    assert.ok(mine.cnameLoops > 0 && mine.offChainAddresses > 0 && mine.noQuestion > 0, JSON.stringify(counters(mine)));
  });

  it('names an address whose owner takes 128 pointer hops, and counts 129 as a bad pointer', () => {
    for (const hops of [127, 128]) {
      // Question x.example.com; a TXT record whose RDATA is a chain of pointers, each to the
      // one before and the first to the question; then an A record owned by the last pointer.
      const w = new Writer();
      responseHead(w, ['x', 'example', 'com'], 2);
      aRecord(w, pointerChain(w, hops), [192, 0, 2, 1]); // one more hop: the owner's own pointer
      const msg = Buffer.from(w.bytes);
      const stats = new DnsStats();
      const info = parseDnsResponse(msg, 0, msg.length, stats);
      if (hops === 127) {
        assert.deepEqual(info?.answers, [{ ip: '192.0.2.1', ttl: 60, chain: ['x.example.com'] }]);
        assert.deepEqual(info, referenceParse(msg, 0, msg.length, new DnsStats()));
      } else {
        // dns-packet follows any number of backward pointers; 129 hops is our own bound.
        assert.deepEqual(info?.answers, []);
        assert.equal(stats.malformed['answers-name-bad-pointer'], 1);
      }
    }
  });

  it('a pointer to a name read with 128 hops is a bad pointer, though that name was kept', () => {
    // As above with 127 pointers: the first A record's owner takes 128 hops (kept); a second A
    // record owned by a pointer to that owner would take 129, whatever was kept.
    const w = new Writer();
    responseHead(w, ['x', 'example', 'com'], 3);
    const last = pointerChain(w, 127);
    const owner = w.bytes.length;
    aRecord(w, last, [192, 0, 2, 1]);
    aRecord(w, owner, [192, 0, 2, 2]);
    const msg = Buffer.from(w.bytes);
    const stats = new DnsStats();
    const info = parseDnsResponse(msg, 0, msg.length, stats);
    assert.deepEqual(info?.answers, [{ ip: '192.0.2.1', ttl: 60, chain: ['x.example.com'] }]);
    assert.equal(stats.malformed['answers-name-bad-pointer'], 1);
  });

  it('a CNAME record dropped for its RDLENGTH leaves the question it points to kept', () => {
    // Owners are pointers to the question (kept): the CNAME's target ends before its RDATA does
    // (dropped, bad-rdlength), and the A records after it still name the question.
    const w = new Writer();
    responseHead(w, ['www', 'example', 'com'], 3);
    w.u16(0xc00c);
    for (const v of [5, 1]) w.u16(v);
    w.u32(300);
    w.u16(7); // the target below takes 5 bytes: 2 left over
    w.name(['cdn'], false);
    w.bytes.push(0, 0);
    aRecord(w, 12, [192, 0, 2, 7]);
    aRecord(w, 12, [192, 0, 2, 8]);
    const msg = Buffer.from(w.bytes);
    const stats = new DnsStats();
    const info = parseDnsResponse(msg, 0, msg.length, stats);
    assert.deepEqual(info, referenceParse(msg, 0, msg.length, new DnsStats()));
    assert.equal(stats.malformed['bad-rdlength'], 1);
    assert.deepEqual(info?.answers.map((x) => [x.ip, x.chain]), [['192.0.2.7', ['www.example.com']], ['192.0.2.8', ['www.example.com']]]);
  });

  it('gives decode\'s address text for 40,000 random IPv4 answers (the address memo never mixes them up)', () => {
    const rnd = prng(7);
    const stats = new DnsStats();
    for (let i = 0; i < 40_000; i++) {
      const w = new Writer();
      w.u16(i & 0xffff);
      w.u16(0x8180);
      w.u16(1);
      w.u16(1);
      w.u16(0);
      w.u16(0);
      w.name(['h', 'example', 'org'], false);
      w.u16(1);
      w.u16(1);
      w.u16(0xc00c);
      w.u16(1);
      w.u16(1);
      w.u32(30);
      w.u16(4);
      // Few distinct high bytes, so many addresses land in the same memo slots.
      const ip = [rnd() % 3, rnd() & 0xff, rnd() % 4, rnd() & 0xff];
      w.bytes.push(...ip);
      const msg = Buffer.from(w.bytes);
      const info = parseDnsResponse(msg, 0, msg.length, stats);
      assert.equal(info?.answers[0].ip, addressToString(Buffer.from(ip), 0, 4));
    }
    assert.equal(stats.answers, 40_000);
  });
});
