// AlertFile.hold(): writes held across logrotate's renames (queue, marker, reopen, bound,
// safety timeout), the once-per-episode reopen warning, and the counters /metrics exports.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Writable } from 'node:stream';
import { AlertFile } from '../../lib/outputs/index.js';
import { createLogger, loadConfig } from '../../lib/config/index.js';
import { AlertOutputs } from '../../lib/pipeline/outputs.js';
import { METRIC_HELP } from '../../lib/pipeline/stats.js';
import { sleep } from '../helpers/net.js';

const alert = (seq: number) => ({ seq, event: { id: `a-${seq}` } });
const seqsOf = (file: string): number[] =>
  fs.readFileSync(file, 'utf8').split('\n').slice(0, -1).map((l) => (JSON.parse(l) as { seq: number }).seq);

describe('outputs/alert-file: hold for logrotate', () => {
  let dir = '';
  let file = '';
  let marker = '';
  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ew-hold-'));
    file = path.join(dir, 'alerts.json');
    marker = path.join(dir, '.alerts.json.held');
  });
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('hold() queues lines and leaves the dot marker; rename + create + reopen() writes them to the new file in order', () => {
    const a = new AlertFile(file, { maxBytes: 0 });
    a.write(alert(0));
    a.hold();
    assert.equal(fs.readFileSync(marker, 'utf8'), `${process.pid}\n`);
    a.write(alert(1));
    a.write(alert(2));
    assert.deepEqual(seqsOf(file), [0], 'nothing written while held');
    // logrotate create between its scripts.
    fs.renameSync(file, `${file}.1`);
    fs.writeFileSync(file, '', { mode: 0o640 });
    a.reopen();
    a.write(alert(3));
    a.close();
    assert.deepEqual(seqsOf(`${file}.1`), [0]);
    assert.deepEqual(seqsOf(file), [1, 2, 3]);
    assert.ok(!fs.existsSync(marker), 'marker removed at the reopen');
    assert.deepEqual([a.held.holds, a.held.queued, a.held.timeouts, a.renameRaces, a.lines], [1, 2, 0, 0, 4]);
  });

  it('a second SIGUSR2 while held extends the same hold and makes the marker again', () => {
    const a = new AlertFile(file, { maxBytes: 0 });
    a.hold();
    fs.rmSync(marker); // prerotate removes a stale marker before it signals
    a.hold();
    assert.ok(fs.existsSync(marker));
    a.write(alert(0));
    a.reopen();
    a.close();
    assert.equal(a.held.holds, 1);
    assert.deepEqual(seqsOf(file), [0]);
  });

  it('past its bound the queue, then the line, are written through the name check, in order, none dropped', () => {
    const a = new AlertFile(file, { maxBytes: 0, hold: { maxLines: 3 } });
    a.hold();
    for (let i = 0; i < 5; i += 1) a.write(alert(i));
    assert.deepEqual(seqsOf(file), [0, 1, 2, 3], 'queue of 3 + the 4th line');
    assert.equal(a.held.overflows, 1);
    a.reopen();
    a.close();
    assert.deepEqual(seqsOf(file), [0, 1, 2, 3, 4]);
  });

  it('no reopen: the safety timeout writes the queue where the name points now, removes the marker, reports', async () => {
    const timedOut: string[] = [];
    const a = new AlertFile(file, { maxBytes: 0, hold: { timeoutMs: 40 }, onHoldTimeout: (f) => timedOut.push(f) });
    a.write(alert(0));
    a.hold();
    a.write(alert(1));
    fs.renameSync(file, `${file}.1`);
    fs.writeFileSync(file, '');
    await sleep(150);
    assert.deepEqual(timedOut, [file]);
    assert.ok(!fs.existsSync(marker));
    assert.equal(a.held.timeouts, 1);
    assert.deepEqual(seqsOf(file), [1], 'the held line followed the name to the new file');
    a.write(alert(2));
    a.close();
    assert.deepEqual(seqsOf(file), [1, 2]);
  });

  it('close() while held writes the queue first', () => {
    const a = new AlertFile(file, { maxBytes: 0 });
    a.hold();
    a.write(alert(0));
    a.close();
    assert.deepEqual(seqsOf(file), [0]);
    assert.ok(!fs.existsSync(marker));
  });

  it('a name that cannot be opened is reported once per episode, with the errno', () => {
    const told: string[] = [];
    const a = new AlertFile(file, { maxBytes: 0, createWaitMs: 5, onReopenError: (f, code) => told.push(`${path.basename(f)} ${code}`) });
    a.write(alert(0));
    fs.renameSync(file, `${file}.1`);
    fs.mkdirSync(file); // EISDIR for open(2)
    a.write(alert(1));
    a.write(alert(2));
    assert.throws(() => a.reopen(), /EISDIR/);
    assert.deepEqual(told, ['alerts.json EISDIR']);
    assert.equal(a.reopenFailing, true);
    assert.equal(a.reopenErrors, 3);
    fs.rmdirSync(file);
    a.write(alert(3)); // the name is free again: we wait 5 ms, then create it
    assert.equal(a.reopenFailing, false);
    fs.renameSync(file, `${file}.2`);
    fs.mkdirSync(file);
    a.write(alert(4));
    a.close();
    assert.deepEqual(told, ['alerts.json EISDIR', 'alerts.json EISDIR'], 'a new episode is told again');
    assert.deepEqual(seqsOf(`${file}.1`), [0, 1, 2]);
    assert.deepEqual(seqsOf(`${file}.2`), [3, 4]);
  });
});

