// DNS over TCP answers are matched to their queries like UDP ones: real captures where the
// query and the answer travel on one TCP connection name addresses; the same answers with the
// queries left out do not.
import assert from 'node:assert/strict';
import winston from 'winston';
import { replayFile } from '../../lib/capture/index.js';
import { Pipeline, DEFAULT_NAME_ORDER } from '../../lib/pipeline/index.js';
import type { Baseline } from '../../lib/baseline/index.js';
import { corpusFile } from '../helpers/env.js';

function pipeline(): Pipeline {
  const baseline = { observeSync: () => undefined, observe: async () => ({ novelFor: [], learning: false }) } as unknown as Baseline;
  return new Pipeline({
    hostName: 'h', hostId: 'h', dnsPorts: [53], alertDelayMs: 0, baselineWindowMs: 86_400_000, dnsCacheSize: 1000,
    dnsRetentionMs: 3_600_000, flowTableSize: 1000, tcpIdleMs: 300_000, udpIdleMs: 60_000, internalCidrs: [], externalCidrs: [],
    normalizeVersions: true, nameOrder: DEFAULT_NAME_ORDER, dnsQueryWindowMs: 5000, acceptUnmatchedDns: false, groupingRules: [], suppressions: [],
  }, { baseline: async () => baseline, emit: () => undefined, logger: winston.createLogger({ silent: true }), now: () => 0 });
}

describe('pipeline: DNS over TCP', () => {
  for (const file of ['suricata-verify/dns-tcp-www-google-com.pcap', 'tcpdump/dns_tcp.pcap']) {
    it(`${file}: the answer matches its query on the same connection and names addresses`, () => {
      const p = pipeline();
      replayFile(corpusFile(file), (b, c, w, ts, lt, _h, at) => p.onPacket(b, c, w, ts, lt, undefined, at));
      assert.equal(p.queries.stats.queries, 1);
      assert.equal(p.queries.stats.matched, 1);
      assert.ok(p.names.size > 0);
      assert.equal(p.stats.dnsUnmatchedIgnored, 0);
    });

    it(`${file}: without the query, the answer names nothing`, () => {
      const p = pipeline();
      // Drop the client's segments to port 53: only the server's answer stream remains.
      replayFile(corpusFile(file), (b, c, w, ts, lt, _h, at = 0) => {
        const probe = b.subarray(at, at + c);
        const tcpDst = findTcpDstPort53(probe);
        if (!tcpDst) p.onPacket(b, c, w, ts, lt, undefined, at);
      });
      assert.equal(p.queries.stats.queries, 0);
      assert.equal(p.names.size, 0);
      assert.ok(p.stats.dnsUnmatchedIgnored > 0);
    });
  }
});

/** Ethernet/IPv4/TCP frame going to port 53 (the captures above are plain Ethernet + IPv4). */
function findTcpDstPort53(frame: Buffer): boolean {
  if (frame.length < 14 + 20 + 4 || frame.readUInt16BE(12) !== 0x0800 || frame[23] !== 6) return false;
  const ihl = (frame[14] & 0x0f) * 4;
  return frame.readUInt16BE(14 + ihl + 2) === 53;
}
