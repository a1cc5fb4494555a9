// The alerts file as a stream: a FIFO a log shipper reads, a pipe, a character device. Readers
// are real processes (cat, python3) on real FIFOs made with mkfifo; the device is a real null
// device made with mknod (root). Before this, a FIFO nobody read hung the agent in open(2) at
// start, and rotation by size renamed the FIFO or device away and put a regular file there.
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { AlertFile } from '../../lib/outputs/index.js';
import { REPO_ROOT, haveCommand, isRoot, requirePrereq } from '../helpers/env.js';
import { sleep } from '../helpers/net.js';
import { prng } from '../helpers/prng.js';

/** An alert whose line is `bytes` long (newline included). */
function alert(seq: number, bytes = 1500): Record<string, unknown> {
  const base = { seq, event: { id: `a-${seq}` }, pad: '' };
  return { ...base, pad: 'x'.repeat(bytes - JSON.stringify(base).length - 1) };
}

const range = (n: number): number[] => Array.from({ length: n }, (_, i) => i);

function exited(p: ChildProcess): Promise<number | null> {
  return p.exitCode !== null ? Promise.resolve(p.exitCode) : new Promise((r) => p.once('exit', (code) => r(code)));
}

/**
 * A reader of a FIFO in this process: opened without blocking, so it counts as the FIFO's reader
 * before the writer opens; it reads only when told (a reader that is behind reads nothing).
 */
class FifoReader {
  private readonly fd: number;
  private readonly chunks: Buffer[] = [];
  private readonly buf = Buffer.alloc(65536);
  eof = false;

  constructor(fifo: string) {
    this.fd = fs.openSync(fifo, fs.constants.O_RDONLY | fs.constants.O_NONBLOCK);
  }

  /** Reads what the pipe holds now. */
  drain(): void {
    for (;;) {
      let n: number;
      try {
        n = fs.readSync(this.fd, this.buf, 0, this.buf.length, null);
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code === 'EAGAIN') return;
        throw err;
      }
      if (n === 0) {
        this.eof = true;
        return;
      }
      this.chunks.push(Buffer.from(this.buf.subarray(0, n)));
    }
  }

  /** Every line read so far, parsed; fails on a half line. */
  seqs(): number[] {
    const text = Buffer.concat(this.chunks).toString('utf8');
    assert.ok(text === '' || text.endsWith('\n'), `the reader got half a line at the end (${text.length} bytes)`);
    return text.split('\n').slice(0, -1).map((l) => (JSON.parse(l) as { seq: number }).seq);
  }

  close(): void {
    fs.closeSync(this.fd);
  }
}

