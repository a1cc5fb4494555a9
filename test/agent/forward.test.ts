// The agent forwarding to the reference collector, nothing lost: alerts raised while the
// collector is down wait in the durable spool; the agent is killed with SIGKILL; when both come
// back, every alert arrives at the collector exactly once (its file and its API).
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { startCollector } from '../../lib/collector/index.js';
import { connectOnce, httpGet, sleep } from '../helpers/net.js';
import { REPO_ROOT, haveCommand, isRoot, requirePrereq } from '../helpers/env.js';
import { makePki, type TestPki } from '../collector/helpers.js';

const CLI = path.join(REPO_ROOT, 'dist', 'agent', 'cli.js');
const TOKEN = 'agent-token-0123456789';

/**
 * A TCP server on each address, on one random port, that answers "ok" 300 ms after the first
 * bytes (so each connection is held long enough to be seen); pushed to `servers` for teardown.
 */
async function slowServers(addrs: readonly string[], servers: net.Server[]): Promise<number> {
  const port = 20000 + Math.floor(Math.random() * 20000);
  for (const addr of addrs) {
    const srv = net.createServer((c) => c.once('data', () => setTimeout(() => c.end('ok\n'), 300)));
    await new Promise<void>((r) => srv.listen(port, addr, () => r()));
    servers.push(srv);
  }
  return port;
}

const get = (port: number, p: string, token?: string): ReturnType<typeof httpGet> => httpGet(port, p, { token });


