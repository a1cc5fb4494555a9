// End to end, as root: a container host's traffic captured on `any`, where one packet is seen
// more than once. Three namespaces this test makes: a "host" with a bridge (as docker0 or a CNI
// bridge), a "container" on a veth port of that bridge, and a "server" behind a routed uplink,
// on a documentation address. The host forwards, once plain and once with MASQUERADE on the
// uplink (as Docker does), and over IPv6. dumpcap captures on `any` in the host; the capture is
// replayed.
// Each packet of the download is captured on the uplink, on the bridge and on the veth port:
// the alert must count it once, exactly as the uplink alone carried it (before: 3x, 2x).
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { AGENT_CLI } from './agent.js';
import { deleteNamespaces, inNs, ip } from './netns.js';
import { Daemon, run, sleep } from './proc.js';
import { haveCommand, isRoot, requirePrereq } from '../helpers/env.js';

const SERVER = '203.0.113.50';
const SERVER6 = '2001:db8:50::50';
const PORT = 8000;
const SIZE = 100_000;

interface Counted { bytes: number; packets: number }

/** IP lengths of the server's packets in `capture`; `uplink`: only as the uplink carried them (arriving at the host, Linux cooked packet type 0). */
function serverPackets(capture: string, v6: boolean, uplink: boolean): number[] {
  const filter = `${v6 ? 'ipv6' : 'ip'}.src == ${v6 ? SERVER6 : SERVER} && tcp.srcport == ${PORT}${uplink ? ' && sll.pkttype == 0' : ''}`;
  const out = execFileSync('tshark', ['-n', '-r', capture, '-Y', filter, '-T', 'fields', '-e', v6 ? 'ipv6.plen' : 'ip.len'], { encoding: 'utf8' });
  return out.split('\n').filter(Boolean).map((l) => Number(l) + (v6 ? 40 : 0));
}