describe('outputs/alert-file: FIFOs, pipes and devices', () => {
  let dir = '';
  let fifo = '';
  const files: AlertFile[] = [];
  const readers: FifoReader[] = [];

  before(function () {
    requirePrereq(this, haveCommand('mkfifo'), 'mkfifo');
  });
  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ew-stream-'));
    fifo = path.join(dir, 'alerts.json');
    assert.equal(spawnSync('mkfifo', [fifo]).status, 0);
  });
  afterEach(() => {
    for (const f of files.splice(0)) f.close();
    for (const r of readers.splice(0)) r.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  function open(opts: ConstructorParameters<typeof AlertFile>[1] = {}): AlertFile {
    const f = new AlertFile(fifo, { retryMs: 20, streamWaitMs: 50, ...opts });
    files.push(f);
    f.openOrWait();
    return f;
  }

  function reader(): FifoReader {
    const r = new FifoReader(fifo);
    readers.push(r);
    return r;
  }

  /** Reads while `f` writes what waits, then closes `f` and reads to the end. */
  async function finish(f: AlertFile, r: FifoReader): Promise<number> {
    for (const end = Date.now() + 20_000; f.unwrittenLines > 0;) {
      if (Date.now() > end) assert.fail(`${f.unwrittenLines} alert(s) still waiting`);
      r.drain();
      await sleep(10);
    }
    files.splice(files.indexOf(f), 1);
    const lost = f.close();
    r.drain();
    assert.ok(r.eof, 'the reader saw the end');
    return lost;
  }

  it('a FIFO nobody reads yet: opening does not block; alerts wait (ENXIO, told once) and go out whole, in order, once a reader opens it', async () => {
    const errors: string[] = [];
    const f = open({ onWriteError: (_file, code) => errors.push(code) });
    assert.equal(f.writeFailing, 'ENXIO');
    f.writeMany([alert(0), alert(1)]);
    f.write(alert(2));
    assert.equal(f.unwrittenLines, 3);
    assert.deepEqual(errors, ['ENXIO']);
    const r = reader();
    await sleep(100); // the retry opens the FIFO and writes
    assert.equal(f.unwrittenLines, 0);
    assert.equal(f.writeFailing, undefined);
    f.write(alert(3));
    assert.equal(await finish(f, r), 0);
    assert.deepEqual(r.seqs(), [0, 1, 2, 3]);
    assert.equal(f.lines, 4);
  });

  it('a reader that is behind: the alerts wait (EAGAIN), a line the pipe took part of is finished first, every line arrives whole and once', async () => {
    const r = reader();
    const f = open();
    assert.equal(f.writeFailing, undefined);
    // 200 lines of 1,500 bytes, several times what a pipe holds (64 KiB), in one write(2); the
    // reader reads nothing meanwhile. The pipe takes whole pages: the cut falls inside a line.
    f.writeMany(range(200).map((i) => alert(i)));
    assert.equal(f.writeFailing, 'EAGAIN');
    assert.ok(f.unwrittenLines > 0 && f.unwrittenLines < 200, `waiting: ${f.unwrittenLines}`);
    assert.ok(f.lines < 200);
    f.write(alert(200));
    assert.equal(await finish(f, r), 0);
    assert.deepEqual(r.seqs(), range(201));
    assert.equal(f.lines, 201);
    assert.equal(f.writeFailing, undefined);
  });

  it('random bursts of random-sized alerts against a reader that reads at random: every line whole, in order, once', async () => {
    const rand = prng(7);
    const r = reader();
    const f = open({ streamWaitMs: 2 });
    let next = 0;
    let waited = 0;
    for (let burst = 0; burst < 60; burst++) {
      const n = 1 + Math.floor(rand() * 12);
      f.writeMany(Array.from({ length: n }, () => alert(next++, 120 + Math.floor(rand() * 6000))));
      if (f.unwrittenLines > 0) waited++;
      if (rand() < 0.4) r.drain();
      if (rand() < 0.2) await sleep(25); // the retry timer runs
    }
    assert.ok(waited > 5, `the pipe filled up now and then (${waited} bursts left alerts waiting)`);
    assert.equal(await finish(f, r), 0);
    assert.deepEqual(r.seqs(), range(next));
    assert.equal(f.lines, next);
  });

  it('a reader that went away (EPIPE): the alerts wait for the next reader of the FIFO', async () => {
    const first = reader();
    const f = open();
    f.write(alert(0));
    first.drain();
    readers.splice(readers.indexOf(first), 1);
    first.close();
    f.write(alert(1));
    assert.equal(f.writeFailing, 'EPIPE');
    assert.equal(f.unwrittenLines, 1);
    const r = reader();
    f.write(alert(2));
    assert.equal(await finish(f, r), 0);
    assert.deepEqual(first.seqs(), [0]);
    assert.deepEqual(r.seqs(), [1, 2]);
  });

  it('rotation by size never renames a FIFO: it stays in place and its reader gets every alert', async () => {
    const r = reader();
    const f = open({ maxBytes: 4000, maxFiles: 2 });
    for (const i of range(12)) {
      f.write(alert(i));
      r.drain();
    }
    assert.equal(await finish(f, r), 0);
    assert.ok(fs.statSync(fifo).isFIFO(), 'the FIFO is still there');
    assert.deepEqual(fs.readdirSync(dir), ['alerts.json']);
    assert.deepEqual(r.seqs(), range(12));
    assert.equal(f.rotations, 0);
  });

  it('a character device (a null device made with mknod) is written, never rotated or renamed', function () {
    requirePrereq(this, isRoot() && haveCommand('mknod'), 'root and mknod (a device node)');
    const dev = path.join(dir, 'null');
    assert.equal(spawnSync('mknod', [dev, 'c', '1', '3']).status, 0);
    const f = new AlertFile(dev, { maxBytes: 4000, maxFiles: 2 });
    f.openOrWait();
    for (const i of range(12)) f.write(alert(i));
    assert.equal(f.close(), 0);
    assert.equal(f.lines, 12);
    assert.ok(fs.statSync(dev).isCharacterDevice(), 'the device node is still there');
    assert.deepEqual(fs.readdirSync(dir).sort(), ['alerts.json', 'null']);
  });

  it('egresswatch replay into a FIFO nobody reads exits 1 at once and says so; with a reader it writes every alert a file would get', async function () {
    this.timeout(120_000);
    const capture = path.join(dir, 'c.pcap');
    const gen = spawnSync(process.execPath, [path.join(REPO_ROOT, 'dist', 'bench', 'gen-capture.js'), '--packets', '3000', '--out', capture], { encoding: 'utf8' });
    assert.equal(gen.status, 0, gen.stderr);
    const replay = (alerts: string, state: string): Promise<{ status: number | null; stdout: string; stderr: string }> => new Promise((resolve) => {
      const p = spawn(process.execPath, [path.join(REPO_ROOT, 'dist', 'agent', 'cli.js'), 'replay', capture, '--stats-json',
        '--state-dir', path.join(dir, state), '--alerts-file', alerts, '--learning-period', '0',
        ...['192.0.2.0/24', '198.51.100.0/24', '203.0.113.0/24', '2001:db8::/32'].flatMap((c) => ['--external-cidr', c])]);
      let stdout = '';
      let stderr = '';
      p.stdout.on('data', (d: Buffer) => { stdout += d.toString(); });
      p.stderr.on('data', (d: Buffer) => { stderr += d.toString(); });
      const timer = setTimeout(() => p.kill('SIGKILL'), 60_000);
      p.on('close', (status) => {
        clearTimeout(timer);
        resolve({ status, stdout, stderr });
      });
    });
    const alone = await replay(fifo, 'state-a');
    assert.equal(alone.status, 1, alone.stderr);
    const stats = JSON.parse(alone.stdout) as { alerts: number; alertsNotWritten: number; alertsWriteError: string };
    assert.ok(stats.alerts > 0, 'the capture raises alerts');
    assert.equal(stats.alertsNotWritten, stats.alerts);
    assert.equal(stats.alertsWriteError, 'ENXIO');
    assert.match(alone.stderr.trim().split('\n').at(-1) ?? '', /could not be written to .*alerts\.json \(ENXIO\).*once the file has a reader/);
    assert.ok(!alone.stderr.includes('    at '), 'no stack trace');

    // A reader in another process (cat), there before the agent opens the FIFO.
    const out = path.join(dir, 'out');
    const r = spawn('sh', ['-c', 'exec cat "$1" > "$2"', 'sh', fifo, out], { stdio: 'ignore' });
    const read = await replay(fifo, 'state-b');
    assert.equal(read.status, 0, read.stderr);
    assert.equal(await exited(r), 0);
    const plain = path.join(dir, 'plain.json');
    assert.equal((await replay(plain, 'state-c')).status, 0);
    const ids = (file: string): string[] => fs.readFileSync(file, 'utf8').trim().split('\n').map((l) => (JSON.parse(l) as { event: { id: string } }).event.id);
    assert.equal(ids(out).length, stats.alerts);
    assert.deepEqual(ids(out), ids(plain));
  });

  it('--log-file naming a FIFO nobody reads is a configuration error at start, not a hang', function () {
    this.timeout(60_000);
    const capture = path.join(dir, 'empty.pcap');
    fs.writeFileSync(capture, '');
    const r = spawnSync(process.execPath, [path.join(REPO_ROOT, 'dist', 'agent', 'cli.js'), 'replay', capture,
      '--state-dir', path.join(dir, 'state'), '--alerts-file', path.join(dir, 'a.json'), '--log-file', fifo], { encoding: 'utf8', timeout: 30_000 });
    assert.equal(r.error, undefined, 'the command ended by itself');
    assert.equal(r.status, 2, r.stderr);
    assert.match(r.stderr, /--log-file .*alerts\.json: ENXIO/);
    assert.ok(!r.stderr.includes('    at '), 'no stack trace');
  });
});
