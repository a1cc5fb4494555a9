// SIGHUP reloads the configuration without losing state: a suppression added to the config
// file takes effect in the running agent; a broken file is reported and the old one kept.
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { connectOnce, httpGet, sleep } from '../helpers/net.js';
import { REPO_ROOT, isRoot, requirePrereq } from '../helpers/env.js';

const CLI = path.join(REPO_ROOT, 'dist', 'agent', 'cli.js');

const status = async (port: number): Promise<number> => (await httpGet(port, '/healthz')).status;


describe('agent: SIGHUP reloads the configuration', function () {
  this.timeout(60_000);
  let dir = '';
  let agent: ChildProcess | undefined;
  const servers: net.Server[] = [];
  let stderr = '';

  before(function () {
    requirePrereq(this, isRoot(), 'root (live capture on lo)');
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ew-reload-'));
  });
  after(async () => {
    if (agent && agent.exitCode === null) agent.kill('SIGKILL');
    for (const s of servers) s.close();
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
  });

  it('applies a new suppression on SIGHUP and keeps running on a broken file', async () => {
    const port = 20000 + Math.floor(Math.random() * 20000);
    for (const addr of ['127.0.0.7', '127.0.0.8']) {
      const srv = net.createServer((c) => c.once('data', () => setTimeout(() => c.end('ok\n'), 300)));
      await new Promise<void>((r) => srv.listen(port, addr, () => r()));
      servers.push(srv);
    }
    const conf = path.join(dir, 'egresswatch.yaml');
    fs.writeFileSync(conf, 'suppressions: []\n');
    const metrics = 40000 + Math.floor(Math.random() * 20000);
    const alertsFile = path.join(dir, 'alerts.json');
    agent = spawn(process.execPath, [CLI, 'run', '--config', conf, '--interface', 'lo', '--state-dir', path.join(dir, 'state'),
      '--alerts-file', alertsFile, '--learning-period', '0', '--alert-delay', '0', '--ptr', 'off',
      '--external-cidr', '127.0.0.7/32', '--external-cidr', '127.0.0.8/32', '--metrics-listen', `127.0.0.1:${metrics}`, '--log-level', 'info'],
    { stdio: ['ignore', 'pipe', 'pipe'] });
    agent.stdout?.on('data', (d: Buffer) => { stderr += d.toString(); });
    agent.stderr?.on('data', (d: Buffer) => { stderr += d.toString(); });
    for (let i = 0; i < 100 && (await status(metrics)) !== 200; i++) await sleep(100);
    assert.equal(await status(metrics), 200, `agent did not become healthy: ${stderr}`);

    fs.writeFileSync(conf, "suppressions:\n  - { cidr: '127.0.0.7/32', comment: 'reload test' }\n");
    agent.kill('SIGHUP');
    for (let i = 0; i < 50 && !stderr.includes('configuration reloaded'); i++) await sleep(100);
    assert.match(stderr, /configuration reloaded/);
    await connectOnce('127.0.0.7', port);
    await connectOnce('127.0.0.8', port);
    await sleep(1500);
    const groups = fs.readFileSync(alertsFile, 'utf8').trim().split('\n').filter(Boolean).map((l) => JSON.parse(l).egresswatch.domain_group);
    assert.deepEqual(groups, ['127.0.0.8'], stderr);

    fs.writeFileSync(conf, 'suppressions: [ { cidr: nope } \n');
    agent.kill('SIGHUP');
    for (let i = 0; i < 50 && !stderr.includes('configuration not reloaded'); i++) await sleep(100);
    assert.match(stderr, /configuration not reloaded/);
    assert.equal(await status(metrics), 200, 'still running after a broken reload');
    agent.kill('SIGTERM');
    const code = await new Promise<number | null>((r) => agent!.once('exit', (c) => r(c)));
    assert.equal(code, 0, stderr);
  });
});

// SIGHUP moves forwarding from collector A to collector B and the alerts to a new file while
// alerts are being raised: none is lost, none is written twice to the files, B gets exactly what
// A had not acknowledged (raised while A was down) plus everything raised after the reload.
const TOKEN = 'reload-token-0123456789';

