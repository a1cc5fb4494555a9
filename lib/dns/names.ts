// DNS names (RFC 1035 §3.1, §4.1.4) read straight from the capture buffer into a reused
// byte arena: lower-case, dotted, no final dot, the same text dns-packet's name decoder +
// toLowerCase() gave before (kept as the reference in test/dns/reference-parse.ts). Names
// are compared as bytes in the arena; a string is made only for a name that is kept
// (the query name and the CNAME chain), with one latin1 toString.
//
// Why not dns-packet's decoder: it built one string per label, joined them, and the caller
// then sliced off the dot and lower-cased: about half of the 8-10 µs a response cost on the
// bench capture (bench/RESULTS.md profile), for names that were mostly only compared.
//
// The checks are dns-packet's, in its order, so the same inputs fail with the same kind:
// a read past `limit` (truncated), a pointer that is not strictly before the start of the
// current segment (bad pointer; so pointer chains always end), reserved label types 0x40 /
// 0x80 (bad label), more than 254 bytes of labels (too long). One check of our own: more
// than 128 pointer hops is a bad pointer. A real encoder never points at a pointer, so a
// name needs at most one hop per label (<= 127); the bound stops a crafted 64 KB message of
// pointer-to-pointer chains from costing tens of thousands of steps per name.
import dnsPacket from 'dns-packet';

/** Negative statuses of the readers; `statusKind` gives the malformed-counter key. */
export const E_TRUNCATED = -1;
export const E_BAD_POINTER = -2;
export const E_BAD_LABEL = -3;
export const E_TOO_LONG = -4;

const KINDS = ['', 'truncated', 'name-bad-pointer', 'name-bad-label', 'name-too-long'];

/** Counter key of a negative status. */
export function statusKind(status: number): string {
  return KINDS[-status] ?? 'truncated';
}

const MAX_NAME_WIRE = 254;
const MAX_HOPS = 128;
const DOT = 0x2e;
const ARENA_BYTES = 8192;
/** Byte → byte with ASCII A-Z lower-cased (RFC 4343); every other byte as it is. */
const LOWER = new Uint8Array(256).map((_, b) => (b >= 0x41 && b <= 0x5a ? b | 0x20 : b));
/** An arena grown past this by a huge message is dropped after the message. */
const ARENA_KEEP = 65536;
/** Kept names a message's later names may point to and be taken for without a read (NameTable.read). */
const KEPT_AT = 16;

// dns-packet exports its name codec (`exports.name`) but @types/dns-packet does not declare it.
// Used only for names with non-ASCII bytes, whose text is UTF-8 decoded per label and then
// Unicode lower-cased: rare, and easiest to keep exact by asking the same code.
interface NameDecode {
  (buf: Buffer, offset: number): string;
}
const nameDecode = (dnsPacket as unknown as { name: { decode: NameDecode } }).name.decode;

// Buffer's own latin1 decoder without toString()'s encoding dispatch and argument checks
// (about a third of a short name's toString cost); present on every Buffer since Node 0.x.
type Latin1Slicer = Buffer & { latin1Slice(start: number, end: number): string };

/**
 * The names of one message. A name is an id: its bytes are arena[start[id], start[id] + len[id]).
 * Reused across messages (reset() per message); never shared between two messages at once.
 */
