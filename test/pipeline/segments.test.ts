// A ClientHello over several TCP segments, as a capture on the sending host can show it: a
// post-quantum key share (X25519MLKEM768, 1,216 bytes) pushes server_name into the second
// segment, and the segments come repeated (a retransmission), out of order, or first in a TCP
// Fast Open SYN and again after the handshake (a server that did not take the SYN's data).
// The client's stream is put together by sequence number, so each connection is named by its
// SNI; before, segments were joined in arrival order and these lost their name. And a QUIC
// ClientHello over the client's first two Initial datagrams: only the first used to be read.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import winston from 'winston';
import { loadConfig } from '../../lib/config/index.js';
import { DEFAULT_NAME_ORDER, Pipeline, runReplay, type ReplayStats } from '../../lib/pipeline/index.js';
import type { Baseline } from '../../lib/baseline/index.js';
import { ethernet, ipv4, tcp, udp, writePcap, ETHERTYPE_IPV4, TCP_ACK, TCP_FIN, TCP_PSH, TCP_SYN, type PcapFrame } from '../helpers/packets.js';
import { clientHello, extension, records, serverNameExt } from '../sniff/build.js';
import { cryptoFrame, protectInitial } from '../sniff/quic-build.js';

const silent = winston.createLogger({ silent: true });
const T0 = Date.UTC(2026, 11, 1, 10, 0, 0);
const CLIENT = '10.0.0.5';
const ISN = 0xfffffe00; // wraps past 2^32 inside the ClientHello

const u16 = (n: number): Buffer => Buffer.from([n >> 8, n & 0xff]);

/** A ClientHello handshake message as Chrome sends it since 2024: an ML-KEM hybrid key share before server_name. */
function pqHandshake(name: string): Buffer {
  const share = Buffer.alloc(1216, 0x5a);
  return clientHello({
    extensions: [
      extension(0x2a2a, Buffer.alloc(0)),
      extension(0x002b, Buffer.from([2, 0x03, 0x04])),
      extension(0x0033, Buffer.concat([u16(share.length + 4), u16(0x11ec), u16(share.length), share])),
      serverNameExt([[0, name]]),
      extension(0x0010, Buffer.from('0003026832', 'hex')),
    ],
  });
}

/** The same in one TLS record, as it goes over TCP. */
function pqHello(name: string): Buffer {
  return records(pqHandshake(name));
}

interface Segment { seq: number; data: Buffer; syn?: boolean }

interface Alert {
  destination: { ip: string; domain: string };
  source: { packets: number };
  egresswatch: { name_source: string };
}

/** One connection from CLIENT:port to server:443 whose client segments come in the order given. */
function connection(server: string, port: number, t: number, segments: Segment[]): PcapFrame[] {
  const out = (flags: number, seq: number, data: Buffer = Buffer.alloc(0)): Buffer =>
    ethernet({ type: ETHERTYPE_IPV4 }, ipv4({ src: CLIENT, dst: server, protocol: 6 }, tcp({ srcPort: port, dstPort: 443, seq, flags }, data)));
  const back = (flags: number): Buffer =>
    ethernet({ type: ETHERTYPE_IPV4 }, ipv4({ src: server, dst: CLIENT, protocol: 6 }, tcp({ srcPort: 443, dstPort: port, seq: 5000, flags }, Buffer.alloc(0))));
  const synData = segments.find((s) => s.syn);
  const frames: Buffer[] = [out(TCP_SYN, ISN, synData?.data), back(TCP_SYN | TCP_ACK), out(TCP_ACK, (ISN + 1) >>> 0)];
  for (const s of segments.filter((x) => !x.syn)) frames.push(out(TCP_ACK | TCP_PSH, s.seq, s.data));
  frames.push(out(TCP_FIN | TCP_ACK, (ISN + 5000) >>> 0), back(TCP_FIN | TCP_ACK), out(TCP_ACK, (ISN + 5001) >>> 0));
  return frames.map((data, i) => ({ ts: t + i, data }));
}

