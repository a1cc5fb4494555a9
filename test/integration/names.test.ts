// End to end, as root: destinations named from the traffic itself, or from the client's own
// hosts file. Real curl reaches a TLS
// server and an HTTP server by a name it never looks up (--resolve pins the address), so the
// only name on the wire is the TLS SNI or the HTTP Host header (in the SYN itself with TCP Fast
// Open); and a DNS answer nobody asked for, sent from the resolver's address, must not rename
// the address it claims.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { FIXTURES_DIR } from '../helpers/env.js';
import { liveSuite } from './world.js';
import { AgentProcess } from './agent.js';
import { get, readAlerts, summarize, waitForAlerts } from './alerts.js';
import { wrapClient } from './clients.js';
import { Daemon, run, sleep } from './proc.js';
import { NET } from './netns.js';

const TLS_ADDR = '203.0.113.10';
const TLS_PORT = 443;
const HTTP_ADDR = '203.0.113.20';
const RAW_ADDR = '192.0.2.30';
/** A scenario TCP server (servers.py) that only a hosts file names here. */
const HOSTS_ADDR = '192.0.2.40';
const HOSTS_PORT = 443;
const TFO_PORT = 8081;
const SETTLE_MS = 2500;

/** The root namespace's count of connections that sent data in their SYN (TCP Fast Open). */
function tfoActive(): number {
  const lines = fs.readFileSync('/proc/net/netstat', 'utf8').split('\n').filter((l) => l.startsWith('TcpExt:'));
  const names = (lines[0] ?? '').split(/\s+/);
  const values = (lines[1] ?? '').split(/\s+/);
  const at = names.indexOf('TCPFastOpenActive');
  assert.ok(at > 0, 'TCPFastOpenActive in /proc/net/netstat');
  return Number(values[at]);
}

