// The flow table: connection starts and byte / packet counts both ways, keyed by 5-tuple.
//
// A TCP connection starts at a SYN without ACK from the initiator; a UDP flow at the first
// packet of a 5-tuple not in the table (its sender is taken as the initiator). Connections the
// owner does not want tracked (not outbound to an external responder) are kept as cheap
// "ignored" entries, so later packets of the same 5-tuple cost one map lookup and no address
// formatting (an ignored TCP connection is dropped at its first FIN or RST). A flow ends on RST,
// when both sides have sent FIN, on idle expiry, or when the table is full (the oldest entry is
// evicted and counted).
//
// On `any`, one packet can be captured several times with the same 5-tuple: on a bridge and on
// its port (docker0 and a container's veth, a CNI bridge), or on a router's way in and out (a
// host forwarding for its containers or VMs). Each copy is counted once: a packet whose key
// (copyKey) equals that of a packet of the same flow and direction counted within
// COPY_WINDOW_MS (CountedPackets: not only the flow's last one) is a copy. Measured
// on a bridge + veth + routed uplink in namespaces: a 100,000-byte download was counted as
// 302,404 bytes before. Only Linux cooked captures (what `any` delivers) and captures on several
// interfaces (each packet's PacketInfo.ifIndex says which) have copies: a capture of one
// interface (Ethernet and the others) keeps every packet, even two identical ones in a row (a
// test generator's); with an interface index (cooked capture v2, or several interfaces), copies
// must come from another interface. Several named interfaces each have a buffer of their own, read
// one after the other: one can hand over a whole short connection, FIN included, before the other
// hands over its copies, so a connection start that is a copy of a packet counted lately is not a
// connection of its own either.
import { AddressMemo, u16, u32, type PacketInfo } from '../decode/index.js';
import { ANSWERED, Flow, NOT_ANSWERED, REFUSED, type Transport } from './flow.js';
import { FlowIndex, Keyed, v6Key } from './index-table.js';

const TCP_FIN = 0x01;
const TCP_SYN = 0x02;
const TCP_RST = 0x04;
const TCP_ACK = 0x10;
/** Linux cooked capture packet type of a packet this host sent (PACKET_OUTGOING). */
const SLL_OUTGOING = 4;

export type FlowEndReason = 'fin' | 'rst' | 'idle' | 'evicted' | 'shutdown';

export interface FlowHooks {
  /**
   * Whether a new connection to this packet's responder (its destination) is tracked:
   * outbound to an external address. Called for every connection start, so it should judge
   * the address from the packet's bytes; `pkt` is valid only during the call.
   */
  accept(pkt: PacketInfo): boolean;
  /** A tracked connection started; `pkt` is its first packet, valid only during the call. */
  onStart(flow: Flow, pkt: PacketInfo): void;
  /** A tracked connection ended; called once per flow. */
  onEnd(flow: Flow, reason: FlowEndReason): void;
  /** A client→server packet with payload of a flow whose `wantPayload` is set. */
  onClientPayload?(flow: Flow, pkt: PacketInfo): void;
  /**
   * The client's first data packet of a TCP connection not tracked (not outbound to an external
   * responder) to a port proxies listen on; `pkt` is valid only during the call.
   */
  onProxyPortPayload?(pkt: PacketInfo): void;
  /** A server→client packet with payload of a flow whose `wantServerPayload` is set. */
  onServerPayload?(flow: Flow, pkt: PacketInfo): void;
  /**
   * Whether a packet with no Linux cooked header (whose packet type says it) was sent by another
   * machine, not by this host: a live capture of named interfaces knows its own hardware
   * addresses. Unset, or false: not known (a replay of another host's Ethernet capture).
   */
  sentByAnother?(pkt: PacketInfo): boolean;
  /**
   * A packet of a tracked flow was counted (its bytes and packets, `fromClient` or not, and the
   * answer it gave): before the payload hooks and the end it may bring. For an owner that keeps
   * a copy of the flow elsewhere (the other thread of a replay: split-replay.ts).
   */
  onCounted?(flow: Flow, fromClient: boolean, pkt: PacketInfo): void;
  /** The flow's client or its forwarded mark changed after its start (a copy of it that arrived: see arrivedLate). */
  onClientChanged?(flow: Flow): void;
}

