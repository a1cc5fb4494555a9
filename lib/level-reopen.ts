// LevelDB after a failed write. The LevelDB inside classic-level goes on appending to its log
// after a write that failed part-way (ENOSPC, EIO) left part of a record there; at the next
// open, recovery stops at that record, and everything written after it is gone (seen with the
// baseline: a full disk, then room again, then a restart lost every update in between; the
// spool and the collector's store would lose alerts the same way). LevelDB 1.19 and later refuse
// every write after such a failure instead. So after a failed write the store is closed and
// opened again before the next write: recovery then ends the old log where it breaks, and new
// writes go to a new log. While the open fails (the disk is still full), writes fail at once
// with that error; an open is tried at most once per gap.
import type { Level } from 'level';

/** Least time between two attempts to open a store again, ms. */
const REOPEN_GAP_MS = 1_000;

export class ReopeningLevel<V> {
  /** Times the store was opened again after a failed write. */
  reopens = 0;
  private broken: unknown;
  private reopenAfter = 0;

  /** `db`: the open store; `make`: a new handle on the same directory, not yet open. */
  constructor(private current: Level<string, V>, private readonly make: () => Level<string, V>) {}

  /** The handle for reads (and iterators); a write may replace it. */
  get db(): Level<string, V> {
    return this.current;
  }

  /** Runs one write on the store, opening it again first if the last write failed. */
  async write<T>(fn: (db: Level<string, V>) => Promise<T>): Promise<T> {
    await this.reopenIfBroken();
    try {
      return await fn(this.current);
    } catch (err) {
      this.broken = err;
      this.reopenAfter = Date.now() + REOPEN_GAP_MS;
      throw err;
    }
  }

  /** The next write may reopen at once (closing: the last chance to write what is left). */
  retryNow(): void {
    this.reopenAfter = 0;
  }

  close(): Promise<void> {
    return this.current.close();
  }

  private async reopenIfBroken(): Promise<void> {
    if (this.broken === undefined) return;
    if (Date.now() < this.reopenAfter) throw this.broken;
    this.reopenAfter = Date.now() + REOPEN_GAP_MS;
    await this.current.close().catch(() => undefined);
    const db = this.make();
    try {
      await db.open();
    } catch (err) {
      // Reads fail against the closed handle too until an open works.
      this.broken = err;
      throw err;
    }
    this.current = db;
    this.broken = undefined;
    this.reopens++;
  }
}
