// The shipped logrotate stanza (deploy/logrotate/egresswatch) run for real against a writer that
// behaves as the agent does (AlertFile: SIGUSR2 holds, SIGHUP reopens), with only its paths and
// its `systemctl kill` lines pointed at the test: many forced rotations under a write load while
// `tail -F` follows the name. With the prerotate hold no write can land in a renamed file, so
// tail must read every alert exactly once, in order, and no write may be overtaken by a rename.
import assert from 'node:assert/strict';
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import zlib from 'node:zlib';
import { haveCommand, REPO_ROOT, requirePrereq } from '../helpers/env.js';
import { seqs, startTail, type Tailer } from './tailer.js';

const run = promisify(execFile);
const WRITER = path.join(path.dirname(fileURLToPath(import.meta.url)), 'writer-child.js');
const LOGROTATE = ['/usr/sbin/logrotate', '/sbin/logrotate'].find((p) => fs.existsSync(p)) ?? 'logrotate';
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** The shipped stanza with its paths in `logDir`, signalling `pid` with kill(1) instead of systemctl. */
function shippedFor(logDir: string, pid: number): string {
  const shipped = fs.readFileSync(path.join(REPO_ROOT, 'deploy', 'logrotate', 'egresswatch'), 'utf8');
  const steps: [string, string][] = [
    ['/var/log/egresswatch/', `${logDir}/`],
    ['systemctl kill -s USR2 --kill-whom=main egresswatch.service', `kill -USR2 ${pid}`],
    ['systemctl kill -s HUP --kill-whom=main egresswatch.service', `kill -HUP ${pid}`],
    // The test runs as root without an egresswatch user; what it checks does not depend on the owner.
    ['create 0640 egresswatch adm', 'create 0640 root root'],
    // Keep every rotated file, so that the test can find each alert on disk exactly once.
    ['rotate 14', 'rotate 1000'],
  ];
  let conf = shipped;
  for (const [from, to] of steps) {
    assert.ok(conf.includes(from), `shipped stanza lacks: ${from}`);
    conf = conf.replaceAll(from, to);
  }
  return conf;
}

/** Every line of alerts.json and its rotations (.N and compressed .N.gz), oldest file first. */
function linesOnDisk(file: string): { lines: string[]; rotated: number } {
  const base = path.basename(file);
  const rotated = fs.readdirSync(path.dirname(file))
    .map((n) => /^(\d+)(\.gz)?$/.exec(n.startsWith(`${base}.`) ? n.slice(base.length + 1) : '')).filter((m) => m !== null)
    .map((m) => ({ n: Number(m[1]), name: `${file}.${m[0]}` })).sort((a, b) => b.n - a.n);
  const lines: string[] = [];
  for (const f of [...rotated.map((r) => r.name), file]) {
    const raw = fs.readFileSync(f);
    const text = (f.endsWith('.gz') ? zlib.gunzipSync(raw) : raw).toString('utf8');
    assert.ok(text === '' || text.endsWith('\n'), `${f} ends inside a line`);
    lines.push(...text.split('\n').slice(0, -1));
  }
  return { lines, rotated: rotated.length };
}

interface WriterReport {
  lines: number; reopens: number; followed: number; created: number; reopenErrors: number;
  raced: string; holds: number; queued: number; holdTimeouts: number;
}

function parseDone(out: string): WriterReport {
  const f = out.trim().split('\n').pop()!.split(' ');
  assert.equal(f[0], 'done', out);
  const n = (i: number) => Number(f[i]);
  return { lines: n(1), reopens: n(2), followed: n(3), created: n(4), reopenErrors: n(5), raced: f[6]!, holds: n(7), queued: n(8), holdTimeouts: n(9) };
}

