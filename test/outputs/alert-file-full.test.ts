// The alerts file on a file system that fills up: no half line is left for a tailer, no alert
// is lost while the disk is full (they wait in memory, in order, and are written once there is
// room), the bound of waiting alerts is counted, and a replay that could not write its alerts
// says so and exits non-zero. The full disk is real: a small tmpfs (root), or /dev/full.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Writable } from 'node:stream';
import { AlertFile } from '../../lib/outputs/index.js';
import { LogFile, createLogger, loadConfig } from '../../lib/config/index.js';
import { AlertOutputs } from '../../lib/pipeline/outputs.js';
import { REPO_ROOT, isRoot, requirePrereq } from '../helpers/env.js';
import { fillUp, mountTmpfs, type Tmpfs } from '../helpers/tmpfs.js';
import { sleep } from '../helpers/net.js';

/** An alert whose line is `bytes` long (newline included). */
function alert(seq: number, bytes = 1500): Record<string, unknown> {
  const base = { seq, event: { id: `a-${seq}` }, pad: '' };
  return { ...base, pad: 'x'.repeat(bytes - JSON.stringify(base).length - 1) };
}

/** Every line of the file parsed; fails on a half line (the file must end with a newline). */
function seqsOf(file: string): number[] {
  const text = fs.readFileSync(file, 'utf8');
  assert.ok(text === '' || text.endsWith('\n'), `${file} ends inside a line (${text.length} bytes)`);
  return text.split('\n').slice(0, -1).map((l) => (JSON.parse(l) as { seq: number }).seq);
}

const PAGE = 4096;

describe('outputs/alert-file: a full file system', () => {
  let fsys: Tmpfs | undefined;
  let mnt = '';
  const files: AlertFile[] = [];

  before(function () {
    requirePrereq(this, isRoot(), 'root (mounts a small tmpfs to fill)');
  });
  beforeEach(() => {
    fsys = mountTmpfs('ew-full-', '256k');
    mnt = fsys.dir;
  });
  afterEach(() => {
    for (const f of files.splice(0)) f.close();
    fsys?.remove();
    fsys = undefined;
  });

  /** Fills the file system, then frees `pages` pages of it. */
  function fill(pages: number): string {
    const filler = path.join(mnt, 'filler');
    const size = fillUp(filler, PAGE);
    fs.truncateSync(filler, Math.max(0, size - pages * PAGE));
    return filler;
  }

  it('a write cut short by a full disk leaves no half line; the alerts wait in order and are written once there is room', async () => {
    const file = path.join(mnt, 'alerts.json');
    const events: string[] = [];
    const a = new AlertFile(file, {
      retryMs: 50,
      onWriteError: (f, code) => events.push(`error ${code}`),
      onWriteRecovered: (f, n) => events.push(`recovered ${n}`),
    });
    files.push(a);
    a.open();
    a.write(alert(0));
    const filler = fill(0);
    // 3 lines of 1,500 bytes in one write(2): the rest of the file's page takes 2,596 of the 4,500 bytes.
    a.writeMany([alert(1), alert(2), alert(3)]);
    assert.deepEqual(seqsOf(file), [0], 'the part that fit was cut off again');
    assert.equal(a.unwrittenLines, 3);
    assert.equal(a.writeFailing, 'ENOSPC');
    a.write(alert(4));
    assert.deepEqual(seqsOf(file), [0]);
    assert.equal(a.unwrittenLines, 4);
    assert.ok(a.writeErrors >= 2);
    assert.deepEqual(events, ['error ENOSPC'], 'one error per episode');
    fs.unlinkSync(filler);
    // Nothing new is written: the retry timer alone brings them out.
    for (let i = 0; i < 100 && a.unwrittenLines > 0; i++) await sleep(20);
    assert.deepEqual(seqsOf(file), [0, 1, 2, 3, 4]);
    assert.equal(a.writeFailing, undefined);
    assert.deepEqual(events, ['error ENOSPC', 'recovered 4']);
    a.write(alert(5));
    assert.deepEqual(seqsOf(file), [0, 1, 2, 3, 4, 5]);
    assert.equal(a.linesDropped, 0);
  });

  it('waiting alerts past the bound are dropped and counted; a new write after room returns keeps the order', () => {
    const file = path.join(mnt, 'alerts.json');
    const a = new AlertFile(file, { retryMs: 60_000, maxUnwrittenBytes: 3 * 1500 });
    files.push(a);
    a.open();
    const filler = fill(0);
    for (let i = 0; i < 5; i++) a.write(alert(i));
    assert.equal(a.unwrittenLines, 3);
    assert.equal(a.linesDropped, 2);
    fs.unlinkSync(filler);
    a.write(alert(5));
    assert.deepEqual(seqsOf(file), [0, 1, 2, 5], 'the waiting ones first, then the new one');
    assert.equal(a.unwrittenLines, 0);
  });

  it('rotation by size goes on while waiting alerts are written (every line whole, none twice)', async () => {
    const file = path.join(mnt, 'alerts.json');
    const a = new AlertFile(file, { retryMs: 30, maxBytes: 4000, maxFiles: 9 });
    files.push(a);
    a.open();
    const filler = fill(2);
    for (let i = 0; i < 12; i++) a.write(alert(i));
    assert.ok(a.unwrittenLines > 0);
    fs.unlinkSync(filler);
    for (let i = 0; i < 100 && a.unwrittenLines > 0; i++) await sleep(20);
    const all: number[] = [];
    for (let n = 9; n >= 1; n--) if (fs.existsSync(`${file}.${n}`)) all.push(...seqsOf(`${file}.${n}`));
    all.push(...seqsOf(file));
    assert.deepEqual(all, [...Array(12).keys()]);
  });
});

