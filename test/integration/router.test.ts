// End to end, live, as root: the agent on a router, capturing on its two interfaces by name
// (`--interface in --interface out`, not `any`). Three namespaces this test makes: a client, the
// router (forwarding; translating to three of the addresses) and a server on documentation
// addresses. Every packet of a download crosses both of the router's interfaces and is captured on
// each: the alert must count it once, as one interface carried it (before: twice), also when one
// interface's copies are read after the connection ended. The client's connections are marked
// forwarded (their frames carry the client's hardware address) and name the client, translated or
// not; the router's own connection is not forwarded. Its resolver is a local stub the capture does
// not see: the agent says so.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { AGENT_CLI } from './agent.js';
import { readAlerts, waitForAlerts } from './alerts.js';
import { deleteNamespaces, inNs, ip } from './netns.js';
import { Daemon, run, sleep } from './proc.js';
import { haveCommand, isRoot, requirePrereq } from '../helpers/env.js';

const SERVER = '203.0.113.60';
/** The server's second address: the router's own connection goes there (another domain group than the client's). */
const SERVER2 = '203.0.113.61';
/** Addresses the client downloads from at full speed, each a new destination. */
const FAST = ['203.0.113.62', '203.0.113.63', '203.0.113.64'];
/** Addresses the router translates the client's connections to (masquerade on its way out). */
const NATTED = ['203.0.113.65', '203.0.113.66', '203.0.113.67'];
const PORT = 8000;
const SIZE = 200_000;
/** IP header + TCP header with timestamps: what each of the server's packets adds to its payload. */
const HEADERS = 52;

