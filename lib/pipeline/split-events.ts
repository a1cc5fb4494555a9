// What the reading thread of a split replay (split-replay.ts) tells the judging thread, as
// records in the shared ring (split-ring.ts), and how the judging thread plays them on its
// Pipeline. The reading thread decodes, keeps the flow table and hands over: DNS packets whole
// (the judging thread parses, matches and caches them), connection starts, the client's first
// payloads while they may be wanted, each packet's count of a tracked flow, ends and ticks. The
// judging thread keeps a copy of each tracked flow (the same Flow fields, from these records) and
// runs the connection path on it exactly as a single-threaded replay would, record after record.
import type { PacketInfo } from '../decode/index.js';
import { PacketInfo as Packet } from '../decode/index.js';
import { IPV6_KEY, QueryKey } from '../dns/index.js';
import { Flow, type FlowEndReason } from '../flows/index.js';
import { HEADER_BYTES, type RingReader, type RingWriter } from './split-ring.js';

export const FILE = 1;
export const FILE_END = 2;
export const TICK = 3;
/** A DNS packet (either way). */
export const DNS = 4;
export const START = 5;
/** A packet of a tracked flow counted: direction, answer, IP length. */
export const COUNTED = 6;
export const CLIENT_PAYLOAD = 7;
export const SERVER_PAYLOAD = 8;
export const CLIENT_CHANGED = 9;
export const END = 10;
export const FINISH = 11;
/** A DNS query over UDP, as its tracker key. */
export const QUERY = 12;

/** The packet fields the judging thread's stages read, then the addresses (16 bytes each) and the payload. */
const PACKET_FIELDS = 12;
const END_REASONS: readonly FlowEndReason[] = ['fin', 'rst', 'idle', 'evicted', 'shutdown'];
/** Client payload packets the connection path takes at most (a non-proxied connection: SNIFF_MAX_PACKETS). */
export const MAX_CLIENT_PAYLOADS = 8;

/** The shared words of FrontSink's `wants` for a flow table of `maxFlows`. */
export function wantsFor(maxFlows: number): SharedArrayBuffer {
  return new SharedArrayBuffer(8 * (maxFlows + 1));
}

/** The reading thread's side: writes what its Pipeline's stages saw (PipelineDeps.sink). */
export class FrontSink {
  /** Packets of the current file so far, and the current packet's time (ms). */
  private packet = 0;
  private time = 0;
  /** Flow ids (Flow.data on this side), their generations, payloads handed over, whether proxied. */
  private readonly free: number[] = [];
  private nextId = 0;
  private generation = 0;
  private gens: Int32Array;
  private payloads: Uint8Array;
  private proxied: Uint8Array;

  /**
   * `wants`, shared: per flow id two words, the generation of the flow whose client payloads
   * (2 id) and server payloads (2 id + 1) the judging thread may still want; it sets 0 when it no
   * longer does. Room for as many flows as the flow table holds (wantsFor).
   */
  constructor(private readonly ring: RingWriter, private readonly wants: Int32Array) {
    const ids = wants.length >> 1;
    this.gens = new Int32Array(ids);
    this.payloads = new Uint8Array(ids);
    this.proxied = new Uint8Array(ids);
  }

  /** A packet begins (every packet, before its records). */
  next(time: number): void {
    this.packet += 1;
    this.time = time;
  }

  /** A file begins; `pausable`: a regular file, which a single-threaded replay pauses in (replay.ts shouldPause). */
  file(pausable: boolean): void {
    this.packet = 0;
    this.ring.i32[this.begin(FILE, 1, 0) >> 2] = pausable ? 1 : 0;
    this.ring.end();
  }

  fileEnd(packets: number): void {
    this.ring.begin(FILE_END, packets, this.time, 0, 0);
    this.ring.end();
  }

  tick(now: number): void {
    this.time = now;
    this.begin(TICK, 0, 0);
    this.ring.end();
  }

  dns(pkt: PacketInfo): void {
    this.packetRecord(DNS, 0, pkt);
    this.ring.end();
  }