describe('--log-file on a full file system', () => {
  let fsys: Tmpfs | undefined;
  before(function () {
    requirePrereq(this, isRoot(), 'root (mounts a small tmpfs to fill)');
  });
  beforeEach(() => { fsys = mountTmpfs('ew-logfull-', '256k'); });
  afterEach(() => { fsys?.remove(); fsys = undefined; });

  const write = (f: LogFile, text: string) => new Promise<void>((resolve, reject) => f.write(Buffer.from(text), (err) => (err ? reject(err) : resolve())));

  it('a record the disk cannot take is dropped whole (counted), never half of it; later ones go on', async () => {
    const file = path.join(fsys!.dir, 'agent.log');
    const f = new LogFile(file);
    try {
      await write(f, JSON.stringify({ n: 0 }) + '\n');
      const filler = path.join(fsys!.dir, 'filler');
      fillUp(filler, PAGE);
      // Bigger than what is left of the log's page: part of it would fit.
      await write(f, JSON.stringify({ n: 1, pad: 'y'.repeat(6000) }) + '\n');
      assert.equal(f.writeErrors, 1);
      const text = fs.readFileSync(file, 'utf8');
      assert.ok(text.endsWith('\n'), `the log ends inside a record (${text.length} bytes)`);
      assert.deepEqual(text.trim().split('\n').map((l) => (JSON.parse(l) as { n: number }).n), [0]);
      fs.rmSync(filler);
      await write(f, JSON.stringify({ n: 2 }) + '\n');
      assert.deepEqual(fs.readFileSync(file, 'utf8').trim().split('\n').map((l) => (JSON.parse(l) as { n: number }).n), [0, 2]);
    } finally {
      f.end();
    }
  });
});

describe('outputs/alert-file: a device that takes nothing (/dev/full)', () => {
  before(function () {
    requirePrereq(this, fs.existsSync('/dev/full'), '/dev/full');
  });

  it('writes do not throw; close() reports the alerts it could not write', () => {
    const a = new AlertFile('/dev/full', { retryMs: 60_000 });
    a.open();
    a.writeMany([alert(0, 300), alert(1, 300)]);
    a.write(alert(2, 300));
    assert.equal(a.unwrittenLines, 3);
    assert.equal(a.writeFailing, 'ENOSPC');
    assert.equal(a.close(), 3);
    assert.equal(a.linesDropped, 3);
  });

  it('a SIGHUP to a writable --alerts-file writes the waiting alerts there first, in order', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ew-full-swap-'));
    try {
      const logged: string[] = [];
      const sink = new Writable({ write(c: Buffer, _e, done) { logged.push(c.toString()); done(); } });
      const logger = createLogger('info', { stream: sink, text: false });
      const flags = { 'state-dir': path.join(dir, 'state'), 'alerts-file': '/dev/full' };
      const out = await AlertOutputs.open(loadConfig({ flags, env: {} }), logger, false);
      out.emit(alert(0, 300));
      out.emit(alert(1, 300));
      await out.flush();
      assert.equal(out.stats().alerts_file_unwritten_lines, 2);
      assert.equal(out.stats().alerts_file_write_errors, 1);
      assert.equal(logged.filter((l) => l.includes('cannot write')).length, 1);
      assert.match(logged.join(''), /"errno":"ENOSPC"/);
      const next = loadConfig({ flags: { ...flags, 'alerts-file': path.join(dir, 'alerts.json') }, env: {} });
      assert.equal((await out.reconfigure(next)).alertsFile, 'changed');
      out.emit(alert(2, 300));
      await out.close();
      assert.deepEqual(seqsOf(next.alertsFile), [0, 1, 2]);
      assert.equal(out.stats().alerts_file_lines_dropped, 0);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it('egresswatch replay into /dev/full exits 1 and says how many alerts were not written', function () {
    this.timeout(60_000);
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ew-full-replay-'));
    try {
      const capture = path.join(dir, 'c.pcap');
      const gen = spawnSync(process.execPath, [path.join(REPO_ROOT, 'dist', 'bench', 'gen-capture.js'), '--packets', '3000', '--out', capture], { encoding: 'utf8' });
      assert.equal(gen.status, 0, gen.stderr);
      const r = spawnSync(process.execPath, [path.join(REPO_ROOT, 'dist', 'agent', 'cli.js'), 'replay', capture, '--stats-json',
        '--state-dir', path.join(dir, 'state'), '--alerts-file', '/dev/full',
        ...['192.0.2.0/24', '198.51.100.0/24', '203.0.113.0/24', '2001:db8::/32'].flatMap((c) => ['--external-cidr', c])],
      { encoding: 'utf8', timeout: 50_000 });
      assert.equal(r.status, 1, r.stderr);
      const stats = JSON.parse(r.stdout) as { alerts: number; alertsNotWritten: number; alertsWriteError: string };
      assert.ok(stats.alerts > 0, 'the capture raises alerts');
      assert.equal(stats.alertsNotWritten, stats.alerts);
      assert.equal(stats.alertsWriteError, 'ENOSPC');
      const last = r.stderr.trim().split('\n').at(-1) ?? '';
      assert.match(last, new RegExp(`^egresswatch: ${stats.alerts} of ${stats.alerts} alert\\(s\\) could not be written to /dev/full \\(ENOSPC\\).*--state-dir`));
      assert.ok(!r.stderr.includes('    at '), 'no stack trace');
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
