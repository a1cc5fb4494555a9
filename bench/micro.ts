// Micro-benchmarks: where a packet's time goes. Each step runs over the same capture held in
// memory (each record read where it lies in the one buffer, nothing copied), so libpcap's read and copy are out of the
// picture; each adds one stage to the step before, so the difference is that stage's cost.
// The last step puts libpcap back in (replayFile + decodePacket). Every step runs twice and
// the faster pass counts, so the first pass's JIT warm-up does not land on one stage.
import fs from 'node:fs';
import { replayFile } from '../lib/capture/index.js';
import { decodePacket, DecodeStats, PacketInfo, LinkType } from '../lib/decode/index.js';
import { parseDnsResponse, DnsStats } from '../lib/dns/index.js';
import { FlowTable, flowKey } from '../lib/flows/index.js';
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
const PASSES = 2;

type PerPacket = (file: Buffer, at: number, caplen: number, tsMs: number) => void;

/** Fastest of PASSES passes; `make` builds fresh state per pass and returns its note. */
function inMemory(step: string, data: Buffer, make: () => { fn: PerPacket; note: () => string }): MicroResult {
  let best: MicroResult | undefined;
  for (let i = 0; i < PASSES; i++) {
    const { fn, note } = make();
    const t = process.hrtime.bigint();
    const packets = forEachRecord(data, fn).records;
    const s = seconds(t);
    if (best === undefined || s < best.seconds) best = { step, packets, seconds: s, note: note() };
  }
  return best as MicroResult;
}

export function runMicro(file: string): MicroResult[] {
  const data = fs.readFileSync(file);
  const pkt = new PacketInfo();
  const out: MicroResult[] = [];
  out.push(inMemory('walk records (in place)', data, () => {
    let bytes = 0;
    return { fn: (_f, _at, caplen) => { bytes += caplen; }, note: () => `${(bytes / 1e6).toFixed(0)} MB of frames` };
  }));
  out.push(inMemory('+ decodePacket', data, () => {
    const ds = new DecodeStats();
    return { fn: (f, at, caplen) => { decodePacket(LinkType.ETHERNET, f, caplen, pkt, ds, -1, at); }, note: () => `decoded ${ds.decoded}, errors ${ds.totalErrors()}` };
  }));
  out.push(inMemory('+ parseDnsResponse (from port 53)', data, () => {
    const ds = new DecodeStats();
    const dns = new DnsStats();
    const fn: PerPacket = (f, at, caplen) => {
      if (!decodePacket(LinkType.ETHERNET, f, caplen, pkt, ds, -1, at)) return;
      if (pkt.protocol === UDP && pkt.srcPort === DNS_PORT) parseDnsResponse(pkt.buf, pkt.payloadOffset, pkt.payloadLength, dns);
    };
    return { fn, note: () => `responses ${dns.responses}, answers ${dns.answers}` };
  }));
  out.push(inMemory('decodePacket + flowKey (not DNS)', data, () => {
    const ds = new DecodeStats();
    let keys = 0;
    const fn: PerPacket = (f, at, caplen) => {
      if (!decodePacket(LinkType.ETHERNET, f, caplen, pkt, ds, -1, at)) return;
      if (pkt.srcPort !== DNS_PORT && pkt.dstPort !== DNS_PORT && flowKey(pkt).length > 0) keys++;
    };
    return { fn, note: () => `keys ${keys}` };
  }));
  out.push(inMemory('decodePacket + FlowTable.process (no-op hooks)', data, () => {
    const ds = new DecodeStats();
    let starts = 0;
    const flows = new FlowTable({ maxFlows: 200_000, tcpIdleMs: 300_000, udpIdleMs: 60_000 },
      { accept: () => true, onStart: () => { starts++; }, onEnd: () => undefined });
    const fn: PerPacket = (f, at, caplen, tsMs) => {
      if (!decodePacket(LinkType.ETHERNET, f, caplen, pkt, ds, -1, at)) return;
      if (pkt.srcPort !== DNS_PORT && pkt.dstPort !== DNS_PORT) flows.process(pkt, tsMs);
    };
    return { fn, note: () => `flow starts ${starts}` };
  }));
  let best: MicroResult | undefined;
  for (let i = 0; i < PASSES; i++) {
    const ds = new DecodeStats();
    const t = process.hrtime.bigint();
    const r = replayFile(file, (buf, caplen, _wire, _ts, linkType) => {
      decodePacket(linkType, buf, caplen, pkt, ds);
    }, { libpcap: true });
    const s = seconds(t);
    if (best === undefined || s < best.seconds) best = { step: 'replayFile + decodePacket (libpcap)', packets: r.packets, seconds: s, note: `decoded ${ds.decoded}` };
  }
  out.push(best as MicroResult);
  return out;
}