  /** A DNS query over UDP: its tracker key and question name's hash, or undefined when it is none to track. */
  query(key: QueryKey | undefined, nameHash: number): void {
    const f = this.begin(QUERY, 14, 0) >> 2;
    const i32 = this.ring.i32;
    i32[f] = key === undefined ? 0 : 1;
    if (key !== undefined) {
      i32[f + 1] = nameHash;
      i32[f + 2] = key.v6;
      i32[f + 3] = key.a;
      i32[f + 4] = key.b;
      i32[f + 5] = key.p;
      i32[f + 6] = key.id;
      i32[f + 7] = key.c0;
      i32[f + 8] = key.c1;
      i32[f + 9] = key.c2;
      i32[f + 10] = key.s0;
      i32[f + 11] = key.s1;
      i32[f + 12] = key.s2;
      i32[f + 13] = key.h;
    }
    this.ring.end();
  }

  start(flow: Flow, pkt: PacketInfo, proxied: boolean): void {
    const id = this.free.pop() ?? this.nextId++;
    if (id >= this.gens.length) throw new Error(`more flows open than the replay's flow ids (${this.gens.length})`);
    const gen = (this.generation = (this.generation + 1) | 0) || (this.generation = 1);
    flow.data = id;
    this.gens[id] = gen;
    this.payloads[id] = 0;
    this.proxied[id] = proxied ? 1 : 0;
    this.wants[2 * id] = gen;
    this.wants[2 * id + 1] = proxied ? gen : 0;
    // Every client payload may be wanted until the judging thread says otherwise; a proxy's answers too.
    flow.wantPayload = true;
    flow.wantServerPayload = proxied;
    const f = this.packetRecord(START, 4, pkt) >> 2;
    const i32 = this.ring.i32;
    i32[f] = id;
    i32[f + 1] = gen;
    i32[f + 2] = (flow.transport === 'tcp' ? 1 : 0) | (flow.family === 6 ? 2 : 0) | (flow.clientIsLow ? 4 : 0) | (flow.midstream ? 8 : 0)
      | (flow.forwarded ? 16 : 0) | (flow.answer << 8);
    i32[f + 3] = flow.isn;
    this.ring.end();
  }

  counted(flow: Flow, fromClient: boolean, pkt: PacketInfo): void {
    const f = this.begin(COUNTED, 3, 0) >> 2;
    const i32 = this.ring.i32;
    i32[f] = flow.data as number;
    i32[f + 1] = (fromClient ? 1 : 0) | (flow.answer << 8);
    i32[f + 2] = pkt.ipLength;
    this.ring.end();
  }

  /**
   * A client payload of a flow: handed over while the judging thread may want it (a proxied
   * connection's requests, each of them), else the table stops offering them.
   */
  clientPayload(flow: Flow, pkt: PacketInfo): void {
    const id = flow.data as number;
    if (this.wants[2 * id] !== this.gens[id] || (this.proxied[id] === 0 && this.payloads[id] >= MAX_CLIENT_PAYLOADS)) {
      flow.wantPayload = false;
      return;
    }
    this.payloads[id] += 1;
    this.ring.i32[this.packetRecord(CLIENT_PAYLOAD, 1, pkt) >> 2] = id;
    this.ring.end();
  }

  serverPayload(flow: Flow, pkt: PacketInfo): void {
    const id = flow.data as number;
    if (this.wants[2 * id + 1] !== this.gens[id]) {
      flow.wantServerPayload = false;
      return;
    }
    this.ring.i32[this.packetRecord(SERVER_PAYLOAD, 1, pkt) >> 2] = id;
    this.ring.end();
  }

  clientChanged(flow: Flow): void {
    if (flow.ended) return;
    const text = Buffer.from(flow.clientIp, 'latin1');
    const f = this.begin(CLIENT_CHANGED, 3, text.length);
    const i32 = this.ring.i32;
    i32[f >> 2] = flow.data as number;
    i32[(f >> 2) + 1] = flow.clientPort;
    i32[(f >> 2) + 2] = flow.forwarded ? 1 : 0;
    text.copy(this.ring.buf, f + 12);
    this.ring.end();
  }

  end(flow: Flow, reason: FlowEndReason): void {
    const id = flow.data as number;
    const f = this.begin(END, 4, 0);
    this.ring.f64[f >> 3] = flow.lastTime;
    const i32 = this.ring.i32;
    i32[(f >> 2) + 2] = id;
    i32[(f >> 2) + 3] = END_REASONS.indexOf(reason);
    this.ring.end();
    this.free.push(id);
  }