describe('end to end: a container host on `any`, where each packet is captured on the bridge, its port and the uplink', function () {
  this.timeout(120_000);
  const sfx = randomBytes(2).toString('hex');
  const ns = { host: `ewbh-${sfx}`, cont: `ewbc-${sfx}`, srv: `ewbs-${sfx}` };
  let dir = '';
  const daemons: Daemon[] = [];

  before(function () {
    requirePrereq(this, isRoot() && ['ip', 'nft', 'dumpcap', 'tshark', 'curl', 'python3'].every(haveCommand), 'root, ip, nft, dumpcap, tshark, curl and python3');
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ew-bridge-'));
    fs.writeFileSync(path.join(dir, 'file.bin'), randomBytes(SIZE));
    for (const n of Object.values(ns)) ip('netns', 'add', n);
    const h = (...a: string[]): void => ip(...inNs(ns.host, 'ip', ...a));
    const c = (...a: string[]): void => ip(...inNs(ns.cont, 'ip', ...a));
    const s = (...a: string[]): void => ip(...inNs(ns.srv, 'ip', ...a));
    h('link', 'set', 'lo', 'up');
    h('link', 'add', 'br0', 'type', 'bridge');
    h('addr', 'add', '10.99.0.1/24', 'dev', 'br0');
    h('addr', 'add', 'fd99::1/64', 'dev', 'br0', 'nodad');
    h('link', 'set', 'br0', 'up');
    h('link', 'add', 'vc', 'type', 'veth', 'peer', 'name', 'vcp');
    h('link', 'set', 'vcp', 'netns', ns.cont);
    h('link', 'set', 'vc', 'master', 'br0');
    h('link', 'set', 'vc', 'up');
    c('link', 'set', 'lo', 'up');
    c('addr', 'add', '10.99.0.2/24', 'dev', 'vcp');
    c('addr', 'add', 'fd99::2/64', 'dev', 'vcp', 'nodad');
    c('link', 'set', 'vcp', 'up');
    c('route', 'add', 'default', 'via', '10.99.0.1');
    c('-6', 'route', 'add', 'default', 'via', 'fd99::1');
    h('link', 'add', 'vs', 'type', 'veth', 'peer', 'name', 'vsp');
    h('link', 'set', 'vsp', 'netns', ns.srv);
    h('addr', 'add', '198.51.100.1/30', 'dev', 'vs');
    h('addr', 'add', '2001:db8:ffee::1/64', 'dev', 'vs', 'nodad');
    h('link', 'set', 'vs', 'up');
    h('route', 'add', `${SERVER}/32`, 'via', '198.51.100.2');
    h('-6', 'route', 'add', `${SERVER6}/128`, 'via', '2001:db8:ffee::2');
    s('link', 'set', 'lo', 'up');
    s('addr', 'add', `${SERVER}/32`, 'dev', 'lo');
    s('addr', 'add', `${SERVER6}/128`, 'dev', 'lo');
    s('addr', 'add', '198.51.100.2/30', 'dev', 'vsp');
    s('addr', 'add', '2001:db8:ffee::2/64', 'dev', 'vsp', 'nodad');
    s('link', 'set', 'vsp', 'up');
    s('route', 'add', '10.99.0.0/24', 'via', '198.51.100.1');
    s('-6', 'route', 'add', 'fd99::/64', 'via', '2001:db8:ffee::1');
    ip(...inNs(ns.host, 'sysctl', '-q', '-w', 'net.ipv4.ip_forward=1'));
    ip(...inNs(ns.host, 'sysctl', '-q', '-w', 'net.ipv6.conf.all.forwarding=1'));
  });

  after(async () => {
    for (const d of daemons) await d.stop('SIGTERM', 2000);
    const left = deleteNamespaces(Object.values(ns));
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
    assert.deepEqual(left, [], 'namespaces left');
  });

  /** One download from the container through the host, captured on `any` there; the capture's path. */
  async function capture(label: string, v6: boolean, clientNs: string = ns.cont): Promise<string> {
    const server = new Daemon(`http-server ${label}`, 'ip', inNs(ns.srv, 'python3', '-u', '-m', 'http.server', '--bind', v6 ? SERVER6 : SERVER, '--directory', dir, String(PORT)));
    daemons.push(server);
    await server.waitForOutput(/Serving HTTP/, 10_000);
    const file = path.join(dir, `${label}.pcap`);
    const dumpcap = new Daemon(`dumpcap ${label}`, 'ip', inNs(ns.host, 'dumpcap', '-P', '-i', 'any', '-w', file));
    daemons.push(dumpcap);
    await dumpcap.waitForOutput(/Capturing on/, 10_000);
    await sleep(300);
    const url = v6 ? `http://[${SERVER6}]:${PORT}/file.bin` : `http://${SERVER}:${PORT}/file.bin`;
    const r = await run('ip', inNs(clientNs, 'curl', '-s', '-g', '-o', '/dev/null', '-w', '%{size_download}', '--max-time', '10', url), { timeoutMs: 15_000 });
    assert.equal(r.stdout, String(SIZE), `download: ${r.stderr}`);
    await sleep(500);
    await dumpcap.stop('SIGINT', 5000);
    await server.stop('SIGTERM', 2000);
    return file;
  }

  /** The one alert of replaying `file`. */
  type Alert = { destination: Counted & { ip: string }; source: { ip: string }; message: string; egresswatch: { flow: { forwarded?: boolean } } };
  function replayAll(file: string, flags: string[] = []): Alert[] {
    const state = fs.mkdtempSync(path.join(dir, 'state-'));
    const alerts = path.join(state, 'alerts.json');
    const r = spawnSync(process.execPath, [AGENT_CLI, 'replay', file, '--state-dir', state, '--alerts-file', alerts,
      '--learning-period', '0', '--external-cidr', '203.0.113.0/24', '--external-cidr', '2001:db8:50::/48', ...flags], { encoding: 'utf8', timeout: 60_000 });
    assert.equal(r.status, 0, r.stderr);
    const text = fs.existsSync(alerts) ? fs.readFileSync(alerts, 'utf8') : '';
    return text.trim().split('\n').filter(Boolean).map((l) => JSON.parse(l) as Alert);
  }
  function replay(file: string): Alert {
    const lines = replayAll(file);
    assert.equal(lines.length, 1, `one alert: ${lines.map((l) => JSON.stringify(l.destination)).join('\n')}`);
    return lines[0];
  }

  const cases = [
    { label: 'routed', v6: false, masquerade: false, title: 'routed' },
    { label: 'nat', v6: false, masquerade: true, title: 'MASQUERADE on the uplink (as Docker)' },
    { label: 'ipv6', v6: true, masquerade: false, title: 'IPv6, routed (no IP ID to tell packets apart)' },
  ];
  for (const c of cases) {
    it(`${c.title}: the download is counted once, as the uplink carried it`, async () => {
      if (c.masquerade) {
        const rules = path.join(dir, 'nat.nft');
        fs.writeFileSync(rules, 'table ip nat {\n  chain post {\n    type nat hook postrouting priority 100;\n    ip saddr 10.99.0.0/24 oif "vs" masquerade\n  }\n}\n');
        ip(...inNs(ns.host, 'nft', '-f', rules));
      }
      const file = await capture(c.label, c.v6);
      const total = serverPackets(file, c.v6, false).length;
      const uplink = serverPackets(file, c.v6, true);
      const once = { bytes: uplink.reduce((a, b) => a + b, 0), packets: uplink.length };
      assert.ok(total >= 2 * once.packets, `each server packet is in the capture more than once (${total} against ${once.packets})`);
      assert.ok(once.bytes > SIZE, `the uplink carried the file (${once.bytes} bytes)`);
      const alert = replay(file);
      assert.equal(alert.source.ip, c.v6 ? 'fd99::2' : '10.99.0.2', 'the container is the source');
      // Captured arriving from the container's namespace before the host sent it on: forwarded.
      assert.equal(alert.egresswatch.flow.forwarded, true);
      assert.match(alert.message, /forwarded by this host/);
      assert.equal(alert.destination.ip, c.v6 ? SERVER6 : SERVER);
      // The flow ends at the second FIN, so a last pure ACK after it (52-72 bytes) may not be in it.
      const got = { bytes: alert.destination.bytes, packets: alert.destination.packets };
      assert.ok(got.packets <= once.packets && got.packets >= once.packets - 1 && got.bytes <= once.bytes && got.bytes >= once.bytes - 80,
        `counted ${JSON.stringify(got)}, the uplink carried ${JSON.stringify(once)}`);
    });
  }

  it('a connection the host makes itself is not marked forwarded; --ignore-forwarded leaves out only the container\'s', async () => {
    const own = await capture('own', false, ns.host);
    const alert = replay(own);
    assert.equal(alert.source.ip, '198.51.100.1', 'the host is the source');
    assert.equal(alert.egresswatch.flow.forwarded, undefined);
    assert.match(alert.message, /^an unattributed process /);
    assert.equal(replayAll(own, ['--ignore-forwarded']).length, 1, "the host's own connection is judged as always");
    const routed = path.join(dir, 'routed.pcap');
    assert.equal(replayAll(fs.existsSync(routed) ? routed : await capture('routed-again', false), ['--ignore-forwarded']).length, 0, 'the forwarded one is left alone');
  });
});
