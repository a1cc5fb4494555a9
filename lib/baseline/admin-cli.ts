// The `egresswatch baseline <sub>` commands on top of BaselineAdmin: argument checks, the
// table and JSON-lines output. agent/cli.ts only parses flags and hands them here.
import fs from 'node:fs';
import { once } from 'node:events';
import { BaselineAdmin, type BaselineStats, type ListFilter } from './admin.js';
import { formatEntry } from './admin-io.js';
import type { BaselineEntry } from './baseline.js';

export type BaselineSubcommand = 'list' | 'show' | 'forget' | 'export' | 'import' | 'prune' | 'stats';

export interface BaselineCommandArgs {
  /** The LevelDB directory: <stateDir>/baseline. */
  dir: string;
  now: number;
  /** Default prune window (the configured --baseline-window) and learning period, ms. */
  windowMs: number;
  learningPeriodMs: number;
  software?: string;
  host?: string;
  group?: string;
  kind?: string;
  json?: boolean;
  out?: string;
  file?: string;
}

/** A mistake on the command line: the CLI prints it as one line and exits 2. */
export class BaselineUsageError extends Error {
  override readonly name = 'BaselineUsageError';
  readonly exitCode = 2;
  get userMessage(): string {
    return `baseline: ${this.message}`;
  }
}

export async function runBaselineCommand(sub: BaselineSubcommand, a: BaselineCommandArgs, out: NodeJS.WritableStream): Promise<void> {
  const filter = sub === 'list' ? listFilter(a) : undefined; // usage errors before opening
  if (sub === 'forget' && a.group === undefined && a.software === undefined && a.host === undefined) {
    throw new BaselineUsageError('forget needs --group G [--software S | --host H], or --software S, or --host H');
  }
  if (sub === 'forget' && a.software !== undefined && a.host !== undefined) {
    throw new BaselineUsageError('forget takes --software or --host, not both');
  }
  const admin = await BaselineAdmin.open(a.dir, {
    create: sub === 'import',
    onRepaired: (what) => process.stderr.write(`egresswatch: the baseline was damaged (${what}); LevelDB's repair opened it\n`),
  });
  try {
    switch (sub) {
      case 'list': return await list(admin, filter!, a.json === true, out);
      case 'show': return await show(admin, a.group!, out);
      case 'forget': {
        const n = await admin.forget({ group: a.group, software: a.software, host: a.host });
        return await write(out, `forgot ${n} entr${n === 1 ? 'y' : 'ies'}\n`);
      }
      case 'export': return await exportTo(admin, a.out, out);
      case 'import': {
        const r = await admin.import(a.file!);
        return await write(out, `imported ${r.lines} entries from ${a.file}: ${r.created} new, ${r.merged} merged into existing ones\n`);
      }
      case 'prune': {
        const n = await admin.prune(a.now, a.windowMs);
        return await write(out, `pruned ${n} entr${n === 1 ? 'y' : 'ies'} last seen before ${iso(a.now - a.windowMs)}\n`);
      }
      case 'stats': {
        const s = await admin.stats(a.learningPeriodMs);
        return await write(out, a.json ? JSON.stringify(statsJson(s)) + '\n' : statsText(s, a.now));
      }
    }
  } finally {
    await admin.close();
  }
}

function listFilter(a: BaselineCommandArgs): ListFilter {
  if (a.kind !== undefined && a.kind !== 'host' && a.kind !== 'software') throw new BaselineUsageError(`--kind must be host or software, got '${a.kind}'`);
  if (a.software !== undefined && a.host !== undefined) throw new BaselineUsageError('list takes --software or --host, not both');
  const kind = a.software !== undefined ? 'software' : a.host !== undefined ? 'host' : a.kind as ListFilter['kind'];
  if (a.kind !== undefined && kind !== a.kind) throw new BaselineUsageError(`--kind ${a.kind} contradicts --${kind}`);
  return { kind, subject: a.software ?? a.host, group: a.group };
}

const HEADER = ['KIND', 'SUBJECT', 'GROUP', 'FIRST SEEN', 'LAST SEEN', 'COUNT'];

function row(e: BaselineEntry): string[] {
  return [e.kind, e.subject, e.group, iso(e.firstSeen), iso(e.lastSeen), String(e.count)];
}

async function list(admin: BaselineAdmin, filter: ListFilter, json: boolean, out: NodeJS.WritableStream): Promise<void> {
  if (json) {
    for await (const e of admin.list(filter)) await write(out, formatEntry(e) + '\n');
    return;
  }
  // A table needs its column widths, so it is built in memory; --json streams instead.
  const rows: string[][] = [];
  for await (const e of admin.list(filter)) rows.push(row(e));
  await write(out, table(rows));
}

async function show(admin: BaselineAdmin, group: string, out: NodeJS.WritableStream): Promise<void> {
  const entries = await admin.show(group);
  if (entries.length === 0) return write(out, `no entries for group ${group}\n`);
  await write(out, table(entries.map(row)));
}

async function exportTo(admin: BaselineAdmin, file: string | undefined, out: NodeJS.WritableStream): Promise<void> {
  if (file === undefined || file === '-') {
    await admin.export(out);
    return;
  }
  // 0640 like the alert file: the baseline says which software talks to which domains.
  const stream = fs.createWriteStream(file, { mode: 0o640 });
  await once(stream, 'open');
  const n = await admin.export(stream);
  stream.end();
  await once(stream, 'finish');
  process.stderr.write(`exported ${n} entries to ${file}\n`);
}

function table(rows: string[][]): string {
  if (rows.length === 0) return '(no entries)\n';
  const all = [HEADER, ...rows];
  const widths = HEADER.map((_h, i) => Math.max(...all.map((r) => r[i].length)));
  return all.map((r) => r.map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i]))).join('  ')).join('\n') + '\n';
}

function statsJson(s: BaselineStats): Record<string, unknown> {
  const t = (v: number | undefined): string | null => (v === undefined ? null : iso(v));
  return { ...s, oldestLastSeen: t(s.oldestLastSeen), newestLastSeen: t(s.newestLastSeen),
    learningStart: t(s.learningStart), learningEnd: t(s.learningEnd) };
}

function statsText(s: BaselineStats, now: number): string {
  const learning = s.learningStart === undefined ? 'not started (the agent has not run on this baseline)'
    : `${iso(s.learningStart)} to ${iso(s.learningEnd!)}${now < s.learningEnd! ? ' (in progress)' : ' (over)'}`;
  const lines = [
    `entries           ${s.entries.host + s.entries.software} (host ${s.entries.host}, software ${s.entries.software})`,
    `hosts             ${s.hosts}`,
    `software          ${s.software}`,
    `domain groups     ${s.groups}`,
    `oldest last seen  ${s.oldestLastSeen === undefined ? '-' : iso(s.oldestLastSeen)}`,
    `newest last seen  ${s.newestLastSeen === undefined ? '-' : iso(s.newestLastSeen)}`,
    `learning period   ${learning}`,
  ];
  if (s.badValues > 0) lines.push(`unreadable values ${s.badValues} (the agent rewrites them; prune deletes them)`);
  return lines.join('\n') + '\n';
}

function iso(t: number): string {
  return new Date(t).toISOString();
}

async function write(out: NodeJS.WritableStream, text: string): Promise<void> {
  if (!out.write(text)) await once(out, 'drain');
}
