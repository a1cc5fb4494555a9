// Runs capture → decode → sniff over a corpus file with a tiny per-direction stream
// accumulator (what the flow table does in production), and reads tshark's names for the
// same file from the corpus reference dumps.
import fs from 'node:fs';
import path from 'node:path';
import { replayFile } from '../../lib/capture/index.js';
import { addressToString, decodePacket, DecodeStats, IPPROTO_TCP, IPPROTO_UDP, PacketInfo } from '../../lib/decode/index.js';
import { quicInitialSni, sniffStream } from '../../lib/sniff/index.js';

/** The caller's bound on client bytes kept for sniffing (the API contract: 16 KiB). */
const STREAM_LIMIT = 16384;
const TCP_SYN = 0x02;

export interface Names {
  sniTcp: Set<string>;
  sniQuic: Set<string>;
  /** HTTP Host over TCP. */
  http: Set<string>;
}

interface Stream {
  data: Buffer;
  used: number;
  /** Next expected sequence number; -1 until the first data segment. */
  next: number;
  done: boolean;
}

/**
 * Names sniffed from every TCP direction (bytes appended in sequence order; a retransmitted or
 * out-of-order segment is skipped, as a sniffer that keeps no reorder buffer would) and from
 * every UDP datagram.
 */
export function namesFromCapture(file: string): Names & { decode: DecodeStats } {
  const pi = new PacketInfo();
  const decode = new DecodeStats();
  const streams = new Map<string, Stream>();
  const out = { sniTcp: new Set<string>(), sniQuic: new Set<string>(), http: new Set<string>(), decode };
  replayFile(file, (buf, caplen, wireLen, _ts, linkType, _h, at) => {
    if (!decodePacket(linkType, buf, caplen, pi, decode, wireLen, at)) return;
    if (pi.protocol === IPPROTO_UDP) {
      if (pi.fragmented) return;
      const name = quicInitialSni(buf, pi.payloadOffset, pi.payloadLength);
      if (name !== undefined) out.sniQuic.add(name);
      return;
    }
    if (pi.protocol !== IPPROTO_TCP) return;
    const v = pi.ipVersion === 6 ? 6 : 4;
    const key = `${addressToString(buf, pi.srcOffset, v)}|${pi.srcPort}|${addressToString(buf, pi.dstOffset, v)}|${pi.dstPort}`;
    let s = streams.get(key);
    if (s === undefined || (pi.tcpFlags & TCP_SYN) !== 0) {
      s = { data: Buffer.alloc(STREAM_LIMIT), used: 0, next: -1, done: false };
      streams.set(key, s);
      if ((pi.tcpFlags & TCP_SYN) !== 0) s.next = (pi.tcpSeq + 1) >>> 0;
    }
    if (s.done || pi.payloadLength === 0) return;
    if (s.next >= 0 && pi.tcpSeq !== s.next) return;
    const n = buf.copy(s.data, s.used, pi.payloadOffset, pi.payloadOffset + pi.payloadLength);
    s.used += n;
    s.next = (pi.tcpSeq + pi.payloadLength) >>> 0;
    const r = sniffStream(s.data, 0, s.used);
    if (r.kind === 'more' && s.used < STREAM_LIMIT) return;
    s.done = true;
    if (r.kind === 'sni') out.sniTcp.add(r.name);
    else if (r.kind === 'http') out.http.add(r.name);
  });
  return out;
}

/** Host as sniffStream reports it: lower case, no port, no trailing dot; IPv6 literals dropped. */
export function normalHost(h: string): string | undefined {
  if (h.startsWith('[')) return undefined;
  const name = h.split(':')[0].toLowerCase().replace(/\.$/, '');
  return name === '' ? undefined : name;
}

/**
 * tshark 4.0.17's names (HTTP Host over UDP, i.e. SSDP, apart in httpUdp) for a corpus file, from `<source>/expected/tshark/<file>.tsv`; null
 * when the corpus has no dump for it (tshark found no DNS answer, SNI or HTTP Host there).
 */
export function tsharkNames(corpusDir: string, rel: string): (Names & { httpUdp: Set<string> }) | null {
  const tsv = path.join(corpusDir, path.dirname(rel), 'expected', 'tshark', path.basename(rel) + '.tsv');
  if (!fs.existsSync(tsv)) return null;
  const lines = fs.readFileSync(tsv, 'utf8').split('\n').filter((l) => l !== '' && !l.startsWith('#'));
  const cols = lines[0].split('\t');
  const col = (name: string): number => {
    const i = cols.indexOf(name);
    if (i < 0) throw new Error(`${tsv}: no column ${name}`);
    return i;
  };
  const [udp, sni, host] = [col('udp.srcport'), col('tls.handshake.extensions_server_name'), col('http.host')];
  const out = { sniTcp: new Set<string>(), sniQuic: new Set<string>(), http: new Set<string>(), httpUdp: new Set<string>() };
  for (const line of lines.slice(1)) {
    const f = line.split('\t');
    for (const s of (f[sni] ?? '').split(',').filter((x) => x !== '')) (f[udp] ? out.sniQuic : out.sniTcp).add(s.toLowerCase());
    for (const h of (f[host] ?? '').split(',').filter((x) => x !== '')) {
      const n = normalHost(h);
      if (n !== undefined) (f[udp] ? out.httpUdp : out.http).add(n);
    }
  }
  return out;
}