  /** The last record: the reading thread's counts (JSON), after its flows ended. */
  finish(stats: unknown): void {
    const text = Buffer.from(JSON.stringify(stats));
    text.copy(this.ring.buf, this.begin(FINISH, 0, text.length));
    this.ring.end();
    this.ring.publish();
  }

  private begin(type: number, fields: number, bytes: number): number {
    return this.ring.begin(type, this.packet, this.time, fields, bytes);
  }

  /** A record of `type` with `fields` words of its own, then the packet's; returns the offset of its own fields. */
  private packetRecord(type: number, fields: number, pkt: PacketInfo): number {
    const len = pkt.payloadLength;
    const at = this.begin(type, fields + PACKET_FIELDS, 32 + len);
    const i32 = this.ring.i32;
    const f = (at >> 2) + fields;
    i32[f] = pkt.ipVersion;
    i32[f + 1] = pkt.protocol;
    i32[f + 2] = pkt.srcPort;
    i32[f + 3] = pkt.dstPort;
    i32[f + 4] = pkt.tcpFlags;
    i32[f + 5] = pkt.tcpSeq;
    i32[f + 6] = pkt.tcpAck;
    i32[f + 7] = pkt.ipLength;
    i32[f + 8] = (pkt.loopback ? 1 : 0) | (pkt.fragmented ? 2 : 0) | (pkt.captureComplete ? 4 : 0);
    i32[f + 9] = pkt.vlanId;
    i32[f + 10] = pkt.sllPacketType;
    i32[f + 11] = pkt.ifIndex;
    const b = this.ring.bytesAt(fields + PACKET_FIELDS);
    const alen = pkt.ipVersion === 6 ? 16 : 4;
    const buf = this.ring.buf;
    copyBytes(pkt.buf, pkt.srcOffset, alen, buf, b);
    copyBytes(pkt.buf, pkt.dstOffset, alen, buf, b + 16);
    if (len > 0) copyBytes(pkt.buf, pkt.payloadOffset, len, buf, b + 32);
    return at;
  }
}

/**
 * Copies `len` bytes of `src` from `from` to `dst` at `to`. Buffer.copy costs ~150 ns a call
 * whatever the size (it makes views to copy between): a quarter of the reading thread's time
 * when each packet of the benchmark's capture made a record. Short runs go byte by byte.
 */
function copyBytes(src: Uint8Array, from: number, len: number, dst: Uint8Array, to: number): void {
  if (len <= 96) {
    for (let i = 0; i < len; i++) dst[to + i] = src[from + i];
    return;
  }
  dst.set(src.subarray(from, from + len), to);
}

/** What the judging thread's Pipeline offers the player (its connection path, for flows kept here). */
export interface BackStages {
  dnsPacket(pkt: PacketInfo): void;
  dnsQueryKeyed(key: QueryKey | undefined, nameHash: number): void;
  connectionStarted(flow: Flow, pkt: PacketInfo): void;
  clientPayload(flow: Flow, pkt: PacketInfo): void;
  proxyAnswer(flow: Flow, pkt: PacketInfo): void;
  connectionEnded(flow: Flow, reason: FlowEndReason): void;
  tick(now: number): void;
  /** Sets the packet time the stages see (Pipeline.lastPacketTime). */
  setPacketTime(time: number): void;
  /** Address text through the Pipeline's memo (the names cache's keys are the same strings). */
  textOf(buf: Buffer, offset: number, version: 4 | 6): string;
}

/** Why play() returned. */
export type PlayEnd = { kind: 'pause' } | { kind: 'finish'; front: unknown };

/** The judging thread's side: plays the records on its Pipeline's stages. */
export class BackPlayer {
  private readonly flows: (Flow | undefined)[] = [];
  private readonly gens: number[] = [];
  private readonly pkt = new Packet();
  private readonly queryKey = new QueryKey();
  /** Pausing as a single-threaded replay does (replay.ts PAUSE_CHECK_EVERY): packets of this file where it paused last, and the next check. */
  private skip = 0;
  private nextCheck: number;
  private pausable = false;
  pauses = 0;

