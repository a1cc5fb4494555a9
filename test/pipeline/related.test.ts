// One software's connections to one new destination, as a dual-stack client makes them: Happy
// Eyeballs (RFC 8305) tries IPv6 first and, when that gets no answer, IPv4 a moment later. The
// alert is for the first connection (the one that made the destination new); the IPv4 one that
// carried the data joins it as a related connection: the alert counts both, their bytes, and
// says the software got through. Captures built here, replayed through the real pipeline.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import dnsPacket from 'dns-packet';
import winston from 'winston';
import { loadConfig } from '../../lib/config/index.js';
import { runReplay } from '../../lib/pipeline/index.js';
import { ethernet, ipv4, ipv6, tcp, udp, writePcap, ETHERTYPE_IPV4, ETHERTYPE_IPV6, TCP_ACK, TCP_FIN, TCP_PSH, TCP_RST, TCP_SYN, type PcapFrame } from '../helpers/packets.js';

const silent = winston.createLogger({ silent: true });
const T0 = Date.UTC(2026, 11, 1, 10, 0, 0);
const CLIENT4 = '10.0.0.5';
const CLIENT6 = 'fd00::5';
const RESOLVER = '10.0.0.53';
const NAME = 'www.new-vendor.example';
const SERVER4 = '203.0.113.80';
const SERVER6 = '2001:db8:1::80';

interface Alert {
  message: string;
  source: { ip: string; bytes: number };
  destination: { ip: string; domain: string; bytes: number };
  event: { outcome: string };
  egresswatch: { flow: { tcp_handshake: string }; connections: { count: number; answered: number; source_bytes: number; destination_bytes: number } };
}

function dns(t: number, type: 'A' | 'AAAA', id: number, data: string): PcapFrame[] {
  const q = dnsPacket.encode({ type: 'query', id, flags: dnsPacket.RECURSION_DESIRED, questions: [{ type, name: NAME }] });
  const r = dnsPacket.encode({ type: 'response', id, flags: dnsPacket.RECURSION_DESIRED | dnsPacket.RECURSION_AVAILABLE, questions: [{ type, name: NAME }], answers: [{ type, name: NAME, ttl: 300, data } as dnsPacket.Answer] });
  return [
    { ts: t, data: ethernet({ type: ETHERTYPE_IPV4 }, ipv4({ src: CLIENT4, dst: RESOLVER, protocol: 17 }, udp({ srcPort: 50000 + id, dstPort: 53 }, q))) },
    { ts: t + 1, data: ethernet({ type: ETHERTYPE_IPV4 }, ipv4({ src: RESOLVER, dst: CLIENT4, protocol: 17 }, udp({ srcPort: 53, dstPort: 50000 + id }, r))) },
  ];
}

/** An IPv4 connection to SERVER4 at `t` that exchanges `up` and `down` bytes and closes. */
function fetch4(t: number, port: number, up: number, down: number): PcapFrame[] {
  const out = (flags: number, len = 0): Buffer => ethernet({ type: ETHERTYPE_IPV4 }, ipv4({ src: CLIENT4, dst: SERVER4, protocol: 6 }, tcp({ srcPort: port, dstPort: 443, flags, seq: 1000 }, Buffer.alloc(len))));
  const back = (flags: number, len = 0): Buffer => ethernet({ type: ETHERTYPE_IPV4 }, ipv4({ src: SERVER4, dst: CLIENT4, protocol: 6 }, tcp({ srcPort: 443, dstPort: port, flags, seq: 5000 }, Buffer.alloc(len))));
  return [out(TCP_SYN), back(TCP_SYN | TCP_ACK), out(TCP_ACK), out(TCP_ACK | TCP_PSH, up), back(TCP_ACK | TCP_PSH, down), out(TCP_FIN | TCP_ACK), back(TCP_FIN | TCP_ACK), out(TCP_ACK)]
    .map((data, i) => ({ ts: t + i, data }));
}

/** A SYN over IPv6 that nothing answers (a broken IPv6 path), retransmitted once. */
function unansweredSyn6(t: number, port: number): PcapFrame[] {
  const syn = ethernet({ type: ETHERTYPE_IPV6 }, ipv6({ src: CLIENT6, dst: SERVER6, nextHeader: 6 }, tcp({ srcPort: port, dstPort: 443, flags: TCP_SYN, seq: 77 })));
  return [{ ts: t, data: syn }, { ts: t + 1000, data: syn }];
}