export interface FlowTableOptions {
  maxFlows: number;
  tcpIdleMs: number;
  udpIdleMs: number;
  /**
   * The IPv4 address-text memo to use; the pipeline shares one with its DNS stage, so an
   * address a DNS answer named and a connection's address are the same string (a name-cache
   * lookup then compares one pointer). A memo of its own by default.
   */
  addressText?: AddressMemo;
  /** Take up a TCP connection whose SYN was not seen at its client's first data packet (default true). */
  midstream?: boolean;
}

/**
 * A connection from a container or pod is captured twice on `any`: on its host-side veth and
 * again on the uplink after SNAT, with another source address and port. The second copy starts
 * within this window, to the same responder, with the same TCP initial sequence number (NAT
 * keeps it) or, for UDP, the same first payload; it is the same connection and is not tracked
 * again (no second, unattributed alert; bytes counted once).
 */
const NAT_WINDOW_MS = 2_000;
/** Bound of the recent-start index used for that match. */
const NAT_INDEX_ENTRIES = 65_536;
/** UDP first-payload bytes compared. */
const UDP_SIGNATURE_BYTES = 24;
/**
 * How close in time two captures of one packet are: the copies are taken on one forwarding
 * path, microseconds apart (3-20 µs measured). A TCP retransmission comes 10 ms (TLP) or 200 ms
 * (RTO) later at the earliest, and over IPv4 with another IP ID.
 */
const COPY_WINDOW_MS = 2;
/** Sets of CountedPackets (a power of two), of two entries each. */
const COUNTED_SETS = 1024;
/**
 * The same on several named interfaces. Each has a buffer of its own, and a read takes all a buffer
 * holds before the next buffer's turn: a packet's copy can come a whole backlog after it, up to the
 * kernel ring of one interface (8,192 packets at the default --capture-buffer and --snap-length),
 * where a cooked capture's come a few packets apart. 65,536 entries (about 1.8 MB) keep a packet
 * 8,192 others later with a chance of 97%.
 */
const SEVERAL_BUFFERS_SETS = 32_768;

/**
 * Packets of tracked flows counted lately on a capture that can hold copies (mayBeCopy), for telling a copy from the
 * flow's next packet (isCopy). Not only each flow's last one: the kernel hands the taps a batch of
 * received packets (GRO's list receive) before it forwards any of them, so the copies of a
 * forwarded packet can come after the next packet: the uplink's P1 and P2, then the bridge's P1,
 * its port's P1, the bridge's P2, its port's P2. Compared with the last packet only, P1 and P2
 * were each counted twice (the likely cause of a byte count the bridge test once found too
 * high). Two-way set-associative by the packet's key, the older entry of a set making room: a
 * copy is missed (counted) only when two other packets of its set were counted between it and
 * its original, microseconds apart.
 */
class CountedPackets {
  private readonly keys: Int32Array;
  /** The flow's copyId and the direction (low bit: from the client). */
  private readonly who: Int32Array;
  private readonly at: Float64Array;
  /** The interface (SLL2, or the place of one of several named interfaces), else -1. */
  private readonly ifs: Int32Array;
  /** The flow each packet was counted for (see copied()). */
  private readonly flows: (Flow | undefined)[];
  private readonly mask: number;

  /** `sets`: a power of two. */
  constructor(readonly sets: number) {
    this.keys = new Int32Array(2 * sets);
    this.who = new Int32Array(2 * sets);
    this.at = new Float64Array(2 * sets).fill(Number.NEGATIVE_INFINITY);
    this.ifs = new Int32Array(2 * sets);
    this.flows = new Array<Flow | undefined>(2 * sets).fill(undefined);
    this.mask = sets - 1;
  }

