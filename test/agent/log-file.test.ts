// The agent's own log can go to a file, as text or JSON, separate from the alerts.
import assert from 'node:assert/strict';
import { execFile, spawn, spawnSync, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { LogFile } from '../../lib/config/logger.js';
import { createLogger } from '../../lib/config/index.js';
import { REPO_ROOT, corpusFile, haveCommand, isRoot, requirePrereq } from '../helpers/env.js';
import { sleep } from '../helpers/net.js';

const CLI = path.join(REPO_ROOT, 'dist', 'agent', 'cli.js');
const LOGROTATE = ['/usr/sbin/logrotate', '/sbin/logrotate'].find((p) => fs.existsSync(p)) ?? 'logrotate';

describe('agent: --log-file and --log-format', function () {
  this.timeout(60_000);
  let dir = '';
  before(() => { dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ew-logfile-')); });
  after(() => fs.rmSync(dir, { recursive: true, force: true }));

  const replay = (extra: string[]) => spawnSync(process.execPath, [CLI, 'replay', '--state-dir', path.join(dir, 's'),
    '--alerts-file', path.join(dir, 'alerts.json'), '--log-level', 'debug', ...extra, corpusFile('zeek/dns53.pcap')], { encoding: 'utf8' });

  it('writes text or JSON lines to the file and nothing to stdout', () => {
    const text = path.join(dir, 'logs', 'agent.log');
    const r = replay(['--log-file', text, '--log-format', 'text']);
    assert.equal(r.status, 0, r.stderr);
    assert.equal(r.stdout, '');
    const lines = fs.readFileSync(text, 'utf8').trim().split('\n');
    assert.ok(lines.some((l) => / debug configuration loaded/.test(l)), lines.join('\n'));
    assert.equal(fs.statSync(text).mode & 0o777, 0o640);
    const json = path.join(dir, 'agent.json.log');
    assert.equal(replay(['--log-file', json, '--log-format', 'json']).status, 0);
    const first = JSON.parse(fs.readFileSync(json, 'utf8').trim().split('\n')[0]);
    assert.equal(first.message, 'configuration loaded');
  });

  it('names the setting when the file cannot be opened', () => {
    fs.writeFileSync(path.join(dir, 'plain'), 'x');
    const r = replay(['--log-file', path.join(dir, 'plain', 'agent.log')]);
    assert.notEqual(r.status, 0);
    assert.match(r.stderr, /--log-file/);
    assert.ok(!/\n\s+at /.test(r.stderr), r.stderr);
  });
});

/** Whole JSON lines of a file (throws on a partial or non-JSON line). */
function records(file: string): { message: string }[] {
  const text = fs.readFileSync(file, 'utf8');
  assert.ok(text === '' || text.endsWith('\n'), `${file} ends inside a line`);
  return text.split('\n').slice(0, -1).map((l) => JSON.parse(l) as { message: string });
}

describe('agent: LogFile follows its name (logrotate create mode)', () => {
  let dir = '';
  beforeEach(() => { dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ew-logfile-unit-')); });
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('the first record after a rename goes to the file created in its place', async () => {
    const file = path.join(dir, 'agent.log');
    const stream = new LogFile(file);
    const logger = createLogger('info', { stream, text: false });
    logger.info('before');
    await sleep(20);
    fs.renameSync(file, `${file}.1`);
    fs.writeFileSync(file, '', { mode: 0o600 });
    logger.info('after');
    await sleep(20);
    stream.destroy();
    assert.deepEqual(records(`${file}.1`).map((r) => r.message), ['before']);
    assert.deepEqual(records(file).map((r) => r.message), ['after']);
    assert.equal(stream.renamesFollowed, 1);
  });

  it('reopen() creates the name again at once, 0640 even under umask 077', () => {
    const file = path.join(dir, 'agent.log');
    const old = process.umask(0o077);
    try {
      const stream = new LogFile(file);
      assert.equal(fs.statSync(file).mode & 0o777, 0o640);
      fs.renameSync(file, `${file}.1`);
      stream.reopen();
      assert.equal(fs.statSync(file).mode & 0o777, 0o640);
      stream.destroy();
    } finally {
      process.umask(old);
    }
  });

  it('keeps writing to the open file when the name cannot be opened', async () => {
    const file = path.join(dir, 'agent.log');
    const stream = new LogFile(file, 5);
    fs.renameSync(file, `${file}.1`);
    fs.mkdirSync(file); // EISDIR
    assert.throws(() => stream.reopen(), /EISDIR/);
    await new Promise<void>((r) => stream.write('{"message":"kept"}\n', () => r()));
    stream.destroy();
    assert.deepEqual(records(`${file}.1`).map((r) => r.message), ['kept']);
    assert.equal(stream.writeErrors, 0);
  });

  it('hold() queues records behind the .agent.log.held marker; reopen() writes them to the new file in order', async () => {
    const file = path.join(dir, 'agent.log');
    const marker = path.join(dir, '.agent.log.held');
    const stream = new LogFile(file);
    const logger = createLogger('info', { stream, text: false });
    logger.info('before');
    await sleep(20);
    stream.hold();
    assert.ok(fs.existsSync(marker));
    logger.info('held 1');
    logger.info('held 2');
    await sleep(20);
    fs.renameSync(file, `${file}.1`);
    fs.writeFileSync(file, '', { mode: 0o640 });
    stream.reopen();
    logger.info('after');
    await sleep(20);
    stream.destroy();
    assert.deepEqual(records(`${file}.1`).map((r) => r.message), ['before']);
    assert.deepEqual(records(file).map((r) => r.message), ['held 1', 'held 2', 'after']);
    assert.ok(!fs.existsSync(marker));
    assert.deepEqual([stream.held.holds, stream.held.queued], [1, 2]);
  });

  it('a hold with no reopen ends by its timeout; a failing name is told once per episode', async () => {
    const file = path.join(dir, 'agent.log');
    const stream = new LogFile(file, 5, { timeoutMs: 30 });
    const told: string[] = [];
    stream.onReopenError = (f, code) => told.push(`${path.basename(f)} ${code}`);
    let timedOut = 0;
    stream.hold(() => { timedOut += 1; });
    await new Promise<void>((r) => stream.write('{"message":"queued"}\n', () => r()));
    assert.equal(fs.readFileSync(file, 'utf8'), '');
    await sleep(120);
    assert.equal(timedOut, 1);
    assert.deepEqual(records(file).map((r) => r.message), ['queued']);
    fs.renameSync(file, `${file}.1`);
    fs.mkdirSync(file);
    for (const m of ['a', 'b']) await new Promise<void>((r) => stream.write(`{"message":"${m}"}\n`, () => r()));
    stream.destroy();
    assert.deepEqual(told, ['agent.log EISDIR']);
    assert.equal(stream.reopenErrors, 2);
    assert.deepEqual(records(`${file}.1`).map((r) => r.message), ['queued', 'a', 'b']);
  });
});

describe('agent: real logrotate rotating the running agent\'s --log-file', function () {
  this.timeout(60_000);
  const run = promisify(execFile);
  let dir = '';
  let agent: ChildProcess | undefined;
  before(function () {
    requirePrereq(this, isRoot(), 'root (live capture on lo)');
    requirePrereq(this, haveCommand('logrotate'), 'logrotate');
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ew-logfile-rotate-'));
  });
  after(() => {
    if (agent && agent.exitCode === null && agent.signalCode === null) agent.kill('SIGKILL');
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
  });

  const until = async (what: string, ok: () => boolean, ms = 15_000): Promise<void> => {
    for (const t0 = Date.now(); !ok(); await sleep(20)) {
      if (Date.now() - t0 > ms) throw new Error(`timed out waiting for ${what}`);
    }
  };
  const count = (file: string, message: string): number =>
    fs.existsSync(file) ? records(file).filter((r) => r.message === message).length : 0;

  it('create 0640 + postrotate SIGHUP, 3 rotations: each line in exactly one file, the new file after each SIGHUP', async () => {
    const log = path.join(dir, 'log', 'agent.log');
    agent = spawn(process.execPath, [CLI, 'run', '--interface', 'lo', '--state-dir', path.join(dir, 'state'),
      '--alerts-file', path.join(dir, 'alerts.json'), '--ptr', 'off', '--log-file', log, '--log-format', 'json', '--log-level', 'info'],
    { stdio: 'ignore' });
    await until('"egresswatch running" in the log file', () => count(log, 'egresswatch running') === 1);
    const conf = path.join(dir, 'logrotate.conf');
    fs.writeFileSync(conf, [`${log} {`, '  rotate 10', '  create 0640', '  missingok',
      '  postrotate', `    kill -HUP ${agent.pid}`, '  endscript', '}', ''].join('\n'), { mode: 0o644 });
    const RELOADED = 'SIGHUP: configuration reloaded';
    for (let r = 1; r <= 3; r += 1) {
      await run(LOGROTATE, ['-f', '-s', path.join(dir, 'logrotate.state'), conf], { timeout: 15_000 });
      await until(`rotation ${r}: the reload line in the new file`, () => count(log, RELOADED) === 1);
      assert.equal(fs.statSync(log).mode & 0o777, 0o640);
    }
    agent.kill('SIGTERM');
    const code = await new Promise<number | null>((r) => agent!.once('exit', (c) => r(c)));
    assert.equal(code, 0);
    // The start in the oldest file; one reload line in each newer file, none anywhere else; the
    // stop in the active file. Every file is whole JSON lines (records() checks).
    assert.equal(count(`${log}.3`, 'egresswatch running'), 1);
    assert.equal(count(`${log}.3`, RELOADED), 0);
    for (const f of [`${log}.2`, `${log}.1`, log]) assert.equal(count(f, RELOADED), 1, f);
    assert.equal(count(log, 'egresswatch stopped'), 1);
    assert.ok(!fs.existsSync(`${log}.4`));
  });

  it('the shipped stanza against the running agent: SIGUSR2 holds both files, SIGHUP reopens; counters in /metrics', async () => {
    const logDir = path.join(dir, 'shipped');
    const log = path.join(logDir, 'agent.log');
    const alerts = path.join(logDir, 'alerts.json');
    const port = await freePort();
    agent = spawn(process.execPath, [CLI, 'run', '--interface', 'lo', '--state-dir', path.join(dir, 'state2'), '--alerts-file', alerts,
      '--ptr', 'off', '--log-file', log, '--log-format', 'json', '--metrics-listen', `127.0.0.1:${port}`], { stdio: 'ignore' });
    await until('"egresswatch running" in the log file', () => count(log, 'egresswatch running') === 1);
    fs.appendFileSync(alerts, '{"seq":0}\n'); // notifempty: give logrotate something to rotate
    const shipped = fs.readFileSync(path.join(REPO_ROOT, 'deploy', 'logrotate', 'egresswatch'), 'utf8');
    const conf = path.join(dir, 'shipped.conf');
    fs.writeFileSync(conf, shipped.replaceAll('/var/log/egresswatch/', `${logDir}/`)
      .replace('systemctl kill -s USR2 --kill-whom=main egresswatch.service', `kill -USR2 ${agent.pid}`)
      .replace('systemctl kill -s HUP --kill-whom=main egresswatch.service', `kill -HUP ${agent.pid}`)
      .replace('create 0640 egresswatch adm', 'create 0640 root root'), { mode: 0o644 });
    const t0 = Date.now();
    const { stderr } = await run(LOGROTATE, ['-v', '-f', '-s', path.join(dir, 'shipped.state'), conf], { timeout: 15_000 });
    // prerotate found the marker soon (the agent acknowledged), not after its full 2 s wait.
    assert.match(stderr, /running prerotate script/);
    assert.ok(Date.now() - t0 < 1_500, `logrotate took ${Date.now() - t0} ms`);
    await until('the reload line in the new log file', () => count(log, 'SIGHUP: configuration reloaded') === 1);
    await until('the hold markers removed', () => !fs.readdirSync(logDir).some((n) => n.endsWith('.held')));
    const metrics = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
    const value = (name: string): number => Number(new RegExp(`^egresswatch_${name} (\\S+)$`, 'm').exec(metrics)?.[1]);
    assert.equal(value('alerts_file_holds'), 1, metrics);
    assert.equal(value('log_file_holds'), 1);
    for (const n of ['alerts_file_rename_races', 'alerts_file_reopen_errors', 'alerts_file_hold_timeouts', 'log_file_write_errors']) {
      assert.equal(value(n), 0, n);
    }
    assert.equal(count(`${log}.1`, 'SIGHUP: configuration reloaded'), 0);
    agent.kill('SIGTERM');
    assert.equal(await new Promise<number | null>((r) => agent!.once('exit', (c) => r(c))), 0);
  });
});

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as net.AddressInfo;
      srv.close(() => resolve(port));
    });
  });
}
