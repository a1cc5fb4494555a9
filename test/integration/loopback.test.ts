// End to end, as root: a host that connects to one of its own addresses. On a server whose
// public address sits on an interface (a VPS, bare metal), a program fetching the host's own
// URL reaches it over lo, from and to that public address: the host talking to itself, not
// egress. Two namespaces this test makes: "self", holding 203.0.113.77 (an external address by
// --external-cidr) and a veth to "peer" at 198.51.100.2. dumpcap captures on `any` in "self"
// while curl there downloads from its own 203.0.113.77 and from the peer; the capture is
// replayed: one alert, for the peer.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { inNs } from './netns.js';
import { NsPair, replayCapture } from './pair.js';
import { run, sleep } from './proc.js';
import { haveCommand, isRoot, requirePrereq } from '../helpers/env.js';

const OWN = '203.0.113.77';
const PEER = '198.51.100.2';
const PORT = 8000;

describe('end to end: a connection to one of the host\'s own addresses (over lo) is not egress', function () {
  this.timeout(60_000);
  const pair = new NsPair('ewl');
  let dir = '';

  before(function () {
    requirePrereq(this, isRoot() && ['ip', 'dumpcap', 'curl', 'python3'].every(haveCommand), 'root, ip, dumpcap, curl and python3');
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ew-loopback-'));
    fs.writeFileSync(path.join(dir, 'file.bin'), randomBytes(5000));
    pair.create('198.51.100.1/30', [`${PEER}/30`]);
    pair.ipIn(pair.a, 'addr', 'add', `${OWN}/32`, 'dev', 'lo');
  });

  after(async () => {
    await pair.remove();
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
  });

  it('replayed from a capture on `any`: no alert for the own address, one for the peer', async () => {
    for (const [ns, addr] of [[pair.a, OWN], [pair.b, PEER]]) {
      await pair.start(`http-server ${addr}`, ns, ['python3', '-u', '-m', 'http.server', '--bind', addr, '--directory', dir, String(PORT)], /Serving HTTP/);
    }
    const file = path.join(dir, 'self.pcap');
    const dumpcap = await pair.capture(pair.a, file);
    for (const addr of [OWN, PEER]) {
      const r = await run('ip', inNs(pair.a, 'curl', '-s', '-o', '/dev/null', '-w', '%{size_download}', '--max-time', '10', `http://${addr}:${PORT}/file.bin`), { timeoutMs: 15_000 });
      assert.equal(r.stdout, '5000', `download from ${addr}: ${r.stderr}`);
    }
    await sleep(500);
    await dumpcap.stop('SIGINT', 5000);

    const { stats, alerts } = replayCapture<{ destination: { ip: string } }>(file, path.join(dir, 'state'), ['--external-cidr', '203.0.113.0/24', '--external-cidr', '198.51.100.0/24']);
    assert.ok(stats.connections.tcp >= 2, `both connections seen: ${JSON.stringify(stats)}`);
    assert.deepEqual(alerts.map((l) => l.destination.ip), [PEER]);
  });
});
