// A one-writer, one-reader ring of records in shared memory, for the two threads of a replay
// (split-replay.ts): the reading thread writes what the packets did, the judging thread reads it
// in the same order. Numbers and bytes only: no object or string crosses between the threads.
//
// A record is 8-byte aligned and never wraps: [type and length of its bytes (i32: type | bytes
// << 8), size in bytes (i32), packet number (f64), time (f64), fields (i32 ...), bytes ...]. One that does not fit before the end is
// preceded by a WRAP record (or by nothing, when even its header does not fit) and starts at 0.
// Positions are byte counts since the start, kept modulo 2^32 in the control words; the ring's
// size is a power of two, so a count's place in it is count & (size - 1).

/** Control words (Int32Array over their own SharedArrayBuffer). */
const WRITTEN = 0;
const READ = 1;
/** The reader sleeps on WRITTEN / the writer on READ: the other side must notify. */
const READER_WAITS = 2;
const WRITER_WAITS = 3;
/** STATE: RUNNING, or why a side stopped early (the other side stops waiting and says so). */
const STATE = 4;
/** The reader's beat (seconds, wall clock) while it lets its event loop run: it is alive though READ stands still. */
const BEAT = 5;
const CONTROL_WORDS = 8;

export const RUNNING = 0;
export const READER_FAILED = 1;
export const WRITER_FAILED = 2;
/** The reader neither read nor beat for the writer's stall bound: gone without a word (a thread out of memory runs no handler). */
export const READER_SILENT = 3;

/**
 * How long a writer with no room waits for the reader to read or beat before it gives up. The
 * reader beats every second while it waits for asynchronous work (split-worker.ts).
 */
export const STALL_MS = 60_000;

/** Record header: type, size, packet number, time. */
export const HEADER_BYTES = 24;
const WRAP = 0;
/** How long a side sleeps before it looks at STATE again (the other side may have died). */
const WAIT_SLICE_MS = 200;

export interface RingBuffers {
  data: SharedArrayBuffer;
  control: SharedArrayBuffer;
}

export function makeRing(bytes: number): RingBuffers {
  if (!(bytes >= 4096) || (bytes & (bytes - 1)) !== 0) throw new Error(`ring size must be a power of two >= 4096, got ${bytes}`);
  return { data: new SharedArrayBuffer(bytes), control: new SharedArrayBuffer(CONTROL_WORDS * 4) };
}

/** Thrown by a side that finds the other one stopped (STATE). */
export class RingStopped extends Error {
  constructor(readonly state: number) {
    super(state === READER_FAILED ? 'the judging thread of the replay stopped'
      : state === READER_SILENT ? `the judging thread of the replay stopped answering (nothing read for ${STALL_MS / 1000} s)`
        : 'the reading thread of the replay stopped');
  }
}

class RingViews {
  readonly size: number;
  readonly mask: number;
  readonly i32: Int32Array;
  readonly f64: Float64Array;
  /** The whole ring as one Buffer: a record's bytes are read in place (Buffer view, no copy). */
  readonly buf: Buffer;
  readonly control: Int32Array;

  constructor(r: RingBuffers) {
    this.size = r.data.byteLength;
    this.mask = this.size - 1;
    this.i32 = new Int32Array(r.data);
    this.f64 = new Float64Array(r.data);
    this.buf = Buffer.from(r.data);
    this.control = new Int32Array(r.control);
  }

  /** Marks this side as failed, and wakes the other. */
  fail(state: number): void {
    Atomics.compareExchange(this.control, STATE, RUNNING, state);
    Atomics.notify(this.control, WRITTEN);
    Atomics.notify(this.control, READ);
  }

  get state(): number {
    return Atomics.load(this.control, STATE);
  }
}

export class RingWriter extends RingViews {
  /** `stallMs`: how long to wait for a reader that neither reads nor beats (STALL_MS; tests make it short). */
  constructor(r: RingBuffers, private readonly stallMs = STALL_MS) {
    super(r);
  }

  /** Bytes written (a JS number: exact far beyond 2^32). */
  private written = 0;
  /** Bytes the reader had taken when last looked at. */
  private taken = 0;
  /** Where the record being written starts (byte offset in the ring) and its size. */
  private at = 0;
  private recordBytes = 0;
  private unpublished = 0;

