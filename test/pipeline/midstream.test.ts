// Connections whose start is not in the capture: open before the capture (or the agent) began, or
// forgotten by the flow table (idle expiry, eviction). Before, a TCP connection was only ever
// tracked from its SYN, so a connection opened while the agent was down (a persistent channel
// opened during an upgrade) was never judged. Now a client's data packet takes it up: named by
// DNS (an answer seen earlier, or restored from the last run), judged, marked midstream.
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import dnsPacket from 'dns-packet';
import winston from 'winston';
import { alertLine } from '../../lib/alerts/index.js';
import { loadConfig } from '../../lib/config/index.js';
import { runReplay, type ReplayStats } from '../../lib/pipeline/index.js';
import { AGENT_CLI } from '../integration/agent.js';
import { corpusFile, haveCommand, requirePrereq } from '../helpers/env.js';
import { replayFrames } from '../helpers/replay-frames.js';
import { ethernet, ipv4, tcp, udp, writePcap, ETHERTYPE_IPV4, TCP_ACK, TCP_FIN, TCP_PSH, TCP_SYN, type PcapFrame } from '../helpers/packets.js';

const T0 = Date.UTC(2026, 11, 5, 10, 0, 0);
const CLIENT = '10.0.0.5';
const RESOLVER = '10.0.0.53';

interface Alert {
  message: string;
  '@timestamp': string;
  event: { outcome: string };
  source: { port: number; packets: number };
  destination: { ip: string; domain?: string; bytes: number };
  egresswatch: { name_source: string; flow: { midstream?: boolean; tcp_handshake?: string } };
}

function lookup(t: number, name: string, address: string): PcapFrame[] {
  const q = dnsPacket.encode({ type: 'query', id: 7, flags: dnsPacket.RECURSION_DESIRED, questions: [{ type: 'A', name }] });
  const r = dnsPacket.encode({ type: 'response', id: 7, flags: dnsPacket.RECURSION_DESIRED | dnsPacket.RECURSION_AVAILABLE, questions: [{ type: 'A', name }], answers: [{ type: 'A', name, ttl: 3600, data: address }] });
  return [
    { ts: t, data: ethernet({ type: ETHERTYPE_IPV4 }, ipv4({ src: CLIENT, dst: RESOLVER, protocol: 17 }, udp({ srcPort: 53000, dstPort: 53 }, q))) },
    { ts: t + 1, data: ethernet({ type: ETHERTYPE_IPV4 }, ipv4({ src: RESOLVER, dst: CLIENT, protocol: 17 }, udp({ srcPort: 53, dstPort: 53000 }, r))) },
  ];
}

const out = (server: string, port: number, flags: number, len = 0): Buffer =>
  ethernet({ type: ETHERTYPE_IPV4 }, ipv4({ src: CLIENT, dst: server, protocol: 6 }, tcp({ srcPort: port, dstPort: 443, flags, seq: 123456 }, Buffer.alloc(len, 0x17))));
const back = (server: string, port: number, flags: number, len = 0): Buffer =>
  ethernet({ type: ETHERTYPE_IPV4 }, ipv4({ src: server, dst: CLIENT, protocol: 6 }, tcp({ srcPort: 443, dstPort: port, flags, seq: 999 }, Buffer.alloc(len, 0x17))));