describe('end to end: names from SNI and HTTP Host (TCP Fast Open too); a spoofed DNS answer is ignored', function () {
  this.timeout(40_000);
  const w = liveSuite('names');
  let agent: AgentProcess | undefined;
  let tlsServer: Daemon | undefined;
  let tfoServer: Daemon | undefined;
  const alertsFile = () => path.join(w.tmp, 'state', 'alerts.json');

  before(async function () {
    const cert = path.join(w.tmp, 'cert.pem');
    const key = path.join(w.tmp, 'key.pem');
    execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '1', '-subj', '/CN=tls-only.example.org',
      '-keyout', key, '-out', cert], { stdio: 'ignore', timeout: 30_000 });
    const [cmd, args] = w.topo.nsExec(process.execPath, path.join(FIXTURES_DIR, 'integration', 'tls_server.cjs'), TLS_ADDR, String(TLS_PORT), cert, key, '300');
    tlsServer = new Daemon('tls-server', cmd, args);
    for (let i = 0; i < 50 && !tlsServer.out.text().includes('listening'); i++) await sleep(100);
    assert.ok(tlsServer.out.text().includes('listening'), `TLS server did not start: ${tlsServer.describe()}`);
    fs.mkdirSync(path.join(w.tmp, 'state'), { recursive: true });
    agent = await AgentProcess.start({ stateDir: path.join(w.tmp, 'state'), alertsFile: alertsFile(), learningPeriod: '0', hostName: 'names-host', label: 'agent (names)' });
  });

  w.cleanup(async () => {
    if (agent?.running) await agent.stop(5000);
    await tlsServer?.stop('SIGTERM', 2000);
    await tfoServer?.stop('SIGTERM', 2000);
  });

  const client = async (argv: string[], hostsFile?: string) => {
    const [cmd, args] = wrapClient(w.kit.resolvConf, argv, w.user.name, hostsFile);
    const r = await run(cmd, args, { timeoutMs: 15_000, cwd: w.tmp, env: { PATH: '/usr/bin:/bin', HOME: w.tmp } });
    assert.equal(r.code, 0, `client ${argv.join(' ')} failed: ${r.stdout}\n${r.stderr}`);
    return r;
  };

  it('names a TLS connection by its SNI and an HTTP request by its Host, with no DNS lookup; ignores a spoofed answer', async () => {
    await client(['curl', '-sk', '--max-time', '10', '--resolve', `tls-only.example.org:${TLS_PORT}:${TLS_ADDR}`, `https://tls-only.example.org:${TLS_PORT}/`]);
    await client(['curl', '-s', '--max-time', '10', '--resolve', `http-only.example.com:80:${HTTP_ADDR}`, 'http://http-only.example.com/']);
    // TCP Fast Open: the request, Host and all, rides in the SYN. The servers' namespace accepts
    // TFO without a socket option; the host's default (1) lets clients use it. The first
    // connection fetches the cookie, the second sends its request in the SYN (the kernel's
    // TCPFastOpenActive counter says it did).
    const sysctl = w.topo.nsExec('sysctl', '-q', '-w', 'net.ipv4.tcp_fastopen=1027');
    assert.equal((await run(sysctl[0], sysctl[1], { timeoutMs: 5000 })).code, 0, 'TFO enabled in the servers\' namespace');
    // A listener made after that (the setting applies at listen()).
    const [hcmd, hargs] = w.topo.nsExec(w.kit.python, '-u', '-m', 'http.server', '--bind', HTTP_ADDR, '--directory', w.tmp, String(TFO_PORT));
    tfoServer = new Daemon('tfo-http-server', hcmd, hargs);
    for (let i = 0; i < 50 && !tfoServer.out.text().includes('Serving HTTP'); i++) await sleep(100);
    assert.ok(tfoServer.out.text().includes('Serving HTTP'), `TFO HTTP server did not start: ${tfoServer.describe()}`);
    const tfo = (name: string) => client(['curl', '-s', '-o', '/dev/null', '--tcp-fastopen', '--max-time', '10', '--resolve', `${name}:${TFO_PORT}:${HTTP_ADDR}`, `http://${name}:${TFO_PORT}/`]);
    await tfo('tfo-cookie.example.com');
    const synData = tfoActive();
    await tfo('tfo-only.example.net');
    assert.ok(tfoActive() > synData, 'the second curl sent its request in the SYN (TCPFastOpenActive)');
    // An off-path sender (another address, source port 53) answers a query nobody sent; then a
    // client connects to the claimed address by IP.
    const [scmd, sargs] = w.topo.nsExec(w.kit.python, path.join(FIXTURES_DIR, 'integration', 'spoof_dns.py'), HTTP_ADDR, NET.hostAddr, '40404', RAW_ADDR);
    const spoof = await run(scmd, sargs, { timeoutMs: 10_000 });
    assert.equal(spoof.code, 0, `spoof sender failed: ${spoof.stderr}`);
    await sleep(200);
    const rawScript = path.join(w.tmp, 'raw_connect.py');
    fs.copyFileSync(path.join(FIXTURES_DIR, 'integration', 'raw_connect.py'), rawScript);
    fs.chmodSync(rawScript, 0o644);
    await client([w.kit.python, rawScript, RAW_ADDR, '8080']);
    // A name only the client's own /etc/hosts knows (a pinned endpoint, a pod's hostAliases):
    // python resolves it there, no DNS packet names the address.
    const hostsFile = path.join(w.tmp, 'hosts');
    fs.writeFileSync(hostsFile, `127.0.0.1 localhost\n${HOSTS_ADDR} pinned-api.hosts-only.example pinned-api\n`);
    fs.chmodSync(hostsFile, 0o644);
    await client([w.kit.python, rawScript, 'pinned-api.hosts-only.example', String(HOSTS_PORT)], hostsFile);
    await waitForAlerts(alertsFile(), (a) => a.length >= 5, 10_000);
    await sleep(SETTLE_MS);
    const how = await agent!.stop();
    assert.equal(how.code, 0);
    const alerts = readAlerts(alertsFile());
    const diag = `alerts:\n${alerts.map(summarize).join('\n')}\n${agent!.describe()}`;
    const byIp = (ip: string) => alerts.filter((a) => get(a, 'destination.ip') === ip);
    const tlsAlert = byIp(TLS_ADDR)[0];
    assert.ok(tlsAlert, diag);
    assert.equal(get(tlsAlert, 'destination.domain'), 'tls-only.example.org', diag);
    assert.equal(get(tlsAlert, 'egresswatch.name_source'), 'sni', diag);
    assert.equal(get(tlsAlert, 'egresswatch.domain_group'), 'example.org', diag);
    const httpAlert = byIp(HTTP_ADDR)[0];
    assert.ok(httpAlert, diag);
    assert.equal(get(httpAlert, 'destination.domain'), 'http-only.example.com', diag);
    assert.equal(get(httpAlert, 'egresswatch.name_source'), 'http', diag);
    const tfoAlert = alerts.find((a) => get(a, 'egresswatch.domain_group') === 'example.net');
    assert.ok(tfoAlert, diag);
    assert.equal(get(tfoAlert, 'destination.domain'), 'tfo-only.example.net', diag);
    assert.equal(get(tfoAlert, 'egresswatch.name_source'), 'http', diag);
    const raw = byIp(RAW_ADDR);
    assert.equal(raw.length, 1, diag);
    assert.notEqual(get(raw[0], 'destination.domain'), 'spoofed.example.org', diag);
    assert.ok(['ptr', 'none'].includes(String(get(raw[0], 'egresswatch.name_source'))), diag);
    const pinned = byIp(HOSTS_ADDR)[0];
    assert.ok(pinned, diag);
    assert.equal(get(pinned, 'destination.domain'), 'pinned-api.hosts-only.example', diag);
    assert.equal(get(pinned, 'egresswatch.name_source'), 'hosts', diag);
    assert.equal(get(pinned, 'egresswatch.domain_group'), 'hosts-only.example', diag);
    assert.match(agent!.lastMetrics, /egresswatch_dns_answers_unmatched [1-9]/, 'the spoofed answers were counted');
    // The agent ran in its own namespace with the built addon: sockets found through netlink.
    assert.match(agent!.lastMetrics, /^egresswatch_attribution_netlink 1$/m, 'netlink sock_diag in use');
    assert.match(agent!.lastMetrics, /^egresswatch_attribution_resolver\{kind="probes"\} [1-9]/m, 'connections probed at their first packet');
  });
});