  constructor(
    private readonly ring: RingReader,
    private readonly stages: BackStages,
    private readonly wants: Int32Array,
    private readonly pauseEvery: number,
    private readonly shouldPause: () => boolean,
  ) {
    this.nextCheck = pauseEvery;
  }

  /**
   * Plays records until the last one (FINISH: returns the reading thread's counts) or until the
   * replay would pause (shouldPause at a check point): the caller lets the asynchronous work
   * catch up and calls again. Waits for records as they come.
   */
  play(): PlayEnd {
    const ring = this.ring;
    for (;;) {
      const at = ring.next(1000);
      if (at < 0) continue;
      const type = ring.typeOf(at);
      const packet = ring.f64[(at >> 3) + 1];
      if (type === FILE_END) {
        if (this.pausedBefore(packet + 1)) return { kind: 'pause' };
      } else if (packet > this.nextCheck && type !== FILE && this.pausedBefore(packet)) {
        return { kind: 'pause' };
      }
      if (type === FINISH) {
        const front: unknown = JSON.parse(ring.buf.toString('utf8', at + HEADER_BYTES, at + HEADER_BYTES + ring.bytesOf(at)));
        ring.done(at);
        ring.release();
        return { kind: 'finish', front };
      }
      this.stages.setPacketTime(ring.f64[(at >> 3) + 2]);
      this.record(type, at);
      ring.done(at);
    }
  }

  /**
   * Whether a single-threaded replay would have paused after one of the packets of this file
   * before `packet` (every pauseEvery packets from where it last paused, a regular file only): the
   * state it would have asked in is this one, since those packets left no records to play.
   */
  private pausedBefore(packet: number): boolean {
    while (packet > this.nextCheck) {
      if (this.pausable && this.shouldPause()) {
        this.skip = this.nextCheck;
        this.nextCheck = this.skip + this.pauseEvery;
        this.pauses += 1;
        return true;
      }
      this.nextCheck += this.pauseEvery;
    }
    return false;
  }

  private record(type: number, at: number): void {
    const i32 = this.ring.i32;
    const f = (at + HEADER_BYTES) >> 2;
    switch (type) {
      case FILE:
        this.skip = 0;
        this.nextCheck = this.pauseEvery;
        this.pausable = i32[f] === 1;
        return;
      case FILE_END:
        return;
      case TICK:
        this.stages.tick(this.ring.f64[(at >> 3) + 2]);
        return;
      case DNS:
        this.stages.dnsPacket(this.packetOf(at, 0));
        return;
      case QUERY:
        this.stages.dnsQueryKeyed(i32[f] === 1 ? this.queryKeyOf(f) : undefined, i32[f + 1]);
        return;
      case START:
        this.start(at, f);
        return;
      case COUNTED: {
        const flow = this.flows[i32[f]] as Flow;
        const bits = i32[f + 1];
        if ((bits & 1) !== 0) {
          flow.clientBytes += i32[f + 2];
          flow.clientPackets += 1;
        } else {
          flow.serverBytes += i32[f + 2];
          flow.serverPackets += 1;
        }
        flow.answer = (bits >> 8) as Flow['answer'];
        flow.lastTime = this.ring.f64[(at >> 3) + 2];
        return;
      }
      case CLIENT_PAYLOAD: {
        const id = i32[f];
        const flow = this.flows[id] as Flow;
        if (flow.wantPayload) this.stages.clientPayload(flow, this.packetOf(at, 1));
        this.unwanted(id, flow);
        return;
      }
      case SERVER_PAYLOAD: {
        const id = i32[f];
        const flow = this.flows[id] as Flow;
        if (flow.wantServerPayload) this.stages.proxyAnswer(flow, this.packetOf(at, 1));
        this.unwanted(id, flow);
        return;
      }
      case CLIENT_CHANGED: {
        const flow = this.flows[i32[f]] as Flow;
        const b = at + HEADER_BYTES + 12;
        flow.clientIp = this.ring.buf.toString('latin1', b, b + this.ring.bytesOf(at));
        flow.clientPort = i32[f + 1];
        flow.forwarded = i32[f + 2] === 1;
        return;
      }
      case END: {
        const id = i32[f + 2];
        const flow = this.flows[id] as Flow;
        flow.lastTime = this.ring.f64[f >> 1];
        flow.ended = true;
        this.flows[id] = undefined;
        this.stages.connectionEnded(flow, END_REASONS[i32[f + 3]]);
        return;
      }
      default:
        throw new Error(`unknown record type ${type} in the replay's ring`);
    }
  }