  /**
   * True when `pkt` is a copy of a packet of `flow` counted within COPY_WINDOW_MS in the same
   * direction (either way in time: on `any`, two interfaces' copies can reach the capture a little
   * out of order; with an interface index, SLL2, only from another interface). Else it is counted.
   */
  isCopy(flow: Flow, pkt: PacketInfo, fromClient: boolean, now: number): boolean {
    const key = copyKey(pkt);
    const who = (flow.copyId << 1) | (fromClient ? 1 : 0);
    const set = (key & this.mask) * 2;
    for (let i = set; i < set + 2; i++) if (this.who[i] === who && this.copyOf(i, key, pkt.ifIndex, now)) return true;
    const i = this.at[set] <= this.at[set + 1] ? set : set + 1;
    this.keys[i] = key;
    this.who[i] = who;
    this.at[i] = now;
    this.ifs[i] = pkt.ifIndex;
    this.flows[i] = flow;
    return false;
  }

  /**
   * The flow a packet like `pkt` was counted for within COPY_WINDOW_MS (from another interface,
   * with an interface index), whatever flow and direction: `pkt`, which starts no flow of its own,
   * is a copy of one of its packets. Counts nothing.
   */
  copied(pkt: PacketInfo, now: number): Flow | undefined {
    const key = copyKey(pkt);
    const set = (key & this.mask) * 2;
    for (let i = set; i < set + 2; i++) if (this.copyOf(i, key, pkt.ifIndex, now)) return this.flows[i];
    return undefined;
  }

  /** Whether a packet of key `key` on interface `ifIndex` at `now` is a copy of entry `i` (whoever's it is). */
  private copyOf(i: number, key: number, ifIndex: number, now: number): boolean {
    return this.keys[i] === key && Math.abs(now - this.at[i]) <= COPY_WINDOW_MS && (ifIndex < 0 || ifIndex !== this.ifs[i]);
  }
}

export class FlowTableStats {
  /** Connection starts seen, outbound or not. */
  tcpStarts = 0;
  udpStarts = 0;
  /** TCP connections taken up mid-stream (their SYN not seen: open before the capture began, or forgotten), outbound or not. */
  tcpMidstream = 0;
  /** UDP datagrams from a service port to an ephemeral one with no flow known: not taken as a flow's start (see process). */
  udpServerFirst = 0;
  /** Of those, tracked as outbound to an external responder / not tracked. */
  outbound = 0;
  ignored = 0;
  /** Second copies of a connection seen again after NAT (or on a second interface). */
  natDuplicates = 0;
  /** Packets of tracked flows captured again on another interface (same 5-tuple), not counted twice. */
  copies = 0;
  ended = 0;
  expired = 0;
  evictions = 0;
}

/** An entry for a 5-tuple we decided not to track; counts nothing. */
class Ignored extends Keyed {
  /**
   * A TCP connection to a port proxies listen on (PROXY_PORTS): its client's first data is handed
   * to onProxyPortPayload once (the client's side: its endpoint sorts low when this is true).
   * undefined: not watched, or already handed over.
   */
  probeClientIsLow: boolean | undefined = undefined;
  /** Made for the copies of a flow that had ended (FlowTable.start): its packets are counted as copies. */
  copies = false;
  constructor(public lastTime: number, readonly transport: Transport) {
    super();
  }
}

/** Ports HTTP and SOCKS proxies listen on (Squid 3128/3129, 8080, Privoxy 8118, tinyproxy 8888, SOCKS 1080, Tor 9050). */
export const PROXY_PORTS: ReadonlySet<number> = new Set([1080, 3128, 3129, 8080, 8118, 8888, 9050]);

