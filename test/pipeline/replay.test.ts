// The whole replay pipeline over a capture built here: a DNS answer with a CNAME chain, then
// connections to the answered addresses. Checks naming, grouping, byte counts, novelty, the
// baseline across runs, and the stats replay reports.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import dnsPacket from 'dns-packet';
import winston from 'winston';
import { loadConfig } from '../../lib/config/index.js';
import { runReplay } from '../../lib/pipeline/index.js';
import { ethernet, ipv4, ipv6, sll, tcp, udp, writePcap, ETHERTYPE_IPV4, ETHERTYPE_IPV6, TCP_SYN, TCP_ACK, TCP_FIN, TCP_PSH, type PcapFrame } from '../helpers/packets.js';

const silent = winston.createLogger({ silent: true });
const T0 = Date.UTC(2026, 11, 1, 10, 0, 0);

function dnsResponse(id: number, name: string, cname: string | undefined, addr: string, type: 'A' | 'AAAA'): Buffer {
  const answers: dnsPacket.Answer[] = [];
  if (cname) answers.push({ type: 'CNAME', name, ttl: 300, data: cname } as dnsPacket.Answer);
  answers.push({ type, name: cname ?? name, ttl: 60, data: addr } as dnsPacket.Answer);
  return dnsPacket.encode({ type: 'response', id, flags: dnsPacket.RECURSION_DESIRED | dnsPacket.RECURSION_AVAILABLE, questions: [{ type, name }], answers });
}

function dnsQuery(id: number, name: string, type: 'A' | 'AAAA'): Buffer {
  return dnsPacket.encode({ type: 'query', id, flags: dnsPacket.RECURSION_DESIRED, questions: [{ type, name }] });
}

function v4(src: string, dst: string, proto: number, l4: Buffer): Buffer {
  return ethernet({ type: ETHERTYPE_IPV4 }, ipv4({ src, dst, protocol: proto }, l4));
}

function v6(src: string, dst: string, proto: number, l4: Buffer): Buffer {
  return ethernet({ type: ETHERTYPE_IPV6 }, ipv6({ src, dst, nextHeader: proto }, l4));
}

/** A whole TCP connection: handshake, a request, a response, FIN both ways. */
function tcpConversation(frames: PcapFrame[], t: number, wrap: typeof v4, c: string, cport: number, s: string, sport: number, reqBytes: number, respBytes: number): void {
  const up = (flags: number, payload = Buffer.alloc(0)) => wrap(c, s, 6, tcp({ srcPort: cport, dstPort: sport, flags }, payload));
  const down = (flags: number, payload = Buffer.alloc(0)) => wrap(s, c, 6, tcp({ srcPort: sport, dstPort: cport, flags }, payload));
  frames.push({ ts: t, data: up(TCP_SYN) });
  frames.push({ ts: t + 1, data: down(TCP_SYN | TCP_ACK) });
  frames.push({ ts: t + 2, data: up(TCP_ACK) });
  frames.push({ ts: t + 3, data: up(TCP_PSH | TCP_ACK, Buffer.alloc(reqBytes, 0x41)) });
  frames.push({ ts: t + 4, data: down(TCP_PSH | TCP_ACK, Buffer.alloc(respBytes, 0x42)) });
  frames.push({ ts: t + 5, data: up(TCP_FIN | TCP_ACK) });
  frames.push({ ts: t + 6, data: down(TCP_FIN | TCP_ACK) });
  frames.push({ ts: t + 7, data: up(TCP_ACK) });
}

