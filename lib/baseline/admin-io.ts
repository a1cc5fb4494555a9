// The export format of the baseline: JSON lines, one entry per line, with stable field names
//   {"kind":"software","subject":"/usr/bin/curl","group":"example.com",
//    "firstSeen":"2025-01-01T00:00:00.000Z","lastSeen":"2025-02-01T00:00:00.000Z","count":12}
// Times are ISO 8601 UTC with milliseconds, which is exactly the stored precision, so an
// export imported into an empty directory gives back identical entries.
//
// Import merges: an entry already present keeps the earliest firstSeen, the latest lastSeen
// and the sum of the counts, so importing the same file into two agents' baselines, or one
// file twice, never makes a known destination new again. The file is validated completely
// before anything is written: a bad line fails the import with its line number and leaves
// the store as it was.
import fs from 'node:fs';
import readline from 'node:readline';
import { once } from 'node:events';
import { type BaselineEntry } from './baseline.js';
import { entryKey } from './keys.js';

interface Value { firstSeen: number; lastSeen: number; count: number }

export interface ImportResult {
  /** Entry lines read (blank lines are skipped). */
  lines: number;
  /** Keys that did not exist before. */
  created: number;
  /** Lines merged into an entry that existed (in the store or earlier in the file). */
  merged: number;
}

export interface ImportTarget {
  get(key: string): Promise<Value | undefined>;
  write(puts: [string, Value][]): Promise<void>;
}

/** Error for a bad import file; `userMessage` makes the CLI print it as one line. */
export class BaselineImportError extends Error {
  override readonly name = 'BaselineImportError';
  readonly userMessage: string;
  readonly exitCode = 1;
  constructor(readonly file: string, readonly line: number, detail: string) {
    super(`${file} line ${line}: ${detail}`);
    this.userMessage = `cannot import ${file}: line ${line}: ${detail} ` +
      '(expected one JSON object per line with kind, subject, group, firstSeen, lastSeen, count; nothing was imported)';
  }
}

/** Keys merged in memory before one LevelDB batch. */
const BATCH = 1000;

export function formatEntry(e: BaselineEntry): string {
  return JSON.stringify({
    kind: e.kind, subject: e.subject, group: e.group,
    firstSeen: new Date(e.firstSeen).toISOString(), lastSeen: new Date(e.lastSeen).toISOString(), count: e.count,
  });
}

/** One export line back to an entry; throws a plain Error saying what is wrong. */
export function parseEntry(line: string): BaselineEntry {
  let o: unknown;
  try {
    o = JSON.parse(line);
  } catch (err) {
    throw new Error(`not JSON (${(err as Error).message})`, { cause: err });
  }
  if (o === null || typeof o !== 'object' || Array.isArray(o)) throw new Error('not a JSON object');
  const r = o as Record<string, unknown>;
  if (r.kind !== 'host' && r.kind !== 'software') throw new Error(`kind must be "host" or "software", got ${JSON.stringify(r.kind)}`);
  for (const f of ['subject', 'group'] as const) {
    if (typeof r[f] !== 'string' || r[f] === '') throw new Error(`${f} must be a non-empty string`);
  }
  const firstSeen = timeOf(r.firstSeen, 'firstSeen');
  const lastSeen = timeOf(r.lastSeen, 'lastSeen');
  if (firstSeen > lastSeen) throw new Error('firstSeen is after lastSeen');
  if (!Number.isSafeInteger(r.count) || (r.count as number) < 1) throw new Error(`count must be an integer >= 1, got ${JSON.stringify(r.count)}`);
  return { kind: r.kind, subject: r.subject as string, group: r.group as string, firstSeen, lastSeen, count: r.count as number };
}

/** ISO 8601 (as exported) or milliseconds since the epoch. */
function timeOf(v: unknown, field: string): number {
  const t = typeof v === 'string' && /^\d{4}-\d\d-\d\dT/.test(v) ? Date.parse(v) : typeof v === 'number' ? v : NaN;
  if (!Number.isFinite(t)) throw new Error(`${field} must be an ISO 8601 time like 2025-01-31T12:00:00.000Z, got ${JSON.stringify(v)}`);
  return t;
}

export async function writeExport(entries: AsyncIterable<BaselineEntry>, out: NodeJS.WritableStream): Promise<number> {
  let n = 0;
  for await (const e of entries) {
    n++;
    if (!out.write(formatEntry(e) + '\n')) await once(out, 'drain');
  }
  return n;
}

async function* lines(file: string): AsyncIterable<{ n: number; text: string }> {
  const rl = readline.createInterface({ input: fs.createReadStream(file, 'utf8'), crlfDelay: Infinity });
  let n = 0;
  for await (const text of rl) {
    n++;
    if (text.trim() !== '') yield { n, text };
  }
}

/** Validates the whole file, then merges it in batches. Two passes keep memory bounded. */
export async function importFile(file: string, target: ImportTarget): Promise<ImportResult> {
  const result: ImportResult = { lines: 0, created: 0, merged: 0 };
  for await (const { n, text } of lines(file)) {
    try {
      parseEntry(text);
    } catch (err) {
      throw new BaselineImportError(file, n, (err as Error).message);
    }
    result.lines++;
  }
  let pending = new Map<string, Value>();
  for await (const { text } of lines(file)) {
    const e = parseEntry(text);
    const key = entryKey(e.kind, e.subject, e.group);
    const cur = pending.get(key) ?? await target.get(key);
    if (cur === undefined) result.created++;
    else result.merged++;
    pending.set(key, cur === undefined ? { firstSeen: e.firstSeen, lastSeen: e.lastSeen, count: e.count } : {
      firstSeen: Math.min(cur.firstSeen, e.firstSeen), lastSeen: Math.max(cur.lastSeen, e.lastSeen), count: cur.count + e.count,
    });
    if (pending.size >= BATCH) {
      await target.write([...pending]);
      pending = new Map();
    }
  }
  if (pending.size > 0) await target.write([...pending]);
  return result;
}