describe('end to end, live: a router capturing on its two interfaces by name', function () {
  this.timeout(120_000);
  const sfx = randomBytes(2).toString('hex');
  const ns = { client: `ewrc-${sfx}`, router: `ewrr-${sfx}`, server: `ewrs-${sfx}` };
  let dir = '';
  const daemons: Daemon[] = [];

  before(function () {
    requirePrereq(this, isRoot() && ['ip', 'curl', 'python3', 'nft'].every(haveCommand), 'root, ip, curl, python3 and nft');
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ew-router-'));
    fs.chmodSync(dir, 0o755);
    fs.writeFileSync(path.join(dir, 'file.bin'), randomBytes(SIZE));
    for (const n of Object.values(ns)) ip('netns', 'add', n);
    const r = (...a: string[]): void => ip(...inNs(ns.router, 'ip', ...a));
    const c = (...a: string[]): void => ip(...inNs(ns.client, 'ip', ...a));
    const s = (...a: string[]): void => ip(...inNs(ns.server, 'ip', ...a));
    r('link', 'set', 'lo', 'up');
    r('link', 'add', 'rin', 'type', 'veth', 'peer', 'name', 'cin');
    r('link', 'set', 'cin', 'netns', ns.client);
    r('addr', 'add', '10.98.0.1/24', 'dev', 'rin');
    r('link', 'set', 'rin', 'up');
    r('link', 'add', 'rout', 'type', 'veth', 'peer', 'name', 'sout');
    r('link', 'set', 'sout', 'netns', ns.server);
    r('addr', 'add', '198.51.100.5/30', 'dev', 'rout');
    r('link', 'set', 'rout', 'up');
    r('route', 'add', `${SERVER}/32`, 'via', '198.51.100.6');
    for (const a of [SERVER2, ...FAST, ...NATTED]) r('route', 'add', `${a}/32`, 'via', '198.51.100.6');
    c('link', 'set', 'lo', 'up');
    c('addr', 'add', '10.98.0.2/24', 'dev', 'cin');
    c('link', 'set', 'cin', 'up');
    c('route', 'add', 'default', 'via', '10.98.0.1');
    s('link', 'set', 'lo', 'up');
    s('addr', 'add', `${SERVER}/32`, 'dev', 'lo');
    for (const a of [SERVER2, ...FAST, ...NATTED]) s('addr', 'add', `${a}/32`, 'dev', 'lo');
    s('addr', 'add', '198.51.100.6/30', 'dev', 'sout');
    s('link', 'set', 'sout', 'up');
    s('route', 'add', '10.98.0.0/24', 'via', '198.51.100.5');
    ip(...inNs(ns.router, 'sysctl', '-q', '-w', 'net.ipv4.ip_forward=1'));
    // The router's own table (gone with its namespace): the client's connections to NATTED leave with its address.
    ip(...inNs(ns.router, 'nft', 'add table ip ewnat; add chain ip ewnat post { type nat hook postrouting priority 100 ; }; '
      + `add rule ip ewnat post ip daddr { ${NATTED.join(', ')} } oifname "rout" masquerade`));
    // The router's resolver is a local stub (`ip netns exec` mounts this over /etc/resolv.conf).
    fs.mkdirSync(path.join('/etc/netns', ns.router), { recursive: true });
    fs.writeFileSync(path.join('/etc/netns', ns.router, 'resolv.conf'), 'nameserver 127.0.0.53\n');
  });

  after(async () => {
    for (const d of daemons.reverse()) await d.stop('SIGTERM', 5000);
    const left = deleteNamespaces(Object.values(ns));
    fs.rmSync(path.join('/etc/netns', ns.router), { recursive: true, force: true });
    try { fs.rmdirSync('/etc/netns'); } catch { /* not empty: others' */ }
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
    assert.deepEqual(left, [], 'namespaces left');
  });

  it('counts each download once, as one interface carried it, and marks the client\'s connections forwarded, from the client', async () => {
    const server = new Daemon('http-server', 'ip', inNs(ns.server, 'python3', '-u', '-m', 'http.server', '--bind', '0.0.0.0', '--directory', dir, String(PORT)));
    daemons.push(server);
    await server.waitForOutput(/Serving HTTP/, 10_000);
    const state = path.join(dir, 'state');
    const alerts = path.join(state, 'alerts.json');
    // The client is another machine to the router: nothing to attribute, so no kernel tracing.
    // The alert waits for the connection's end (within --alert-delay), so it has all its bytes.
    const agent = new Daemon('agent on the router', 'ip', inNs(ns.router, process.execPath, AGENT_CLI, 'run', '--interface', 'rin', '--interface', 'rout',
      '--state-dir', state, '--alerts-file', alerts, '--learning-period', '0', '--alert-delay', '5s', '--external-cidr', '203.0.113.0/24',
      '--kernel-tracing', 'off', '--log-level', 'info'));
    daemons.push(agent);
    await agent.waitForOutput(/egresswatch running/, 20_000);
    // lo is not among the interfaces: the stub's answers cannot be seen, and the log says so.
    assert.match(agent.describe(), /resolver answers its programs over lo, which is not captured[^\n]*add --interface lo/);
    assert.match(agent.describe(), /"nameservers":\["127\.0\.0\.53"\]/);
    await sleep(300);
    // Slowly (about 2 s): both interfaces deliver their copies while the connection is open, not
    // one interface's whole connection before the other's (that would hide the copies behind its end).
    const r = await run('ip', inNs(ns.client, 'curl', '-s', '-o', '/dev/null', '-w', '%{size_download}', '--limit-rate', '100k', '--max-time', '10', `http://${SERVER}:${PORT}/file.bin`), { timeoutMs: 15_000 });
    assert.equal(r.stdout, String(SIZE), `download: ${r.stderr}`);
    const got = await waitForAlerts(alerts, (a) => a.length >= 1, 10_000);
    assert.ok(got.length >= 1, `an alert within 10 s${agent.describe()}`);
    // The router's own connection, to the server's other address: new for the host, and not forwarded.
    const own = await run('ip', inNs(ns.router, 'curl', '-s', '-o', '/dev/null', '-w', '%{size_download}', '--max-time', '10', `http://${SERVER2}:${PORT}/file.bin`), { timeoutMs: 15_000 });
    assert.equal(own.stdout, String(SIZE), `the router's download: ${own.stderr}`);
    await waitForAlerts(alerts, (a) => a.length >= 2, 10_000);
    // At full speed: one interface can hand over the whole connection, FIN included, before the
    // other hands over its copies (about one download in three here). They must not start it again.
    for (const a of FAST) {
      const f = await run('ip', inNs(ns.client, 'curl', '-s', '-o', '/dev/null', '-w', '%{size_download}', '--max-time', '10', `http://${a}:${PORT}/file.bin`), { timeoutMs: 15_000 });
      assert.equal(f.stdout, String(SIZE), `download from ${a}: ${f.stderr}`);
    }
    // Translated: either interface's copy can be read first, the client's or the router's.
    for (const a of NATTED) {
      const f = await run('ip', inNs(ns.client, 'curl', '-s', '-o', '/dev/null', '-w', '%{size_download}', '--max-time', '10', `http://${a}:${PORT}/file.bin`), { timeoutMs: 15_000 });
      assert.equal(f.stdout, String(SIZE), `download from ${a}: ${f.stderr}`);
    }
    // The server saw them from the router's address, as the router's own download (http.server logs each request's client).
    const fromRouter = server.describe().match(/^198\.51\.100\.5 - - .*"GET \/file\.bin/gm) ?? [];
    assert.equal(fromRouter.length, 1 + NATTED.length, `translated${server.describe()}`);
    await waitForAlerts(alerts, (a) => a.length >= 2 + FAST.length + NATTED.length, 10_000);
    await sleep(1500);
    const how = await agent.stop('SIGTERM', 10_000);
    assert.ok(how.code === 0 && !how.killed, `agent exit ${JSON.stringify(how)}${agent.describe()}`);
    type Alert = { destination: { ip: string; bytes: number; packets: number }; source: { ip: string };
      egresswatch: { flow: { forwarded?: boolean }; connections: { count: number; destination_bytes: number } } };
    const all = readAlerts(alerts) as Alert[];
    assert.deepEqual(all.map((x) => x.destination.ip).sort(), [SERVER, SERVER2, ...FAST, ...NATTED].sort(), `an alert a destination: ${JSON.stringify(all)}${agent.describe()}`);
    const a = all.find((x) => x.destination.ip === SERVER)!;
    assert.equal(a.source.ip, '10.98.0.2');
    // Ethernet frames, no cooked header: the client's frames carry its own hardware address, not the router's.
    assert.equal(a.egresswatch.flow.forwarded, true, 'the client\'s connection is forwarded');
    const mine = all.find((x) => x.destination.ip === SERVER2)!;
    assert.equal(mine.source.ip, '198.51.100.5');
    assert.equal(mine.egresswatch.flow.forwarded, undefined, 'the router\'s own is not');
    for (const f of all.filter((x) => FAST.includes(x.destination.ip) || NATTED.includes(x.destination.ip))) {
      // Translated or not, the client named, as on `any` (before: the router's address when its copy came first).
      assert.equal(f.source.ip, '10.98.0.2', `${f.destination.ip}: source`);
      assert.equal(f.egresswatch.flow.forwarded, true, `${f.destination.ip} forwarded`);
      // Before: now and then a second connection of the same bytes, counted among the alert's connections.
      assert.equal(f.egresswatch.connections.count, 1, `${f.destination.ip}: one connection, ${JSON.stringify(f.egresswatch.connections)}`);
      assert.ok(f.destination.bytes > SIZE && f.destination.bytes < SIZE * 1.2, `${f.destination.ip}: server bytes ${f.destination.bytes}`);
      assert.equal(f.egresswatch.connections.destination_bytes, f.destination.bytes);
    }
    // What the server sent, once: the file and the HTTP head, each packet with its headers.
    // Counted on both interfaces, it would be about twice SIZE.
    assert.ok(a.destination.bytes > SIZE && a.destination.bytes < SIZE * 1.2, `server bytes ${a.destination.bytes} for a ${SIZE}-byte file`);
    assert.ok(a.destination.packets * HEADERS < SIZE * 0.2, `server packets ${a.destination.packets}`);
  });
});