const get = (port: number, p: string, token?: string): ReturnType<typeof httpGet> => httpGet(port, p, { token });

/** domain_group (the address) → event.id of the alerts in a JSON-lines file. */
function fileAlerts(file: string): { group: string; id: string }[] {
  if (!fs.existsSync(file)) return [];
  return fs.readFileSync(file, 'utf8').split('\n').filter(Boolean)
    .map((l) => JSON.parse(l)).map((a) => ({ group: a.egresswatch.domain_group, id: a.event.id }));
}

async function collectorAlerts(port: number): Promise<{ group: string; id: string }[]> {
  const r = await get(port, '/api/alerts?limit=1000', TOKEN);
  if (r.status !== 200) return [];
  return (JSON.parse(r.body).alerts as any[]).map((a) => ({ group: a.egresswatch.domain_group, id: a.event.id }));
}

async function until(what: string, ok: () => boolean | Promise<boolean>, ms: number, log: () => string): Promise<void> {
  for (let t = 0; t < ms; t += 100) {
    if (await ok()) return;
    await sleep(100);
  }
  assert.fail(`timed out waiting for ${what}\n${log()}`);
}

describe('agent: SIGHUP reloads the outputs (forwarders, alerts file)', function () {
  this.timeout(90_000);
  let dir = '';
  const children: ChildProcess[] = [];
  const servers: net.Server[] = [];
  let log = '';
  const ADDRS = Array.from({ length: 9 }, (_, i) => `127.0.0.${40 + i}`);

  before(function () {
    requirePrereq(this, isRoot(), 'root (live capture on lo)');
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ew-reload-out-'));
  });
  after(() => {
    for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
    for (const s of servers) s.close();
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
  });

  function collector(name: string, port: number): ChildProcess {
    const child = spawn(process.execPath, [CLI, 'collector', '--listen', `127.0.0.1:${port}`, '--state-dir', path.join(dir, `${name}-db`),
      '--tokens-file', path.join(dir, 'tokens'), '--alerts-file', path.join(dir, `${name}.json`), '--log-level', 'error'], { stdio: 'ignore' });
    children.push(child);
    return child;
  }

  it('moves forwarding from A to B and the alerts file, losing nothing', async () => {
    // Ports below the ephemeral range (32768+), so no client socket of this host holds them.
    const port = 10000 + Math.floor(Math.random() * 10000);
    for (const addr of ADDRS) {
      const srv = net.createServer((c) => c.once('data', () => setTimeout(() => c.end('ok\n'), 300)));
      await new Promise<void>((r) => srv.listen(port, addr, () => r()));
      servers.push(srv);
    }
    const portA = 21000 + Math.floor(Math.random() * 5000);
    const portB = portA + 1;
    const metrics = portA + 5000;
    fs.writeFileSync(path.join(dir, 'tokens'), `agent1 ${TOKEN}\n`);
    fs.writeFileSync(path.join(dir, 'agent.token'), `${TOKEN}\n`);
    const file1 = path.join(dir, 'alerts-1.json');
    const file2 = path.join(dir, 'rotated', 'alerts-2.json');
    const conf = path.join(dir, 'egresswatch.yaml');
    const config = (url: string | undefined, alertsFile: string, extra = ''): void => fs.writeFileSync(conf,
      `collectorUrls: [${url === undefined ? '' : `'${url}'`}]\ncollectorTokenFile: '${path.join(dir, 'agent.token')}'\nalertsFile: '${alertsFile}'\n${extra}`);
    const urlA = `http://127.0.0.1:${portA}/api/alerts`;
    config(urlA, file1);

    const a = collector('a', portA);
    await until('collector A healthy', async () => (await get(portA, '/healthz')).status === 200, 10_000, () => '');
    const agent = spawn(process.execPath, [CLI, 'run', '--config', conf, '--interface', 'lo', '--state-dir', path.join(dir, 'state'),
      '--learning-period', '0', '--alert-delay', '0', '--ptr', 'off', '--external-cidr', '127.0.0.32/27',
      '--metrics-listen', `127.0.0.1:${metrics}`, '--log-level', 'info'], { stdio: ['ignore', 'pipe', 'pipe'] });
    children.push(agent);
    agent.stdout?.on('data', (d: Buffer) => { log += d.toString(); });
    agent.stderr?.on('data', (d: Buffer) => { log += d.toString(); });
    const logs = (): string => log;
    await until('agent healthy', async () => (await get(metrics, '/healthz')).status === 200, 10_000, logs);

    // 1. A is up: two alerts reach it.
    for (const addr of ADDRS.slice(0, 2)) await connectOnce(addr, port);
    await until('2 alerts at A', async () => (await collectorAlerts(portA)).length >= 2, 15_000, logs);
    const atA = await collectorAlerts(portA);
    a.kill('SIGTERM');
    await new Promise((r) => a.once('exit', r));

    // 2. A is down: two more are spooled, undelivered.
    for (const addr of ADDRS.slice(2, 4)) await connectOnce(addr, port);
    await until('4 alerts in the first file', () => fileAlerts(file1).length >= 4, 10_000, logs);

    // 3. Reload to B and a new file, with alerts raised during the swap and after it.
    collector('b', portB);
    await until('collector B healthy', async () => (await get(portB, '/healthz')).status === 200, 10_000, () => '');
    config(`http://127.0.0.1:${portB}/api/alerts`, file2, 'dnsCacheSize: 5000\n');
    agent.kill('SIGHUP');
    await Promise.all(ADDRS.slice(4, 6).map((addr) => connectOnce(addr, port)));
    await until('outputs reloaded', () => log.includes('outputs reloaded'), 15_000, logs);
    for (const addr of ADDRS.slice(6, 8)) await connectOnce(addr, port);
    await until('8 alerts in the files', () => fileAlerts(file1).length + fileAlerts(file2).length >= 8, 10_000, logs);
    await until('6 alerts at B', async () => (await collectorAlerts(portB)).length >= 6, 20_000, logs);
    await sleep(1000); // anything extra (a duplicate, a stray alert) would arrive by now

    const written = [...fileAlerts(file1), ...fileAlerts(file2)];
    assert.deepEqual(written.map((x) => x.group).sort(), ADDRS.slice(0, 8).sort(), 'each alert once across the two files');
    assert.deepEqual(fileAlerts(file2).filter((x) => ADDRS.slice(6, 8).includes(x.group)).length, 2, 'alerts after the reload go to the new file');
    assert.deepEqual(atA.map((x) => x.group).sort(), ADDRS.slice(0, 2), 'A got the alerts raised while it was up');
    const atB = await collectorAlerts(portB);
    const expectB = written.filter((w) => !atA.some((x) => x.id === w.id)).map((w) => w.id).sort();
    assert.deepEqual(atB.map((x) => x.id).sort(), expectB, 'B got exactly what A had not acknowledged and everything after');
    assert.match(log, /need a restart[^\n]*dnsCacheSize/, 'a setting fixed for the process is reported, not ignored');

    // 4. Forwarding removed: the spool is closed and kept; alerts still go to the file, not to B.
    config(undefined, file2);
    agent.kill('SIGHUP');
    await until('spool closed', () => log.includes('spool is closed and kept on disk'), 15_000, logs);
    await connectOnce(ADDRS[8], port);
    await until('9th alert in the file', () => fileAlerts(file2).some((x) => x.group === ADDRS[8]), 10_000, logs);
    await sleep(1000);
    assert.equal((await collectorAlerts(portB)).length, atB.length, 'nothing forwarded once forwarding is removed');
    assert.ok(fs.existsSync(path.join(dir, 'state', 'spool')), 'spool kept on disk');

    agent.kill('SIGTERM');
    const code = await new Promise<number | null>((r) => agent.once('exit', (c) => r(c)));
    assert.equal(code, 0, log);
  });
});