export class FlowTable {
  readonly stats = new FlowTableStats();
  private readonly entries = new FlowIndex<Flow | Ignored>();
  /** Start signature → the flow that started with it (for the NAT match). */
  private readonly recentStarts = new Map<number | string, Flow>();
  /**
   * The same starts oldest first, as a ring (signature, flow): entries leave when they pass the
   * NAT window or the bound. Not the Map's own order: see collections/order.ts.
   */
  private readonly startSigs: (number | string)[] = new Array<number | string>(NAT_INDEX_ENTRIES).fill(0);
  private readonly startFlows: (Flow | undefined)[] = new Array<Flow | undefined>(NAT_INDEX_ENTRIES).fill(undefined);
  private startHead = 0;
  private startCount = 0;
  /** IPv4 address text of connection ends: the same servers and clients come back. */
  private readonly addressText: AddressMemo;
  /** Packets counted lately on a capture that can hold copies, whose copies are not counted again (see countedFor). */
  private counted = new CountedPackets(COUNTED_SETS);
  /** The last Flow.copyId given. */
  private lastCopyId = 0;

  constructor(private readonly opts: FlowTableOptions, private readonly hooks: FlowHooks) {
    this.addressText = opts.addressText ?? new AddressMemo();
  }

  get size(): number {
    return this.entries.size;
  }

  /** Accounts one decoded TCP or UDP packet at time `now` (ms, from the packet header). */
  process(pkt: PacketInfo, now: number): void {
    const srcIsLow = srcIsLowEndpoint(pkt);
    const entry = this.entries.get(pkt, srcIsLow);
    const isTcp = pkt.protocol === 6;
    const flags = pkt.tcpFlags;
    const isSyn = isTcp && (flags & (TCP_SYN | TCP_ACK)) === TCP_SYN;

    if (entry === undefined || (isSyn && entry instanceof Flow && entry.ended)) {
      if (entry !== undefined) this.entries.delete(entry);
      if (isTcp && !isSyn) {
        // A connection whose start was not seen: open before the capture (or the agent) started,
        // or forgotten (idle expiry, eviction). Taken up at a client's data packet (see midstreamClient).
        // Not when the table is full: the connections it evicts would come back at their next
        // packet and evict others in turn, each judged again.
        if (this.opts.midstream !== false && this.entries.size < this.opts.maxFlows && midstreamClient(pkt, flags)) this.start(pkt, now, srcIsLow, true);
        return;
      }
      // UDP: a service's datagram (port < 1024) to an ephemeral port (>= 32768) with no flow known
      // is the server's side of a flow begun before the capture (a QUIC connection open across an
      // agent restart): taken as the initiator, it would make the client the responder and the
      // flow an ignored one. The client's next datagram starts it the right way round.
      if (!isTcp && pkt.srcPort < 1024 && pkt.dstPort >= 32768) {
        this.stats.udpServerFirst += 1;
        return;
      }
      this.start(pkt, now, srcIsLow);
      return;
    }
    entry.lastTime = now;
    if (entry instanceof Ignored) {
      if (entry.copies) this.stats.copies += 1;
      if (entry.probeClientIsLow === srcIsLow && pkt.payloadLength > 0) {
        entry.probeClientIsLow = undefined;
        this.hooks.onProxyPortPayload?.(pkt);
      }
      // A connection we do not track leaves the table at its first FIN or RST, not at idle
      // expiry: a smaller table is a faster one (fewer cache misses, shorter sweeps). Its
      // last packets then miss the table, as mid-stream packets do, and are skipped.
      if (isTcp && (flags & (TCP_FIN | TCP_RST)) !== 0) this.entries.delete(entry);
      return;
    }
    if (entry.ended) return;

    const fromClient = entry.clientIsLow === srcIsLow;
    if (mayBeCopy(pkt) && this.countedFor(pkt).isCopy(entry, pkt, fromClient, now)) {
      this.stats.copies += 1;
      if (fromClient) this.arrivedLate(entry, pkt);
      return;
    }
    if (fromClient) {
      entry.clientBytes += pkt.ipLength;
      entry.clientPackets += 1;
      this.hooks.onCounted?.(entry, true, pkt);
      if (entry.wantPayload && pkt.payloadLength > 0) this.hooks.onClientPayload?.(entry, pkt);
    } else {
      entry.serverBytes += pkt.ipLength;
      entry.serverPackets += 1;
      if (entry.answer === NOT_ANSWERED) entry.answer = isTcp && (flags & (TCP_RST | TCP_SYN)) === TCP_RST ? REFUSED : ANSWERED;
      this.hooks.onCounted?.(entry, false, pkt);
      if (entry.wantServerPayload && pkt.payloadLength > 0) this.hooks.onServerPayload?.(entry, pkt);
    }
    if (!isTcp) return;
    if ((flags & TCP_RST) !== 0) {
      this.end(entry, 'rst');
    } else if ((flags & TCP_FIN) !== 0) {
      if (fromClient) entry.clientFin = true;
      else entry.serverFin = true;
      if (entry.clientFin && entry.serverFin) this.end(entry, 'fin');
    }
  }

