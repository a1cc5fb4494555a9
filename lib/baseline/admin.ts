// Offline administration of the baseline: list, show, forget, prune, stats, export and
// import, for the `egresswatch baseline` command. It opens the LevelDB directly instead of
// going through Baseline, because it runs while the agent is stopped: there is no write-behind
// state to honour, and LevelDB's own LOCK file guarantees no agent holds the store meanwhile
// (a second opener gets LEVEL_LOCKED, turned into a one-line "stop the agent" error below).
import fs from 'node:fs';
import path from 'node:path';
import { Level } from 'level';
import { hasLevelFiles, openRepairing } from '../level-open.js';
import { type BaselineEntry } from './baseline.js';
import { BaselineOpenError, openErrorFor } from './errors.js';
import { META_LEARNING_START, decodeKey, entryKey, kindRange, subjectRange, type EntryKind, type KeyRange } from './keys.js';
import { importFile, writeExport, type ImportResult } from './admin-io.js';

type Db = Level<string, unknown>;
interface Value { firstSeen: number; lastSeen: number; count: number }

export interface ListFilter {
  kind?: EntryKind;
  /** With kind: that host or software only. */
  subject?: string;
  group?: string;
}

/** What forget deletes: a group (all subjects, or one), or a whole software or host. */
export interface ForgetSelector {
  group?: string;
  software?: string;
  host?: string;
}

export interface BaselineStats {
  entries: { host: number; software: number };
  hosts: number;
  software: number;
  groups: number;
  oldestLastSeen?: number;
  newestLastSeen?: number;
  /** When the learning period started (set by the agent's first start); absent if never. */
  learningStart?: number;
  learningEnd?: number;
  /** Values that could not be read (the agent treats them as absent). */
  badValues: number;
}

/** Keys deleted or written per LevelDB batch. */
const BATCH = 1000;

export class BaselineAdmin {
  private constructor(private readonly db: Db, readonly dir: string) {}

  /**
   * Opens the store at `dir`. `create` is for import only: the read and delete commands refuse
   * a directory that holds no baseline, so a mistyped --state-dir is not silently "empty".
   */
  static async open(dir: string, opts: { create?: boolean; onRepaired?: (what: string) => void } = {}): Promise<BaselineAdmin> {
    if (!opts.create && !fs.existsSync(path.join(dir, 'CURRENT')) && !hasLevelFiles(dir)) {
      throw new BaselineOpenError(dir, 'other',
        'no baseline database there (no CURRENT file); check --state-dir (the baseline is <state dir>/baseline)');
    }
    // A store a crash damaged is repaired as the agent would repair it (lib/level-open.ts).
    let db: Level<string, unknown>;
    try {
      const opened = await openRepairing(dir, () => new Level<string, unknown>(dir, { valueEncoding: 'json', createIfMissing: opts.create === true }));
      db = opened.db;
      if (opened.repaired !== undefined) opts.onRepaired?.(opened.repaired);
    } catch (err) {
      throw adminOpenError(dir, err);
    }
    return new BaselineAdmin(db, dir);
  }

  /** Entries in key order (kind, subject, group), filtered. */
  async *list(filter: ListFilter = {}): AsyncIterable<BaselineEntry> {
    for await (const { entry } of this.scan(filter)) if (entry !== undefined) yield entry;
  }

  /** Every entry (host and software) for one domain group, earliest first contact first. */
  async show(group: string): Promise<BaselineEntry[]> {
    const out: BaselineEntry[] = [];
    for await (const e of this.list({ group })) out.push(e);
    return out.sort((a, b) => a.firstSeen - b.firstSeen || (a.kind === b.kind ? 0 : a.kind === 'host' ? -1 : 1)
      || (a.subject < b.subject ? -1 : a.subject > b.subject ? 1 : 0));
  }

  /** Deletes the selected entries; returns how many. */
  async forget(sel: ForgetSelector): Promise<number> {
    if (sel.software !== undefined && sel.host !== undefined) throw new RangeError('forget: give --software or --host, not both');
    if (sel.group === undefined && sel.software === undefined && sel.host === undefined) {
      throw new RangeError('forget: give --group, --software or --host');
    }
    const filter: ListFilter = { group: sel.group };
    if (sel.software !== undefined) Object.assign(filter, { kind: 'software', subject: sel.software });
    if (sel.host !== undefined) Object.assign(filter, { kind: 'host', subject: sel.host });
    return this.deleteWhere(filter, () => true);
  }