describe('pipeline/outputs: hold and the alerts-file counters in /metrics', () => {
  let dir = '';
  beforeEach(() => { dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ew-hold-outputs-')); });
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('AlertOutputs serialises an alert once for the alerts file and the spool, which keeps that text (what the HTTP forwarder sends)', async () => {
    const logger = createLogger('error', { stream: new Writable({ write(_c, _e, done) { done(); } }), text: false });
    // A collector nobody listens on (loopback): the alert stays in the spool to be read back.
    const config = loadConfig({ flags: { 'state-dir': path.join(dir, 'state'), 'alerts-file': path.join(dir, 'alerts.json'),
      'collector-url': 'http://127.0.0.1:9/ingest' }, env: {} });
    const out = await AlertOutputs.open(config, logger, true);
    let serialised = 0;
    const counted = { ...alert(7), domain: 'bücher.example', toJSON(): object { serialised++; return { seq: 7, event: { id: 'a-7' }, domain: 'bücher.example' }; } };
    out.emit(counted);
    await out.flush();
    assert.equal(serialised, 1, 'JSON.stringify ran once for the file and the spool');
    const line = fs.readFileSync(config.alertsFile, 'utf8');
    const spool = out.spool!;
    spool.consumer('check');
    const [entry] = await spool.readBatch('check', 10, 1 << 20);
    assert.equal(entry.json + '\n', line, 'the spooled text is the line in the alerts file');
    assert.deepEqual(entry.alert, { seq: 7, event: { id: 'a-7' }, domain: 'bücher.example' });
    await out.close();
  });

  it('AlertOutputs: a burst emitted at once goes out whole and in order, in writes of at most 256', async () => {
    const logger = createLogger('error', { stream: new Writable({ write(_c, _e, done) { done(); } }), text: false });
    const config = loadConfig({ flags: { 'state-dir': path.join(dir, 'state'), 'alerts-file': path.join(dir, 'alerts.json') }, env: {} });
    const out = await AlertOutputs.open(config, logger, false);
    const writes: number[] = [];
    const file = out.file;
    const writeMany = file.writeMany.bind(file);
    file.writeMany = (alerts, json) => {
      writes.push(alerts.length);
      writeMany(alerts, json);
    };
    for (let i = 0; i < 1000; i++) out.emit(alert(i));
    await out.flush();
    assert.deepEqual(seqsOf(config.alertsFile), Array.from({ length: 1000 }, (_, i) => i));
    assert.deepEqual(writes, [256, 256, 256, 232]);
    assert.equal(out.emitted, 1000);
    await out.close();
  });

  it('AlertOutputs.hold() holds the alerts file; reopen() writes the queue; stats() has a help text per counter', async () => {
    const logged: string[] = [];
    const sink = new Writable({ write(c: Buffer, _e, done) { logged.push(c.toString()); done(); } });
    const logger = createLogger('info', { stream: sink, text: false });
    const config = loadConfig({ flags: { 'state-dir': path.join(dir, 'state'), 'alerts-file': path.join(dir, 'alerts.json') }, env: {} });
    const out = await AlertOutputs.open(config, logger, false);
    out.emit(alert(0));
    await out.flush();
    out.hold();
    out.emit(alert(1));
    await out.flush();
    assert.deepEqual(seqsOf(config.alertsFile), [0]);
    fs.renameSync(config.alertsFile, `${config.alertsFile}.1`);
    fs.writeFileSync(config.alertsFile, '');
    out.reopen();
    await out.flush();
    assert.deepEqual(seqsOf(config.alertsFile), [1]);
    const stats = out.stats();
    assert.equal(stats.alerts_file_holds, 1);
    assert.equal(stats.alerts_file_held_lines, 1);
    assert.equal(stats.alerts_file_rename_races, 0);
    for (const k of ['alerts_file_renames_followed', 'alerts_file_reopen_errors', 'alerts_file_reopen_failing',
      'alerts_file_created_after_wait', 'alerts_file_hold_timeouts', 'alerts_file_hold_overflows']) assert.equal(stats[k], 0, k);
    for (const k of Object.keys(stats)) assert.ok(METRIC_HELP[k], `no help text for ${k}`);
    // An unopenable name: one warning naming the file and the errno.
    fs.renameSync(config.alertsFile, `${config.alertsFile}.2`);
    fs.mkdirSync(config.alertsFile);
    out.emit(alert(2));
    out.emit(alert(3));
    await out.flush();
    await out.close();
    const warnings = logged.map((l) => JSON.parse(l) as { level: string; file?: string; errno?: string }).filter((r) => r.level === 'warn');
    assert.equal(warnings.length, 1, logged.join(''));
    assert.deepEqual([warnings[0]!.file, warnings[0]!.errno], [config.alertsFile, 'EISDIR']);
    assert.deepEqual(seqsOf(`${config.alertsFile}.2`), [1, 2, 3]);
  });
});
