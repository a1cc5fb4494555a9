// End to end, as root: whether a new connection got through, from what the real kernel's TCP
// sends. Two namespaces this test makes, "client" and "server" (198.51.100.2, .3 and .4 on one
// veth): a web server on .2, nothing listening on .3 (the kernel answers the SYN with a RST),
// and .4 dropped by an nftables rule in "server" (an egress block: no answer at all). dumpcap
// captures on `any` in "client" while curl tries each; the capture is replayed: the alerts say
// completed / success, refused / failure and no-answer / failure.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { inNs } from './netns.js';
import { NsPair, replayCapture } from './pair.js';
import { run, sleep } from './proc.js';
import { haveCommand, isRoot, requirePrereq } from '../helpers/env.js';

const OPEN = '198.51.100.2';
const CLOSED = '198.51.100.3';
const DROPPED = '198.51.100.4';
const PORT = 8000;

interface Alert {
  message: string;
  destination: { ip: string; bytes: number };
  event: { outcome: string };
  egresswatch: { flow: { answered: boolean; tcp_handshake?: string } };
}

describe('end to end: a new connection\'s outcome (completed, refused, no answer)', function () {
  this.timeout(60_000);
  const pair = new NsPair('ewo');
  let dir = '';

  before(function () {
    requirePrereq(this, isRoot() && ['ip', 'dumpcap', 'curl', 'python3', 'nft'].every(haveCommand), 'root, ip, dumpcap, curl, python3 and nft');
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ew-outcome-'));
    fs.writeFileSync(path.join(dir, 'file.bin'), randomBytes(3000));
    pair.create('198.51.100.1/29', [OPEN, CLOSED, DROPPED].map((a) => `${a}/29`));
    const nft = spawnSync('ip', inNs(pair.b, 'nft', '-f', '-'), {
      input: `table inet ewblock {\n chain input {\n  type filter hook input priority 0;\n  ip daddr ${DROPPED} tcp dport ${PORT} drop\n }\n}\n`, encoding: 'utf8', timeout: 10_000,
    });
    assert.equal(nft.status, 0, `nft: ${nft.stderr}`);
  });

  after(async () => {
    await pair.remove();
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
  });

  it('replayed from a capture on `any`: success for the server that answered, failure for the refused and the dropped one', async () => {
    await pair.start('http-server', pair.b, ['python3', '-u', '-m', 'http.server', '--bind', OPEN, '--directory', dir, String(PORT)], /Serving HTTP/);
    const file = path.join(dir, 'client.pcap');
    const dumpcap = await pair.capture(pair.a, file);
    const curl = (addr: string): Promise<{ code: number | null; stdout: string }> =>
      run('ip', inNs(pair.a, 'curl', '-s', '-o', '/dev/null', '-w', '%{size_download}', '--connect-timeout', '2', `http://${addr}:${PORT}/file.bin`), { timeoutMs: 15_000 });
    assert.equal((await curl(OPEN)).stdout, '3000');
    assert.equal((await curl(CLOSED)).code, 7, 'curl: connection refused');
    assert.equal((await curl(DROPPED)).code, 28, 'curl: connect timeout');
    await sleep(500);
    await dumpcap.stop('SIGINT', 5000);

    const { alerts } = replayCapture<Alert>(file, path.join(dir, 'state'), ['--external-cidr', '198.51.100.0/24']);
    const byIp = new Map(alerts.map((a) => [a.destination.ip, a]));
    assert.deepEqual([...byIp.keys()].sort(), [OPEN, CLOSED, DROPPED]);
    const open = byIp.get(OPEN)!;
    assert.equal(open.event.outcome, 'success');
    assert.deepEqual(open.egresswatch.flow, { open: false, answered: true, tcp_handshake: 'completed' });
    assert.match(open.message, / connected to 198\.51\.100\.2 /);
    const closed = byIp.get(CLOSED)!;
    assert.equal(closed.event.outcome, 'failure');
    assert.equal(closed.egresswatch.flow.tcp_handshake, 'refused');
    assert.equal(closed.egresswatch.flow.answered, false);
    assert.match(closed.message, /tried to connect to 198\.51\.100\.3 \(198\.51\.100\.3; refused\)/);
    const dropped = byIp.get(DROPPED)!;
    assert.equal(dropped.event.outcome, 'failure');
    assert.equal(dropped.egresswatch.flow.tcp_handshake, 'no-answer');
    assert.equal(dropped.destination.bytes, 0);
    assert.match(dropped.message, /tried to connect to 198\.51\.100\.4 \(198\.51\.100\.4; no answer\)/);
  });
});
