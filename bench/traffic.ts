// The traffic model: conversations that each emit their packets one at a time, so the
// generator can interleave many of them like a busy host's capture. Kinds: a DNS lookup (A, or
// A + AAAA) that may lead to a connection to the answered address; a TCP connection
// (handshake, data both ways, FIN/ACK both ways); a UDP flow (QUIC-like 443, or 5000 inside).
import { ACK, FIN, PSH, SYN, TCP, UDP, type PacketSpec } from './frames.js';
import type { NameEntry } from './names.js';
import type { Prng } from './prng.js';

export const enum Kind { Dns, Tcp, Udp }

const DNS_PORT = 53;
/** Filler for data payloads; its content does not matter to any stage. */
const FILLER = Buffer.alloc(1500, 0x61);

export interface Endpoints {
  client: Buffer;
  server: Buffer;
  cport: number;
  sport: number;
  v6: boolean;
  vlan: number;
}

/**
 * Steps of a conversation. TCP: SYN, SYN-ACK, ACK, data..., FIN/ACK (client), FIN/ACK
 * (server), ACK. UDP: data both ways. DNS: query A [, query AAAA], response A [, response AAAA].
 * `plan` holds one signed payload size per data packet (> 0 client → server, < 0 back).
 */
export class Conversation {
  step = 0;
  steps = 0;
  cseq = 0;
  sseq = 0;
  dnsId = 0;
  aaaa = false;
  /** Set on a DNS lookup that leads to a connection: the generator starts it when the lookup ends. */
  follow: Conversation | null = null;

  constructor(readonly kind: Kind, readonly ep: Endpoints, readonly plan: Int16Array,
    readonly first: Buffer | null, readonly name: NameEntry | null) {
    if (kind === Kind.Tcp) this.steps = 3 + plan.length + 3;
    else if (kind === Kind.Udp) this.steps = plan.length;
    else this.steps = this.aaaa ? 4 : 2;
  }

  get done(): boolean {
    return this.step >= this.steps;
  }

  setAaaa(on: boolean): void {
    this.aaaa = on;
    if (this.kind === Kind.Dns) this.steps = on ? 4 : 2;
  }

  /** Fills `p` with the next packet. */
  emit(p: PacketSpec): void {
    const ep = this.ep;
    p.v6 = ep.v6;
    p.vlan = ep.vlan;
    p.payload = null;
    p.payloadLength = 0;
    p.flags = 0;
    if (this.kind === Kind.Dns) this.emitDns(p);
    else if (this.kind === Kind.Udp) this.emitUdp(p);
    else this.emitTcp(p);
    this.step++;
  }

  private direction(p: PacketSpec, outbound: boolean): void {
    const ep = this.ep;
    p.outbound = outbound;
    p.src = outbound ? ep.client : ep.server;
    p.dst = outbound ? ep.server : ep.client;
    p.sport = outbound ? ep.cport : ep.sport;
    p.dport = outbound ? ep.sport : ep.cport;
  }

  private emitDns(p: PacketSpec): void {
    const n = this.name as NameEntry;
    const queries = this.aaaa ? 2 : 1;
    const outbound = this.step < queries;
    this.direction(p, outbound);
    p.proto = UDP;
    const which = outbound ? this.step : this.step - queries;
    const msg = outbound ? (which === 0 ? n.queryA : n.queryAAAA) : (which === 0 ? n.responseA : n.responseAAAA);
    // Templates are shared between lookups; the id is patched in place just before the copy.
    msg.writeUInt16BE((this.dnsId + which) & 0xffff, 0);
    p.payload = msg;
    p.payloadLength = msg.length;
  }

  private emitUdp(p: PacketSpec): void {
    const size = this.plan[this.step];
    this.direction(p, size > 0);
    p.proto = UDP;
    p.payload = this.step === 0 && this.first !== null ? this.first : FILLER;
    p.payloadLength = Math.abs(size);
  }

  private emitTcp(p: PacketSpec): void {
    const s = this.step;
    const data = this.plan.length;
    p.proto = TCP;
    if (s === 0) this.tcp(p, true, SYN, 0);
    else if (s === 1) this.tcp(p, false, SYN | ACK, 0);
    else if (s === 2) this.tcp(p, true, ACK, 0);
    else if (s < 3 + data) {
      const size = this.plan[s - 3];
      const outbound = size > 0;
      this.tcp(p, outbound, PSH | ACK, Math.abs(size));
      p.payload = s === 3 && this.first !== null ? this.first : FILLER;
    } else if (s === 3 + data) this.tcp(p, true, FIN | ACK, 0);
    else if (s === 4 + data) this.tcp(p, false, FIN | ACK, 0);
    else this.tcp(p, true, ACK, 0);
  }

  /** A TCP segment: sequence numbers advance by payload, and by one for SYN and FIN. */
  private tcp(p: PacketSpec, outbound: boolean, flags: number, length: number): void {
    this.direction(p, outbound);
    p.flags = flags;
    p.seq = outbound ? this.cseq : this.sseq;
    p.ack = outbound ? this.sseq : this.cseq;
    p.payloadLength = length;
    const advance = length + ((flags & (SYN | FIN)) !== 0 ? 1 : 0);
    if (outbound) this.cseq = (this.cseq + advance) >>> 0;
    else this.sseq = (this.sseq + advance) >>> 0;
  }
}

/** Data plan for a TCP connection: the request first, then mostly server → client. */
export function tcpPlan(rng: Prng, firstSize: number): Int16Array {
  const plan = new Int16Array(rng.int(4, 10));
  plan[0] = firstSize;
  for (let i = 1; i < plan.length; i++) {
    const size = rng.int(100, 1400);
    plan[i] = rng.chance(0.7) ? -size : size;
  }
  return plan;
}

/** Data plan for a UDP flow: 4–12 datagrams, the first from the client. */
export function udpPlan(rng: Prng, firstSize: number): Int16Array {
  const plan = new Int16Array(rng.int(4, 12));
  plan[0] = firstSize;
  for (let i = 1; i < plan.length; i++) {
    const size = rng.int(100, 1400);
    plan[i] = rng.chance(0.5) ? -size : size;
  }
  return plan;
}

export { DNS_PORT };
