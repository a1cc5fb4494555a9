// Reading the agent's alerts file back: one JSON object per line, with ECS fields either
// nested ({"destination":{"domain":...}}) or flat ("destination.domain") — get() accepts both
// and any mix of the two.
import fs from 'node:fs';
import { sleep } from './proc.js';

export type Alert = Record<string, unknown>;

/** The value at a dotted path: a flat key first, then nested objects (longest key first). */
export function get(obj: unknown, dotted: string): unknown {
  return getParts(obj, dotted.split('.'));
}

function getParts(obj: unknown, parts: readonly string[]): unknown {
  if (obj === null || typeof obj !== 'object' || parts.length === 0) return undefined;
  const rec = obj as Record<string, unknown>;
  for (let i = parts.length; i >= 1; i--) {
    const key = parts.slice(0, i).join('.');
    if (!Object.prototype.hasOwnProperty.call(rec, key)) continue;
    if (i === parts.length) return rec[key];
    const v = getParts(rec[key], parts.slice(i));
    if (v !== undefined) return v;
  }
  return undefined;
}

/**
 * All complete lines of the alerts file as objects ([] when it does not exist yet). A last
 * line without its newline is still being written and is left for the next read; a complete
 * line that is not a JSON object is a failure of the agent and throws.
 */
export function readAlerts(file: string): Alert[] {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw e;
  }
  const lines = text.split('\n');
  lines.pop();
  const out: Alert[] = [];
  lines.forEach((line, i) => {
    if (line.trim() === '') return;
    let v: unknown;
    try {
      v = JSON.parse(line);
    } catch (e) {
      throw new Error(`${file} line ${i + 1} is not JSON (${(e as Error).message}): ${line.slice(0, 300)}`, { cause: e });
    }
    if (v === null || typeof v !== 'object' || Array.isArray(v)) throw new Error(`${file} line ${i + 1} is not an object: ${line.slice(0, 300)}`);
    out.push(v as Alert);
  });
  return out;
}

/** Polls the file until `done(alerts)` holds or timeoutMs passes; returns the last read. */
export async function waitForAlerts(file: string, done: (a: Alert[]) => boolean, timeoutMs: number): Promise<Alert[]> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const a = readAlerts(file);
    if (done(a) || Date.now() >= deadline) return a;
    await sleep(100);
  }
}

/** A one-line summary of an alert for failure messages. */
export function summarize(a: Alert): string {
  const f = (k: string) => JSON.stringify(get(a, k));
  return `{software ${f('egresswatch.software.id')} user ${f('user.name')} pid ${f('process.pid')} -> ${f('destination.domain')} ` +
    `${f('destination.ip')}:${f('destination.port')}/${f('network.transport')} group ${f('egresswatch.domain_group')} novel_for ${f('egresswatch.novel_for')}}`;
}