describe('pipeline: connections taken up mid-stream (their start not in the capture)', () => {
  let dir = '';
  before(() => { dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ew-midstream-')); });
  after(() => fs.rmSync(dir, { recursive: true, force: true }));

  const replay = (frames: PcapFrame[]) => replayFrames<Alert>(dir, frames, { 'external-cidr': ['203.0.113.0/24'] });

  it('judges an established connection from its first client data packet, named by an earlier DNS answer', async () => {
    const server = '203.0.113.40';
    const frames: PcapFrame[] = [
      ...lookup(T0, 'c2.persistent.example', server),
      // The connection was opened before the capture: its first packets here are the server's data and the client's ACK.
      ...[back(server, 41000, TCP_ACK | TCP_PSH, 300), out(server, 41000, TCP_ACK), out(server, 41000, TCP_ACK | TCP_PSH, 120),
        back(server, 41000, TCP_ACK | TCP_PSH, 800), out(server, 41000, TCP_FIN | TCP_ACK), back(server, 41000, TCP_FIN | TCP_ACK), out(server, 41000, TCP_ACK)]
        .map((data, i) => ({ ts: T0 + 60_000 + i * 10, data })),
    ];
    const { stats, alerts } = await replay(frames);
    assert.deepEqual([stats.connections.tcp, stats.connections.tcpMidstream], [0, 1]);
    assert.equal(alerts.length, 1, JSON.stringify(alerts));
    const [a] = alerts;
    assert.equal(a.destination.domain, 'c2.persistent.example');
    assert.equal(a.egresswatch.name_source, 'dns');
    assert.equal(a.egresswatch.flow.midstream, true);
    assert.equal(a.event.outcome, 'success');
    assert.equal(a.source.port, 41000);
    assert.equal(a.destination.bytes, 840 + 40, 'counted from the client data packet on: the server data and FIN after it');
    assert.equal(a['@timestamp'], new Date(T0 + 60_000 + 20).toISOString(), 'first seen at the client data packet');
    assert.match(a.message, /was connected to c2\.persistent\.example \(persistent\.example; a connection already open when first seen\)/);
    assert.match(alertLine(a as unknown as Record<string, unknown>), / -> c2\.persistent\.example \[203\.0\.113\.40\]:443\/tcp already-open bytes_out=/);
  });

  it('a whole connection (SYN to FIN) is not taken up twice: its last ACK and FINs start nothing', async () => {
    const server = '203.0.113.41';
    const frames = [out(server, 42000, TCP_SYN), back(server, 42000, TCP_SYN | TCP_ACK), out(server, 42000, TCP_ACK), out(server, 42000, TCP_ACK | TCP_PSH, 200),
      back(server, 42000, TCP_ACK | TCP_PSH, 900), out(server, 42000, TCP_FIN | TCP_ACK), back(server, 42000, TCP_FIN | TCP_ACK), out(server, 42000, TCP_ACK),
      // The server's data in flight after the client reset the connection: not a new connection either.
      back(server, 42000, TCP_ACK | TCP_PSH, 500)]
      .map((data, i) => ({ ts: T0 + i * 10, data }));
    const { stats, alerts } = await replay(frames);
    assert.deepEqual([stats.connections.tcp, stats.connections.tcpMidstream], [1, 0]);
    assert.equal(alerts.length, 1);
    assert.equal(alerts[0].egresswatch.flow.midstream, undefined);
  });

  it('egresswatch replay takes nothing up mid-stream unless --midstream is given (as Suricata\'s stream.midstream)', function () {
    requirePrereq(this, fs.existsSync(AGENT_CLI), `${AGENT_CLI} (build first)`);
    const server = '203.0.113.42';
    const frames = [out(server, 43000, TCP_ACK | TCP_PSH, 100), back(server, 43000, TCP_ACK | TCP_PSH, 400)].map((data, i) => ({ ts: T0 + i, data }));
    const sub = fs.mkdtempSync(path.join(dir, 'cli-'));
    const file = path.join(sub, 'capture.pcap');
    writePcap(file, 1, frames);
    const replay = (flags: string[]) => {
      const state = fs.mkdtempSync(path.join(sub, 'state-'));
      const r = spawnSync(process.execPath, [AGENT_CLI, 'replay', file, '--state-dir', state, '--alerts-file', path.join(state, 'alerts.json'),
        '--external-cidr', '203.0.113.0/24', '--stats-json', ...flags], { encoding: 'utf8', timeout: 60_000 });
      assert.equal(r.status, 0, r.stderr);
      return (JSON.parse(r.stdout) as ReplayStats).connections;
    };
    assert.deepEqual(replay([]), { tcp: 0, udp: 0, tcpMidstream: 0 });
    assert.deepEqual(replay(['--midstream']), { tcp: 0, udp: 0, tcpMidstream: 1 });
  });

  it("zeek's http/get_nosyn.pcap (a capture without the SYN): the request that takes the connection up names it by its Host, as tshark reads it", async function () {
    requirePrereq(this, haveCommand('tshark'), 'tshark');
    const file = corpusFile('zeek/http__get_nosyn.pcap');
    const host = execFileSync('tshark', ['-r', file, '-Y', 'http.request', '-T', 'fields', '-e', 'http.host'], { encoding: 'utf8' }).trim();
    assert.equal(host, 'bro.org');
    const state = fs.mkdtempSync(path.join(dir, 'nosyn-'));
    const config = loadConfig({ flags: { 'state-dir': state, 'alerts-file': path.join(state, 'alerts.json'), 'learning-period': '0', 'external-cidr': ['0.0.0.0/0'] }, env: {} });
    const stats = await runReplay(config, [file], winston.createLogger({ silent: true }));
    assert.deepEqual(stats.connections, { tcp: 0, udp: 0, tcpMidstream: 1 });
    const [a] = fs.readFileSync(path.join(state, 'alerts.json'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as Alert & { http?: { request: { method: string } } });
    assert.equal(a.destination.domain, host);
    assert.equal(a.egresswatch.name_source, 'http');
    assert.equal(a.http?.request.method, 'GET');
    assert.equal(a.egresswatch.flow.midstream, true);
  });
});