function buildCapture(file: string): void {
  const frames: PcapFrame[] = [];
  const resolver = '10.0.0.53';
  const client = '10.0.0.5';
  // Each answer follows its query (answers nobody asked for are not used; tested below).
  frames.push({ ts: T0 - 1, data: v4(client, resolver, 17, udp({ srcPort: 33000, dstPort: 53 }, dnsQuery(1, 'www.example.net', 'A'))) });
  frames.push({ ts: T0, data: v4(resolver, client, 17, udp({ srcPort: 53, dstPort: 33000 }, dnsResponse(1, 'www.example.net', 'edge.cdn-example.org', '203.0.113.20', 'A'))) });
  tcpConversation(frames, T0 + 10, v4, client, 40001, '203.0.113.20', 443, 300, 5000);
  frames.push({ ts: T0 + 99, data: v4(client, resolver, 17, udp({ srcPort: 33001, dstPort: 53 }, dnsQuery(2, 'bucket.s3.us-west-2.amazonaws.com', 'A'))) });
  frames.push({ ts: T0 + 100, data: v4(resolver, client, 17, udp({ srcPort: 53, dstPort: 33001 }, dnsResponse(2, 'bucket.s3.us-west-2.amazonaws.com', undefined, '192.0.2.40', 'A'))) });
  tcpConversation(frames, T0 + 110, v4, client, 40002, '192.0.2.40', 443, 200, 800);
  // A second connection to the same group: no second alert.
  tcpConversation(frames, T0 + 200, v4, client, 40003, '203.0.113.20', 443, 100, 100);
  // IPv6, named by an AAAA answer.
  frames.push({ ts: T0 + 299, data: v6('2001:db8:5::5', '2001:db8:53::1', 17, udp({ srcPort: 33002, dstPort: 53 }, dnsQuery(3, 'v6.example.com', 'AAAA'))) });
  frames.push({ ts: T0 + 300, data: v6('2001:db8:53::1', '2001:db8:5::5', 17, udp({ srcPort: 53, dstPort: 33002 }, dnsResponse(3, 'v6.example.com', undefined, '2001:db8:1::10', 'AAAA'))) });
  tcpConversation(frames, T0 + 310, v6, '2001:db8:5::5', 40004, '2001:db8:1::10', 80, 100, 1000);
  // An internal destination never alerts.
  tcpConversation(frames, T0 + 400, v4, client, 40005, '10.1.2.3', 443, 100, 100);
  // A spoofed answer nobody asked for, renaming the address of the bare-IP flow below: ignored.
  frames.push({ ts: T0 + 450, data: v4(resolver, client, 17, udp({ srcPort: 53, dstPort: 33999 }, dnsResponse(9, 'evil.example.org', undefined, '198.51.100.77', 'A'))) });
  // UDP to a bare IP (no DNS answer): the IP is the destination.
  frames.push({ ts: T0 + 500, data: v4(client, '198.51.100.77', 17, udp({ srcPort: 50000, dstPort: 5000 }, Buffer.alloc(50))) });
  frames.push({ ts: T0 + 501, data: v4('198.51.100.77', client, 17, udp({ srcPort: 5000, dstPort: 50000 }, Buffer.alloc(70))) });
  writePcap(file, 1, frames);
}

function readAlerts(file: string): Record<string, any>[] {
  if (!fs.existsSync(file)) return [];
  return fs.readFileSync(file, 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l));
}