  /**
   * Ends flows idle for longer than their transport's timeout, as of `now`. Walks from the
   * oldest entry and stops at the first made within the shorter timeout: neither it nor any
   * entry made after it can have been idle that long. (Clock steps only delay an expiry to a
   * later sweep: an entry dated after `now` does not stop the walk.)
   */
  expire(now: number): void {
    const tcpBefore = now - this.opts.tcpIdleMs;
    const udpBefore = now - this.opts.udpIdleMs;
    const young = Math.max(tcpBefore, udpBefore);
    for (const entry of this.entries.values()) {
      if (entry.since > young && entry.since <= now) return;
      const before = entry.transport === 'tcp' ? tcpBefore : udpBefore;
      if (entry.lastTime >= before) continue;
      if (entry instanceof Flow) {
        if (!entry.ended) this.stats.expired += 1;
        this.end(entry, 'idle');
      } else {
        this.entries.delete(entry);
      }
    }
  }

  /** Ends every tracked flow (agent shutdown, end of a replay). */
  endAll(reason: FlowEndReason = 'shutdown'): void {
    for (const entry of [...this.entries.values()]) {
      if (entry instanceof Flow) this.end(entry, reason);
    }
    this.entries.clear();
  }

  private start(pkt: PacketInfo, now: number, srcIsLow: boolean, midstream = false): void {
    if (this.entries.size >= this.opts.maxFlows) this.evictOldest();
    const transport: Transport = pkt.protocol === 6 ? 'tcp' : 'udp';
    if (midstream) this.stats.tcpMidstream += 1;
    else if (transport === 'tcp') this.stats.tcpStarts += 1;
    else this.stats.udpStarts += 1;
    if (!this.hooks.accept(pkt)) {
      this.stats.ignored += 1;
      const ignored = new Ignored(now, transport);
      // Not tracked, and on a proxy's port: is it a proxy the owner was not told of?
      if (transport === 'tcp' && !midstream && this.hooks.onProxyPortPayload !== undefined && PROXY_PORTS.has(pkt.dstPort)) ignored.probeClientIsLow = srcIsLow;
      this.add(pkt, srcIsLow, ignored, now);
      return;
    }
    const version = pkt.ipVersion === 6 ? 6 : 4;
    const serverIp = this.addressText.text(pkt.buf, pkt.dstOffset, version);
    const clientIp = this.addressText.text(pkt.buf, pkt.srcOffset, version);
    const sig = natSignature(pkt, serverIp);
    const natOf = this.natOriginal(sig, pkt, serverIp, clientIp, now);
    if (natOf !== undefined) {
      this.stats.natDuplicates += 1;
      this.arrivedLate(natOf, pkt, serverIp, clientIp);
      this.add(pkt, srcIsLow, new Ignored(now, transport), now);
      return;
    }
    // A copy of a flow that has ended already: on several named interfaces, each with its own
    // buffer, one can hand over a whole short connection, FIN included, before the other hands over
    // its copies; they started it again, a second connection with the same bytes (counted among
    // the first one's related connections: twice its bytes in egresswatch.connections). An
    // ignored entry takes the rest of its copies. (A cooked capture is one buffer, read in order.)
    const original = severalBuffers(pkt) ? this.countedFor(pkt).copied(pkt, now) : undefined;
    if (original !== undefined) {
      this.stats.copies += 1;
      this.arrivedLate(original, pkt, serverIp, clientIp);
      const copies = new Ignored(now, transport);
      copies.copies = true;
      this.add(pkt, srcIsLow, copies, now);
      return;
    }
    const flow = new Flow(transport, version,
      clientIp, pkt.srcPort, serverIp, pkt.dstPort, now, srcIsLow);
    // Mid-stream: data flows, so the connection was answered. Its ISN is not known: the sequence
    // number of this packet stands in (the NAT match compares it; a NAT copy carries the same).
    flow.isn = pkt.tcpSeq;
    flow.midstream = midstream;
    if (midstream) flow.answer = ANSWERED;
    flow.forwarded = this.arrived(pkt);
    flow.clientBytes = pkt.ipLength;
    flow.clientPackets = 1;
    flow.copyId = this.lastCopyId = (this.lastCopyId + 1) & 0x3fffffff;
    if (mayBeCopy(pkt)) this.countedFor(pkt).isCopy(flow, pkt, true, now);
    this.stats.outbound += 1;
    this.add(pkt, srcIsLow, flow, now);
    this.recordStart(sig, flow);
    this.hooks.onStart(flow, pkt);
  }

