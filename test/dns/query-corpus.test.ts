// The query tracker over real captures: every UDP payload goes to parseDnsQuery (QR=0) when
// its destination port is 53 and to parseDnsResponse (QR=1) when its source port is 53, the
// way the pipeline will feed it; the QR bit decides, so a client that itself uses port 53
// (dns-udp-double-request-response) is handled. Expected counts come from what each capture
// holds (tshark's dns.response_to / dns.unsolicited agree, checked below where tshark runs).
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import { replayFile } from '../../lib/capture/index.js';
import { addressToString, decodePacket, DecodeStats, IPPROTO_UDP, PacketInfo } from '../../lib/decode/index.js';
import { DnsStats, parseDnsQuery, parseDnsResponse, QueryTracker } from '../../lib/dns/index.js';
import { corpusFile, haveCommand, requirePrereq } from '../helpers/env.js';

interface Replay {
  tracker: QueryTracker;
  /** Frame numbers (1-based) of responses matched / refused. */
  matched: number[];
  refused: number[];
}

function replay(rel: string): Replay {
  const tracker = new QueryTracker();
  const stats = new DnsStats();
  const decode = new DecodeStats();
  const pi = new PacketInfo();
  const out: Replay = { tracker, matched: [], refused: [] };
  let frame = 0;
  replayFile(corpusFile(rel), (buf, caplen, wireLen, tsMs, linkType, _h, at) => {
    frame++;
    if (!decodePacket(linkType, buf, caplen, pi, decode, wireLen, at)) return;
    if (pi.protocol !== IPPROTO_UDP || pi.fragmented) return;
    const v = pi.ipVersion === 6 ? 6 : 4;
    const src = `${addressToString(buf, pi.srcOffset, v)}|${pi.srcPort}`;
    const dst = `${addressToString(buf, pi.dstOffset, v)}|${pi.dstPort}`;
    if (pi.dstPort === 53) {
      const q = parseDnsQuery(buf, pi.payloadOffset, pi.payloadLength);
      if (q) tracker.query(q, src, dst, tsMs);
    }
    if (pi.srcPort === 53) {
      const r = parseDnsResponse(buf, pi.payloadOffset, pi.payloadLength, stats);
      if (r) (tracker.match(r, dst, src, tsMs) ? out.matched : out.refused).push(frame);
    }
  });
  return out;
}

/** tshark's view: frames of responses it paired with a request, and of unsolicited ones. */
function tsharkPairs(rel: string): { answered: number[]; unsolicited: number[] } {
  const text = execFileSync('tshark', ['-r', corpusFile(rel), '-Y', 'dns.flags.response == 1', '-T', 'fields',
    '-e', 'frame.number', '-e', 'dns.response_to', '-e', 'dns.unsolicited'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
  const answered: number[] = [];
  const unsolicited: number[] = [];
  for (const line of text.trim().split('\n')) {
    const [frame, to, unsol] = line.split('\t');
    if (to) answered.push(Number(frame));
    if (unsol) unsolicited.push(Number(frame));
  }
  return { answered, unsolicited };
}

function need(ctx: Mocha.Context, rel: string): void {
  requirePrereq(ctx, fs.existsSync(corpusFile(rel)), `corpus capture ${rel}`);
}

describe('dns/QueryTracker on captures', () => {
  it('dns-udp-unsolicited-response: the answer with the id nobody asked for is refused', function () {
    const rel = 'suricata-verify/dns-udp-unsolicited-response.pcap';
    need(this, rel);
    // Frame 1: query id 0x99ab from 10.16.1.11:53679. Frame 2: response id 0x9941 (the
    // unsolicited one, per the test's README). Frame 3: response id 0x99ab (the real answer).
    const { tracker, matched, refused } = replay(rel);
    assert.deepEqual(matched, [3]);
    assert.deepEqual(refused, [2]);
    assert.equal(tracker.stats.queries, 1);
    assert.equal(tracker.stats.duplicates, 0);
  });

  it('dns-udp-double-request-response: two queries in flight, both answered (client port 53)', function () {
    const rel = 'suricata-verify/dns-udp-double-request-response.pcap';
    need(this, rel);
    // Frames 1, 2: queries ids 1 and 2 for www.google.com from 10.16.1.11:53 to 8.8.8.8:53,
    // sent back to back; frames 3, 4: their answers. Both ports are 53, so every packet is
    // offered to both parsers and the QR bit picks one.
    const { tracker, matched, refused } = replay(rel);
    assert.deepEqual(matched, [3, 4]);
    assert.deepEqual(refused, []);
    assert.equal(tracker.stats.queries, 2);
    assert.equal(tracker.size, 2, 'answered queries are held for duplicate detection until the window ends');
  });

  it('zeek dns53: a lone response with no query in the capture is refused', function () {
    const rel = 'zeek/dns53.pcap';
    need(this, rel);
    // One packet: a response from 207.158.192.40:53 to 10.20.1.31:53 (Zeek's "flip" trace;
    // the query is not in the capture). A tracker that saw no query must not accept it.
    const { tracker, matched, refused } = replay(rel);
    assert.deepEqual(matched, []);
    assert.deepEqual(refused, [1]);
    assert.equal(tracker.stats.queries, 0);
  });

  it('bug-1158 (iodine tunnel): 81 queries, 80 answers all matched, many in flight at once', function () {
    const rel = 'suricata-verify/bug-1158.pcap';
    need(this, rel);
    // 10.30.28.90:43246 → 10.30.28.94:53, TXT queries with mixed-case names (lower-cased by
    // both parsers). Up to 20 queries are in flight (frames 9-28 before answers 29-31) and
    // answers come out of order (45 answers 19, 44 answers 20). The last query (frame 164)
    // is never answered; frames 84, 87, 121 are NetBIOS, not DNS. The longest wait is 0.68 s
    // (frame 28 → 62), inside the 5 s window. Suricata's expected flow record agrees: 81
    // packets to the server, 80 to the client.
    const { tracker, matched, refused } = replay(rel);
    assert.equal(tracker.stats.queries, 81);
    assert.equal(matched.length, 80);
    // Still held at the last packet (9.408 s): the queries of the last 5 s, frames 146-164
    // (even numbers, 10 of them; the last unanswered), older answered ones swept silently.
    assert.equal(tracker.size, 10);
    assert.deepEqual(refused, []);
    assert.equal(tracker.stats.duplicates, 0);
    assert.equal(tracker.stats.expired, 0);
  });

  it('agrees with tshark on which responses answer a request', function () {
    requirePrereq(this, haveCommand('tshark'), 'tshark');
    const files = ['suricata-verify/dns-udp-unsolicited-response.pcap', 'suricata-verify/dns-udp-double-request-response.pcap',
      'zeek/dns53.pcap', 'suricata-verify/bug-1158.pcap'];
    for (const rel of files) {
      need(this, rel);
      const ours = replay(rel);
      const theirs = tsharkPairs(rel);
      assert.deepEqual(ours.matched, theirs.answered, `${rel}: matched`);
      assert.deepEqual(ours.refused, theirs.unsolicited, `${rel}: refused`);
    }
  });
});