describe('pipeline: a ClientHello over several segments (repeated, reordered, in the SYN) or QUIC datagrams', () => {
  let dir = '';
  before(() => { dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ew-segments-')); });
  after(() => fs.rmSync(dir, { recursive: true, force: true }));

  /** Replays `frames` (Ethernet) into a fresh state dir, with 203.0.113.0/24 external. */
  async function replayFrames(frames: PcapFrame[]): Promise<{ stats: ReplayStats; alerts: Alert[] }> {
    const sub = fs.mkdtempSync(path.join(dir, 'r-'));
    const file = path.join(sub, 'capture.pcap');
    writePcap(file, 1, frames);
    const config = loadConfig({ flags: {
      'state-dir': path.join(sub, 'state'), 'alerts-file': path.join(sub, 'alerts.json'),
      'learning-period': '0', 'external-cidr': ['203.0.113.0/24'],
    }, env: {} });
    const stats = await runReplay(config, [file], silent);
    const alerts = fs.readFileSync(path.join(sub, 'alerts.json'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as Alert);
    return { stats, alerts };
  }

  it('names every connection by its SNI', async () => {
    const cases: [string, string, (a: Buffer, b: Buffer) => Segment[]][] = [
      ['203.0.113.1', 'in-order.example.com', (a, b) => [{ seq: ISN + 1, data: a }, { seq: ISN + 1 + a.length, data: b }]],
      ['203.0.113.2', 'repeated.example.net', (a, b) => [{ seq: ISN + 1, data: a }, { seq: ISN + 1, data: a }, { seq: ISN + 1 + a.length, data: b }]],
      ['203.0.113.3', 'reordered.example.org', (a, b) => [{ seq: ISN + 1 + a.length, data: b }, { seq: ISN + 1, data: a }]],
      ['203.0.113.4', 'fast-open.example.info', (a, b) => [{ seq: ISN, data: a, syn: true }, { seq: ISN + 1, data: a }, { seq: ISN + 1 + a.length, data: b }]],
      // A retransmission that carries the first segment and part of the second in one.
      ['203.0.113.5', 'coalesced.example.dev', (a, b) => [{ seq: ISN + 1, data: a }, { seq: ISN + 1, data: Buffer.concat([a, b.subarray(0, 100)]) }, { seq: ISN + 1 + a.length, data: b }]],
    ];
    const frames: PcapFrame[] = [];
    cases.forEach(([server, name, order], i) => {
      const hello = pqHello(name);
      const a = hello.subarray(0, 1000);
      const b = hello.subarray(1000);
      assert.ok(hello.indexOf(Buffer.from(name)) > 1000, 'server_name is in the second segment');
      const segs = order(a, b).map((s) => ({ ...s, seq: s.seq >>> 0 }));
      frames.push(...connection(server, 40000 + i, T0 + i * 100, segs));
    });
    const { stats, alerts } = await replayFrames(frames);
    assert.equal(stats.connections.tcp, cases.length);
    const got = Object.fromEntries(alerts.map((x) => [x.destination.ip, `${x.egresswatch.name_source} ${x.destination.domain}`]));
    assert.deepEqual(got, Object.fromEntries(cases.map(([server, name]) => [server, `sni ${name}`])));
  });

  it('names a QUIC connection whose ClientHello takes two Initial datagrams', async () => {
    const hello = pqHandshake('two-initials.example.net');
    const cut = 1000;
    assert.ok(hello.indexOf(Buffer.from('two-initials.example.net')) > cut, 'server_name is in the second datagram');
    const dcid = Buffer.from('0011223344556677', 'hex');
    const datagrams = [
      protectInitial(cryptoFrame(0, hello.subarray(0, cut)), { dcid, packetNumber: 0 }),
      protectInitial(cryptoFrame(cut, hello.subarray(cut)), { dcid, packetNumber: 1 }),
    ];
    const server = '203.0.113.9';
    const v4 = (src: string, dst: string, sport: number, dport: number, data: Buffer): Buffer =>
      ethernet({ type: ETHERTYPE_IPV4 }, ipv4({ src, dst, protocol: 17 }, udp({ srcPort: sport, dstPort: dport }, data)));
    const frames: PcapFrame[] = [
      { ts: T0, data: v4(CLIENT, server, 50000, 443, datagrams[0]) },
      { ts: T0 + 0.1, data: v4(CLIENT, server, 50000, 443, datagrams[1]) },
      { ts: T0 + 20, data: v4(server, CLIENT, 443, 50000, Buffer.alloc(1200, 0xc1)) },
    ];
    const { alerts } = await replayFrames(frames);
    assert.equal(alerts.length, 1);
    assert.equal(alerts[0].egresswatch.name_source, 'quic');
    assert.equal(alerts[0].destination.domain, 'two-initials.example.net');
    assert.equal(alerts[0].source.packets, 2, 'both datagrams counted');
  });

  it('a flood of QUIC Initials: at most 2,000 a second are opened (the rest counted); spread out, all are', () => {
    const datagram = protectInitial(cryptoFrame(0, clientHello({ extensions: [serverNameExt([[0, 'flood.example.net']])] })), { packetNumber: 0 });
    const p = new Pipeline({
      hostName: 'h', hostId: 'h', dnsPorts: [53], alertDelayMs: 0, baselineWindowMs: 86_400_000, dnsCacheSize: 1000,
      dnsRetentionMs: 3_600_000, flowTableSize: 100_000, tcpIdleMs: 300_000, udpIdleMs: 60_000, internalCidrs: [], externalCidrs: ['203.0.113.0/24'],
      normalizeVersions: true, nameOrder: DEFAULT_NAME_ORDER, dnsQueryWindowMs: 5000, acceptUnmatchedDns: false, groupingRules: [], suppressions: [],
    }, {
      baseline: async () => ({ observeSync: () => undefined, observe: async () => ({ novelFor: [], learning: false }) }) as unknown as Baseline,
      emit: () => undefined, logger: silent, now: () => 0,
    });
    let port = 1024;
    const send = (ts: number): void => {
      const port_ = port++;
      const frame = ethernet({ type: ETHERTYPE_IPV4 }, ipv4({ src: CLIENT, dst: '203.0.113.77', protocol: 17 }, udp({ srcPort: port_, dstPort: 443 }, datagram)));
      p.onPacket(frame, frame.length, frame.length, ts, 1);
    };
    // 3,000 new connections in the same millisecond: the budget's burst opens 2,000.
    for (let i = 0; i < 3000; i++) send(T0);
    assert.equal(p.stats.namedBy.quic, 2000);
    assert.equal(p.stats.quicInitialsSkipped, 1000);
    assert.equal(p.stats.namedBy.none, 1000);
    // A second later the budget is whole again; one a millisecond (1,000 a second) is always opened.
    for (let i = 0; i < 3000; i++) send(T0 + 1000 + i);
    assert.equal(p.stats.namedBy.quic, 5000);
    assert.equal(p.stats.quicInitialsSkipped, 1000);
  });
});
