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
import { AGENT_CLI } from './agent.js';
import { inNs, ip } from './netns.js';
import { Daemon, run, sleep } from './proc.js';
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
  const sfx = randomBytes(2).toString('hex');
  const ns = { client: `ewoc-${sfx}`, server: `ewos-${sfx}` };
  let dir = '';
  const daemons: Daemon[] = [];

  before(function () {
    requirePrereq(this, isRoot() && ['ip', 'dumpcap', 'curl', 'python3', 'nft'].every(haveCommand), 'root, ip, dumpcap, curl, python3 and nft');
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ew-outcome-'));
    fs.writeFileSync(path.join(dir, 'file.bin'), randomBytes(3000));
    for (const n of Object.values(ns)) ip('netns', 'add', n);
    const client = (...a: string[]): void => ip(...inNs(ns.client, 'ip', ...a));
    const server = (...a: string[]): void => ip(...inNs(ns.server, 'ip', ...a));
    client('link', 'set', 'lo', 'up');
    client('link', 'add', 'ewv', 'type', 'veth', 'peer', 'name', 'ewvp');
    client('link', 'set', 'ewvp', 'netns', ns.server);
    client('addr', 'add', '198.51.100.1/29', 'dev', 'ewv');
    client('link', 'set', 'ewv', 'up');
    server('link', 'set', 'lo', 'up');
    for (const a of [OPEN, CLOSED, DROPPED]) server('addr', 'add', `${a}/29`, 'dev', 'ewvp');
    server('link', 'set', 'ewvp', 'up');
    const nft = spawnSync('ip', inNs(ns.server, 'nft', '-f', '-'), {
      input: `table inet ewblock {\n chain input {\n  type filter hook input priority 0;\n  ip daddr ${DROPPED} tcp dport ${PORT} drop\n }\n}\n`, encoding: 'utf8', timeout: 10_000,
    });
    assert.equal(nft.status, 0, `nft: ${nft.stderr}`);
  });

  after(async () => {
    for (const d of daemons) await d.stop('SIGTERM', 2000);
    for (const n of Object.values(ns)) spawnSync('ip', ['netns', 'del', n], { timeout: 10_000 });
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
    const left = spawnSync('ip', ['netns', 'list'], { encoding: 'utf8' }).stdout;
    assert.ok(!left.includes(sfx), `namespaces left: ${left}`);
  });

  it('replayed from a capture on `any`: success for the server that answered, failure for the refused and the dropped one', async () => {
    const web = new Daemon('http-server', 'ip', inNs(ns.server, 'python3', '-u', '-m', 'http.server', '--bind', OPEN, '--directory', dir, String(PORT)));
    daemons.push(web);
    await web.waitForOutput(/Serving HTTP/, 10_000);
    const file = path.join(dir, 'client.pcap');
    const dumpcap = new Daemon('dumpcap', 'ip', inNs(ns.client, 'dumpcap', '-P', '-i', 'any', '-w', file));
    daemons.push(dumpcap);
    await dumpcap.waitForOutput(/Capturing on/, 10_000);
    await sleep(300);
    const curl = (addr: string): Promise<{ code: number | null; stdout: string }> =>
      run('ip', inNs(ns.client, 'curl', '-s', '-o', '/dev/null', '-w', '%{size_download}', '--connect-timeout', '2', `http://${addr}:${PORT}/file.bin`), { timeoutMs: 15_000 });
    assert.equal((await curl(OPEN)).stdout, '3000');
    assert.equal((await curl(CLOSED)).code, 7, 'curl: connection refused');
    assert.equal((await curl(DROPPED)).code, 28, 'curl: connect timeout');
    await sleep(500);
    await dumpcap.stop('SIGINT', 5000);

    const state = path.join(dir, 'state');
    const alerts = path.join(state, 'alerts.json');
    const r = spawnSync(process.execPath, [AGENT_CLI, 'replay', file, '--state-dir', state, '--alerts-file', alerts,
      '--learning-period', '0', '--external-cidr', '198.51.100.0/24'], { encoding: 'utf8', timeout: 60_000 });
    assert.equal(r.status, 0, r.stderr);
    const byIp = new Map(fs.readFileSync(alerts, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as Alert).map((a) => [a.destination.ip, a]));
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
