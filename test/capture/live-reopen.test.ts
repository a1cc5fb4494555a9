// An interface that goes away under a live capture (a VPN or container interface deleted and
// made again): the capture says it stopped, /healthz turns 503, and capture resumes on the new
// interface of the same name. Real veth pairs: one end in the root namespace (no address, no
// route), the other in a namespace this test makes, which sends UDP to 198.51.100.1 through a
// static neighbour entry; the root namespace drops what arrives, the capture sees it first.
import assert from 'node:assert/strict';
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import readline from 'node:readline';
import { CaptureStopped, LiveCapture, buildBpfFilter } from '../../lib/capture/index.js';
import { DecodeStats, PacketInfo, decodePacket } from '../../lib/decode/index.js';
import { REPO_ROOT, haveCommand, isRoot, requirePrereq } from '../helpers/env.js';

const NS_ADDR = '198.51.100.2';
const PEER_ADDR = '198.51.100.1';

function ip(...args: string[]): string {
  return execFileSync('ip', args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
}

/** A veth pair: `host` in the root namespace, its peer in `ns` with NS_ADDR and a neighbour for PEER_ADDR. */
function makeLink(ns: string, host: string, peer: string): void {
  ip('link', 'add', host, 'type', 'veth', 'peer', 'name', peer);
  ip('link', 'set', peer, 'netns', ns);
  ip('link', 'set', host, 'up');
  ip('-n', ns, 'addr', 'add', `${NS_ADDR}/24`, 'dev', peer);
  ip('-n', ns, 'link', 'set', peer, 'up');
  const mac = fs.readFileSync(`/sys/class/net/${host}/address`, 'utf8').trim();
  ip('-n', ns, 'neigh', 'replace', PEER_ADDR, 'lladdr', mac, 'dev', peer, 'nud', 'permanent');
}

/** One UDP datagram from inside `ns` to PEER_ADDR:9 with `tag` as payload. */
function sendFromNs(ns: string, tag: string): void {
  execFileSync('ip', ['netns', 'exec', ns, 'python3', '-c',
    `import socket; s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.sendto(b'${tag}', ('${PEER_ADDR}', 9))`], { stdio: 'ignore' });
}

function until(cond: () => boolean, ms: number, what: string): Promise<void> {
  const end = Date.now() + ms;
  return new Promise((resolve, reject) => {
    const tick = (): void => {
      if (cond()) resolve();
      else if (Date.now() > end) reject(new Error(`${what}: not within ${ms} ms`));
      else setTimeout(tick, 20);
    };
    tick();
  });
}

function getStatus(port: number, p: string): Promise<number> {
  return new Promise((resolve, reject) => {
    http.get({ host: '127.0.0.1', port, path: p, timeout: 2000 }, (res) => { res.resume(); resolve(res.statusCode ?? 0); }).on('error', reject);
  });
}

describe('capture: an interface that goes away and comes back', function () {
  this.timeout(30_000);
  const sfx = randomBytes(2).toString('hex');
  const ns = `ewre-${sfx}`;
  const host = `ewrh-${sfx}`;
  const peer = `ewrn-${sfx}`;

  before(function () {
    requirePrereq(this, isRoot(), 'root (veth pairs and a network namespace)');
    requirePrereq(this, haveCommand('ip') && haveCommand('python3'), 'ip (iproute2) and python3');
    ip('netns', 'add', ns);
  });
  after(() => {
    try { ip('link', 'del', host); } catch { /* gone already */ }
    try { ip('netns', 'del', ns); } catch { /* never made */ }
  });

  it('LiveCapture: stopped on delete (counted, told once), reopened on the new interface, counters kept', async () => {
    makeLink(ns, host, peer);
    const seen: string[] = [];
    const errors: unknown[] = [];
    const out = new PacketInfo();
    const stats = new DecodeStats();
    const capture = LiveCapture.open({
      interfaces: [host], filter: buildBpfFilter([53]), bufferBytes: 1 << 20, snapLength: 65535, immediate: true,
      onError: (err) => errors.push(err),
    }, (buf, caplen, wireLen, _ts, linkType) => {
      if (decodePacket(linkType, buf, caplen, out, stats, wireLen) && out.protocol === 17) {
        seen.push(buf.toString('latin1', out.payloadOffset, out.payloadOffset + out.payloadLength));
      }
    });
    try {
      sendFromNs(ns, 'before');
      await until(() => seen.includes('before'), 5000, 'the first datagram captured');
      ip('link', 'del', host);
      await until(() => capture.failedInterfaces().length === 1, 5000, 'the capture noticed the interface is gone');
      assert.deepEqual(capture.failedInterfaces(), [host]);
      assert.equal(errors.length, 1);
      assert.ok(errors[0] instanceof CaptureStopped && errors[0].iface === host, String(errors[0]));
      const missing = capture.reopenFailed();
      assert.deepEqual(missing.resumed, []);
      assert.equal(missing.failing.length, 1);
      assert.match(missing.failing[0].error, new RegExp(`cannot capture on interface ${host}`));
      makeLink(ns, host, peer);
      assert.deepEqual(capture.reopenFailed().resumed, [host]);
      assert.deepEqual(capture.failedInterfaces(), []);
      sendFromNs(ns, 'after');
      await until(() => seen.includes('after'), 5000, 'a datagram on the new interface captured');
      const [s] = capture.stats();
      assert.equal(s.reopens, 1);
      assert.equal(s.readErrors, 1);
      assert.ok(s.delivered >= 2, `delivered ${s.delivered}: the old session's packets are still counted`);
    } finally {
      capture.close();
      // The new handle is freed at its next packet (the failed one never can be, and does not wait).
      sendFromNs(ns, 'wake');
      await Promise.race([capture.closed, new Promise((_, reject) => setTimeout(() => reject(new Error('closed did not resolve')), 5000))]);
    }
  });

  it('the agent logs the stop, /healthz is 503 until the interface is back, then logs the resume', async function () {
    requirePrereq(this, fs.existsSync(path.join(REPO_ROOT, 'dist', 'agent', 'cli.js')), 'dist/agent/cli.js built');
    try { ip('link', 'del', host); } catch { /* not there */ }
    makeLink(ns, host, peer);
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ew-reopen-'));
    const port = 20_000 + Math.floor(Math.random() * 20_000);
    let agent: ChildProcess | undefined;
    let exited = true;
    const lines: string[] = [];
    try {
      agent = spawn(process.execPath, [path.join(REPO_ROOT, 'dist', 'agent', 'cli.js'), 'run', '--interface', host,
        '--state-dir', path.join(dir, 'state'), '--alerts-file', path.join(dir, 'alerts.json'), '--metrics-listen', `127.0.0.1:${port}`,
        '--ptr', 'off'], { stdio: ['ignore', 'pipe', 'pipe'] });
      for (const stream of [agent.stdout, agent.stderr]) {
        if (stream) readline.createInterface({ input: stream }).on('line', (l) => lines.push(l));
      }
      await until(() => lines.some((l) => l.includes('egresswatch running')), 15_000, 'the agent started');
      assert.equal(await getStatus(port, '/healthz'), 200);
      ip('link', 'del', host);
      await until(() => lines.some((l) => l.includes('capture stopped on an interface')), 5000, 'the stop logged');
      assert.equal(await getStatus(port, '/healthz'), 503);
      const stop = JSON.parse(lines.find((l) => l.includes('capture stopped'))!) as { interface: string; level: string };
      assert.equal(stop.interface, host);
      assert.equal(stop.level, 'error');
      makeLink(ns, host, peer);
      await until(() => lines.some((l) => l.includes('capture resumed on an interface')), 6000, 'the resume logged');
      assert.equal(await getStatus(port, '/healthz'), 200);
    } catch (err) {
      throw new Error(`${(err as Error).message}; agent output:\n${lines.slice(-20).join('\n')}`, { cause: err });
    } finally {
      // On a quiet interface libpcap keeps the closed handle until a packet comes: the agent must exit anyway.
      agent?.kill('SIGTERM');
      if (agent && agent.exitCode === null) {
        const exit = new Promise<boolean>((r) => agent!.once('exit', () => r(true)));
        exited = await Promise.race([exit, new Promise<boolean>((r) => setTimeout(() => r(false), 10_000))]);
        if (!exited) agent.kill('SIGKILL');
      }
      fs.rmSync(dir, { recursive: true, force: true });
    }
    assert.ok(exited, 'the agent exited within 10 s of SIGTERM');
    assert.equal(agent?.exitCode, 0);
    assert.ok(lines.some((l) => l.includes('egresswatch stopped')));
    assert.equal(lines.filter((l) => l.includes('capture stopped')).length, 1, 'told once');
  });
});
