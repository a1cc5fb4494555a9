// Real logrotate against an AlertFile writer (which follows its name before each write, and
// reopens on SIGHUP as the agent does), with tail -F reading by name, WITHOUT the prerotate hold:
// the fallback a hand-written logrotate config gets (name check only). Every alert is on disk
// once and tail -F reads each once except a write that a rename overtook. The shipped config,
// whose prerotate hold closes that window, is run in logrotate-hold.test.ts; here it is parsed
// by `logrotate -d`.
import assert from 'node:assert/strict';
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { haveCommand, REPO_ROOT, requirePrereq } from '../helpers/env.js';
import { seqs, startTail, type Tailer } from './tailer.js';

const run = promisify(execFile);
const WRITER = path.join(path.dirname(fileURLToPath(import.meta.url)), 'writer-child.js');
const LOGROTATE = haveCommand('logrotate') ? (['/usr/sbin/logrotate', '/sbin/logrotate'].find((p) => fs.existsSync(p)) ?? 'logrotate') : 'logrotate';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Lines of FILE, FILE.1, FILE.2, … (oldest first) — the union logrotate leaves behind. */
function allLines(file: string): string[] {
  const names = fs.readdirSync(path.dirname(file));
  const base = path.basename(file);
  const nums = names.filter((n) => /^\d+$/.test(n.slice(base.length + 1)) && n.startsWith(`${base}.`))
    .map((n) => Number(n.slice(base.length + 1))).sort((a, b) => b - a);
  const out: string[] = [];
  for (const f of [...nums.map((n) => `${file}.${n}`), file]) {
    if (!fs.existsSync(f)) continue;
    const text = fs.readFileSync(f, 'utf8');
    assert.ok(text === '' || text.endsWith('\n'), `${f} ends inside a line`);
    out.push(...text.split('\n').slice(0, -1));
  }
  return out;
}

/** The alerts the follower did not print, each with the file it is in and its line number. */
function missedBy(read: string[], file: string, n: number): string {
  const got = new Set(seqs(read));
  const where = new Map<number, string>();
  for (const f of fs.readdirSync(path.dirname(file))) {
    const p = path.join(path.dirname(file), f);
    if (!f.startsWith(path.basename(file))) continue;
    seqs(fs.readFileSync(p, 'utf8').split('\n').slice(0, -1)).forEach((s, i) => where.set(s, `${f}:${i + 1}`));
  }
  return Array.from({ length: n }, (_, i) => i).filter((i) => !got.has(i)).map((i) => `${i} (${where.get(i)})`).join(', ');
}

function waitExit(child: ChildProcess, ms: number): Promise<number | null> {
  return new Promise((resolve, reject) => {
    if (child.exitCode !== null) return resolve(child.exitCode);
    const t = setTimeout(() => reject(new Error(`writer did not exit within ${ms} ms`)), ms);
    child.once('exit', (code) => { clearTimeout(t); resolve(code); });
  });
}

