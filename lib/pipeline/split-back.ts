// The judging thread's side of a split replay: the records of the shared ring (split-records.ts)
// played on its Pipeline's stages, on copies of the reading thread's flows.
import type { PacketInfo } from '../decode/index.js';
import { PacketInfo as Packet } from '../decode/index.js';
import { IPV6_KEY, QueryKey } from '../dns/index.js';
import { Flow, type FlowEndReason } from '../flows/index.js';
import { HEADER_BYTES, type RingReader } from './split-ring.js';
import {
  CLIENT_CHANGED, CLIENT_PAYLOAD, COUNTED, DNS, END, END_REASONS, FILE, FILE_END, FINISH, PACKET_FIELDS, QUERY, SERVER_PAYLOAD, START, TICK,
} from './split-records.js';

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
  /** Pausing as a single-threaded replay does (replay.ts PAUSE_CHECK_EVERY): the packet of this file after which it next asks. */
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
      // Paused or not, the next question comes pauseEvery packets on (from where it paused).
      const pause = this.pausable && this.shouldPause();
      this.nextCheck += this.pauseEvery;
      if (pause) {
        this.pauses += 1;
        return true;
      }
    }
    return false;
  }

  private record(type: number, at: number): void {
    const i32 = this.ring.i32;
    const f = (at + HEADER_BYTES) >> 2;
    switch (type) {
      case FILE:
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