export class NameTable {
  arena = Buffer.allocUnsafe(ARENA_BYTES);
  /** First free arena byte; the last read name sits here until add() keeps it. */
  top = 0;
  /** Length of the last read name, and whether it was all ASCII. */
  lastLen = 0;
  lastAscii = true;
  count = 0;
  start = new Int32Array(64);
  len = new Int32Array(64);
  /** 1 when the name has a byte >= 0x80: compared by its (Unicode lower-cased) text. */
  wide = new Uint8Array(64);
  /** Text of a name once made; set at read time for non-ASCII names. */
  text: (string | undefined)[] = [];
  /**
   * Kept names of this message by where their read began, with the limit that read had and its
   * pointer hops: a later name that is only a pointer to one of those places is that name
   * again (see read()). The first KEPT_AT kept names.
   */
  private readonly keptAt = new Int32Array(KEPT_AT);
  private readonly keptId = new Int32Array(KEPT_AT);
  private readonly keptLimit = new Int32Array(KEPT_AT);
  private readonly keptHops = new Int32Array(KEPT_AT);
  private keptCount = 0;
  /** The last read() named a kept name again: its id, which add() returns; -1 after a read into the arena. */
  private again = -1;
  /** The last add() returned a name kept before: drop() leaves it kept. */
  private addedAgain = false;
  private lastStart = 0;
  private lastLimit = 0;
  private lastHops = 0;

  reset(): void {
    this.top = 0;
    this.count = 0;
    this.keptCount = 0;
    this.again = -1;
    if (this.arena.length > ARENA_KEEP) this.arena = Buffer.allocUnsafe(ARENA_BYTES);
  }

  /**
   * Reads the name at buf[off] of the message at buf[base, limit) into the arena (not yet
   * kept). Returns the offset after the name on the wire, or a negative status.
   *
   * A name that is only a compression pointer to where a kept name's read began (how DNS
   * servers write a record's owner: a pointer to the question, or to the CNAME target before
   * it) is that name: nothing more is read, and add() returns the kept name's id. The outcome
   * is the one a read would give: the pointer points back (a read requires it), the kept read
   * stayed within a limit no larger than this one, and one more hop stays within MAX_HOPS.
   */
  read(buf: Buffer, base: number, off: number, limit: number): number {
    this.again = -1;
    if ((buf[off] & 0xc0) === 0xc0 && off + 1 < limit) {
      const jump = base + (((buf[off] & 0x3f) << 8) | buf[off + 1]);
      for (let i = 0; i < this.keptCount; i++) {
        if (this.keptAt[i] === jump && jump < off && this.keptLimit[i] <= limit && this.keptHops[i] < MAX_HOPS) {
          this.again = this.keptId[i];
          return off + 2;
        }
      }
    }
    if (this.top + 256 > this.arena.length) this.grow();
    const a = this.arena;
    const from = this.top;
    let w = from;
    let p = off;
    let seg = off;
    let total = 0;
    let next = -1;
    let hops = 0;
    let high = 0;
    for (;;) {
      if (p >= limit) return E_TRUNCATED;
      const len = buf[p++];
      if (len === 0) break;
      if ((len & 0xc0) === 0) {
        if (p + len > limit) return E_TRUNCATED;
        total += len + 1;
        if (total > MAX_NAME_WIRE) return E_TOO_LONG;
        if (w !== from) a[w++] = DOT;
        for (const stop = p + len; p < stop; p++) {
          const b = buf[p];
          high |= b;
          a[w++] = LOWER[b];
        }
      } else if ((len & 0xc0) === 0xc0) {
        if (p >= limit) return E_TRUNCATED;
        const jump = base + (((len & 0x3f) << 8) | buf[p]);
        if (jump >= seg || ++hops > MAX_HOPS) return E_BAD_POINTER;
        if (next < 0) next = p + 1;
        p = jump;
        seg = jump;
      } else {
        return E_BAD_LABEL;
      }
    }
    // A last label ending in "." (or a lone ".") loses that dot, as the old trailing-dot
    // strip did: "a." and "a" are the same name to the cache.
    if (w !== from && a[w - 1] === DOT) w--;
    this.lastLen = w - from;
    this.lastAscii = high < 0x80;
    this.lastStart = off;
    this.lastLimit = limit;
    this.lastHops = hops;
    if (!this.lastAscii) this.lastText = slowText(buf, base, off, limit);
    return next >= 0 ? next : p;
  }