  private start(at: number, f: number): void {
    const i32 = this.ring.i32;
    const id = i32[f];
    const bits = i32[f + 2];
    const pkt = this.packetOf(at, 4);
    const version = (bits & 2) !== 0 ? 6 : 4;
    const flow = new Flow((bits & 1) !== 0 ? 'tcp' : 'udp', version,
      this.stages.textOf(pkt.buf, pkt.srcOffset, version), pkt.srcPort,
      this.stages.textOf(pkt.buf, pkt.dstOffset, version), pkt.dstPort,
      this.ring.f64[(at >> 3) + 2], (bits & 4) !== 0);
    flow.midstream = (bits & 8) !== 0;
    flow.forwarded = (bits & 16) !== 0;
    flow.answer = (bits >> 8) as Flow['answer'];
    flow.isn = i32[f + 3] >>> 0;
    flow.clientBytes = pkt.ipLength;
    flow.clientPackets = 1;
    this.flows[id] = flow;
    this.gens[id] = i32[f + 1];
    this.stages.connectionStarted(flow, pkt);
    this.unwanted(id, flow);
  }

  /**
   * Tells the reading thread when a flow wants no more client (or server) payloads. Once a
   * flow's connection path has let them go, it does not want them again: a connection is settled
   * once, and only its settling takes up a proxied connection's later requests (ProxyFollow).
   */
  private unwanted(id: number, flow: Flow): void {
    const gen = this.gens[id];
    if (!flow.wantPayload) Atomics.compareExchange(this.wants, 2 * id, gen, 0);
    if (!flow.wantServerPayload) Atomics.compareExchange(this.wants, 2 * id + 1, gen, 0);
  }

  /** The tracker key a QUERY record carries (FrontSink.query), with the numbers as the reading thread made them (queryKey()). */
  private queryKeyOf(f: number): QueryKey {
    const i32 = this.ring.i32;
    const k = this.queryKey;
    k.v6 = i32[f + 2];
    k.s = k.v6 === 1 ? IPV6_KEY : '';
    k.a = i32[f + 3] >>> 0;
    k.b = i32[f + 4] >>> 0;
    k.p = i32[f + 5] >>> 0;
    k.id = i32[f + 6];
    k.c0 = i32[f + 7] >>> 0;
    k.c1 = i32[f + 8] >>> 0;
    k.c2 = i32[f + 9] >>> 0;
    k.s0 = i32[f + 10] >>> 0;
    k.s1 = i32[f + 11] >>> 0;
    k.s2 = i32[f + 12] >>> 0;
    k.h = i32[f + 13];
    return k;
  }

  /** The packet of a record whose own fields are `fields` words: its bytes are read in place, in the ring. */
  private packetOf(at: number, fields: number): PacketInfo {
    const i32 = this.ring.i32;
    const f = ((at + HEADER_BYTES) >> 2) + fields;
    const pkt = this.pkt;
    const b = at + HEADER_BYTES + (fields + PACKET_FIELDS) * 4;
    pkt.buf = this.ring.buf;
    pkt.frameOffset = b;
    pkt.ipOffset = b;
    pkt.ipVersion = i32[f] as 4 | 6;
    pkt.protocol = i32[f + 1];
    pkt.srcPort = i32[f + 2];
    pkt.dstPort = i32[f + 3];
    pkt.tcpFlags = i32[f + 4];
    pkt.tcpSeq = i32[f + 5] >>> 0;
    pkt.tcpAck = i32[f + 6] >>> 0;
    pkt.ipLength = i32[f + 7];
    const bits = i32[f + 8];
    pkt.loopback = (bits & 1) !== 0;
    pkt.fragmented = (bits & 2) !== 0;
    pkt.captureComplete = (bits & 4) !== 0;
    pkt.vlanId = i32[f + 9];
    pkt.sllPacketType = i32[f + 10];
    pkt.ifIndex = i32[f + 11];
    pkt.srcOffset = b;
    pkt.dstOffset = b + 16;
    pkt.payloadOffset = b + 32;
    pkt.payloadLength = this.ring.bytesOf(at) - 32;
    return pkt;
  }
}