  /**
   * Starts a record of `type` with `fields` 32-bit words and `bytes` bytes, waiting for room;
   * returns the byte offset of its first field. Fill the fields (i32 at (offset >> 2) + k) and
   * the bytes (buf at bytesAt()), then end().
   */
  begin(type: number, packet: number, time: number, fields: number, bytes: number): number {
    const need = (HEADER_BYTES + fields * 4 + bytes + 7) & ~7;
    if (need > this.size >>> 1 || bytes >= 1 << 23) throw new Error(`record of ${need} bytes does not fit the ring (${this.size})`);
    let at = this.written & this.mask;
    if (at + need > this.size) {
      // Does not fit before the end: skip to the start (a WRAP record says so, when its header fits).
      const rest = this.size - at;
      this.room(rest + need);
      if (rest >= 8) {
        this.i32[at >> 2] = WRAP;
        this.i32[(at >> 2) + 1] = rest;
      }
      this.written += rest;
      at = 0;
    } else {
      this.room(need);
    }
    const w = at >> 2;
    this.i32[w] = type | (bytes << 8);
    this.i32[w + 1] = need;
    this.f64[(at >> 3) + 1] = packet;
    this.f64[(at >> 3) + 2] = time;
    this.at = at;
    this.recordBytes = need;
    return at + HEADER_BYTES;
  }

  /** Byte offset of the record's bytes, after its `fields` words. */
  bytesAt(fields: number): number {
    return this.at + HEADER_BYTES + fields * 4;
  }

  end(): void {
    this.written += this.recordBytes;
    if (++this.unpublished >= 64) this.publish();
  }

  /** Lets the reader see every record ended so far. */
  publish(): void {
    this.unpublished = 0;
    Atomics.store(this.control, WRITTEN, this.written | 0);
    if (Atomics.load(this.control, READER_WAITS) !== 0) {
      Atomics.store(this.control, READER_WAITS, 0);
      Atomics.notify(this.control, WRITTEN);
    }
  }

  /** Waits until `need` bytes past `written` are free. */
  private room(need: number): void {
    if (this.written + need - this.taken <= this.size) return;
    this.publish();
    let lastRead = Atomics.load(this.control, READ);
    let lastBeat = Atomics.load(this.control, BEAT);
    let since = performance.now();
    for (;;) {
      const read = Atomics.load(this.control, READ);
      this.taken = this.written - ((this.written - read) >>> 0);
      if (this.written + need - this.taken <= this.size) return;
      const state = this.state;
      if (state !== RUNNING) throw new RingStopped(state);
      const beat = Atomics.load(this.control, BEAT);
      if (read !== lastRead || beat !== lastBeat) {
        [lastRead, lastBeat, since] = [read, beat, performance.now()];
      } else if (performance.now() - since > this.stallMs) {
        this.fail(READER_SILENT);
        throw new RingStopped(READER_SILENT);
      }
      Atomics.store(this.control, WRITER_WAITS, 1);
      // Sleeps only while READ is still what was read above: no wake-up is lost.
      Atomics.wait(this.control, READ, read, WAIT_SLICE_MS);
    }
  }
}

export class RingReader extends RingViews {
  private read = 0;
  /** Bytes the writer had published when last looked at. */
  private available = 0;
  private unreleased = 0;

  /**
   * The byte offset of the next record, waiting for one (up to `waitMs`, then -1): its type is
   * typeOf(offset), and done(offset) gives its room back.
   */
  next(waitMs: number): number {
    for (;;) {
      if (this.read === this.available && !this.refresh(waitMs)) return -1;
      const at = this.read & this.mask;
      if (this.size - at < 8 || this.i32[at >> 2] === WRAP) {
        this.read += this.size - at;
        continue;
      }
      return at;
    }
  }

  typeOf(at: number): number {
    return this.i32[at >> 2] & 0xff;
  }

  /** Length of the bytes after the fields of the record at `at`. */
  bytesOf(at: number): number {
    return this.i32[at >> 2] >>> 8;
  }

  /** Tells the writer this side is alive while it reads nothing (its event loop running asynchronous work). */
  beat(): void {
    Atomics.store(this.control, BEAT, (Date.now() / 1000) | 0);
  }

  /** Done with the record at `at` (from next()): its room goes back to the writer. */
  done(at: number): void {
    this.read += this.i32[(at >> 2) + 1];
    if (++this.unreleased >= 64) this.release();
  }

  release(): void {
    this.unreleased = 0;
    Atomics.store(this.control, READ, this.read | 0);
    if (Atomics.load(this.control, WRITER_WAITS) !== 0) {
      Atomics.store(this.control, WRITER_WAITS, 0);
      Atomics.notify(this.control, READ);
    }
  }

  /** Waits up to `waitMs` for records; false when none came. Throws RingStopped when the writer failed. */
  private refresh(waitMs: number): boolean {
    this.release();
    const deadline = waitMs > 0 ? performance.now() + waitMs : 0;
    for (;;) {
      const written = Atomics.load(this.control, WRITTEN);
      this.available = this.read + ((written - this.read) >>> 0);
      if (this.available !== this.read) return true;
      const state = this.state;
      if (state !== RUNNING) throw new RingStopped(state);
      const left = deadline - performance.now();
      if (left <= 0) return false;
      Atomics.store(this.control, READER_WAITS, 1);
      Atomics.wait(this.control, WRITTEN, written, Math.min(left, WAIT_SLICE_MS));
    }
  }
}
