// Micro-benchmarks: where a packet's time goes. Each step runs over the same capture held in
// memory (views into one buffer, no bytes copied), so libpcap's read and copy are out of the
// picture; the last step puts libpcap back in (replayFile + decodePacket) to compare.
import fs from 'node:fs';
import { replayFile } from '../lib/capture/index.js';
import { decodePacket, DecodeStats, PacketInfo, LinkType } from '../lib/decode/index.js';
import { parseDnsResponse, DnsStats } from '../lib/dns/index.js';
import { forEachRecord, seconds } from './measure.js';

export interface MicroResult {
  step: string;
  packets: number;
  seconds: number;
  /** What the step found, so a step that silently did nothing shows. */
  note: string;
}

const DNS_PORT = 53;
const UDP = 17;

export function runMicro(file: string): MicroResult[] {
  const data = fs.readFileSync(file);
  const out: MicroResult[] = [];

  let t = process.hrtime.bigint();
  let bytes = 0;
  let n = forEachRecord(data, (_frame, caplen) => {
    bytes += caplen;
  });
  out.push({ step: 'walk records (views only)', packets: n, seconds: seconds(t), note: `${(bytes / 1e6).toFixed(0)} MB of frames` });

  const pkt = new PacketInfo();
  const ds = new DecodeStats();
  t = process.hrtime.bigint();
  n = forEachRecord(data, (frame, caplen) => {
    decodePacket(LinkType.ETHERNET, frame, caplen, pkt, ds);
  });
  out.push({ step: '+ decodePacket', packets: n, seconds: seconds(t), note: `decoded ${ds.decoded}, errors ${ds.totalErrors()}` });

  const ds2 = new DecodeStats();
  const dns = new DnsStats();
  t = process.hrtime.bigint();
  n = forEachRecord(data, (frame, caplen) => {
    if (!decodePacket(LinkType.ETHERNET, frame, caplen, pkt, ds2)) return;
    if (pkt.protocol === UDP && pkt.srcPort === DNS_PORT) parseDnsResponse(pkt.buf, pkt.payloadOffset, pkt.payloadLength, dns);
  });
  out.push({ step: '+ parseDnsResponse (port 53)', packets: n, seconds: seconds(t), note: `responses ${dns.responses}, answers ${dns.answers}` });

  const ds3 = new DecodeStats();
  t = process.hrtime.bigint();
  const r = replayFile(file, (buf, caplen, _wire, _ts, linkType) => {
    decodePacket(linkType, buf, caplen, pkt, ds3);
  });
  out.push({ step: 'replayFile + decodePacket (libpcap)', packets: r.packets, seconds: seconds(t), note: `decoded ${ds3.decoded}` });
  return out;
}