describe('pipeline/replay', () => {
  let dir: string;
  let capture: string;
  const config = (learning = '0') => loadConfig({
    flags: {
      'state-dir': path.join(dir, 'state'),
      'alerts-file': path.join(dir, 'alerts.json'),
      'learning-period': learning,
      'host-name': 'replay-host',
      'external-cidr': ['192.0.2.0/24', '198.51.100.0/24', '203.0.113.0/24', '2001:db8::/32'],
      'internal-cidr': ['2001:db8:5::/48', '2001:db8:53::/48'],
    },
    env: {},
  });

  before(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ew-replay-'));
    capture = path.join(dir, 'synthetic.pcap');
    buildCapture(capture);
  });
  after(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('alerts once per new domain group, named through the CNAME chain, with bytes both ways', async () => {
    const stats = await runReplay(config(), [capture], silent);
    const alerts = readAlerts(path.join(dir, 'alerts.json'));
    const byGroup = new Map(alerts.map((a) => [a.egresswatch.domain_group, a]));
    assert.deepEqual([...byGroup.keys()].sort(), ['198.51.100.77', 'example.com', 'example.net', 's3.amazonaws.com']);
    assert.equal(alerts.length, 4, JSON.stringify(alerts.map((a) => a.egresswatch.domain_group)));
    const web = byGroup.get('example.net');
    assert.ok(web, 'www.example.net is grouped under example.net (the asked name, not the CNAME target)');
    assert.equal(web.destination.domain, 'www.example.net');
    assert.equal(web.destination.registered_domain, 'example.net');
    assert.deepEqual(web.egresswatch.dns.cname_chain, ['edge.cdn-example.org']);
    assert.equal(web.destination.ip, '203.0.113.20');
    assert.equal(web.egresswatch.name_source, 'dns');
    assert.deepEqual(web.egresswatch.novel_for, ['host']);
    assert.equal(web.egresswatch.attribution.method, 'none');
    assert.ok(web.source.bytes >= 300 + 4 * 40, `source.bytes ${web.source.bytes}`);
    assert.ok(web.destination.bytes >= 5000 + 3 * 40, `destination.bytes ${web.destination.bytes}`);
    // SYN, ACK, request, FIN: the flow ends at the second FIN, so the last bare ACK is not counted.
    assert.equal(web.source.packets, 4);
    assert.equal(web.destination.packets, 3);
    assert.equal(web.egresswatch.flow.open, false);
    assert.equal(web.host.name, 'replay-host');
    assert.equal(web['@timestamp'], new Date(T0 + 10).toISOString());
    assert.equal(byGroup.get('s3.amazonaws.com')?.destination.domain, 'bucket.s3.us-west-2.amazonaws.com');
    const v6 = byGroup.get('example.com');
    assert.equal(v6?.network.type, 'ipv6');
    assert.equal(v6?.destination.ip, '2001:db8:1::10');
    const bare = byGroup.get('198.51.100.77');
    assert.equal(bare?.egresswatch.name_source, 'none');
    assert.equal(bare?.destination.domain, undefined);
    assert.equal(bare?.network.transport, 'udp');
    assert.equal(bare?.destination.bytes, 70 + 28);

    assert.equal(stats.alerts, 4);
    assert.equal(stats.dnsResponses, 4);
    assert.equal(stats.dnsAnswers, 4);
    assert.deepEqual(stats.connections, { tcp: 5, udp: 1, tcpMidstream: 0 });
    assert.equal(stats.packets, 3 + 3 + 1 + 5 * 8 + 2);
  });

  it('does not alert again on the same state dir', async () => {
    const before = readAlerts(path.join(dir, 'alerts.json')).length;
    const stats = await runReplay(config(), [capture], silent);
    assert.equal(stats.alerts, 0);
    assert.equal(readAlerts(path.join(dir, 'alerts.json')).length, before);
  });

  it('records but does not alert during a learning period', async () => {
    fs.rmSync(path.join(dir, 'state'), { recursive: true, force: true });
    fs.rmSync(path.join(dir, 'alerts.json'), { force: true });
    const stats = await runReplay(config('1h'), [capture], silent);
    assert.equal(stats.alerts, 0);
    assert.equal(readAlerts(path.join(dir, 'alerts.json')).length, 0);
  });

  it('applies grouping rules, and a suppressed destination updates the baseline without alerting', async () => {
    const sub = path.join(dir, 'rules');
    fs.mkdirSync(sub, { recursive: true });
    const file = path.join(sub, 'egresswatch.yaml');
    const write = (suppress: boolean) => fs.writeFileSync(file, [
      'groupingRules:',
      "  - { match: '*.example.net', group: 'example-net.custom', comment: 'test grouping' }",
      ...(suppress ? ['suppressions:', "  - { domainGroup: 's3.amazonaws.com', comment: 'backups bucket, ticket SEC-1' }"] : []),
      '',
    ].join('\n'));
    const cfg = () => loadConfig({ file, flags: {
      'state-dir': path.join(sub, 'state'), 'alerts-file': path.join(sub, 'alerts.json'), 'learning-period': '0',
      'external-cidr': ['192.0.2.0/24', '198.51.100.0/24', '203.0.113.0/24', '2001:db8::/32'],
      'internal-cidr': ['2001:db8:5::/48', '2001:db8:53::/48'],
    }, env: {} });
    write(true);
    await runReplay(cfg(), [capture], silent);
    const groups = readAlerts(path.join(sub, 'alerts.json')).map((a) => a.egresswatch.domain_group).sort();
    assert.deepEqual(groups, ['198.51.100.77', 'example-net.custom', 'example.com']);
    // Without the suppression, the bucket is already in the baseline: still no alert.
    write(false);
    fs.rmSync(path.join(sub, 'alerts.json'));
    const stats = await runReplay(cfg(), [capture], silent);
    assert.equal(stats.alerts, 0);
  });

  it('a connection captured on a loopback device (cooked capture of `any`) is tracked only to a loopback address made external', async () => {
    const sub = path.join(dir, 'loopback');
    fs.mkdirSync(sub, { recursive: true });
    const lo = (src: string, dst: string, sport: number, arphrd: number): PcapFrame => ({
      ts: T0 + sport, data: sll({ protocol: ETHERTYPE_IPV4, packetType: 4, arphrd }, ipv4({ src, dst, protocol: 6 }, tcp({ srcPort: sport, dstPort: 443, flags: TCP_SYN }))),
    });
    const file = path.join(sub, 'lo.pcap');
    writePcap(file, 113, [
      lo('203.0.113.77', '203.0.113.77', 40001, 772), // the host's own address, over lo
      lo('127.0.0.1', '127.0.0.2', 40002, 772), // a loopback address the operator made external
      lo('127.0.0.1', '127.0.0.3', 40003, 772), // a loopback address left internal
      lo('10.0.0.5', '203.0.113.88', 40004, 1), // out of an Ethernet device: egress
    ]);
    const stats = await runReplay(loadConfig({ flags: {
      'state-dir': path.join(sub, 'state'), 'alerts-file': path.join(sub, 'alerts.json'), 'learning-period': '0', 'alert-delay': '0',
      'external-cidr': ['203.0.113.0/24', '127.0.0.2/32'],
    }, env: {} }), [file], silent);
    assert.equal(stats.connections.tcp, 4);
    assert.deepEqual(readAlerts(path.join(sub, 'alerts.json')).map((a) => a.destination.ip).sort(), ['127.0.0.2', '203.0.113.88']);
  });
});
