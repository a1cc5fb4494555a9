// Runs the real capture → decode → dns path over a capture file, and asks tshark for the same
// answers, for the corpus tests.
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { replayFile } from '../../lib/capture/index.js';
import { addressToString, decodePacket, DecodeStats, IPPROTO_TCP, IPPROTO_UDP, PacketInfo } from '../../lib/decode/index.js';
import { DnsStats, DnsTcpStreams, parseDnsResponse } from '../../lib/dns/index.js';
import type { DnsResponseInfo } from '../../lib/dns/index.js';

export interface FileDns {
  /** Responses with the frame that completed them (1-based, as tshark numbers frames). */
  responses: { frame: number; info: DnsResponseInfo }[];
  stats: DnsStats;
  decode: DecodeStats;
}

const TCP_FIN_RST = 0x01 | 0x04;

/**
 * DNS responses from UDP/TCP packets whose source port is in `ports`. With `allPayloads`,
 * every UDP payload and TCP stream goes through the parser whatever the ports (robustness).
 */
export function dnsFromCapture(file: string, ports: number[] = [53], allPayloads = false): FileDns {
  const stats = new DnsStats();
  const decode = new DecodeStats();
  const pi = new PacketInfo();
  const streams = new DnsTcpStreams({ stats, maxStreams: 64 });
  const responses: FileDns['responses'] = [];
  let frame = 0;
  const onMessage = (buf: Buffer, off: number, len: number): void => {
    const info = parseDnsResponse(buf, off, len, stats);
    if (info) responses.push({ frame, info });
  };
  replayFile(file, (buf, caplen, _wire, _ts, linkType, _h, at) => {
    frame++;
    if (!decodePacket(linkType, buf, caplen, pi, decode, -1, at)) return;
    if (!allPayloads && !ports.includes(pi.srcPort)) return;
    // First fragments are not reassembled by decode: their DNS payload is incomplete.
    if (pi.protocol === IPPROTO_UDP && !pi.fragmented) onMessage(buf, pi.payloadOffset, pi.payloadLength);
    if (pi.protocol !== IPPROTO_TCP) return;
    const v = pi.ipVersion === 6 ? 6 : 4;
    const key = `${addressToString(buf, pi.srcOffset, v)}|${pi.srcPort}|${addressToString(buf, pi.dstOffset, v)}|${pi.dstPort}`;
    if (pi.payloadLength > 0) streams.push(key, pi.tcpSeq, buf, pi.payloadOffset, pi.payloadLength, onMessage);
    if ((pi.tcpFlags & TCP_FIN_RST) !== 0) streams.end(key);
  });
  return { responses, stats, decode };
}

export interface TsharkResponse {
  frame: number;
  queryName: string;
  /** Addresses reachable from the query name through CNAMEs in the answer section. */
  addresses: string[];
}

const SEP = '\x1f';

/**
 * tshark's DNS responses from source port 53 (UDP or reassembled TCP). tshark lists every
 * record of every section in order, with the section sizes, so the answer section is the
 * first ANCOUNT records; the A/AAAA/CNAME values are taken in record order by type.
 */
export async function tsharkResponses(file: string): Promise<TsharkResponse[]> {
  const fields = ['frame.number', 'dns.count.queries', 'dns.qry.name', 'dns.count.answers', 'dns.count.auth_rr', 'dns.count.add_rr',
    'dns.resp.name', 'dns.resp.type', 'dns.a', 'dns.aaaa', 'dns.cname'];
  const { stdout: out } = await promisify(execFile)('tshark', ['-r', file, '-Y', 'dns.flags.response==1 && (udp.srcport==53 || tcp.srcport==53)',
    '-T', 'fields', '-E', 'occurrence=a', '-E', `aggregator=${SEP}`, ...fields.flatMap((f) => ['-e', f])],
  { encoding: 'utf8', maxBuffer: 64 << 20, timeout: 60_000 });
  const result: TsharkResponse[] = [];
  for (const line of out.split('\n')) {
    if (line === '') continue;
    const [frame, qdCount, qNames, anCount, nsCount, arCount, owners, types, aList, aaaaList, cnameList] =
      line.split('\t').map((c) => (c === '' ? [] : c.split(SEP)));
    const values: Record<string, string[]> = { '1': aList, '28': aaaaList, '5': cnameList };
    const used: Record<string, number> = { '1': 0, '28': 0, '5': 0 };
    let rec = 0;
    let q = 0;
    // One frame can carry several DNS messages (TCP): walk them in order, each with its
    // own section counts.
    for (let m = 0; m < anCount.length; m++) {
      const qname = Number(qdCount[m]) > 0 ? (qNames[q] ?? '').toLowerCase() : undefined;
      q += Number(qdCount[m]);
      const records: TsharkRecord[] = [];
      const total = Number(anCount[m]) + Number(nsCount[m]) + Number(arCount[m]);
      for (let r = 0; r < total && rec < owners.length; r++, rec++) {
        const type = types[rec];
        const value = type in values ? (values[type][used[type]++] ?? '') : '';
        if (r < Number(anCount[m])) records.push({ owner: owners[rec].toLowerCase(), type, value: value.toLowerCase() });
      }
      // Without a question, start at the first answer's owner (lib/dns does the same).
      const start = qname ?? records[0]?.owner ?? '';
      result.push({ frame: Number(frame[0]), queryName: qname ?? '', addresses: reachable(start, records) });
    }
  }
  return result;
}

