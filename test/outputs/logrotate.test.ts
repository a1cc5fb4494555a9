// Real logrotate against a writer that reopens on SIGHUP (as the agent does), with tail -F
// reading by name; and the shipped deploy/logrotate/egresswatch config checked by logrotate.
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

function allLinesOf(f: string): string[] {
  return fs.readFileSync(f, 'utf8').split('\n').slice(0, -1);
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

  it('create 0640 + postrotate SIGHUP, 5 forced rotations while writing: every alert kept exactly once', async () => {
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
    fs.writeFileSync(conf, [
      `${file} {`, '  rotate 100', '  create 0640', '  missingok',
      '  postrotate', `    kill -HUP ${child.pid}`, '  endscript', '}', '',
    ].join('\n'), { mode: 0o644 });
    for (let r = 0; r < 5; r += 1) {
      await sleep(400);
      await run(LOGROTATE, ['-f', '-s', state, conf], { timeout: 15000 });
      assert.equal(fs.statSync(file).mode & 0o777, 0o640, 'create 0640');
    }
    assert.equal(await waitExit(child, 20000), 0);
    const [, lines, reopens] = out.trim().split('\n').pop()!.split(' ');
    assert.equal(Number(lines), N);
    assert.equal(Number(reopens), 5, 'one SIGHUP per rotation');
    assert.ok(fs.existsSync(`${file}.5`) && !fs.existsSync(`${file}.6`), '5 rotated files');
    // Nothing lost, nothing twice, across the rotated files and the active one.
    const expected = Array.from({ length: N }, (_, i) => i);
    assert.deepEqual(seqs(allLines(file)).sort((a, b) => a - b), expected);
    // The follower: reads the last alert (written after the last reopen) and never a line twice.
    await tail.waitUntil((ls) => ls.length > 0 && ls[ls.length - 1]!.includes(`"seq":${N - 1},`), 20000, 'last alert');
    await sleep(200);
    tail.stop();
    const read = seqs(tail.lines);
    assert.equal(new Set(read).size, read.length, 'a line read twice');
    for (let i = 1; i < read.length; i += 1) assert.ok(read[i]! > read[i - 1]!, `out of order at ${i}`);
    // In create mode a line written between logrotate's rename and the writer's reopen lands in
    // the renamed file after tail -F may have moved on to the new one: the follower can miss
    // the last lines of a rotated file (1-2 per rotation here), and nothing else.
    const got = new Set(read);
    for (let n = 1; n <= 5; n += 1) {
      const inFile = seqs(allLinesOf(`${file}.${n}`));
      const firstMissed = inFile.findIndex((s) => !got.has(s));
      if (firstMissed >= 0) assert.ok(inFile.slice(firstMissed).every((s) => !got.has(s)), `tail -F skipped a line inside ${file}.${n}`);
    }
    assert.ok(seqs(allLinesOf(file)).every((s) => got.has(s)), 'tail -F missed a line of the active file');
  });

  it('deploy/logrotate/egresswatch parses (logrotate -d) with its paths pointed at a temp dir', async () => {
    const shipped = fs.readFileSync(path.join(REPO_ROOT, 'deploy', 'logrotate', 'egresswatch'), 'utf8');
    // The directives the deployment relies on.
    for (const d of ['daily', 'rotate 14', 'compress', 'delaycompress', 'missingok', 'notifempty', 'create 0640', 'postrotate', 'endscript']) {
      assert.match(shipped, new RegExp(`^\\s*${d}\\b`, 'm'), d);
    }
    assert.match(shipped, /kill -s HUP[^\n]*egresswatch\.service/);
    const logDir = path.join(dir, 'log');
    fs.mkdirSync(logDir, { mode: 0o755 });
    fs.writeFileSync(path.join(logDir, 'alerts.json'), '{"seq":0}\n');
    const conf = path.join(dir, 'egresswatch');
    const copy = shipped.replaceAll('/var/log/egresswatch/', `${logDir}/`);
    assert.notEqual(copy, shipped, 'no /var/log/egresswatch/ path to point elsewhere');
    fs.writeFileSync(conf, copy, { mode: 0o644 });
    const { stdout, stderr } = await run(LOGROTATE, ['-d', '-f', '-s', path.join(dir, 'state'), conf], { timeout: 15000 });
    const text = stdout + stderr;
    assert.doesNotMatch(text, /^error:/m);
    assert.match(text, new RegExp(`rotating pattern: ${logDir.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}/alerts\\.json`));
    assert.match(text, /renaming .*alerts\.json to .*alerts\.json\.1/);
    assert.match(text, /creating new .*alerts\.json mode = 0640/);
    assert.match(text, /running postrotate script/);
    // -d changes nothing.
    assert.equal(fs.readFileSync(path.join(logDir, 'alerts.json'), 'utf8'), '{"seq":0}\n');
  });
});
