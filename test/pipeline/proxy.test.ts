// Connections through an HTTP proxy (--proxy): every packet goes to the proxy, an internal
// address, and the destination is only in the request. Captures built here, replayed through
// the real pipeline: a CONNECT tunnel, an absolute-form HTTP request, TLS to the proxy itself.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Writable } from 'node:stream';
import winston from 'winston';
import { createLogger } from '../../lib/config/index.js';
import { ethernet, ipv4, tcp, ETHERTYPE_IPV4, TCP_ACK, TCP_FIN, TCP_PSH, TCP_SYN, type PcapFrame } from '../helpers/packets.js';
import { clientHello, records, serverNameExt } from '../sniff/build.js';
import { clientHelloFromRecords, ja3 } from '../../lib/sniff/index.js';
import { replayFrames } from '../helpers/replay-frames.js';

const T0 = Date.UTC(2026, 11, 1, 10, 0, 0);
const CLIENT = '10.0.0.5';
const PROXY = '10.0.0.8';
const PROXY_PORT = 3128;
/** The ClientHello a client sends through its CONNECT tunnel. */
const TUNNELLED_HELLO = records(clientHello({ extensions: [serverNameExt([[0, 'api.partner.example']])] }));

interface Alert {
  message: string;
  user_agent?: { original: string };
  http?: { request: { method: string } };
  destination: { ip: string; port: number; domain?: string };
  event: { outcome: string };
  tls?: { client: { ja3: string } };
  egresswatch: { domain_group: string; name_source: string; proxy?: { ip: string; port: number; target_port?: number; status?: number } };
}

/** A connection to the proxy carrying `request` as its first bytes, with a reply and a close. */
function viaProxy(t: number, port: number, request: Buffer, proxy = PROXY, answer = 'HTTP/1.1 200 Connection established\r\n\r\n', tunnel?: Buffer, client = CLIENT): PcapFrame[] {
  const out = (flags: number, seq: number, data: Buffer = Buffer.alloc(0)): Buffer =>
    ethernet({ type: ETHERTYPE_IPV4 }, ipv4({ src: client, dst: proxy, protocol: 6 }, tcp({ srcPort: port, dstPort: PROXY_PORT, flags, seq }, data)));
  const back = (flags: number, data: Buffer = Buffer.alloc(0)): Buffer =>
    ethernet({ type: ETHERTYPE_IPV4 }, ipv4({ src: proxy, dst: client, protocol: 6 }, tcp({ srcPort: PROXY_PORT, dstPort: port, flags, seq: 7000 }, data)));
  const sent = request.length + (tunnel?.length ?? 0);
  return [out(TCP_SYN, 100), back(TCP_SYN | TCP_ACK), out(TCP_ACK, 101), out(TCP_ACK | TCP_PSH, 101, request),
    back(TCP_ACK | TCP_PSH, Buffer.from(answer)),
    // The client's first bytes through the tunnel, once the proxy said it is up.
    ...(tunnel ? [out(TCP_ACK | TCP_PSH, 101 + request.length, tunnel)] : []),
    out(TCP_FIN | TCP_ACK, 101 + sent), back(TCP_FIN | TCP_ACK)]
    .map((data, i) => ({ ts: t + i, data }));
}

