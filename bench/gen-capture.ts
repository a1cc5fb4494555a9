// Synthetic capture for the benchmark: a deterministic (seeded) classic pcap of a busy host,
// about 2,000,000 packets by default, written in a few seconds. Conversations (DNS lookups,
// TCP connections, UDP flows) run interleaved, ACTIVE at a time, with timestamps that only
// increase. Run directly: node dist/bench/gen-capture.js [--packets N] [--out FILE] [--seed S]
import fs from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { PacketSpec, SYN, ACK, TCP, UDP, writeFrame } from './frames.js';
import { NameTable, type NameEntry } from './names.js';
import { PcapWriter } from './pcap-writer.js';
import { Prng } from './prng.js';
import { Conversation, DNS_PORT, Kind, tcpPlan, udpPlan, type Endpoints } from './traffic.js';

export interface GenOptions {
  packets: number;
  seed?: number;
  /** Distinct names (two per domain group). */
  names?: number;
}

export interface GenSummary {
  file: string;
  packets: number;
  bytes: number;
  seconds: number;
  dnsQueries: number;
  dnsResponses: number;
  /** Answer records in the responses written (CNAMEs and addresses). */
  dnsAnswerRecords: number;
  tcpSyns: number;
  tcpExternal: number;
  udpFlows: number;
  ipv6Packets: number;
  vlanPackets: number;
  namesResolved: number;
  groupsResolved: number;
  firstTsUs: number;
  lastTsUs: number;
}

export const DEFAULT_PACKETS = 2_000_000;
export const DEFAULT_SEED = 0x5eed;
const DEFAULT_NAMES = 8000;
/** Conversations open at once; each packet comes from one of them at random. */
const ACTIVE = 48;
const START_US = 1_700_000_000_000_000;
/** Mean gap 200 µs ≈ 5,000 packets/s of capture time. */
const MAX_GAP_US = 400;
const CLIENTS = 16;
const INTERNAL_SERVERS = 20;
const INTERNAL_TCP_PORTS = [5432, 8080, 22, 6379];
const RECENT = 256;

function v4(a: number, b: number, c: number, d: number): Buffer {
  return Buffer.from([a, b, c, d]);
}

function v6ula(host: number): Buffer {
  const b = Buffer.alloc(16);
  b[0] = 0xfd;
  b.writeUInt16BE(host, 14);
  return b;
}

/** Decides what each new conversation is, and with whom. */
class Spawner {
  private readonly clients4 = Array.from({ length: CLIENTS }, (_, i) => v4(10, 1, 0, 10 + i));
  private readonly clients6 = Array.from({ length: CLIENTS }, (_, i) => v6ula(0x100 + i));
  private readonly servers = Array.from({ length: INTERNAL_SERVERS }, (_, i) => v4(10, 2, 0, 1 + i));
  private readonly resolver4 = v4(10, 0, 0, 53);
  private readonly resolver6 = v6ula(0x53);
  private readonly recent: number[] = [];
  private nextPort = 32768;
  private nextDnsId = 1;
  readonly resolved = new Set<number>();
  tcpExternal = 0;
  udpFlows = 0;

  constructor(private readonly rng: Prng, private readonly names: NameTable) {}

  spawn(): Conversation {
    const r = this.rng.next();
    if (r < 0.5) return this.lookup(false);
    if (r < 0.8) return this.visit();
    if (r < 0.925) return this.internalTcp();
    return this.internalUdp();
  }

  private port(): number {
    this.nextPort = this.nextPort >= 60999 ? 32768 : this.nextPort + 1;
    return this.nextPort;
  }

  private pickName(): NameEntry {
    // Squared uniform: a few names are popular, yet most of the table is reached.
    const u = this.rng.next();
    return this.names.get(Math.floor(u * u * this.names.size));
  }

  private endpoints(server: Buffer, sport: number, v6: boolean, vlan: number, client?: number): Endpoints {
    const c = client ?? this.rng.int(0, CLIENTS - 1);
    return { client: v6 ? this.clients6[c] : this.clients4[c], server, cport: this.port(), sport, v6, vlan };
  }

  private vlan(): number {
    return this.rng.chance(0.03) ? 100 : -1;
  }

  /** A DNS lookup; with `connect`, the connection to the answer follows it. */
  private lookup(connect: boolean): Conversation {
    const name = this.pickName();
    const overV6 = this.rng.chance(0.04);
    const ep = this.endpoints(overV6 ? this.resolver6 : this.resolver4, DNS_PORT, overV6, this.vlan());
    const conv = new Conversation(Kind.Dns, ep, new Int16Array(0), null, name);
    conv.setAaaa(this.rng.chance(0.15));
    conv.dnsId = this.nextDnsId;
    this.nextDnsId = (this.nextDnsId + 2) & 0xffff;
    this.resolved.add(name.index);
    if (connect) conv.follow = this.connect(name, conv.aaaa && this.rng.chance(0.5), ep.vlan);
    return conv;
  }

  /** A lookup's responses are written: connections may now go to the name without asking again. */
  answered(conv: Conversation): void {
    if (conv.kind !== Kind.Dns || conv.name === null) return;
    if (this.recent.length < RECENT) this.recent.push(conv.name.index);
    else this.recent[this.rng.int(0, RECENT - 1)] = conv.name.index;
  }

  /** An outbound connection to an external name: after a lookup, or to one resolved recently. */
  private visit(): Conversation {
    const known = this.recent.length > 0 && this.rng.chance(0.4) ? this.recent[this.rng.int(0, this.recent.length - 1)] : undefined;
    if (known === undefined) return this.lookup(true);
    return this.connect(this.names.get(known), false, this.vlan());
  }