  /** The CountedPackets for `pkt`'s capture: from the first packet of several named interfaces on, a larger one (SEVERAL_BUFFERS_SETS). */
  private countedFor(pkt: PacketInfo): CountedPackets {
    if (this.counted.sets !== SEVERAL_BUFFERS_SETS && severalBuffers(pkt)) this.counted = new CountedPackets(SEVERAL_BUFFERS_SETS);
    return this.counted;
  }

  private add(pkt: PacketInfo, srcIsLow: boolean, entry: Flow | Ignored, now: number): void {
    entry.since = now;
    this.entries.set(pkt, srcIsLow, entry);
  }

  /**
   * The flow still open that started the same way within NAT_WINDOW_MS from another source
   * address, of which this start is a NAT copy (SNAT rewrites the address; two sockets of one
   * address are two connections); else undefined.
   */
  private natOriginal(sig: number | string, pkt: PacketInfo, serverIp: string, clientIp: string, now: number): Flow | undefined {
    const prior = this.recentStarts.get(sig);
    return prior !== undefined && !prior.ended && prior.clientIp !== clientIp && prior.serverIp === serverIp
      && prior.serverPort === pkt.dstPort && (pkt.protocol !== 6 || prior.isn === pkt.tcpSeq)
      && now >= prior.startTime && now - prior.startTime <= NAT_WINDOW_MS ? prior : undefined;
  }

  /**
   * Whether `pkt` was captured arriving from another machine rather than sent by this host: the
   * packet type of a Linux cooked capture (`any`), else the owner's word (FlowHooks.sentByAnother:
   * the frame's source hardware address). A flow whose start arrived is forwarded (Flow.forwarded).
   * On `any` a packet is tapped on its way in before its way out; on several named interfaces
   * each has its own buffer and either copy can be read first, so a client's copy that arrived
   * marks its flow forwarded too.
   */
  private arrived(pkt: PacketInfo): boolean {
    if (pkt.sllPacketType >= 0) return pkt.sllPacketType !== SLL_OUTGOING;
    return this.hooks.sentByAnother?.(pkt) === true;
  }