describe('pipeline: related connections of one software to one new destination (Happy Eyeballs, parallel fetches)', () => {
  let dir = '';
  before(() => { dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ew-related-')); });
  after(() => fs.rmSync(dir, { recursive: true, force: true }));

  async function replay(frames: PcapFrame[], alertDelay = '10s'): Promise<Alert[]> {
    const sub = fs.mkdtempSync(path.join(dir, 'r-'));
    const file = path.join(sub, 'capture.pcap');
    writePcap(file, 1, frames.sort((a, b) => a.ts - b.ts));
    const config = loadConfig({ flags: {
      'state-dir': path.join(sub, 'state'), 'alerts-file': path.join(sub, 'alerts.json'), 'alert-delay': alertDelay,
      'learning-period': '0', 'external-cidr': ['203.0.113.0/24', '2001:db8::/32'],
    }, env: {} });
    const stats = await runReplay(config, [file], silent);
    assert.equal(stats.failedFiles.length, 0);
    return fs.readFileSync(path.join(sub, 'alerts.json'), 'utf8').trim().split('\n').filter(Boolean).map((l) => JSON.parse(l) as Alert);
  }

  it('IPv6 unanswered, then IPv4 connects: one alert, saying the software got through, with both connections and their bytes', async () => {
    const alerts = await replay([
      ...dns(T0, 'AAAA', 1, SERVER6), ...dns(T0 + 2, 'A', 2, SERVER4),
      ...unansweredSyn6(T0 + 10, 41000),
      ...fetch4(T0 + 260, 41001, 500, 20_000),
    ]);
    assert.equal(alerts.length, 1);
    const a = alerts[0];
    // The IPv4 connection is judged first (its first bytes settle it; the IPv6 one waits up to
    // a second for bytes that never come), so it is the alert's own; the IPv6 attempt, started
    // 250 ms before it, is related.
    assert.equal(a.destination.ip, SERVER4);
    assert.equal(a.destination.domain, NAME);
    assert.equal(a.event.outcome, 'success');
    assert.deepEqual({ count: a.egresswatch.connections.count, answered: a.egresswatch.connections.answered }, { count: 2, answered: 1 });
    assert.equal(a.egresswatch.connections.destination_bytes, a.destination.bytes, 'the IPv6 attempt got nothing back');
    assert.equal(a.egresswatch.connections.source_bytes, a.source.bytes + 2 * 60, 'and sent its SYN twice (60 bytes each)');
    assert.match(a.message, / connected to www\.new-vendor\.example \(new-vendor\.example\), new/);
  });

  it('a refused first attempt judged before a retry that gets through: success, and the message says the first attempt was refused', async () => {
    // The retry starts before the refused attempt's alert is out: with the alert delay at 0 the
    // refusal (a RST ends the connection) would alert at once; a 3 s SYN wait keeps it open.
    const synOnly = (t: number, port: number): PcapFrame => ({ ts: t, data: ethernet({ type: ETHERTYPE_IPV4 }, ipv4({ src: CLIENT4, dst: SERVER4, protocol: 6 }, tcp({ srcPort: port, dstPort: 443, flags: TCP_SYN, seq: 9 }))) });
    const alerts = await replay([
      ...dns(T0, 'A', 2, SERVER4),
      synOnly(T0 + 10, 44000), synOnly(T0 + 1010, 44000), synOnly(T0 + 3010, 44000),
      ...fetch4(T0 + 3500, 44001, 300, 4000),
    ]);
    assert.equal(alerts.length, 1);
    const a = alerts[0];
    assert.equal(a.source.bytes, 3 * 40, 'the unanswered attempt (judged first, after its 1 s wait for bytes)');
    assert.equal(a.egresswatch.flow.tcp_handshake, 'no-answer');
    assert.equal(a.event.outcome, 'success');
    assert.equal(a.egresswatch.connections.answered, 1);
    assert.match(a.message, /connected to www\.new-vendor\.example \(new-vendor\.example; its first attempt got no answer\)/);
  });

  it('counts parallel connections started within the alert delay, not those after it', async () => {
    const alerts = await replay([
      ...dns(T0, 'A', 2, SERVER4),
      ...fetch4(T0 + 10, 42000, 100, 1000),
      ...fetch4(T0 + 20, 42001, 100, 3000),
      ...fetch4(T0 + 4_000, 42002, 100, 5000),
      ...fetch4(T0 + 9_000, 42003, 100, 7000), // after the 5 s delay of this run
    ], '5s');
    assert.equal(alerts.length, 1);
    const c = alerts[0].egresswatch.connections;
    assert.equal(c.count, 3);
    assert.equal(c.answered, 3);
    assert.equal(alerts[0].event.outcome, 'success');
    assert.ok(c.destination_bytes > 1000 + 3000 + 5000 && c.destination_bytes < 1000 + 3000 + 5000 + 7000, JSON.stringify(c));
  });

  it('a refused connection alone stays a failure; a lone one counts one connection', async () => {
    const refused = (t: number, port: number): PcapFrame[] => [
      { ts: t, data: ethernet({ type: ETHERTYPE_IPV4 }, ipv4({ src: CLIENT4, dst: SERVER4, protocol: 6 }, tcp({ srcPort: port, dstPort: 443, flags: TCP_SYN, seq: 1 }))) },
      { ts: t + 1, data: ethernet({ type: ETHERTYPE_IPV4 }, ipv4({ src: SERVER4, dst: CLIENT4, protocol: 6 }, tcp({ srcPort: 443, dstPort: port, flags: TCP_RST | TCP_ACK, seq: 0 }))) },
    ];
    const alerts = await replay([...dns(T0, 'A', 2, SERVER4), ...refused(T0 + 10, 43000)]);
    assert.equal(alerts.length, 1);
    assert.equal(alerts[0].event.outcome, 'failure');
    assert.deepEqual(alerts[0].egresswatch.connections, { count: 1, answered: 0, source_bytes: 40, destination_bytes: 40 });
    assert.match(alerts[0].message, /tried to connect to www\.new-vendor\.example \(new-vendor\.example; refused\)/);
  });
});