  /** Keeps the last read name; returns its id. */
  add(): number {
    if (this.again >= 0) {
      this.addedAgain = true;
      return this.again;
    }
    this.addedAgain = false;
    const id = this.count++;
    if (id === this.start.length) this.growIds();
    this.start[id] = this.top;
    this.len[id] = this.lastLen;
    this.wide[id] = this.lastAscii ? 0 : 1;
    this.text[id] = this.lastAscii ? undefined : this.lastText;
    this.top += this.lastLen;
    const k = this.keptCount;
    if (k < KEPT_AT) {
      this.keptAt[k] = this.lastStart;
      this.keptId[k] = id;
      this.keptLimit[k] = this.lastLimit;
      this.keptHops[k] = this.lastHops;
      this.keptCount = k + 1;
    }
    return id;
  }

  /** Forgets the most recently kept name (a record that turned out bad); one kept before stays. */
  drop(): void {
    if (this.addedAgain) return;
    this.count--;
    this.top = this.start[this.count];
    if (this.keptCount > 0 && this.keptId[this.keptCount - 1] === this.count) this.keptCount--;
  }

  /** Same name (case-insensitively, as DNS compares names). */
  equal(x: number, y: number): boolean {
    if (x === y) return true;
    if ((this.wide[x] | this.wide[y]) !== 0) return this.string(x) === this.string(y);
    const n = this.len[x];
    if (n !== this.len[y]) return false;
    const a = this.arena;
    for (let i = this.start[x], j = this.start[y], e = i + n; i < e; i++, j++) if (a[i] !== a[j]) return false;
    return true;
  }

  /**
   * A 32-bit hash of the name (FNV-1a over its lower-cased bytes; a non-ASCII name over its
   * text), never 0; the empty (root) name hashes to 0. textNameHash gives the same for text.
   */
  hash(id: number): number {
    if (this.wide[id] !== 0) return textNameHash(this.string(id));
    const a = this.arena;
    let h = FNV_OFFSET;
    for (let i = this.start[id], e = i + this.len[id]; i < e; i++) h = Math.imul(h ^ a[i], FNV_PRIME);
    return this.len[id] === 0 ? 0 : (h | 0) || 1;
  }

  /** The name's text (made once per message). */
  string(id: number): string {
    let s = this.text[id];
    if (s === undefined) {
      const from = this.start[id];
      s = (this.arena as Latin1Slicer).latin1Slice(from, from + this.len[id]);
      this.text[id] = s;
    }
    return s;
  }

  private lastText = '';

  private grow(): void {
    const bigger = Buffer.allocUnsafe(this.arena.length * 2);
    this.arena.copy(bigger, 0, 0, this.top);
    this.arena = bigger;
  }

  private growIds(): void {
    const start = new Int32Array(this.start.length * 2);
    start.set(this.start);
    this.start = start;
    const len = new Int32Array(this.len.length * 2);
    len.set(this.len);
    this.len = len;
    const wide = new Uint8Array(this.wide.length * 2);
    wide.set(this.wide);
    this.wide = wide;
  }
}

const FNV_OFFSET = 0x811c9dc5;
const FNV_PRIME = 0x01000193;

/** NameTable.hash of a name given as text (A-Z lower-cased first, as DNS compares names). */
export function textNameHash(name: string): number {
  let h = FNV_OFFSET;
  for (let i = 0; i < name.length; i++) {
    const c = name.charCodeAt(i);
    h = Math.imul(h ^ (c >= 0x41 && c <= 0x5a ? c | 0x20 : c), FNV_PRIME);
  }
  return name.length === 0 ? 0 : (h | 0) || 1;
}

/** Text of a name with non-ASCII bytes, exactly as before: dns-packet's UTF-8 labels, lower-cased. */
function slowText(buf: Buffer, base: number, off: number, limit: number): string {
  const raw = nameDecode(buf.subarray(base, limit), off - base);
  if (raw === '.') return '';
  return (raw.endsWith('.') ? raw.slice(0, -1) : raw).toLowerCase();
}
