// Baseline across processes: a second agent on the same directory is refused, and a new
// entry is on disk before observe() resolves (an agent killed with SIGKILL does not alert
// twice after restart), while repeat-contact updates are write-behind.
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { Baseline, BaselineOpenError, type BaselineEntry } from '../../lib/baseline/index.js';

const DAY = 86_400_000;
const T0 = Date.UTC(2025, 0, 1);
const LIB = pathToFileURL(path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../lib/baseline/index.js')).href;

// Opens the baseline, records a new contact and a repeat, prints READY and waits (the
// repeat's update is only in memory: the flush interval is an hour).
const CHILD = `
import { Baseline } from ${JSON.stringify(LIB)};
const b = await Baseline.open({ dir: process.argv[2], windowMs: ${90 * DAY}, learningPeriodMs: 0,
  now: () => ${T0}, flushIntervalMs: 3600000 });
const v1 = await b.observe({ host: 'h1', software: 'curl', group: 'example.com', time: ${T0} });
const v2 = await b.observe({ host: 'h1', software: 'curl', group: 'example.com', time: ${T0 + DAY} });
process.stdout.write('READY ' + JSON.stringify([v1.novelFor, v2.novelFor]) + '\\n');
setTimeout(() => process.exit(0), 15000);
`;

function startChild(dir: string, script: string): Promise<{ child: ChildProcess; line: string }> {
  const child = spawn(process.execPath, [script, dir], { stdio: ['ignore', 'pipe', 'pipe'] });
  return new Promise((resolve, reject) => {
    let out = '';
    let err = '';
    const timer = setTimeout(() => reject(new Error(`child not ready in 10 s: ${err}`)), 10_000);
    child.stderr!.on('data', (d: Buffer) => (err += d.toString()));
    child.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
      const nl = out.indexOf('\n');
      if (nl >= 0) {
        clearTimeout(timer);
        resolve({ child, line: out.slice(0, nl) });
      }
    });
    child.on('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`child exited ${code}: ${err}`));
    });
  });
}

function killAndWait(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    child.once('exit', () => resolve());
    child.kill('SIGKILL');
  });
}

describe('baseline across processes', () => {
  let dir: string;
  let script: string;
  let child: ChildProcess | undefined;

  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'egw-baseline-proc-'));
    script = path.join(dir, 'child.mjs');
    fs.writeFileSync(script, CHILD);
  });

  afterEach(async () => {
    if (child) await killAndWait(child);
    child = undefined;
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('a second process on the same directory gets BaselineOpenError (locked)', async () => {
    const db = path.join(dir, 'db');
    const started = await startChild(db, script);
    child = started.child;
    assert.match(started.line, /^READY /);
    await assert.rejects(
      Baseline.open({ dir: db, windowMs: 90 * DAY, learningPeriodMs: 0, now: () => T0 }),
      (err: unknown) => err instanceof BaselineOpenError && err.reason === 'locked' && err.message.includes(db),
    );
  });

  it('after SIGKILL the new entry is on disk and not novel again; the unflushed update is lost', async () => {
    const db = path.join(dir, 'db');
    const started = await startChild(db, script);
    child = started.child;
    assert.equal(started.line, 'READY [["host","software"],[]]');
    await killAndWait(child);
    const b = await Baseline.open({ dir: db, windowMs: 90 * DAY, learningPeriodMs: 0, now: () => T0 + 2 * DAY });
    try {
      const entries: BaselineEntry[] = [];
      for await (const e of b.entries()) entries.push(e);
      assert.deepEqual(entries.map((e) => [e.kind, e.count, e.lastSeen]), [['host', 1, T0], ['software', 1, T0]]);
      const v = await b.observe({ host: 'h1', software: 'curl', group: 'example.com', time: T0 + 2 * DAY });
      assert.deepEqual(v.novelFor, [], 'no second alert after the crash');
    } finally {
      await b.close();
    }
  });
});
