// The reading thread's side of a split replay: what its Pipeline's stages see, written as
// records into the shared ring (split-records.ts).
import type { PacketInfo } from '../decode/index.js';
import type { QueryKey } from '../dns/index.js';
import type { Flow, FlowEndReason } from '../flows/index.js';
import type { RingWriter } from './split-ring.js';
import { MAX_CLIENT_PAYLOADS_WANTED } from './pipeline.js';
import {
  CLIENT_CHANGED, CLIENT_PAYLOAD, COUNTED, DNS, END, END_REASONS, FILE, FILE_END, FINISH, PACKET_FIELDS, QUERY, SERVER_PAYLOAD, START, TICK,
} from './split-records.js';

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
    if (this.wants[2 * id] !== this.gens[id] || (this.proxied[id] === 0 && this.payloads[id] >= MAX_CLIENT_PAYLOADS_WANTED)) {
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
