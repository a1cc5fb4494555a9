// End to end, as root: a host whose software reaches the internet through an HTTP proxy. Two
// namespaces this test makes: "client" (10.9.0.1) and "proxy" (10.9.0.2, an internal address),
// where a real tinyproxy listens and a web server stands in for the internet on 203.0.113.80
// (the proxy resolves the test names through /etc/netns/<proxy>/hosts, which `ip netns exec`
// binds over /etc/hosts). dumpcap captures on `any` in "client" while curl fetches through the
// proxy, once tunnelled (CONNECT), once as a plain proxied request, and once through a tunnel
// the proxy refuses (403: a port it does not allow); the capture is replayed:
// with --proxy both destinations alert by name, without it nothing does (all traffic goes to
// an internal address).
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { inNs } from './netns.js';
import { NsPair, replayCapture } from './pair.js';
import { run, sleep } from './proc.js';
import { FIXTURES_DIR, haveCommand, isRoot, requirePrereq } from '../helpers/env.js';

const PROXY = '10.9.0.2';
const PROXY_PORT = 8888;
const WEB = '203.0.113.80';
const WEB_PORT = 8000;
/** Not a ConnectPort of the proxy's: a CONNECT there is refused (403). */
const BLOCKED_PORT = 9999;
/** An HTTPS origin behind the proxy (a CONNECT port of the proxy's). */
const TLS_PORT = 8443;
const SECURE_NAME = 'secure.tls-origin.example';
/** A proxy that keeps client connections alive (keepalive_proxy.cjs), and the hosts fetched over one connection to it. */
const KEEPALIVE_PORT = 3128;
const KEEPALIVE_WEB_PORT = 8001;
const KEPT_ALIVE = ['first.keepalive.example', 'second.otherco.example', 'third.thirdco.example'];
/** Where a request's line says to go, and what its Host header claims instead. */
const LYING = { target: 'evil.lying.example', host: 'benign.cover.example' };
const NO_HOST = 'bare.http10.example';
/** A SOCKS5 proxy (socks5_server.cjs) and the host fetched through it by name. */
const SOCKS_PORT = 1080;
const SOCKS_NAME = 'via.socks-origin.example';
const SOCKS_REFUSED = 'closed.refusing-origin.example';

interface Alert {
  destination: { ip: string; port: number; domain?: string; bytes: number };
  user_agent?: { original: string };
  http?: { request: { method: string } };
  tls?: { client: { ja3: string } };
  '@timestamp': string;
  event: { outcome: string; id: string; start: string };
  egresswatch: { domain_group: string; name_source: string; proxy?: { ip: string; port: number; protocol?: string; target_ip?: string; target_port?: number; status?: number; request?: number; socks_reply?: number } };
  message: string;
  process?: unknown;
}

