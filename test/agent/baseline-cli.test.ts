// `egresswatch baseline ...` as a child process, on a baseline filled through Baseline.observe().
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Baseline } from '../../lib/baseline/index.js';
import { REPO_ROOT, requirePrereq } from '../helpers/env.js';

const CLI = path.join(REPO_ROOT, 'dist', 'agent', 'cli.js');
const DAY = 86_400_000;

interface Result { status: number | null; stdout: string; stderr: string }

function cliSync(args: string[]): Result {
  const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('EGRESSWATCH_')));
  const r = spawnSync(process.execPath, [CLI, ...args], { env, encoding: 'utf8', timeout: 60_000 });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** Async spawn: needed while this process holds the baseline open (spawnSync would block its event loop). */
function cli(args: string[]): Promise<Result> {
  const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('EGRESSWATCH_')));
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CLI, ...args], { env });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => { stdout += d.toString(); });
    child.stderr.on('data', (d: Buffer) => { stderr += d.toString(); });
    const timer = setTimeout(() => child.kill('SIGKILL'), 60_000);
    child.on('error', reject);
    child.on('close', (status) => { clearTimeout(timer); resolve({ status, stdout, stderr }); });
  });
}

function assertOneLine(r: Result, pattern: RegExp): void {
  const lines = r.stderr.split('\n').filter((l) => l !== '');
  assert.equal(lines.length, 1, `stderr: ${r.stderr}`);
  assert.match(lines[0], pattern);
  assert.ok(!r.stderr.includes('    at '), `no stack trace expected: ${r.stderr}`);
}

describe('agent CLI: baseline commands (compiled, as child processes)', () => {
  let root: string;
  let state: string;
  const now = Date.now();
  const base = (): string[] => ['baseline', '--state-dir', state];

  before(function () {
    requirePrereq(this, fs.existsSync(CLI), 'dist/agent/cli.js built (npx tsc)');
  });
  beforeEach(async () => {
    root = fs.mkdtempSync(path.join(os.tmpdir(), 'egw-bcli-'));
    state = path.join(root, 'state');
    const b = await Baseline.open({ dir: path.join(state, 'baseline'), windowMs: 90 * DAY, learningPeriodMs: DAY,
      now: () => now - 120 * DAY, flushIntervalMs: 0 });
    await b.observe({ host: 'h1', software: '/usr/bin/curl', group: 'example.com', time: now - 2 * DAY });
    await b.observe({ host: 'h1', software: '/usr/bin/curl', group: 'example.com', time: now - 1 * DAY });
    await b.observe({ host: 'h1', software: '/usr/bin/wget', group: 'example.com', time: now - 3 * DAY });
    await b.observe({ host: 'h1', software: '/usr/bin/wget', group: 'old.example', time: now - 100 * DAY });
    await b.close();
  });
  afterEach(() => fs.rmSync(root, { recursive: true, force: true }));

  it('list shows a table; --software and --json give that software as JSON lines', () => {
    const t = cliSync([...base(), 'list']);
    assert.equal(t.status, 0, t.stderr);
    const rows = t.stdout.trim().split('\n');
    assert.match(rows[0], /^KIND\s+SUBJECT\s+GROUP\s+FIRST SEEN\s+LAST SEEN\s+COUNT$/);
    assert.equal(rows.length, 1 + 5);
    const j = cliSync([...base(), 'list', '--software', '/usr/bin/wget', '--json']);
    assert.equal(j.status, 0, j.stderr);
    const entries = j.stdout.trim().split('\n').map((l) => JSON.parse(l));
    assert.deepEqual(entries.map((e) => [e.kind, e.subject, e.group]),
      [['software', '/usr/bin/wget', 'example.com'], ['software', '/usr/bin/wget', 'old.example']]);
    assert.equal(entries[0].firstSeen, new Date(now - 3 * DAY).toISOString());
  });

  it('show lists who contacted a group, earliest first', () => {
    const r = cliSync([...base(), 'show', 'example.com']);
    assert.equal(r.status, 0, r.stderr);
    const subjects = r.stdout.trim().split('\n').slice(1).map((l) => l.split(/\s+/).slice(0, 2).join(' '));
    assert.deepEqual(subjects, ['host h1', 'software /usr/bin/wget', 'software /usr/bin/curl']);
  });

  it('forget, prune and stats print their counts', () => {
    const f = cliSync([...base(), 'forget', '--group', 'example.com', '--software', '/usr/bin/curl']);
    assert.equal(f.status, 0, f.stderr);
    assert.equal(f.stdout.trim(), 'forgot 1 entry');
    const p = cliSync([...base(), 'prune', '--window', '30d']);
    assert.equal(p.status, 0, p.stderr);
    assert.match(p.stdout, /^pruned 2 entries last seen before /);
    const s = cliSync([...base(), 'stats', '--json']);
    assert.equal(s.status, 0, s.stderr);
    const st = JSON.parse(s.stdout);
    assert.deepEqual(st.entries, { host: 1, software: 1 });
    assert.equal(st.groups, 1);
    assert.equal(st.learningStart, new Date(now - 120 * DAY).toISOString());
    assert.equal(st.learningEnd, new Date(now - 119 * DAY).toISOString());
  });

  it('export --out then import into an empty state dir gives the same list; a bad line names its number', () => {
    const file = path.join(root, 'b.jsonl');
    const e = cliSync([...base(), 'export', '--out', file]);
    assert.equal(e.status, 0, e.stderr);
    assert.equal(fs.readFileSync(file, 'utf8').trim().split('\n').length, 5);
    const other = path.join(root, 'other');
    const i = cliSync(['baseline', '--state-dir', other, 'import', file]);
    assert.equal(i.status, 0, i.stderr);
    assert.match(i.stdout, /imported 5 entries .*5 new, 0 merged/);
    const a = cliSync([...base(), 'list', '--json']);
    const b = cliSync(['baseline', '--state-dir', other, 'list', '--json']);
    assert.equal(b.stdout, a.stdout);
    fs.appendFileSync(file, '{"kind":"host"}\n');
    const bad = cliSync(['baseline', '--state-dir', other, 'import', file]);
    assert.equal(bad.status, 1);
    assertOneLine(bad, /^egresswatch: cannot import .*: line 6: subject must be a non-empty string/);
  });

  it('a state dir without a baseline and a bad --window fail with one line', () => {
    const r = cliSync(['baseline', '--state-dir', path.join(root, 'none'), 'list']);
    assert.equal(r.status, 1);
    assertOneLine(r, /no baseline database there .*--state-dir/);
    const w = cliSync([...base(), 'prune', '--window', 'soon']);
    assert.equal(w.status, 2);
    assertOneLine(w, /invalid --window 'soon'/);
  });

  it('while an agent holds the baseline: one line naming the lock and the fix, no stack trace', async () => {
    const held = await Baseline.open({ dir: path.join(state, 'baseline'), windowMs: 90 * DAY, learningPeriodMs: 0, now: () => now });
    try {
      const r = await cli([...base(), 'list']);
      assert.equal(r.status, 1);
      assertOneLine(r, /^egresswatch: cannot open baseline database .*: it is locked \(.*\/baseline\/LOCK\) by a running egresswatch agent; stop the agent first/);
    } finally {
      await held.close();
    }
  });
});