  /**
   * A client's packet of `flow` (or the start of a copy of it) that arrived, read after its way
   * out was (several named interfaces): forwarded. When this host translated it (SNAT: the copy on
   * the way in has another client address, `clientIp` as text, to the same server), the client is
   * the one the copy on the way in names, as on `any`, where that copy comes first; the flow stays
   * indexed and counted under the translated 5-tuple.
   */
  private arrivedLate(flow: Flow, pkt: PacketInfo, serverIp?: string, clientIp?: string): void {
    if (flow.forwarded || !this.arrived(pkt)) return;
    flow.forwarded = true;
    if (clientIp !== undefined && flow.clientIp !== clientIp && flow.serverIp === serverIp && flow.serverPort === pkt.dstPort) {
      flow.clientIp = clientIp;
      flow.clientPort = pkt.srcPort;
    }
    this.hooks.onClientChanged?.(flow);
  }

  private recordStart(sig: number | string, flow: Flow): void {
    // Starts older than the window can no longer be matched: drop them (and make room).
    while (this.startCount > 0) {
      const old = this.startFlows[this.startHead] as Flow;
      if (this.startCount < NAT_INDEX_ENTRIES && flow.startTime - old.startTime <= NAT_WINDOW_MS) break;
      const oldSig = this.startSigs[this.startHead];
      if (this.recentStarts.get(oldSig) === old) this.recentStarts.delete(oldSig);
      this.startFlows[this.startHead] = undefined;
      this.startHead = (this.startHead + 1) % NAT_INDEX_ENTRIES;
      this.startCount--;
    }
    this.recentStarts.set(sig, flow);
    const at = (this.startHead + this.startCount) % NAT_INDEX_ENTRIES;
    this.startSigs[at] = sig;
    this.startFlows[at] = flow;
    this.startCount++;
  }

  private end(flow: Flow, reason: FlowEndReason): void {
    this.entries.delete(flow);
    if (flow.ended) return;
    flow.ended = true;
    this.stats.ended += 1;
    this.hooks.onEnd(flow, reason);
  }

  private evictOldest(): void {
    const entry = this.entries.oldest();
    if (entry === undefined) return;
    this.stats.evictions += 1;
    if (entry instanceof Flow) this.end(entry, 'evicted');
    else this.entries.delete(entry);
  }
}

/**
 * Whether the capture can hold copies of `pkt` (see the top): a Linux cooked capture (`any`), or
 * a capture on several interfaces (an interface index). A capture of one interface cannot.
 */
function mayBeCopy(pkt: PacketInfo): boolean {
  return pkt.sllPacketType >= 0 || pkt.ifIndex >= 0;
}

/** Whether `pkt` came from a capture on several named interfaces (an interface's place, no cooked header): several buffers. */
function severalBuffers(pkt: PacketInfo): boolean {
  return pkt.sllPacketType < 0 && pkt.ifIndex >= 0;
}

/**
 * What the copies of one packet share and the flow's next packet does not: its length and TCP
 * flags; the TCP sequence and acknowledgment numbers, or a UDP datagram's last four bytes (the
 * AEAD tag of QUIC and DTLS, different in every datagram); and the IPv4 ID, which Linux gives
 * every packet it sends anew. Mixed into 32 bits: two different packets in a row collide with a
 * chance of 2^-32.
 */
function copyKey(pkt: PacketInfo): number {
  const buf = pkt.buf;
  let h = Math.imul(pkt.ipLength ^ (pkt.tcpFlags << 24), 0x9e3779b1);
  if (pkt.ipVersion === 4) h = Math.imul(h ^ u16(buf, pkt.ipOffset + 4), 0x85ebca6b);
  if (pkt.protocol === 6) {
    h = Math.imul(h ^ pkt.tcpSeq, 0xc2b2ae35);
    h = Math.imul(h ^ (h >>> 13) ^ pkt.tcpAck, 0x27d4eb2f);
  } else if (pkt.payloadLength >= 4) {
    h = Math.imul(h ^ u32(buf, pkt.payloadOffset + pkt.payloadLength - 4), 0xc2b2ae35);
  }
  return (h ^ (h >>> 15)) | 0;
}