describe('end to end: connections through a real HTTP proxy (tinyproxy, curl)', function () {
  this.timeout(60_000);
  const pair = new NsPair('ewp');
  // `ip netns exec` binds /etc/netns/<name>/hosts over /etc/hosts: the proxy's resolver.
  const nsEtc = path.join('/etc/netns', pair.b);
  const hadNetnsEtc = fs.existsSync('/etc/netns');
  let dir = '';

  before(function () {
    requirePrereq(this, isRoot() && ['ip', 'dumpcap', 'curl', 'python3', 'tinyproxy', 'openssl', 'tshark'].every(haveCommand), 'root, ip, dumpcap, curl, python3, tinyproxy, openssl and tshark');
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ew-proxy-'));
    fs.writeFileSync(path.join(dir, 'file.bin'), randomBytes(4000));
    pair.create('10.9.0.1/24', [`${PROXY}/24`]);
    pair.ipIn(pair.b, 'addr', 'add', `${WEB}/32`, 'dev', 'lo');
    fs.mkdirSync(nsEtc, { recursive: true });
    fs.writeFileSync(path.join(nsEtc, 'hosts'), `127.0.0.1 localhost\n${WEB} www.partner.example downloads.vendor.example tunnel.blocked.example ${SECURE_NAME} ${KEPT_ALIVE.join(' ')} ${LYING.target} ${LYING.host} ${NO_HOST} ${SOCKS_NAME} ${SOCKS_REFUSED}\n`);
    fs.writeFileSync(path.join(dir, 'tinyproxy.conf'), [`Port ${PROXY_PORT}`, `Listen ${PROXY}`, 'Allow 10.9.0.0/24', `ConnectPort ${WEB_PORT}`, `ConnectPort ${TLS_PORT}`, 'MaxClients 10', 'LogLevel Info', ''].join('\n'));
  });

  after(async () => {
    await pair.remove();
    fs.rmSync(nsEtc, { recursive: true, force: true });
    if (!hadNetnsEtc) fs.rmSync('/etc/netns', { recursive: true, force: true });
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
  });

  it('names the tunnelled and the proxied destination from the requests curl sent to tinyproxy', async () => {
    await pair.start('http-server', pair.b, ['python3', '-u', '-m', 'http.server', '--bind', WEB, '--directory', dir, String(WEB_PORT)], /Serving HTTP/);
    const cert = path.join(dir, 'cert.pem');
    const key = path.join(dir, 'key.pem');
    execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '1', '-subj', `/CN=${SECURE_NAME}`, '-keyout', key, '-out', cert], { stdio: 'ignore', timeout: 30_000 });
    await pair.start('tls-server', pair.b, [process.execPath, path.join(FIXTURES_DIR, 'integration', 'tls_server.cjs'), WEB, String(TLS_PORT), cert, key, '50'], /listening/);
    const tiny = await pair.start('tinyproxy', pair.b, ['tinyproxy', '-d', '-c', path.join(dir, 'tinyproxy.conf')], /listening on fd/);
    const file = path.join(dir, 'client.pcap');
    const dumpcap = await pair.capture(pair.a, file);
    const curl = (...args: string[]) => run('ip', inNs(pair.a, 'curl', '-s', '-o', '/dev/null', '-w', '%{http_code} %{size_download}', '--max-time', '10', '-x', `http://${PROXY}:${PROXY_PORT}`, ...args), { timeoutMs: 15_000 });
    const tunnelled = await curl('-p', `http://www.partner.example:${WEB_PORT}/file.bin`);
    assert.equal(tunnelled.stdout, '200 4000', `through a CONNECT tunnel: ${tunnelled.stderr} ${tiny.describe()}`);
    const proxied = await curl(`http://downloads.vendor.example:${WEB_PORT}/file.bin`);
    assert.equal(proxied.stdout, '200 4000', `as a proxied request: ${proxied.stderr} ${tiny.describe()}`);
    // HTTPS through the proxy: curl's ClientHello goes through the tunnel, in the clear to us.
    const tls = await curl('-k', `https://${SECURE_NAME}:${TLS_PORT}/`);
    assert.equal(tls.stdout.split(' ')[0], '200', `HTTPS through the tunnel: ${tls.stderr} ${tiny.describe()}`);
    // A tunnel to a port the proxy's policy does not allow (ConnectPort): tinyproxy answers 403.
    const refused = await curl('-p', `http://tunnel.blocked.example:${BLOCKED_PORT}/`);
    assert.notEqual(refused.code, 0, 'curl fails through a refused tunnel');
    await sleep(500);
    await dumpcap.stop('SIGINT', 5000);

    const { alerts } = replayCapture<Alert>(file, path.join(dir, 'with'), ['--proxy', `${PROXY}:${PROXY_PORT}`]);
    const byDomain = new Map(alerts.map((a) => [a.destination.domain, a]));
    assert.deepEqual([...byDomain.keys()].sort(), ['downloads.vendor.example', SECURE_NAME, 'tunnel.blocked.example', 'www.partner.example'], JSON.stringify(alerts));
    const tunnel = byDomain.get('www.partner.example')!;
    assert.deepEqual(tunnel.egresswatch.proxy, { ip: PROXY, port: PROXY_PORT, target_port: WEB_PORT, status: 200 });
    assert.equal(tunnel.event.outcome, 'success');
    assert.equal(tunnel.http?.request.method, 'CONNECT');
    assert.match(tunnel.user_agent?.original ?? '', /^curl\/\d/, 'curl said who it is in its CONNECT');
    const blocked = byDomain.get('tunnel.blocked.example')!;
    assert.deepEqual(blocked.egresswatch.proxy, { ip: PROXY, port: PROXY_PORT, target_port: BLOCKED_PORT, status: 403 });
    assert.equal(blocked.event.outcome, 'failure', 'the proxy refused the tunnel');
    // The fingerprint of curl's ClientHello through the tunnel, as tshark computes it from the capture.
    const secure = byDomain.get(SECURE_NAME)!;
    const t = spawnSync('tshark', ['-r', file, '-Y', 'tls.handshake.type == 1', '-T', 'fields', '-e', 'tls.handshake.ja3'], { encoding: 'utf8' });
    const tsharkJa3 = t.stdout.split('\n').map((l) => l.trim()).filter(Boolean);
    assert.equal(tsharkJa3.length, 1, `tshark found the ClientHello in the tunnel: ${t.stdout}${t.stderr}`);
    assert.equal(secure.tls?.client.ja3, tsharkJa3[0]);
    assert.deepEqual(secure.egresswatch.proxy, { ip: PROXY, port: PROXY_PORT, target_port: TLS_PORT, status: 200 });
    assert.equal(tunnel.egresswatch.domain_group, 'partner.example');
    assert.deepEqual([tunnel.destination.ip, tunnel.destination.port], [PROXY, PROXY_PORT]);
    assert.ok(tunnel.destination.bytes > 4000, 'the download came back through the proxy');
    assert.deepEqual(byDomain.get('downloads.vendor.example')!.egresswatch.proxy, { ip: PROXY, port: PROXY_PORT, status: 200 });

    assert.deepEqual(replayCapture<Alert>(file, path.join(dir, 'without'), []).alerts, [], 'without --proxy: only an internal address was contacted');
  });

  it('reads every request of a connection kept alive to the proxy: each new domain group alerts on its own', async () => {
    await pair.start('http-server-2', pair.b, ['python3', '-u', '-m', 'http.server', '--bind', WEB, '--directory', dir, String(KEEPALIVE_WEB_PORT)], /Serving HTTP/);
    const proxy = await pair.start('keepalive-proxy', pair.b, [process.execPath, path.join(FIXTURES_DIR, 'integration', 'keepalive_proxy.cjs'), PROXY, String(KEEPALIVE_PORT)], /listening/);
    const file = path.join(dir, 'keepalive.pcap');
    const dumpcap = await pair.capture(pair.a, file);
    // One curl, four URLs: curl sends them all over one connection to the proxy (the second to
    // the first's host again, then two other hosts), at a moment's distance.
    const [a, b, c] = KEPT_ALIVE.map((h) => `http://${h}:${KEEPALIVE_WEB_PORT}/file.bin`);
    const r = await run('ip', inNs(pair.a, 'curl', '-sv', '--max-time', '10', '-x', `http://${PROXY}:${KEEPALIVE_PORT}`,
      '-o', '/dev/null', a, '-o', '/dev/null', a, '-o', '/dev/null', b, '-o', '/dev/null', c), { timeoutMs: 15_000 });
    assert.equal(r.code, 0, `${r.stderr} ${proxy.describe()}`);
    await sleep(500);
    await dumpcap.stop('SIGINT', 5000);
    const syns = spawnSync('tshark', ['-r', file, '-Y', `tcp.flags.syn == 1 && tcp.flags.ack == 0 && tcp.dstport == ${KEEPALIVE_PORT}`, '-T', 'fields', '-e', 'tcp.srcport'], { encoding: 'utf8' });
    assert.equal(syns.stdout.trim().split('\n').filter(Boolean).length, 1, `curl kept one connection to the proxy: ${syns.stdout}${r.stderr}`);

    const { alerts } = replayCapture<Alert>(file, path.join(dir, 'keepalive'), ['--proxy', `${PROXY}:${KEEPALIVE_PORT}`]);
    const diag = JSON.stringify(alerts, null, 1);
    assert.deepEqual(alerts.map((x) => x.destination.domain), KEPT_ALIVE, diag);
    assert.deepEqual(alerts.map((x) => x.egresswatch.domain_group), ['keepalive.example', 'otherco.example', 'thirdco.example'], diag);
    const [first, second, third] = alerts;
    assert.deepEqual(first.egresswatch.proxy, { ip: PROXY, port: KEEPALIVE_PORT, status: 200 }, diag);
    // The proxy's status belongs to the first request only; a later one says where it sat on the connection.
    assert.deepEqual(second.egresswatch.proxy, { ip: PROXY, port: KEEPALIVE_PORT, request: 3 }, diag);
    assert.deepEqual(third.egresswatch.proxy, { ip: PROXY, port: KEEPALIVE_PORT, request: 4 }, diag);
    assert.equal(new Set(alerts.map((x) => x.event.id)).size, 3, `one event.id each: ${diag}`);
    for (const x of alerts) {
      assert.equal(x.http?.request.method, 'GET', diag);
      assert.match(x.user_agent?.original ?? '', /^curl\/\d/, diag);
      assert.equal(x.event.start, first.event.start, 'the same connection');
      assert.ok(x['@timestamp'] >= first['@timestamp'], diag);
    }
    assert.ok(third['@timestamp'] > first['@timestamp'], `a later request is stamped with its own time: ${diag}`);
  });

  it('names a proxied request by its request line, where the proxy goes: not a Host header that says otherwise, none at all, or an address', async () => {
    // Served by the keep-alive proxy of the test before when it ran; started here otherwise.
    if (!pair.daemons.some((d) => d.label === 'keepalive-proxy' && d.running)) {
      await pair.start('http-server-2', pair.b, ['python3', '-u', '-m', 'http.server', '--bind', WEB, '--directory', dir, String(KEEPALIVE_WEB_PORT)], /Serving HTTP/);
      await pair.start('keepalive-proxy', pair.b, [process.execPath, path.join(FIXTURES_DIR, 'integration', 'keepalive_proxy.cjs'), PROXY, String(KEEPALIVE_PORT)], /listening/);
    }
    const file = path.join(dir, 'request-line.pcap');
    const dumpcap = await pair.capture(pair.a, file);
    const curl = (...args: string[]) => run('ip', inNs(pair.a, 'curl', '-s', '-o', '/dev/null', '-w', '%{http_code}', '--max-time', '10', '-x', `http://${PROXY}:${KEEPALIVE_PORT}`, ...args), { timeoutMs: 15_000 });
    const lying = await curl('-H', `Host: ${LYING.host}`, `http://${LYING.target}:${KEEPALIVE_WEB_PORT}/file.bin`);
    assert.equal(lying.stdout, '200', lying.stderr);
    const byAddress = await curl(`http://${WEB}:${KEEPALIVE_WEB_PORT}/file.bin`);
    assert.equal(byAddress.stdout, '200', byAddress.stderr);
    // HTTP/1.0 as an old client sends it to a proxy: the target's URL, no Host header.
    const raw = `import socket; s = socket.create_connection(("${PROXY}", ${KEEPALIVE_PORT})); s.sendall(b"GET http://${NO_HOST}:${KEEPALIVE_WEB_PORT}/file.bin HTTP/1.0\\r\\n\\r\\n"); d = s.recv(100); print(d.split(b" ")[1].decode())`;
    const bare = await run('ip', inNs(pair.a, 'python3', '-c', raw), { timeoutMs: 15_000 });
    assert.equal(bare.stdout.trim(), '200', bare.stderr);
    await sleep(500);
    await dumpcap.stop('SIGINT', 5000);

    const { alerts } = replayCapture<Alert>(file, path.join(dir, 'request-line'), ['--proxy', `${PROXY}:${KEEPALIVE_PORT}`, '--external-cidr', '203.0.113.0/24']);
    const diag = JSON.stringify(alerts, null, 1);
    assert.equal(alerts.length, 3, diag);
    const [a, b, c] = alerts;
    assert.equal(a.destination.domain, LYING.target, `the proxy went to the request line's host, not the Host header's: ${diag}`);
    assert.equal(a.egresswatch.domain_group, 'lying.example', diag);
    assert.equal(b.destination.domain, undefined, diag);
    assert.equal(b.egresswatch.domain_group, WEB, `an address asked of the proxy is its own group: ${diag}`);
    assert.equal(b.egresswatch.name_source, 'none', `no name: the address is the destination: ${diag}`);
    assert.deepEqual(b.egresswatch.proxy, { ip: PROXY, port: KEEPALIVE_PORT, target_ip: WEB, status: 200 }, diag);
    assert.match(b.message, new RegExp(`connected to ${WEB.replace(/\./g, '\\.')} \\(${WEB.replace(/\./g, '\\.')}\\) through the proxy`), diag);
    assert.equal(c.destination.domain, NO_HOST, diag);
    assert.equal(c.http?.request.method, 'GET', diag);
  });

  it('names connections through a SOCKS5 proxy by their requests: a name, an address, and HTTPS (its JA3 through the tunnel)', async () => {
    if (!pair.daemons.some((d) => d.label === 'http-server-2' && d.running)) {
      await pair.start('http-server-2', pair.b, ['python3', '-u', '-m', 'http.server', '--bind', WEB, '--directory', dir, String(KEEPALIVE_WEB_PORT)], /Serving HTTP/);
    }
    if (!pair.daemons.some((d) => d.label === 'tls-server' && d.running)) {
      const cert = path.join(dir, 'cert.pem');
      const key = path.join(dir, 'key.pem');
      if (!fs.existsSync(cert)) execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '1', '-subj', `/CN=${SECURE_NAME}`, '-keyout', key, '-out', cert], { stdio: 'ignore', timeout: 30_000 });
      await pair.start('tls-server', pair.b, [process.execPath, path.join(FIXTURES_DIR, 'integration', 'tls_server.cjs'), WEB, String(TLS_PORT), cert, key, '50'], /listening/);
    }
    const socks = await pair.start('socks5', pair.b, [process.execPath, path.join(FIXTURES_DIR, 'integration', 'socks5_server.cjs'), PROXY, String(SOCKS_PORT)], /listening/);
    const file = path.join(dir, 'socks.pcap');
    const dumpcap = await pair.capture(pair.a, file);
    const curl = (...args: string[]) => run('ip', inNs(pair.a, 'curl', '-s', '-o', '/dev/null', '-w', '%{http_code}', '--max-time', '10', ...args), { timeoutMs: 15_000 });
    const byName = await curl('--socks5-hostname', `${PROXY}:${SOCKS_PORT}`, `http://${SOCKS_NAME}:${KEEPALIVE_WEB_PORT}/file.bin`);
    assert.equal(byName.stdout, '200', `${byName.stderr} ${socks.describe()}`);
    const byAddress = await curl('--socks5', `${PROXY}:${SOCKS_PORT}`, `http://${WEB}:${KEEPALIVE_WEB_PORT}/file.bin`);
    assert.equal(byAddress.stdout, '200', `${byAddress.stderr} ${socks.describe()}`);
    const tls = await curl('-k', '--socks5-hostname', `${PROXY}:${SOCKS_PORT}`, `https://${SECURE_NAME}:${TLS_PORT}/`);
    assert.equal(tls.stdout, '200', `${tls.stderr} ${socks.describe()}`);
    // Nothing listens there: the proxy's connection is refused, and its SOCKS reply says so (5).
    const refused = await curl('--socks5-hostname', `${PROXY}:${SOCKS_PORT}`, `http://${SOCKS_REFUSED}:${BLOCKED_PORT}/`);
    assert.notEqual(refused.code, 0, 'curl fails through a refused SOCKS request');
    await sleep(500);
    await dumpcap.stop('SIGINT', 5000);

    const { alerts } = replayCapture<Alert>(file, path.join(dir, 'socks'), ['--proxy', `${PROXY}:${SOCKS_PORT}`, '--external-cidr', '203.0.113.0/24']);
    const diag = JSON.stringify(alerts, null, 1);
    assert.equal(alerts.length, 4, diag);
    const [named, address, secure, failed] = alerts;
    assert.equal(named.destination.domain, SOCKS_NAME, diag);
    assert.deepEqual(named.egresswatch.proxy, { ip: PROXY, port: SOCKS_PORT, protocol: 'socks5', target_port: KEEPALIVE_WEB_PORT, socks_reply: 0 }, diag);
    assert.equal(named.event.outcome, 'success', diag);
    assert.equal(failed.destination.domain, SOCKS_REFUSED, diag);
    assert.deepEqual(failed.egresswatch.proxy, { ip: PROXY, port: SOCKS_PORT, protocol: 'socks5', target_port: BLOCKED_PORT, socks_reply: 5 }, diag);
    assert.equal(failed.event.outcome, 'failure', `the proxy refused it: ${diag}`);
    assert.match(failed.message, /tried to connect to closed\.refusing-origin\.example \(refusing-origin\.example; the SOCKS proxy answered connection refused\)/, diag);
    assert.deepEqual([named.destination.ip, named.destination.port], [PROXY, SOCKS_PORT]);
    assert.equal(address.destination.domain, undefined, diag);
    assert.equal(address.egresswatch.domain_group, WEB, diag);
    assert.equal(address.egresswatch.name_source, 'none', diag);
    assert.equal(named.egresswatch.name_source, 'http', diag);
    assert.deepEqual(address.egresswatch.proxy, { ip: PROXY, port: SOCKS_PORT, protocol: 'socks5', target_ip: WEB, target_port: KEEPALIVE_WEB_PORT, socks_reply: 0 }, diag);
    assert.equal(secure.destination.domain, SECURE_NAME, diag);
    const t = spawnSync('tshark', ['-r', file, '-Y', 'tls.handshake.type == 1', '-T', 'fields', '-e', 'tls.handshake.ja3'], { encoding: 'utf8' });
    const tsharkJa3 = t.stdout.split('\n').map((l) => l.trim()).filter(Boolean);
    assert.equal(tsharkJa3.length, 1, `tshark found the ClientHello in the SOCKS tunnel: ${t.stdout}${t.stderr}`);
    assert.equal(secure.tls?.client.ja3, tsharkJa3[0], diag);
    // Without --proxy: only an internal address was contacted.
    assert.deepEqual(replayCapture<Alert>(file, path.join(dir, 'socks-without'), ['--external-cidr', '203.0.113.0/24']).alerts, []);
  });
});