describe('agent → collector: durable forwarding across a collector outage and kill -9', function () {
  this.timeout(90_000);
  let dir = '';
  let agent: ChildProcess | undefined;
  const servers: net.Server[] = [];
  const ADDRS = Array.from({ length: 8 }, (_, i) => `127.0.0.${20 + i}`);

  before(function () {
    requirePrereq(this, isRoot(), 'root (live capture on lo)');
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ew-forward-'));
  });
  after(() => {
    if (agent && agent.exitCode === null) agent.kill('SIGKILL');
    for (const s of servers) s.close();
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
  });

  it('delivers every alert exactly once', async () => {
    const port = await slowServers(ADDRS, servers);
    const collectorPort = 40000 + Math.floor(Math.random() * 10000);
    const metrics = collectorPort + 10000;
    fs.writeFileSync(path.join(dir, 'tokens'), `agent1 ${TOKEN}\n`);
    fs.writeFileSync(path.join(dir, 'agent.token'), `${TOKEN}\n`);
    const startAgent = (): ChildProcess => {
      const child = spawn(process.execPath, [CLI, 'run', '--interface', 'lo', '--state-dir', path.join(dir, 'state'),
        '--alerts-file', path.join(dir, 'alerts.json'), '--learning-period', '0', '--alert-delay', '0', '--ptr', 'off',
        '--external-cidr', '127.0.0.16/28', '--metrics-listen', `127.0.0.1:${metrics}`,
        '--collector-url', `http://127.0.0.1:${collectorPort}/api/alerts`, '--collector-token-file', path.join(dir, 'agent.token')],
      { stdio: 'ignore' });
      return child;
    };
    const healthy = async () => {
      for (let i = 0; i < 100 && (await get(metrics, '/healthz')).status !== 200; i++) await sleep(100);
      assert.equal((await get(metrics, '/healthz')).status, 200, 'agent healthy');
    };

    // Collector down: alerts are raised and spooled.
    agent = startAgent();
    await healthy();
    for (const addr of ADDRS) await connectOnce(addr, port);
    for (let i = 0; i < 50; i++) {
      const n = fs.existsSync(path.join(dir, 'alerts.json')) ? fs.readFileSync(path.join(dir, 'alerts.json'), 'utf8').trim().split('\n').filter(Boolean).length : 0;
      if (n >= ADDRS.length) break;
      await sleep(100);
    }
    const written = fs.readFileSync(path.join(dir, 'alerts.json'), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
    assert.equal(written.length, ADDRS.length, 'one alert per new address');
    agent.kill('SIGKILL');
    await new Promise((r) => agent!.once('exit', r));

    // Both come back: the new agent's forwarder drains the spool the killed one left.
    const collector = await startCollector({ listen: { host: '127.0.0.1', port: collectorPort }, stateDir: path.join(dir, 'collector'),
      tokensFile: path.join(dir, 'tokens'), alertsFile: path.join(dir, 'collector.json') });
    try {
      agent = startAgent();
      await healthy();
      let got: { alerts: Record<string, any>[] } = { alerts: [] };
      for (let i = 0; i < 100; i++) {
        const r = await get(collectorPort, '/api/alerts?limit=100', TOKEN);
        if (r.status === 200) got = JSON.parse(r.body);
        if (got.alerts.length >= ADDRS.length) break;
        await sleep(200);
      }
      const ids = got.alerts.map((a) => a.event.id).sort();
      assert.deepEqual(ids, written.map((a) => a.event.id).sort(), 'the collector has exactly the alerts the agent wrote');
      await sleep(1500);
      const lines = fs.readFileSync(path.join(dir, 'collector.json'), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
      assert.equal(lines.length, ADDRS.length, 'each alert once in the collector file');
      assert.equal(new Set(lines.map((a) => a.event.id)).size, ADDRS.length);
      agent.kill('SIGTERM');
      await new Promise((r) => agent!.once('exit', r));
    } finally {
      await collector.close();
    }
  });
});

/** GET over HTTPS with a client certificate (the mutual-TLS collector asks every client for one). */
const getTls = (port: number, p: string, pki: TestPki, token?: string): ReturnType<typeof httpGet> =>
  httpGet(port, p, { token, tls: { ca: pki.ca, cert: pki.clientCert, key: pki.clientKey } });

describe('agent → collector over mutual TLS (collector --tls-client-ca)', function () {
  this.timeout(90_000);
  let dir = '';
  const children: ChildProcess[] = [];
  const servers: net.Server[] = [];
  const ADDRS = Array.from({ length: 5 }, (_, i) => `127.0.0.${50 + i}`);

  before(function () {
    requirePrereq(this, isRoot(), 'root (live capture on lo)');
    requirePrereq(this, haveCommand('openssl'), 'openssl');
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ew-forward-mtls-'));
  });
  after(() => {
    for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
    for (const s of servers) s.close();
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
  });

  const stop = async (child: ChildProcess): Promise<number | null> => {
    if (child.exitCode !== null) return child.exitCode;
    child.kill('SIGTERM');
    return new Promise((r) => child.once('exit', (code) => r(code)));
  };

  it('an agent without a client certificate is refused and keeps its alerts spooled; with one, every alert arrives once', async () => {
    const pki = makePki(path.join(dir, 'pki'));
    const port = await slowServers(ADDRS, servers);
    const collectorPort = 40000 + Math.floor(Math.random() * 10000);
    const metrics = collectorPort + 10000;
    fs.writeFileSync(path.join(dir, 'tokens'), `agent1 ${TOKEN}\n`);
    fs.writeFileSync(path.join(dir, 'agent.token'), `${TOKEN}\n`);
    const collector = spawn(process.execPath, [CLI, 'collector', '--listen', `127.0.0.1:${collectorPort}`, '--state-dir', path.join(dir, 'collector'),
      '--tokens-file', path.join(dir, 'tokens'), '--alerts-file', path.join(dir, 'collector.json'),
      '--tls-cert', pki.serverCert, '--tls-key', pki.serverKey, '--tls-client-ca', pki.ca, '--log-level', 'warn'], { stdio: ['ignore', 'pipe', 'inherit'] });
    children.push(collector);
    let collectorLog = '';
    collector.stdout!.on('data', (d: Buffer) => { collectorLog += d.toString(); });
    for (let i = 0; i < 100 && (await getTls(collectorPort, '/healthz', pki)).status !== 200; i++) await sleep(100);
    assert.equal((await getTls(collectorPort, '/healthz', pki)).status, 200, 'collector up');

    const startAgent = (clientCert: boolean): ChildProcess => {
      const child = spawn(process.execPath, [CLI, 'run', '--interface', 'lo', '--state-dir', path.join(dir, 'state'),
        '--alerts-file', path.join(dir, 'alerts.json'), '--learning-period', '0', '--alert-delay', '0', '--ptr', 'off',
        '--external-cidr', '127.0.0.48/28', '--metrics-listen', `127.0.0.1:${metrics}`,
        '--collector-url', `https://127.0.0.1:${collectorPort}/api/alerts`, '--collector-token-file', path.join(dir, 'agent.token'),
        '--collector-ca', pki.ca, ...(clientCert ? ['--collector-cert', pki.clientCert, '--collector-key', pki.clientKey] : [])],
      { stdio: 'ignore' });
      children.push(child);
      return child;
    };
    const healthy = async () => {
      for (let i = 0; i < 100 && (await get(metrics, '/healthz')).status !== 200; i++) await sleep(100);
      assert.equal((await get(metrics, '/healthz')).status, 200, 'agent healthy');
    };
    const gauge = async (name: string): Promise<number> => {
      const m = new RegExp(`^egresswatch_${name}(?:\\{[^}]*\\})? (\\d+)`, 'm').exec((await get(metrics, '/metrics')).body);
      return m ? Number(m[1]) : NaN;
    };
    const collected = async (): Promise<string[]> => {
      const r = await getTls(collectorPort, '/api/alerts?limit=100', pki, TOKEN);
      return r.status === 200 ? (JSON.parse(r.body) as { alerts: { event: { id: string } }[] }).alerts.map((a) => a.event.id).sort() : [];
    };

    // Without a client certificate: refused in the handshake, the alerts stay in the spool.
    let agent = startAgent(false);
    await healthy();
    for (const addr of ADDRS) await connectOnce(addr, port);
    const alertsFile = path.join(dir, 'alerts.json');
    for (let i = 0; i < 50; i++) {
      if (fs.existsSync(alertsFile) && fs.readFileSync(alertsFile, 'utf8').trim().split('\n').length >= ADDRS.length) break;
      await sleep(100);
    }
    const written = fs.readFileSync(alertsFile, 'utf8').trim().split('\n').map((l) => (JSON.parse(l) as { event: { id: string } }).event.id).sort();
    assert.equal(written.length, ADDRS.length, 'one alert per new address');
    for (let i = 0; i < 100 && !/refused a TLS client/.test(collectorLog); i++) await sleep(100);
    assert.match(collectorLog, /refused a TLS client/);
    assert.equal(await gauge('spool_depth'), ADDRS.length, 'the refused alerts wait in the spool');
    assert.deepEqual(await collected(), [], 'nothing reached the collector');
    assert.equal(await stop(agent), 0);

    // The same agent (same state dir and spool) with its client certificate: the spool drains.
    agent = startAgent(true);
    await healthy();
    let got: string[] = [];
    for (let i = 0; i < 100 && got.length < ADDRS.length; i++) {
      got = await collected();
      if (got.length < ADDRS.length) await sleep(200);
    }
    assert.deepEqual(got, written, 'the collector has exactly the alerts the agent wrote');
    for (let i = 0; i < 50 && (await gauge('spool_depth')) !== 0; i++) await sleep(100);
    assert.equal(await gauge('spool_depth'), 0);
    await sleep(1000);
    const lines = fs.readFileSync(path.join(dir, 'collector.json'), 'utf8').trim().split('\n');
    assert.equal(lines.length, ADDRS.length, 'each alert once in the collector file');
    assert.equal(await stop(agent), 0);
    assert.equal(await stop(collector), 0);
  });
});