describe('pipeline: connections through an HTTP proxy (--proxy)', () => {
  let dir = '';
  before(() => { dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ew-proxy-')); });
  after(() => fs.rmSync(dir, { recursive: true, force: true }));

  const replay = (frames: PcapFrame[], proxy: string[], external: string[] = [], logger?: winston.Logger) =>
    replayFrames<Alert>(dir, frames, { proxy, 'external-cidr': external }, logger);

  const frames = (): PcapFrame[] => [
    ...viaProxy(T0, 40000, Buffer.from('CONNECT api.partner.example:443 HTTP/1.1\r\nHost: api.partner.example:443\r\nUser-Agent: curl/7.88.1\r\n\r\n'), PROXY, undefined, TUNNELLED_HELLO),
    ...viaProxy(T0 + 100, 40001, Buffer.from('GET http://downloads.vendor.example/tool.tgz HTTP/1.1\r\nHost: downloads.vendor.example\r\n\r\n')),
    // HTTPS to the proxy itself: the request is encrypted, the server name is the proxy's own.
    ...viaProxy(T0 + 200, 40002, records(clientHello({ extensions: [serverNameExt([[0, 'proxy.corp.example']])] }))),
    ...viaProxy(T0 + 300, 40003, Buffer.from('CONNECT bastion.example.net:22 HTTP/1.1\r\nHost: bastion.example.net:22\r\n\r\n')),
    // The proxy's policy refuses this one.
    ...viaProxy(T0 + 400, 40004, Buffer.from('CONNECT c2.blocked.example:443 HTTP/1.1\r\nHost: c2.blocked.example:443\r\n\r\n'), PROXY, 'HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\n\r\n'),
  ];

  it('names each tunnel and request by what it asked for, and judges it as a connection there', async () => {
    const { stats, alerts } = await replay(frames(), [`${PROXY}:${PROXY_PORT}`]);
    assert.equal(stats.connections.tcp, 5);
    const byDomain = new Map(alerts.map((a) => [a.destination.domain, a]));
    assert.deepEqual([...byDomain.keys()].sort(), ['api.partner.example', 'bastion.example.net', 'c2.blocked.example', 'downloads.vendor.example']);
    const api = byDomain.get('api.partner.example')!;
    assert.equal(api.egresswatch.domain_group, 'partner.example');
    assert.equal(api.egresswatch.name_source, 'http');
    assert.deepEqual(api.egresswatch.proxy, { ip: PROXY, port: PROXY_PORT, target_port: 443, status: 200 });
    assert.equal(api.event.outcome, 'success');
    assert.deepEqual([api.destination.ip, api.destination.port], [PROXY, PROXY_PORT], 'the wire\'s destination is the proxy');
    assert.match(api.message, /connected to api\.partner\.example \(partner\.example\) through the proxy 10\.0\.0\.8:3128/);
    assert.deepEqual([api.http?.request.method, api.user_agent?.original], ['CONNECT', 'curl/7.88.1'], 'who the client says it is');
    assert.equal(api.tls?.client.ja3, ja3(clientHelloFromRecords(TUNNELLED_HELLO, 0, TUNNELLED_HELLO.length)!)?.hash, 'the fingerprint of the ClientHello sent through the tunnel');
    assert.equal(byDomain.get('bastion.example.net')!.tls, undefined, 'no ClientHello through that tunnel');
    assert.equal(byDomain.get('downloads.vendor.example')!.http?.request.method, 'GET');
    assert.deepEqual(byDomain.get('downloads.vendor.example')!.egresswatch.proxy, { ip: PROXY, port: PROXY_PORT, status: 200 }, 'no CONNECT: no target port');
    const blocked = byDomain.get('c2.blocked.example')!;
    assert.equal(blocked.event.outcome, 'failure', 'the proxy refused the tunnel');
    assert.equal(blocked.egresswatch.proxy?.status, 403);
    assert.match(blocked.message, /tried to connect to c2\.blocked\.example \(blocked\.example; the proxy answered 403\) through the proxy/);
    assert.equal(byDomain.get('bastion.example.net')!.egresswatch.proxy?.target_port, 22, 'a tunnel to SSH says so');
    assert.ok(!alerts.some((a) => a.destination.domain === 'proxy.corp.example'), 'TLS to the proxy names nothing');
  });

  it('without --proxy the proxy is an internal address: nothing alerts', async () => {
    const { stats, alerts } = await replay(frames(), []);
    assert.equal(stats.connections.tcp, 5);
    assert.deepEqual(alerts, []);
  });

  it('the proxy\'s port must match: the same address on another port is not the proxy', async () => {
    const { alerts } = await replay(frames(), [`${PROXY}:8080`]);
    assert.deepEqual(alerts, []);
  });

  it('an external proxy whose request names nothing is judged as a connection to the proxy itself', async () => {
    const cloudProxy = '203.0.113.9';
    const tls = records(clientHello({ extensions: [serverNameExt([[0, 'proxy.cloud.example']])] }));
    const { alerts } = await replay(viaProxy(T0, 41000, tls, cloudProxy), [`${cloudProxy}:${PROXY_PORT}`], ['203.0.113.0/24']);
    assert.equal(alerts.length, 1);
    assert.equal(alerts[0].destination.ip, cloudProxy);
    assert.equal(alerts[0].destination.domain, undefined, 'not named by its own TLS name as if it were a destination');
    assert.equal(alerts[0].egresswatch.proxy, undefined);
  });

  it('tells once per proxy that its clients speak TLS to it (their destinations cannot be read)', async () => {
    const lines: { level: string; message: string; proxy?: string }[] = [];
    const sink = new Writable({ write(c: Buffer, _e, done) { lines.push(JSON.parse(c.toString()) as { level: string; message: string }); done(); } });
    const logger = createLogger('info', { stream: sink, text: false });
    const tls = (name: string) => records(clientHello({ extensions: [serverNameExt([[0, name]])] }));
    const { alerts } = await replay([...viaProxy(T0, 42000, tls('proxy.corp.example')), ...viaProxy(T0 + 100, 42001, tls('proxy.corp.example')),
      ...viaProxy(T0 + 200, 42002, Buffer.from('GET http://files.example.org/ HTTP/1.1\r\nHost: files.example.org\r\n\r\n'))], [`${PROXY}:${PROXY_PORT}`], [], logger);
    assert.deepEqual(alerts.map((a) => a.destination.domain), ['files.example.org'], 'the TLS ones are not judged (an internal proxy)');
    const told = lines.filter((l) => /carry TLS to the proxy itself/.test(l.message));
    assert.equal(told.length, 1, JSON.stringify(lines));
    assert.equal(told[0].level, 'warn');
    assert.equal(told[0].proxy, `${PROXY}:${PROXY_PORT}`);
  });

  it('without --proxy, an internal proxy its clients send requests to is told once in the log, with the setting to add', async () => {
    const lines: { level: string; message: string; proxy?: string; example?: string; fix?: string }[] = [];
    const sink = new Writable({ write(c: Buffer, _e, done) { lines.push(JSON.parse(c.toString()) as { level: string; message: string }); done(); } });
    const logger = createLogger('info', { stream: sink, text: false });
    const { alerts } = await replay(frames(), [], [], logger);
    assert.deepEqual(alerts, [], 'nothing judged: only an internal address was contacted');
    const told = lines.filter((l) => /proxy the agent was not told of/.test(l.message));
    assert.equal(told.length, 1, JSON.stringify(lines));
    assert.equal(told[0].proxy, `${PROXY}:${PROXY_PORT}`);
    assert.equal(told[0].example, 'bastion.example.net', 'the third request seen: CONNECT bastion.example.net:22');
    assert.match(told[0].fix ?? '', new RegExp(`--proxy ${PROXY}:${PROXY_PORT}`));
    // Configured, it is not told (its connections are read as a proxy's).
    const configured: string[] = [];
    const sink2 = new Writable({ write(c: Buffer, _e, done) { configured.push((JSON.parse(c.toString()) as { message: string }).message); done(); } });
    await replay(frames(), [`${PROXY}:${PROXY_PORT}`], [], createLogger('info', { stream: sink2, text: false }));
    assert.ok(!configured.some((m) => /not told of/.test(m)), configured.join('\n'));
  });

  it('an outside client trying an internal proxy port (an open-proxy scan through a forwarded port) is not told of', async () => {
    const lines: string[] = [];
    const sink = new Writable({ write(c: Buffer, _e, done) { lines.push((JSON.parse(c.toString()) as { message: string }).message); done(); } });
    const scan = [0, 1, 2].flatMap((i) => viaProxy(T0 + 100 * i, 43000 + i, Buffer.from('CONNECT www.example.com:443 HTTP/1.1\r\nHost: www.example.com:443\r\n\r\n'),
      PROXY, undefined, undefined, '198.51.100.66'));
    const { stats, alerts } = await replay(scan, [], ['198.51.100.0/24'], createLogger('info', { stream: sink, text: false }));
    assert.equal(stats.connections.tcp, 3);
    assert.deepEqual(alerts, []);
    assert.ok(!lines.some((m) => /not told of/.test(m)), lines.join('\n'));
  });
});