describe('outputs/logrotate: shipped prerotate hold + postrotate SIGHUP', function () {
  this.timeout(120_000);
  let dir = '';
  let child: ChildProcess | undefined;
  let tail: Tailer | undefined;
  before(function () {
    requirePrereq(this, haveCommand('logrotate'), 'logrotate');
    requirePrereq(this, haveCommand('tail'), 'tail (coreutils)');
  });
  beforeEach(() => { dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ew-logrotate-hold-')); });
  afterEach(() => {
    tail?.stop();
    if (child && child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    fs.rmSync(dir, { recursive: true, force: true });
  });

  /** Starts the writer (an alert every 2 ms) and `tail -F`; returns the writer's stdout so far. */
  async function start(file: string, holdTimeoutMs?: number): Promise<{ out: () => string; pid: number }> {
    const args = [WRITER, file, '100000', '2', ...(holdTimeoutMs === undefined ? [] : [String(holdTimeoutMs)])];
    child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout!.setEncoding('utf8');
    child.stdout!.on('data', (c: string) => { out += c; });
    for (const t0 = Date.now(); !out.includes('ready'); await sleep(5)) {
      if (Date.now() - t0 > 15_000) throw new Error('writer did not start');
    }
    tail = startTail(file);
    return { out: () => out, pid: child.pid! };
  }

  /** SIGTERM: the writer stops and closes (writing anything queued); its report. */
  async function stop(out: () => string): Promise<WriterReport> {
    child!.kill('SIGTERM');
    const code = await new Promise<number | null>((resolve, reject) => {
      const t = setTimeout(() => reject(new Error('writer did not exit')), 20_000);
      child!.once('exit', (c) => { clearTimeout(t); resolve(c); });
    });
    assert.equal(code, 0);
    return parseDone(out());
  }

  /** tail -F has read alerts 0..n-1 exactly once each, in order (waits for it to catch up). */
  async function assertTailReadAll(n: number): Promise<void> {
    await tail!.waitUntil((ls) => ls.length >= n, 20_000, `all ${n} alerts`).catch((err: Error) => {
      const got = new Set(seqs(tail!.lines));
      const missed = Array.from({ length: n }, (_, i) => i).filter((i) => !got.has(i));
      throw new Error(`${err.message}; not read by tail -F: ${missed.slice(0, 20).join(', ')}${missed.length > 20 ? ' …' : ''}`);
    });
    await sleep(300); // a duplicate would show now
    tail!.stop();
    assert.deepEqual(seqs(tail!.lines), Array.from({ length: n }, (_, i) => i), 'tail -F: each alert once, in order');
  }

  it('100 forced rotations under an alert every 2 ms: tail -F reads every alert exactly once, none overtaken', async () => {
    const logDir = path.join(dir, 'log');
    fs.mkdirSync(logDir, { mode: 0o755 });
    const file = path.join(logDir, 'alerts.json');
    const { out, pid } = await start(file);
    const conf = path.join(dir, 'egresswatch');
    fs.writeFileSync(conf, shippedFor(logDir, pid), { mode: 0o644 });
    const ROTATIONS = 100;
    const t0 = Date.now();
    for (let r = 0; r < ROTATIONS && Date.now() - t0 < 60_000; r += 1) {
      await sleep(40 + (r % 4) * 20); // a few alerts between rotations, at varying phases
      const { stderr } = await run(LOGROTATE, ['-f', '-s', path.join(dir, 'state'), conf], { timeout: 15_000 });
      assert.doesNotMatch(stderr, /error/i);
    }
    await sleep(100); // the last postrotate SIGHUP is handled
    const w = await stop(out);
    const { lines, rotated } = linesOnDisk(file);
    // Every alert on disk exactly once across the active file and every rotation.
    assert.deepEqual(seqs(lines).sort((a, b) => a - b), Array.from({ length: w.lines }, (_, i) => i), 'on disk: each alert once');
    assert.ok(rotated >= ROTATIONS - 2, `only ${rotated} rotations happened`); // notifempty may skip one that found it empty
    // Each rotation was one handshake: a hold acknowledged, then a reopen; nothing overtaken.
    assert.equal(w.raced, '-', 'writes a rename overtook');
    assert.equal(w.holds, rotated, 'one hold per rotation');
    assert.equal(w.reopens, rotated, 'one SIGHUP per rotation');
    assert.equal(w.holdTimeouts, 0);
    assert.ok(w.queued > 0, 'no alert was ever held: the load did not reach the rotation window');
    assert.equal(w.created, 0, 'the writer created the file logrotate was about to create');
    assert.equal(w.reopenErrors, 0);
    const names = fs.readdirSync(logDir);
    assert.deepEqual(names.filter((n) => n.includes('backup')), [], 'a file moved aside by logrotate');
    assert.deepEqual(names.filter((n) => n.endsWith('.held')), [], 'a hold marker left behind');
    await assertTailReadAll(w.lines);
  });

  it('a rotation whose SIGHUP never comes: the hold ends by its timeout and the queue goes to the new file', async () => {
    const logDir = path.join(dir, 'log');
    fs.mkdirSync(logDir, { mode: 0o755 });
    const file = path.join(logDir, 'alerts.json');
    const { out, pid } = await start(file, 1_000);
    const conf = path.join(dir, 'egresswatch');
    // postrotate fails before its SIGHUP (logrotate reports the script error).
    fs.writeFileSync(conf, shippedFor(logDir, pid).replace(`kill -HUP ${pid}`, 'false'), { mode: 0o644 });
    await sleep(100);
    await run(LOGROTATE, ['-f', '-s', path.join(dir, 'state'), conf], { timeout: 15_000 }).catch(() => undefined);
    const marker = path.join(logDir, '.alerts.json.held');
    assert.ok(fs.existsSync(marker), 'the writer acknowledged the hold');
    const held = fs.statSync(file).size;
    await sleep(200);
    assert.equal(fs.statSync(file).size, held, 'written while held');
    for (const t0 = Date.now(); fs.existsSync(marker); await sleep(20)) {
      if (Date.now() - t0 > 5_000) throw new Error('the hold did not time out');
    }
    await sleep(100);
    const w = await stop(out);
    assert.equal(w.holds, 1);
    assert.equal(w.holdTimeouts, 1);
    assert.equal(w.reopens, 0);
    assert.ok(w.queued > 0);
    assert.equal(w.raced, '-');
    assert.deepEqual(seqs(linesOnDisk(file).lines), Array.from({ length: w.lines }, (_, i) => i), 'on disk: each alert once, in order');
    await assertTailReadAll(w.lines);
  });

  it('no agent: prerotate goes straight on; an agent that never acknowledges: it waits ~2 s, then rotates', async () => {
    const logDir = path.join(dir, 'log');
    fs.mkdirSync(logDir, { mode: 0o755 });
    const file = path.join(logDir, 'alerts.json');
    const conf = path.join(dir, 'egresswatch');
    const rotate = async (pid: number, signal: string): Promise<number> => {
      fs.writeFileSync(file, '{"seq":0}\n');
      fs.writeFileSync(conf, shippedFor(logDir, pid).replaceAll(`kill -USR2 ${pid}`, `kill -${signal} ${pid}`), { mode: 0o644 });
      const t0 = Date.now();
      await run(LOGROTATE, ['-f', '-s', path.join(dir, 'state'), conf], { timeout: 15_000 });
      assert.equal(fs.readFileSync(`${file}.1`, 'utf8'), '{"seq":0}\n', 'rotated');
      fs.rmSync(`${file}.1`);
      return Date.now() - t0;
    };
    // A process that has exited: the signal fails, as `systemctl kill` does with no agent.
    const gone = spawn('true', { stdio: 'ignore' });
    await new Promise((r) => gone.once('exit', r));
    const direct = await rotate(gone.pid!, 'USR2');
    assert.ok(direct < 1_000, `prerotate waited ${direct} ms with no agent`);
    // A process the signal reaches but that never makes the marker: the bounded wait.
    const sleeper = spawn('sleep', ['30'], { stdio: 'ignore' });
    try {
      const waited = await rotate(sleeper.pid!, 'CONT');
      assert.ok(waited >= 1_500 && waited < 6_000, `prerotate waited ${waited} ms`);
    } finally {
      sleeper.kill('SIGKILL');
    }
  });
});
