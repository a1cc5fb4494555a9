// The benchmark's capture generator: the file is a valid classic pcap with increasing
// timestamps, is byte-identical for one seed, and holds what its summary claims (checked
// against tshark's own dissection, not against our decoders).
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { generateCapture, type GenSummary } from '../../bench/gen-capture.js';
import { forEachRecord } from '../../bench/measure.js';
import { haveCommand, requirePrereq } from '../helpers/env.js';

const PACKETS = 5000;

function tsharkCount(file: string, filter: string): number {
  const out = execFileSync('tshark', ['-n', '-r', file, '-Y', filter, '-T', 'fields', '-e', 'frame.number'], {
    encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'], maxBuffer: 64 * 1024 * 1024,
  });
  return out.split('\n').filter((l) => l !== '').length;
}

describe('bench capture generator', function () {
  let dir: string;
  let file: string;
  let summary: GenSummary;

  before(function () {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'egresswatch-gen-'));
    file = path.join(dir, 'a.pcap');
    summary = generateCapture(file, { packets: PACKETS, seed: 7 });
  });

  after(function () {
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('writes a little-endian microsecond pcap of Ethernet frames with increasing timestamps', function () {
    const data = fs.readFileSync(file);
    assert.equal(data.readUInt32LE(0), 0xa1b2c3d4);
    assert.equal(data.readUInt32LE(20), 1);
    assert.equal(data.length, summary.bytes);
    let last = -1;
    let increasing = true;
    const n = forEachRecord(data, (_file, _at, _caplen, tsMs) => {
      if (tsMs <= last) increasing = false;
      last = tsMs;
    }).records;
    assert.equal(n, PACKETS);
    assert.equal(summary.packets, PACKETS);
    assert.ok(increasing, 'timestamps must strictly increase');
    assert.equal(Math.round(last * 1000), summary.lastTsUs);
  });

  it('is byte-identical for the same seed and differs for another', function () {
    const again = path.join(dir, 'b.pcap');
    const other = path.join(dir, 'c.pcap');
    generateCapture(again, { packets: PACKETS, seed: 7 });
    generateCapture(other, { packets: PACKETS, seed: 8 });
    const hash = (f: string): string => crypto.createHash('sha256').update(fs.readFileSync(f)).digest('hex');
    assert.equal(hash(again), hash(file));
    assert.notEqual(hash(other), hash(file));
  });

  it('has the intended mix: about 10% DNS responses, TCP, UDP, some IPv6 and VLAN', function () {
    const pct = (n: number): number => (100 * n) / summary.packets;
    assert.ok(pct(summary.dnsResponses) > 6 && pct(summary.dnsResponses) < 15, `DNS responses ${pct(summary.dnsResponses)}%`);
    assert.ok(summary.tcpSyns > 100 && summary.udpFlows > 20);
    assert.ok(pct(summary.ipv6Packets) > 0.5 && pct(summary.ipv6Packets) < 10, `IPv6 ${pct(summary.ipv6Packets)}%`);
    assert.ok(pct(summary.vlanPackets) > 0.5 && pct(summary.vlanPackets) < 10, `VLAN ${pct(summary.vlanPackets)}%`);
    assert.ok(summary.groupsResolved > 100 && summary.groupsResolved <= summary.namesResolved);
  });

  it('matches tshark: DNS responses, answer records, SYNs, no malformed frames', function () {
    requirePrereq(this, haveCommand('tshark'), 'tshark');
    this.timeout(60_000);
    assert.equal(tsharkCount(file, 'dns.flags.response == 1'), summary.dnsResponses);
    assert.equal(tsharkCount(file, 'dns.flags.response == 0'), summary.dnsQueries);
    assert.equal(tsharkCount(file, 'tcp.flags.syn == 1 && tcp.flags.ack == 0'), summary.tcpSyns);
    assert.equal(tsharkCount(file, 'vlan'), summary.vlanPackets);
    assert.equal(tsharkCount(file, 'ipv6'), summary.ipv6Packets);
    assert.equal(tsharkCount(file, 'dns.cname'), tsharkCount(file, 'dns.flags.response == 1'));
    assert.equal(tsharkCount(file, '_ws.malformed || _ws.expert.severity >= "warning"'), 0);
    const answers = execFileSync('tshark', ['-n', '-r', file, '-Y', 'dns.flags.response == 1', '-T', 'fields', '-e', 'dns.count.answers'],
      { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
    const total = answers.split('\n').filter((l) => l !== '').reduce((s, l) => s + Number(l), 0);
    assert.equal(total, summary.dnsAnswerRecords);
  });
});
