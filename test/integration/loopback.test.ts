// End to end, as root: a host that connects to one of its own addresses. On a server whose
// public address sits on an interface (a VPS, bare metal), a program fetching the host's own
// URL reaches it over lo, from and to that public address: the host talking to itself, not
// egress. Two namespaces this test makes: "self", holding 203.0.113.77 (an external address by
// --external-cidr) and a veth to "peer" at 198.51.100.2. dumpcap captures on `any` in "self"
// while curl there downloads from its own 203.0.113.77 and from the peer; the capture is
// replayed: one alert, for the peer.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { AGENT_CLI } from './agent.js';
import { inNs, ip } from './netns.js';
import { Daemon, run, sleep } from './proc.js';
import { haveCommand, isRoot, requirePrereq } from '../helpers/env.js';

const OWN = '203.0.113.77';
const PEER = '198.51.100.2';
const PORT = 8000;

describe('end to end: a connection to one of the host\'s own addresses (over lo) is not egress', function () {
  this.timeout(60_000);
  const sfx = randomBytes(2).toString('hex');
  const ns = { self: `ewls-${sfx}`, peer: `ewlp-${sfx}` };
  let dir = '';
  const daemons: Daemon[] = [];

  before(function () {
    requirePrereq(this, isRoot() && ['ip', 'dumpcap', 'curl', 'python3'].every(haveCommand), 'root, ip, dumpcap, curl and python3');
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ew-loopback-'));
    fs.writeFileSync(path.join(dir, 'file.bin'), randomBytes(5000));
    for (const n of Object.values(ns)) ip('netns', 'add', n);
    const self = (...a: string[]): void => ip(...inNs(ns.self, 'ip', ...a));
    const peer = (...a: string[]): void => ip(...inNs(ns.peer, 'ip', ...a));
    self('link', 'set', 'lo', 'up');
    self('addr', 'add', `${OWN}/32`, 'dev', 'lo');
    self('link', 'add', 'ewv', 'type', 'veth', 'peer', 'name', 'ewvp');
    self('link', 'set', 'ewvp', 'netns', ns.peer);
    self('addr', 'add', '198.51.100.1/30', 'dev', 'ewv');
    self('link', 'set', 'ewv', 'up');
    peer('link', 'set', 'lo', 'up');
    peer('addr', 'add', `${PEER}/30`, 'dev', 'ewvp');
    peer('link', 'set', 'ewvp', 'up');
  });

  after(async () => {
    for (const d of daemons) await d.stop('SIGTERM', 2000);
    for (const n of Object.values(ns)) spawnSync('ip', ['netns', 'del', n], { timeout: 10_000 });
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
    const left = spawnSync('ip', ['netns', 'list'], { encoding: 'utf8' }).stdout;
    assert.ok(!left.includes(sfx), `namespaces left: ${left}`);
  });

  async function server(name: string, addr: string): Promise<void> {
    const d = new Daemon(`http-server ${addr}`, 'ip', inNs(name, 'python3', '-u', '-m', 'http.server', '--bind', addr, '--directory', dir, String(PORT)));
    daemons.push(d);
    await d.waitForOutput(/Serving HTTP/, 10_000);
  }

  it('replayed from a capture on `any`: no alert for the own address, one for the peer', async () => {
    await server(ns.self, OWN);
    await server(ns.peer, PEER);
    const file = path.join(dir, 'self.pcap');
    const dumpcap = new Daemon('dumpcap', 'ip', inNs(ns.self, 'dumpcap', '-P', '-i', 'any', '-w', file));
    daemons.push(dumpcap);
    await dumpcap.waitForOutput(/Capturing on/, 10_000);
    await sleep(300);
    for (const addr of [OWN, PEER]) {
      const r = await run('ip', inNs(ns.self, 'curl', '-s', '-o', '/dev/null', '-w', '%{size_download}', '--max-time', '10', `http://${addr}:${PORT}/file.bin`), { timeoutMs: 15_000 });
      assert.equal(r.stdout, '5000', `download from ${addr}: ${r.stderr}`);
    }
    await sleep(500);
    await dumpcap.stop('SIGINT', 5000);

    const state = path.join(dir, 'state');
    const alerts = path.join(state, 'alerts.json');
    const r = spawnSync(process.execPath, [AGENT_CLI, 'replay', file, '--state-dir', state, '--alerts-file', alerts, '--stats-json',
      '--learning-period', '0', '--external-cidr', '203.0.113.0/24', '--external-cidr', '198.51.100.0/24'], { encoding: 'utf8', timeout: 60_000 });
    assert.equal(r.status, 0, r.stderr);
    const stats = JSON.parse(r.stdout) as { connections: { tcp: number } };
    assert.ok(stats.connections.tcp >= 2, `both connections seen: ${r.stdout}`);
    const lines = fs.readFileSync(alerts, 'utf8').trim().split('\n').filter(Boolean).map((l) => JSON.parse(l) as { destination: { ip: string } });
    assert.deepEqual(lines.map((l) => l.destination.ip), [PEER]);
  });
});