/**
 * What a NAT copy of this connection start shares with it: responder, and ISN or first UDP
 * payload. TCP: the ISN as a number (port and responder address are compared on the match), so
 * the lookup builds no string.
 */
function natSignature(pkt: PacketInfo, serverIp: string): number | string {
  // ISN and port mixed into a small integer (a Map key that allocates nothing); natOriginal
  // checks the ISN and the port on the flow it finds. Two starts mixing to the same key (about
  // 2^-32 for two connections within the window) keep the later one: the earlier's NAT copy
  // would then be tracked as a connection of its own, never merged with the wrong one.
  if (pkt.protocol === 6) return (pkt.tcpSeq ^ Math.imul(pkt.dstPort, 0x9e3779b1)) | 0;
  const n = Math.min(pkt.payloadLength, UDP_SIGNATURE_BYTES);
  return `u${serverIp}|${pkt.dstPort}|${pkt.payloadLength}|${pkt.buf.toString('latin1', pkt.payloadOffset, pkt.payloadOffset + n)}`;
}

/**
 * Whether a TCP packet of no known connection is a client's data in an established connection,
 * to be taken up as one: it carries data, neither ends nor resets the connection, and goes from
 * an ephemeral port (>= 1024) to a lower one (the service: 443, 8443, 5432). Its last packets
 * after a FIN or RST, pure ACKs, and a server's data (the lower port's side, after the client
 * reset the connection) are not. Both ports high (peer to peer) or a service above the client's
 * port: not taken up (which side is the client cannot be told).
 */
function midstreamClient(pkt: PacketInfo, flags: number): boolean {
  return pkt.payloadLength > 0 && (flags & (TCP_FIN | TCP_RST | TCP_SYN)) === 0 && pkt.srcPort >= 1024 && pkt.srcPort > pkt.dstPort;
}

/**
 * Whether the packet's source endpoint sorts first. Both directions of a connection then build
 * the same key without formatting addresses: IPv4 addresses compare as 32-bit numbers, IPv6
 * byte by byte, ports break ties.
 */
function srcIsLowEndpoint(pkt: PacketInfo): boolean {
  const buf = pkt.buf;
  if (pkt.ipVersion !== 6) {
    const s = u32(buf, pkt.srcOffset);
    const d = u32(buf, pkt.dstOffset);
    return s !== d ? s < d : pkt.srcPort <= pkt.dstPort;
  }
  // Word by word, as Buffer.compare orders the bytes (big-endian words), without its native call.
  for (let w = 0; w < 16; w += 4) {
    const s = u32(buf, pkt.srcOffset + w);
    const d = u32(buf, pkt.dstOffset + w);
    if (s !== d) return s < d;
  }
  return pkt.srcPort <= pkt.dstPort;
}

/**
 * Canonical key of a packet's 5-tuple as a string (the same for both directions), for state
 * kept outside the flow table (DNS over TCP streams). The flow table itself indexes IPv4
 * without strings (index-table.ts).
 */
export function flowKey(pkt: PacketInfo, srcIsLow: boolean = srcIsLowEndpoint(pkt)): string {
  if (pkt.ipVersion === 6) return v6Key(pkt, srcIsLow);
  const buf = pkt.buf;
  const lowOff = srcIsLow ? pkt.srcOffset : pkt.dstOffset;
  const highOff = srcIsLow ? pkt.dstOffset : pkt.srcOffset;
  return String.fromCharCode(pkt.protocol,
    u16(buf, lowOff), u16(buf, lowOff + 2), u16(buf, highOff), u16(buf, highOff + 2),
    srcIsLow ? pkt.srcPort : pkt.dstPort, srcIsLow ? pkt.dstPort : pkt.srcPort);
}
