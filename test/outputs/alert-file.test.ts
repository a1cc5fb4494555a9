// AlertFile: mode, whole lines, built-in size rotation, reopen, and a real `tail -F` following
// the active name through every rotation.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { AlertFile, RotationConfigError } from '../../lib/outputs/index.js';
import { haveCommand, requirePrereq } from '../helpers/env.js';
import { seqs, startTail, type Tailer } from './tailer.js';

/** Every line of the file and its rotated siblings, oldest file first. */
function readAll(file: string): { files: string[]; lines: string[] } {
  const dir = path.dirname(file);
  const base = path.basename(file);
  const nums = fs.readdirSync(dir)
    .filter((n) => n.startsWith(`${base}.`) && /^\d+$/.test(n.slice(base.length + 1)))
    .map((n) => Number(n.slice(base.length + 1)))
    .sort((a, b) => b - a);
  const files = [...nums.map((n) => `${file}.${n}`), ...(fs.existsSync(file) ? [file] : [])];
  const lines: string[] = [];
  for (const f of files) {
    const text = fs.readFileSync(f, 'utf8');
    assert.ok(text === '' || text.endsWith('\n'), `${f} ends inside a line`);
    for (const l of text.split('\n').slice(0, -1)) lines.push(l);
  }
  return { files, lines };
}

function alert(seq: number, padTo = 300): object {
  const base = { seq, event: { id: `id-${seq}` }, pad: '' };
  const len = JSON.stringify(base).length + 1;
  return { ...base, pad: 'x'.repeat(Math.max(0, padTo - len)) };
}