interface TsharkRecord {
  owner: string;
  type: string;
  value: string;
}

/** Responses of one frame (a TCP segment can complete several messages). */
export interface FrameAnswers {
  frame: number;
  messages: number;
  /** Sorted addresses reachable from the query names. */
  addresses: string[];
}

/** Our responses grouped per frame, for comparison with the reference dumps. */
export function byFrame(responses: FileDns['responses']): FrameAnswers[] {
  const out = new Map<number, FrameAnswers>();
  for (const r of responses) {
    const f = out.get(r.frame) ?? { frame: r.frame, messages: 0, addresses: [] };
    f.messages++;
    f.addresses.push(...r.info.answers.map((x) => x.ip));
    out.set(r.frame, f);
  }
  for (const f of out.values()) f.addresses.sort();
  return [...out.values()];
}

/**
 * The corpus's stored tshark 4.0.17 dump (`<source>/expected/tshark/<file>.tsv`), port-53
 * DNS rows only. The dump lists the records of all sections without section sizes, so here
 * the chain is followed through records of any section: an approximation of our
 * answer-section rule that differs only when glue in the additional section sits on the
 * chain (the live-tshark test is exact).
 */
export function referenceAnswers(corpusDir: string, rel: string): FrameAnswers[] {
  const [source, ...rest] = rel.split('/');
  const text = fs.readFileSync(path.join(corpusDir, source, 'expected', 'tshark', `${rest.join('/')}.tsv`), 'utf8');
  const lines = text.split('\n').filter((l) => l !== '' && !l.startsWith('#'));
  const head = (lines.shift() ?? '').split('\t');
  const out: FrameAnswers[] = [];
  for (const line of lines) {
    const f = line.split('\t');
    const get = (name: string) => {
      const v = f[head.indexOf(name)] ?? '';
      return v === '' ? [] : v.split(',');
    };
    if (get('dns.id').length === 0) continue;
    if (get('udp.srcport')[0] !== '53' && get('tcp.srcport')[0] !== '53') continue;
    const owners = get('dns.resp.name').map((n) => n.toLowerCase());
    const types = get('dns.resp.type');
    const values: Record<string, string[]> = { '1': get('dns.a'), '28': get('dns.aaaa'), '5': get('dns.cname') };
    const used: Record<string, number> = { '1': 0, '28': 0, '5': 0 };
    const records = owners.map((owner, i) => ({ owner, type: types[i], value: (types[i] in values ? values[types[i]][used[types[i]]++] ?? '' : '').toLowerCase() }));
    const qnames = get('dns.qry.name').map((n) => n.toLowerCase());
    const starts = qnames.length > 0 ? qnames : records.slice(0, 1).map((r) => r.owner);
    const addresses = [...new Set(starts)].flatMap((q) => reachable(q, records)).sort();
    out.push({ frame: Number(f[0]), messages: get('dns.id').length, addresses });
  }
  return out;
}

/** The plain reading of RFC 1034 §3.6.2: from the query name, follow CNAMEs, collect addresses. */
function reachable(qname: string, records: TsharkRecord[]): string[] {
  const names = new Set([qname]);
  for (let grew = true; grew; ) {
    grew = false;
    for (const r of records) {
      if (r.type === '5' && names.has(r.owner) && !names.has(r.value)) {
        names.add(r.value);
        grew = true;
      }
    }
  }
  return records.filter((r) => (r.type === '1' || r.type === '28') && names.has(r.owner)).map((r) => r.value);
}

/** Our name as tshark prints it: the root as <root>, control bytes as \\DDD (lower-cased). */
export function tsharkText(name: string): string {
  if (name === '') return '<root>';
  return name.replace(/[\x00-\x1f\x7f]/g, (c) => `\\${c.charCodeAt(0).toString().padStart(3, '0')}`);
}

/** tshark over many files, `parallel` at a time (each run is mostly tshark's start-up). */
export async function tsharkAll(files: string[], parallel = 8): Promise<Map<string, TsharkResponse[]>> {
  const out = new Map<string, TsharkResponse[]>();
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < files.length) {
      const f = files[next++];
      out.set(f, await tsharkResponses(f));
    }
  };
  await Promise.all(Array.from({ length: Math.min(parallel, files.length) }, worker));
  return out;
}