  /** Deletes entries last seen before now - windowMs (and unreadable values); returns how many. */
  prune(now: number, windowMs: number): Promise<number> {
    if (!(windowMs > 0)) throw new RangeError(`prune window must be > 0, got ${windowMs}`);
    const cutoff = now - windowMs;
    return this.deleteWhere({}, (e) => e === undefined || e.lastSeen < cutoff, true);
  }

  async stats(learningPeriodMs: number): Promise<BaselineStats> {
    const s: BaselineStats = { entries: { host: 0, software: 0 }, hosts: 0, software: 0, groups: 0, badValues: 0 };
    const subjects = { host: new Set<string>(), software: new Set<string>() };
    const groups = new Set<string>();
    for await (const { entry } of this.scan({}, true)) {
      if (entry === undefined) { s.badValues++; continue; }
      s.entries[entry.kind]++;
      subjects[entry.kind].add(entry.subject);
      groups.add(entry.group);
      if (s.oldestLastSeen === undefined || entry.lastSeen < s.oldestLastSeen) s.oldestLastSeen = entry.lastSeen;
      if (s.newestLastSeen === undefined || entry.lastSeen > s.newestLastSeen) s.newestLastSeen = entry.lastSeen;
    }
    s.hosts = subjects.host.size;
    s.software = subjects.software.size;
    s.groups = groups.size;
    const start = await this.db.get(META_LEARNING_START);
    if (typeof start === 'number' && Number.isFinite(start)) {
      s.learningStart = start;
      s.learningEnd = start + learningPeriodMs;
    }
    return s;
  }

  /** Writes every entry as one JSON line to `out`; returns how many. */
  export(out: NodeJS.WritableStream): Promise<number> {
    return writeExport(this.list(), out);
  }

  /** Merges a JSON-lines export into the store (see admin-io.ts). */
  import(file: string): Promise<ImportResult> {
    return importFile(file, {
      get: async (key) => toValue(await this.db.get(key)),
      write: (puts) => this.db.batch(puts.map(([key, value]) => ({ type: 'put' as const, key, value }))),
    });
  }

  close(): Promise<void> {
    return this.db.close();
  }

  /** Raw scan: `entry` is undefined for a value that cannot be read (only with `withBad`). */
  private async *scan(filter: ListFilter, withBad = false): AsyncIterable<{ key: string; entry?: BaselineEntry }> {
    const kinds: EntryKind[] = filter.kind ? [filter.kind] : ['host', 'software'];
    for (const kind of kinds) {
      const range: KeyRange = filter.subject !== undefined ? subjectRange(kind, filter.subject) : kindRange(kind);
      for await (const [key, raw] of this.db.iterator(range)) {
        const k = decodeKey(key);
        if (k === undefined || (filter.group !== undefined && k.group !== filter.group)) continue;
        const v = toValue(raw);
        if (v === undefined) {
          if (withBad) yield { key };
          continue;
        }
        yield { key, entry: { ...k, ...v } };
      }
    }
  }

  private async deleteWhere(filter: ListFilter, match: (e: BaselineEntry | undefined) => boolean, withBad = false): Promise<number> {
    let keys: string[] = [];
    let deleted = 0;
    const flush = async (): Promise<void> => {
      if (keys.length === 0) return;
      await this.db.batch(keys.map((key) => ({ type: 'del' as const, key })));
      deleted += keys.length;
      keys = [];
    };
    // Deleting behind a LevelDB iterator is safe: the iterator reads an implicit snapshot.
    for await (const { key, entry } of this.scan(filter, withBad)) {
      if (!match(entry)) continue;
      keys.push(key);
      if (keys.length >= BATCH) await flush();
    }
    await flush();
    return deleted;
  }
}

function toValue(v: unknown): Value | undefined {
  const e = v as Partial<Value> | null | undefined;
  if (e === null || e === undefined || typeof e !== 'object') return undefined;
  if (typeof e.firstSeen !== 'number' || typeof e.lastSeen !== 'number' || typeof e.count !== 'number') return undefined;
  return { firstSeen: e.firstSeen, lastSeen: e.lastSeen, count: e.count };
}

/** The key an export line's entry lives under. */
export function keyOf(e: Pick<BaselineEntry, 'kind' | 'subject' | 'group'>): string {
  return entryKey(e.kind, e.subject, e.group);
}

/** Open failures in the operator's terms; a held lock means the agent is running. */
export function adminOpenError(dir: string, err: unknown): BaselineOpenError {
  const e = openErrorFor(dir, err);
  if (e.reason !== 'locked') return e;
  return new BaselineOpenError(dir, 'locked',
    `it is locked (${path.join(dir, 'LOCK')}) by a running egresswatch agent; stop the agent first ` +
    '(e.g. systemctl stop egresswatch), or work on a copy of the directory', { cause: err });
}