describe('outputs/alert-file', () => {
  let dir: string;
  let oldUmask: number;
  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ew-alertfile-'));
    oldUmask = process.umask(0o022);
  });
  afterEach(() => {
    process.umask(oldUmask);
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('creates the file with mode 0640 under umask 022, and under umask 077 too', () => {
    const a = new AlertFile(path.join(dir, 'a', 'alerts.json'));
    a.write(alert(0));
    a.close();
    assert.equal(fs.statSync(a.file).mode & 0o777, 0o640);
    process.umask(0o077);
    const b = new AlertFile(path.join(dir, 'b.json'));
    b.open();
    b.close();
    assert.equal(fs.statSync(b.file).mode & 0o777, 0o640);
  });

  it('keeps the mode an existing file already has', () => {
    const file = path.join(dir, 'alerts.json');
    fs.writeFileSync(file, '', { mode: 0o600 });
    const a = new AlertFile(file);
    a.write(alert(1));
    a.close();
    assert.equal(fs.statSync(file).mode & 0o777, 0o600);
  });

  it('rotates before the line that would pass maxBytes, numbering .1 newest, dropping beyond maxFiles', () => {
    const file = path.join(dir, 'alerts.json');
    const a = new AlertFile(file, { maxBytes: 1000, maxFiles: 3 });
    for (let i = 0; i < 20; i += 1) a.write(alert(i)); // 300-byte lines: 3 per file
    a.close();
    assert.equal(a.lines, 20);
    assert.equal(a.rotations, 6); // files of 3,3,3,3,3,3 then 2 in the active one
    const { files, lines } = readAll(file);
    assert.deepEqual(files.map((f) => path.basename(f)), ['alerts.json.3', 'alerts.json.2', 'alerts.json.1', 'alerts.json']);
    assert.deepEqual(seqs(lines), [9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19]);
    for (const f of files) assert.ok(fs.statSync(f).size <= 1000, `${f} over maxBytes`);
    assert.equal(fs.existsSync(`${file}.4`), false);
  });

  it('writeMany() writes a burst as whole lines, in order, rotating inside the burst as write() would', () => {
    const file = path.join(dir, 'alerts.json');
    const a = new AlertFile(file, { maxBytes: 1000, maxFiles: 10 });
    a.write(alert(0));
    a.writeMany([1, 2, 3, 4, 5, 6, 7].map((i) => alert(i, i === 4 ? 1500 : 300)));
    a.writeMany([]);
    a.close();
    assert.equal(a.lines, 8);
    const { files, lines } = readAll(file);
    assert.deepEqual(seqs(lines), [0, 1, 2, 3, 4, 5, 6, 7]);
    // 0,1,2 | 3 | 4 (over-long, alone) | 5,6,7
    assert.deepEqual(files.map((f) => seqs(fs.readFileSync(f, 'utf8').trimEnd().split('\n'))), [[0, 1, 2], [3], [4], [5, 6, 7]]);
    assert.equal(a.rotations, 3);
  });

  it('counts the size of a file it reopens, and writes an over-long line whole into a fresh file', () => {
    const file = path.join(dir, 'alerts.json');
    fs.writeFileSync(file, 'y'.repeat(900) + '\n');
    const a = new AlertFile(file, { maxBytes: 1000, maxFiles: 2 });
    a.write(alert(0)); // 901 + 300 > 1000: rotate first
    assert.equal(a.rotations, 1);
    a.write(alert(1, 2500)); // longer than maxBytes: its own file, whole
    a.write(alert(2));
    a.close();
    assert.equal(a.rotations, 3);
    assert.deepEqual(seqs(fs.readFileSync(`${file}.1`, 'utf8').trimEnd().split('\n')), [1]);
    assert.deepEqual(seqs(fs.readFileSync(file, 'utf8').trimEnd().split('\n')), [2]);
    assert.equal(fs.existsSync(`${file}.3`), false);
  });

  it('maxBytes 0 never rotates', () => {
    const file = path.join(dir, 'alerts.json');
    const a = new AlertFile(file, { maxBytes: 0 });
    for (let i = 0; i < 50; i += 1) a.write(alert(i));
    a.close();
    assert.equal(a.rotations, 0);
    assert.equal(fs.readdirSync(dir).length, 1);
    assert.equal(fs.statSync(file).size, 50 * 300);
  });

  it('reopen() opens the name again; the old file keeps what was written to it', () => {
    const file = path.join(dir, 'alerts.json');
    const a = new AlertFile(file);
    a.write(alert(0));
    fs.renameSync(file, `${file}.moved`);
    a.reopen();
    a.write(alert(1));
    a.close();
    assert.deepEqual(seqs(fs.readFileSync(`${file}.moved`, 'utf8').trimEnd().split('\n')), [0]);
    assert.deepEqual(seqs(fs.readFileSync(file, 'utf8').trimEnd().split('\n')), [1]);
    assert.equal(fs.statSync(file).mode & 0o777, 0o640);
  });

  it('follows a rename to the file another program created (logrotate create), without waiting', () => {
    const file = path.join(dir, 'alerts.json');
    const a = new AlertFile(file, { createWaitMs: 5000 });
    a.write(alert(0));
    fs.renameSync(file, `${file}.1`);
    fs.writeFileSync(file, '', { mode: 0o600 });
    const t0 = process.hrtime.bigint();
    a.write(alert(1));
    assert.ok(process.hrtime.bigint() - t0 < 1_000_000_000n, 'no wait when the name exists');
    a.close();
    assert.deepEqual(seqs(fs.readFileSync(`${file}.1`, 'utf8').trimEnd().split('\n')), [0]);
    assert.deepEqual(seqs(fs.readFileSync(file, 'utf8').trimEnd().split('\n')), [1]);
    assert.equal(fs.statSync(file).mode & 0o777, 0o600, 'the creator\'s mode is kept');
    assert.equal(a.renamesFollowed, 1);
    assert.equal(a.createdAfterWait, 0);
  });

  it('waits for a missing name to be created by someone else, and uses their file', async () => {
    const file = path.join(dir, 'alerts.json');
    const a = new AlertFile(file, { createWaitMs: 5000 });
    a.write(alert(0));
    fs.renameSync(file, `${file}.1`);
    // Another process creates the name 100 ms later (as logrotate does after its rename);
    // the write blocks this thread until then. The file appears whole (mv), so its line cannot
    // be written over ours, as a shell's `>` writing at offset 0 after we appended would.
    const child = spawn('sh', ['-c', `sleep 0.1; umask 077; echo '{"seq":-1}' > '${file}.tmp'; mv '${file}.tmp' '${file}'`], { stdio: 'ignore' });
    a.write(alert(1));
    a.close();
    await new Promise((r) => child.once('exit', r));
    assert.deepEqual(seqs(fs.readFileSync(file, 'utf8').trimEnd().split('\n')), [-1, 1]);
    assert.equal(fs.statSync(file).mode & 0o777, 0o600, 'the other program\'s file');
    assert.deepEqual(seqs(fs.readFileSync(`${file}.1`, 'utf8').trimEnd().split('\n')), [0]);
    assert.equal(a.renamesFollowed, 1);
    assert.equal(a.createdAfterWait, 0);
  });

  it('creates a name still missing after createWaitMs itself, with mode 0640', () => {
    const file = path.join(dir, 'alerts.json');
    const a = new AlertFile(file, { createWaitMs: 30 });
    a.write(alert(0));
    fs.unlinkSync(file);
    const t0 = process.hrtime.bigint();
    a.write(alert(1));
    const waitedMs = Number(process.hrtime.bigint() - t0) / 1e6;
    a.close();
    assert.ok(waitedMs >= 30, `waited only ${waitedMs} ms`);
    assert.deepEqual(seqs(fs.readFileSync(file, 'utf8').trimEnd().split('\n')), [1]);
    assert.equal(fs.statSync(file).mode & 0o777, 0o640);
    assert.equal(a.createdAfterWait, 1);
  });

  it('counts a write that a rename overtook (between the name check and the write), and follows at the next', () => {
    const file = path.join(dir, 'alerts.json');
    const a = new AlertFile(file);
    a.write(alert(0));
    // Inject logrotate's rename + create right before the next write(2), after the check.
    const original = fs.writeSync;
    let injected = false;
    (fs as { writeSync: unknown }).writeSync = (...args: unknown[]) => {
      if (!injected) {
        injected = true;
        fs.renameSync(file, `${file}.1`);
        fs.writeFileSync(file, '');
      }
      return (original as (...a: unknown[]) => number)(...args);
    };
    try {
      a.write(alert(1));
    } finally {
      (fs as { writeSync: unknown }).writeSync = original;
    }
    assert.ok(injected);
    assert.equal(a.renameRaces, 1);
    a.write(alert(2));
    a.close();
    assert.equal(a.renameRaces, 1);
    assert.equal(a.renamesFollowed, 1);
    assert.deepEqual(seqs(fs.readFileSync(`${file}.1`, 'utf8').trimEnd().split('\n')), [0, 1], 'the raced line is on disk, in the renamed file');
    assert.deepEqual(seqs(fs.readFileSync(file, 'utf8').trimEnd().split('\n')), [2]);
  });

  it('keeps writing to the renamed file when the name cannot be opened, and counts it', () => {
    const file = path.join(dir, 'alerts.json');
    const a = new AlertFile(file);
    a.write(alert(0));
    fs.renameSync(file, `${file}.1`);
    fs.mkdirSync(file); // EISDIR for open(2)
    a.write(alert(1));
    assert.equal(a.reopenErrors, 1);
    assert.throws(() => a.reopen(), /cannot open alerts file/);
    a.write(alert(2)); // the old descriptor survived the failed reopen
    a.close();
    assert.deepEqual(seqs(fs.readFileSync(`${file}.1`, 'utf8').trimEnd().split('\n')), [0, 1, 2]);
    assert.equal(a.renamesFollowed, 0);
  });

  it('rejects bad rotation settings by name', () => {
    assert.throws(() => new AlertFile('/x', { maxBytes: -1 }), (e: Error) => e instanceof RotationConfigError && /maxBytes/.test(e.message));
    assert.throws(() => new AlertFile('/x', { maxFiles: 1.5 }), (e: Error) => e instanceof RotationConfigError && /maxFiles/.test(e.message));
  });

  describe('with tail -F reading throughout', function () {
    this.timeout(120000);
    let tail: Tailer | undefined;
    before(function () {
      requirePrereq(this, haveCommand('tail'), 'tail (coreutils)');
    });
    afterEach(() => tail?.stop());

    it('2000 alerts, 64 KiB files: tail reads each exactly once in order; the files hold each exactly once', async () => {
      const N = 2000;
      const file = path.join(dir, 'alerts.json');
      const a = new AlertFile(file, { maxBytes: 64 * 1024, maxFiles: 50 });
      a.open(); // created empty, so tail starts on an existing file (inotify, not polling)
      tail = startTail(file);
      const upTo = (n: number) => (ls: string[]) => ls.length >= n;
      a.write(alert(0));
      await tail.waitUntil(upTo(1), 20000, 'first line');
      for (let i = 1; i < N; i += 1) {
        const before = a.rotations;
        a.write(alert(i));
        // A follower can only keep up with rotations slower than its own reaction: wait until
        // tail has read the first line of the new file (so it has switched) before the next.
        if (a.rotations !== before) await tail.waitUntil(upTo(i + 1), 20000, `rotation at alert ${i}`);
        else if (i % 25 === 0) await new Promise((r) => setImmediate(r));
      }
      a.close();
      await tail.waitUntil(upTo(N), 20000, 'all lines');
      await new Promise((r) => setTimeout(r, 200)); // anything extra (a duplicate) would show now
      tail.stop();
      const expected = Array.from({ length: N }, (_, i) => i);
      assert.deepEqual(seqs(tail.lines), expected);
      assert.ok(a.rotations >= 9, `only ${a.rotations} rotations`);
      const { files, lines } = readAll(file);
      assert.equal(files.length, a.rotations + 1);
      assert.deepEqual(seqs(lines), expected);
      for (const f of files) assert.ok(fs.statSync(f).size <= 64 * 1024, `${f} over maxBytes`);
    });
  });
});