describe('outputs/logrotate', function () {
  this.timeout(60000);
  /** Across this suite's runs: writes a rename overtook, and how many of those tail -F missed. */
  let racedTotal = 0;
  let missedTotal = 0;
  after(() => {
    if (racedTotal > 0) process.stdout.write(`      (rename overtook ${racedTotal} write(s); tail -F missed ${missedTotal} of them)\n`);
  });
  let dir: string;
  let child: ChildProcess | undefined;
  let tail: Tailer | undefined;
  before(function () {
    requirePrereq(this, haveCommand('logrotate'), 'logrotate');
    requirePrereq(this, haveCommand('tail'), 'tail (coreutils)');
  });
  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ew-logrotate-'));
  });
  afterEach(() => {
    tail?.stop();
    if (child && child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    fs.rmSync(dir, { recursive: true, force: true });
  });

  /**
   * A writer appends N alerts (one per 4 ms) while real logrotate (`create 0640`) rotates the
   * file 5 times, with or without a postrotate SIGHUP, and `tail -F` follows the name. Returns
   * the writer's counters once every alert is on disk exactly once and the follower has read
   * each exactly once, in order.
   */
  async function rotateWhileWriting(hup: boolean): Promise<{ reopens: number; followed: number }> {
    const N = 800;
    const file = path.join(dir, 'alerts.json');
    const state = path.join(dir, 'logrotate.state');
    const conf = path.join(dir, 'logrotate.conf');
    child = spawn(process.execPath, [WRITER, file, String(N), '4'], { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout!.setEncoding('utf8');
    child.stdout!.on('data', (c: string) => { out += c; });
    for (const t0 = Date.now(); !out.includes('ready'); await sleep(5)) {
      if (Date.now() - t0 > 15000) throw new Error('writer did not start');
    }
    tail = startTail(file);
    const script = hup ? ['  postrotate', `    kill -HUP ${child.pid}`, '  endscript'] : [];
    fs.writeFileSync(conf, [`${file} {`, '  rotate 100', '  create 0640', '  missingok', ...script, '}', ''].join('\n'), { mode: 0o644 });
    for (let r = 0; r < 5; r += 1) {
      await sleep(400);
      await run(LOGROTATE, ['-f', '-s', state, conf], { timeout: 15000 });
      assert.equal(fs.statSync(file).mode & 0o777, 0o640, 'create 0640');
    }
    assert.equal(await waitExit(child, 20000), 0);
    const [, lines, reopens, followed, created, reopenErrors] = out.trim().split('\n').pop()!.split(' ').map(Number);
    const racedField = out.trim().split('\n').pop()!.split(' ')[6];
    const raced = racedField === '-' ? [] : racedField!.split(',').map(Number);
    assert.equal(lines, N);
    // The writer never created the file itself (logrotate's O_EXCL create would have found it
    // in the way and moved it aside as alerts.json-YYYYMMDDHH.backup).
    assert.equal(created, 0, 'the writer created the file logrotate was about to create');
    assert.deepEqual(fs.readdirSync(dir).filter((n) => n.includes('backup')), [], 'a file moved aside by logrotate');
    assert.equal(reopenErrors, 0);
    assert.ok(fs.existsSync(`${file}.5`) && !fs.existsSync(`${file}.6`), '5 rotated files');
    // Nothing lost, nothing twice, across the rotated files and the active one.
    const expected = Array.from({ length: N }, (_, i) => i);
    assert.deepEqual(seqs(allLines(file)).sort((x, y) => x - y), expected);
    // The follower reads every alert once, in order: the writer moves to the new file before
    // its first write after the rename. The one exception is a write that a rename overtook
    // between the writer's check and its write(2) (microseconds, longer only if the writer is
    // descheduled right there): that line ends the renamed file, which tail may have left. The
    // writer sees it (its name moved during the write) and reports it; at most one per rotation.
    assert.ok(raced.length <= 5, `raced writes: ${raced.join(',')}`);
    await tail.waitUntil((ls) => ls.length >= N - raced.length && ls[ls.length - 1]!.includes(`"seq":${N - 1},`), 20000, 'every alert')
      .catch((err: Error) => {
        throw new Error(`${err.message}; not read: ${missedBy(tail!.lines, file, N)}; raced writes: ${raced.join(',') || 'none'}`);
      });
    await sleep(200); // a duplicate would show now
    tail.stop();
    const read = seqs(tail.lines);
    for (let i = 1; i < read.length; i += 1) assert.ok(read[i]! > read[i - 1]!, `read twice or out of order at ${i}: ${read[i]}`);
    const got = new Set(read);
    const missed = expected.filter((s) => !got.has(s));
    assert.deepEqual(missed.filter((s) => !raced.includes(s)), [], `tail -F missed alerts that no rename overtook: ${missedBy(tail.lines, file, N)}`);
    racedTotal += raced.length;
    missedTotal += missed.length;
    return { reopens, followed };
  }

  it('create 0640 + postrotate SIGHUP, 5 forced rotations while writing: tail -F reads every alert exactly once', async () => {
    const { reopens, followed } = await rotateWhileWriting(true);
    assert.equal(reopens, 5, 'one SIGHUP per rotation');
    // The rename is seen at the next write unless the SIGHUP came first (logrotate is quick).
    assert.ok(followed <= 5, `${followed} renames followed`);
  });

  it('create 0640 without postrotate: the writer follows each rename by itself', async () => {
    const { reopens, followed } = await rotateWhileWriting(false);
    assert.equal(reopens, 0);
    assert.equal(followed, 5, 'one rename followed per rotation');
  });

  it('deploy/logrotate/egresswatch parses (logrotate -d) with its paths pointed at a temp dir', async () => {
    const shipped = fs.readFileSync(path.join(REPO_ROOT, 'deploy', 'logrotate', 'egresswatch'), 'utf8');
    // The directives the deployment relies on.
    for (const d of ['daily', 'rotate 14', 'compress', 'delaycompress', 'missingok', 'notifempty', 'create 0640', 'prerotate', 'postrotate', 'endscript']) {
      assert.match(shipped, new RegExp(`^\\s*${d}\\b`, 'm'), d);
    }
    assert.match(shipped, /kill -s HUP[^\n]*egresswatch\.service/);
    assert.match(shipped, /kill -s USR2[^\n]*egresswatch\.service/);
    // The new files belong to the user the systemd unit runs as: a root-owned 0640 file would be
    // EACCES for the agent, which would then write on into the renamed file.
    const unitUser = /^User=(\S+)$/m.exec(fs.readFileSync(path.join(REPO_ROOT, 'systemd', 'egresswatch.service'), 'utf8'))?.[1];
    assert.equal(/^\s*create 0640 (\S+) adm$/m.exec(shipped)?.[1], unitUser, 'create owner = the unit\'s User=');
    const logDir = path.join(dir, 'log');
    fs.mkdirSync(logDir, { mode: 0o755 });
    fs.writeFileSync(path.join(logDir, 'alerts.json'), '{"seq":0}\n');
    fs.writeFileSync(path.join(logDir, 'agent.log'), '{"message":"started"}\n');
    const conf = path.join(dir, 'egresswatch');
    // logrotate -d resolves the owner: the egresswatch user exists only once the installer ran.
    const copy = shipped.replaceAll('/var/log/egresswatch/', `${logDir}/`).replace('create 0640 egresswatch adm', 'create 0640 root root');
    assert.notEqual(copy, shipped, 'no /var/log/egresswatch/ path to point elsewhere');
    fs.writeFileSync(conf, copy, { mode: 0o644 });
    const { stdout, stderr } = await run(LOGROTATE, ['-d', '-f', '-s', path.join(dir, 'state'), conf], { timeout: 15000 });
    const text = stdout + stderr;
    assert.doesNotMatch(text, /^error:/m);
    assert.match(text, new RegExp(`rotating pattern: ${logDir.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}/alerts\\.json`));
    assert.match(text, /renaming .*alerts\.json to .*alerts\.json\.1/);
    assert.match(text, /creating new .*alerts\.json mode = 0640/);
    // The agent's own --log-file, in the same stanza (one SIGHUP for both).
    assert.match(text, /renaming .*agent\.log to .*agent\.log\.1/);
    assert.match(text, /creating new .*agent\.log mode = 0640/);
    assert.equal(text.match(/running postrotate script/g)?.length, 1, 'sharedscripts: one SIGHUP');
    assert.equal(text.match(/running prerotate script/g)?.length, 1, 'sharedscripts: one hold');
    assert.match(text, /running postrotate script/);
    // -d changes nothing.
    assert.equal(fs.readFileSync(path.join(logDir, 'alerts.json'), 'utf8'), '{"seq":0}\n');
  });
});