  private connect(name: NameEntry, v6: boolean, vlan: number): Conversation {
    const server = v6 ? name.v6 : name.v4[this.rng.int(0, name.v4.length - 1)];
    const r = this.rng.next();
    if (r < 0.15) {
      this.udpFlows++;
      const first = 1200; // QUIC Initial datagrams are padded to at least 1200 bytes (RFC 9000 §14.1)
      return new Conversation(Kind.Udp, this.endpoints(server, 443, v6, vlan), udpPlan(this.rng, first), null, name);
    }
    this.tcpExternal++;
    const https = r < 0.85;
    const first = https ? name.tlsHello : name.httpGet;
    const ep = this.endpoints(server, https ? 443 : 80, v6, vlan);
    return this.tcpConversation(ep, first.length, first, name);
  }

  private tcpConversation(ep: Endpoints, firstSize: number, first: Buffer | null, name: NameEntry | null): Conversation {
    const conv = new Conversation(Kind.Tcp, ep, tcpPlan(this.rng, firstSize), first, name);
    conv.cseq = this.rng.u32();
    conv.sseq = this.rng.u32();
    return conv;
  }

  private internalTcp(): Conversation {
    const server = this.servers[this.rng.int(0, INTERNAL_SERVERS - 1)];
    const port = INTERNAL_TCP_PORTS[this.rng.int(0, INTERNAL_TCP_PORTS.length - 1)];
    return this.tcpConversation(this.endpoints(server, port, false, this.vlan()), this.rng.int(100, 600), null, null);
  }

  private internalUdp(): Conversation {
    this.udpFlows++;
    const server = this.servers[this.rng.int(0, INTERNAL_SERVERS - 1)];
    return new Conversation(Kind.Udp, this.endpoints(server, 5000, false, this.vlan()), udpPlan(this.rng, this.rng.int(100, 1400)), null, null);
  }
}

/** Writes the capture to `file` and says what is in it. */
export function generateCapture(file: string, opts: GenOptions): GenSummary {
  const started = process.hrtime.bigint();
  const rng = new Prng(opts.seed ?? DEFAULT_SEED);
  const names = new NameTable(opts.names ?? DEFAULT_NAMES);
  const spawner = new Spawner(rng, names);
  const writer = new PcapWriter(file);
  const spec = new PacketSpec();
  const active = Array.from({ length: ACTIVE }, () => spawner.spawn());
  const s = { dnsQueries: 0, dnsResponses: 0, dnsAnswerRecords: 0, tcpSyns: 0, ipv6Packets: 0, vlanPackets: 0 };
  let ts = START_US;
  let lastTsUs = ts;
  while (writer.packets < opts.packets) {
    const slot = rng.int(0, ACTIVE - 1);
    const conv = active[slot];
    conv.emit(spec);
    const off = writer.frameStart();
    writer.commit(writeFrame(writer.buf, off, spec), ts);
    lastTsUs = ts;
    if (spec.proto === UDP && spec.sport === DNS_PORT) {
      s.dnsResponses++;
      const n = conv.name as NameEntry;
      s.dnsAnswerRecords += spec.payload === n.responseA ? n.answersA : n.answersAAAA;
    } else if (spec.proto === UDP && spec.dport === DNS_PORT) s.dnsQueries++;
    else if (spec.proto === TCP && (spec.flags & (SYN | ACK)) === SYN) s.tcpSyns++;
    if (spec.v6) s.ipv6Packets++;
    if (spec.vlan >= 0) s.vlanPackets++;
    if (conv.done) {
      spawner.answered(conv);
      active[slot] = conv.follow ?? spawner.spawn();
    }
    ts += rng.int(1, MAX_GAP_US);
  }
  const bytes = writer.close();
  const groups = new Set<number>();
  for (const i of spawner.resolved) groups.add(names.get(i).group);
  return {
    file, packets: writer.packets, bytes, seconds: Number(process.hrtime.bigint() - started) / 1e9, ...s,
    tcpExternal: spawner.tcpExternal, udpFlows: spawner.udpFlows,
    namesResolved: spawner.resolved.size, groupsResolved: groups.size,
    firstTsUs: START_US, lastTsUs,
  };
}

export function describeCapture(g: GenSummary): string {
  const pct = (n: number): string => `${((100 * n) / g.packets).toFixed(1)}%`;
  return [
    `generated ${g.file}: ${g.packets.toLocaleString('en-US')} packets, ${(g.bytes / 1e6).toFixed(1)} MB in ${g.seconds.toFixed(2)} s`,
    `  DNS responses ${g.dnsResponses} (${pct(g.dnsResponses)}), queries ${g.dnsQueries}, answer records ${g.dnsAnswerRecords}`,
    `  TCP SYNs ${g.tcpSyns} (external ${g.tcpExternal}), UDP flows ${g.udpFlows}`,
    `  IPv6 packets ${pct(g.ipv6Packets)}, VLAN-tagged ${pct(g.vlanPackets)}; names resolved ${g.namesResolved} in ${g.groupsResolved} domain groups`,
  ].join('\n');
}

function argValue(args: string[], flag: string): string | undefined {
  const i = args.indexOf(flag);
  return i >= 0 ? args[i + 1] : undefined;
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(path.resolve(process.argv[1])).href) {
  const args = process.argv.slice(2);
  const packets = Number(argValue(args, '--packets') ?? DEFAULT_PACKETS);
  const out = argValue(args, '--out') ?? path.join(process.cwd(), 'bench', 'out', 'bench.pcap');
  fs.mkdirSync(path.dirname(out), { recursive: true });
  const summary = generateCapture(out, { packets, seed: Number(argValue(args, '--seed') ?? DEFAULT_SEED) });
  console.log(describeCapture(summary));
}
