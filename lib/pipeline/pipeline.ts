// The packet path and what hangs off it. onPacket() is synchronous plain calls on reused
// objects (decode → DNS or flow table); a new outbound connection starts the asynchronous part
// (attribution → baseline → hold → emit), off the packet path.
import type winston from 'winston';
import { AddressMemo, canonicalAddress, decodePacket, DecodeStats, endpointText, LinkType, PacketInfo, u48 } from '../decode/index.js';
import { readDnsQuery, parseDnsResponse, queryKey, QueryKey, DnsStats, DnsTcpStreams, NameCache, QueryTracker, EncryptedDnsEndpoints, type DnsQueryHead, type DnsResponseInfo } from '../dns/index.js';
import { MORE, clientHelloComplete, clientHelloFromRecords, contiguousPrefix, headerEnd, helloOffersEch, looksLikeHttp, looksLikeTls, recordsOfferEch, proxyRequest, requestTarget, responseStatus, quicHelloSni, quicInitialCrypto, looksLikeSocksHello, sniffSocks, sniffStream, socksReply, type SniffResult, type StreamFragment } from '../sniff/index.js';
import { FlowTable, flowKey, type Flow, type FlowEndReason, type FlowHooks } from '../flows/index.js';
import { AddressClassifier, DomainGrouper, Suppressions, isLoopbackAt, type GroupingRule, type SuppressionRule } from '../classify/index.js';
import type { Baseline, Verdict } from '../baseline/index.js';
import { AlertHold, buildAlert, type ConnectionFacts } from '../alerts/index.js';
import type { Attributor, Attribution, FallbackOwner } from './attribution.js';
import { AGENT_VERSION } from '../version.js';
import { softwareKey } from '../software/index.js';
import { ResolverOwners } from './resolvers.js';
import type { BackStages } from './split-back.js';
import type { FrontSink } from './split-front.js';
import { RateBudget } from './budget.js';
import type { PtrResolver } from './ptr.js';

export interface PipelineSettings {
  hostName: string;
  hostId: string;
  dnsPorts: readonly number[];
  alertDelayMs: number;
  baselineWindowMs: number;
  dnsCacheSize: number;
  dnsRetentionMs: number;
  flowTableSize: number;
  tcpIdleMs: number;
  udpIdleMs: number;
  internalCidrs: readonly string[];
  externalCidrs: readonly string[];
  /** Key software in the baseline without version numbers (see lib/software softwareKey). */
  normalizeVersions: boolean;
  /** Trust order of name sources, most trusted first (DEFAULT_NAME_ORDER). */
  nameOrder: readonly string[];
  /** How long a DNS query waits for its answer, ms. */
  dnsQueryWindowMs: number;
  /** Use DNS answers that match no query seen (off by default: they could be spoofed). */
  acceptUnmatchedDns: boolean;
  /**
   * Leave unjudged the connections this host forwards for other machines: first captured arriving
   * (Flow.forwarded) and no process of its own found (in a replay, none is ever looked for).
   */
  ignoreForwarded?: boolean;
  /** Take up TCP connections whose SYN was not seen (FlowTableOptions.midstream); default on. */
  midstream?: boolean;
  /**
   * Live: connections being judged (waiting for their owner or a baseline write) at most
   * (LIVE_MAX_PENDING_JUDGMENTS); past it a new connection is tracked but not judged, counted
   * (connectionsUnjudged), and the log says so. Unset: no bound (a replay pauses its reading instead).
   */
  maxPendingJudgments?: number;
  /** Operator grouping rules, before the built-in eTLD+1 / AWS grouping. */
  groupingRules: readonly GroupingRule[];
  /** Operator suppression rules: matching connections update the baseline but do not alert. */
  suppressions: readonly SuppressionRule[];
  /**
   * HTTP proxies the host uses (address text as decode prints it, port): connections to them
   * are named by the request they carry (CONNECT host:port, or an HTTP request's Host) and
   * judged as connections to that destination.
   */
  proxies?: readonly { host: string; port: number }[];
}

export interface PipelineDeps {
  /**
   * The baseline, or a function that opens it. Given open, connections that need no
   * attribution are judged synchronously when the baseline can decide from memory (replay:
   * the event loop does not run while a replay reads a file, so nothing async finishes).
   */
  baseline: Baseline | (() => Promise<Baseline>);
  attributor?: Attributor;
  /** Reverse lookups for addresses nothing else named (live only). */
  ptr?: PtrResolver;
  /** Receives each alert once, in emission order. */
  emit: (alert: Record<string, unknown>) => void;
  logger: winston.Logger;
  /** The pipeline's notion of now: packet time in replay, wall time live. */
  now: () => number;
  /**
   * This host's own addresses (live: host-addresses.ts): a connection to one of them came in (a
   * client of a service here, a container to the host) and is not judged, however external the
   * address. A replay has none (its capture is another host's). `sentByThisHost`: whether a
   * hardware address is one of this host's interfaces' (undefined: not known), which tells on an
   * Ethernet capture whether a connection is this host's or one it forwards (Flow.forwarded).
   */
  hostAddresses?: { has(ip: string): boolean; sentByThisHost?(mac: number): boolean | undefined };
  /** ECS host.os and host.architecture for alerts (live: this host's; a replay's capture is another host's). */
  hostOs?: { os: Record<string, string>; architecture: string };
  /**
   * The reading thread of a split replay (split-replay.ts): this pipeline decodes and keeps the
   * flow table, and hands DNS packets and what its flows do to the sink instead of judging; the
   * other thread's pipeline plays them (BackStages).
   */
  sink?: FrontSink;
}

const DAY_MS = 86_400_000;
/**
 * How long a TCP connection waits for the client's first bytes (TLS ClientHello, HTTP request)
 * before it is judged by its DNS name alone: about one round trip after the handshake, bounded
 * for server-speaks-first protocols (SSH, SMTP).
 */
const SNIFF_WAIT_MS = 1_000;
/** First-payload bytes and packets kept per connection for SNI / Host (a ClientHello may span records). */
const SNIFF_MAX_BYTES = 16_384;
const SNIFF_MAX_PACKETS = 8;
/** QUIC client Initial datagrams gathered for one ClientHello (a post-quantum one takes two). */
const QUIC_MAX_DATAGRAMS = 4;
/** Client payload packets a connection that is not proxied takes at most (the reading thread of a split replay hands over no more). */
export const MAX_CLIENT_PAYLOADS_WANTED = Math.max(SNIFF_MAX_PACKETS, QUIC_MAX_DATAGRAMS);
/**
 * QUIC Initial datagrams decrypted per second at most. Opening one takes ~25-30 µs (key
 * derivation and AES-GCM, against ~3 µs for the rest of a connection start), and anybody can
 * send them: a flood of made-up Initials must not take the agent's time from the capture.
 * A host opens a few QUIC connections a second; past the budget a connection goes without its
 * QUIC name (DNS still names it), counted in quicInitialsSkipped.
 */
const QUIC_DECRYPTS_PER_SECOND = 2_000;
/** Smaller datagrams are not client Initials (RFC 9000 §14.1) and cost nothing to turn down. */
const QUIC_MIN_INITIAL = 1200;
/** Default trust order of name sources: what the client itself said, then DNS, then PTR. */
export const DEFAULT_NAME_ORDER: readonly string[] = ['sni', 'http', 'quic', 'dns', 'ptr'];

/** Per-connection state until it is judged (Flow.data). */
interface Pending {
  facts: ConnectionFacts;
  who?: Promise<Attribution>;
  /**
   * Client payload kept while a name may still be coming (a ClientHello over several segments),
   * placed by sequence number: a retransmitted or reordered segment lands where it belongs.
   * QUIC: the CRYPTO data of the client's Initial datagrams so far.
   */
  segments: StreamFragment[] | undefined;
  bytes: number;
  packets: number;
  settled?: boolean;
  /** A connection to a configured proxy: named by the request it carries, not by DNS or SNI. */
  proxied?: boolean;
  /** The ClientHello's server name, while the rest of the ClientHello is waited for. */
  sni?: string;
}
/**
 * A connection to a proxy that carried a plain HTTP request, after that request was judged
 * (Flow.data): its later requests are read too. An HTTP client keeps its connection to the
 * proxy alive and sends the requests for every host it fetches over it (RFC 9112 §9.3): each
 * one to a domain group the connection has not named yet is judged and alerted on its own.
 */
class ProxyFollow {
  /** Requests read on the connection so far (the first included). */
  requests = 1;
  constructor(
    readonly proxy: { ip: string; port: number },
    readonly who: Promise<Attribution> | undefined,
    /** Domain groups the connection's requests named (judged, or to be). */
    readonly groups: Set<string>,
  ) {}
}
/** Domain groups one proxy connection's requests are judged for; past it the connection is no longer read. */
const MAX_PROXY_GROUPS = 64;
/** Requests read from one segment (pipelined: several requests written at once). */
const MAX_REQUESTS_PER_SEGMENT = 16;

/**
 * A (host, software, group) judged this recently (packet time) is not judged again: its first
 * connection already got the verdict (alert or not), and the baseline's last-seen only needs
 * minute precision against a 90-day window. Keeps a busy replay or host from sending every
 * connection through attribution-independent baseline work (bench: 134k connections, 4k keys).
 */
const REJUDGE_AFTER_MS = 60_000;
/**
 * Most related connections an alert counts (the same software, or host, to the same domain group,
 * started within the alert delay of the alerted one, before or after it): a browser or a package
 * manager opens a few, a Happy Eyeballs client two.
 */
const MAX_RELATED = 64;
/**
 * Owners asked of the attributor and not answered yet (connections, and DNS query sockets), at
 * most. A host opening new connections faster than /proc can be read for them (a scan from the
 * host: thousands of new destinations a second) queued attributions, their judgments and
 * closures without bound until the heap ran out: a 512 MiB pod (the DaemonSet's limit) died 17 s
 * into a scan of 10,000 destinations a second. Past the bound a new connection is judged for the
 * host only, at once (Attribution skipped: `egresswatch.attribution.skipped: overload`), and a
 * DNS query's socket is not looked up; both are counted, and the log says when it starts and ends.
 */
export const MAX_PENDING_ATTRIBUTIONS = 8_192;
/**
 * Alerts held for their window (--alert-delay) at most; past it the one held longest goes out at
 * once, with the bytes counted so far (`egresswatch.flow.open`). A burst of new destinations
 * (10,000 a second for the default 10 s) would otherwise hold every one of them in memory.
 */
export const MAX_HELD_ALERTS = 10_000;
/**
 * The live agent's PipelineSettings.maxPendingJudgments. Judging a connection (its owner, its
 * baseline entry, its alert) runs between packets; a host opening connections faster than the
 * agent can judge them (a scan at 30,000 a second) grew the judgments waiting without bound, each
 * a few kilobytes, until the heap ran out, since reading packets comes first. Past the bound the
 * connections the agent has no time for are counted instead, as the kernel counts the packets it
 * has no room for.
 */
export const LIVE_MAX_PENDING_JUDGMENTS = 8_192;
/** Bound of the judge memo below (cleared when full: cheap, and misses are only slower). */
const MEMO_ENTRIES = 65_536;
/** Names whose group is remembered (the Public Suffix List lookup costs ~5 µs a name). */
const GROUP_MEMO_ENTRIES = 65_536;
const NO_ATTRIBUTION: Attribution = { method: 'none', confidence: 'low' };
/**
 * A connection whose socket was gone before it could be looked up is attributed to the process
 * that DNS gave its address to at most this long before it started, when all such answers went
 * to that one process (method per-process-dns). A client connects within ms of its answer; a
 * longer window would name a process that resolved the address for a reason of its own.
 */
const TOLD_WINDOW_MS = 5_000;
const TCP_SYN = 0x02;
/** Connections carrying proxy requests to one internal endpoint not given with --proxy before the log says so. */
const PROXY_HINT_AFTER = 3;
/** Endpoints counted for that at most. */
const MAX_PROXY_HINTS = 256;
/** A proxy's first bytes gathered for its answer at most (a SOCKS5 reply is 10-22 bytes, after 2-4). */
const PROXY_ANSWER_BYTES = 64;
/** Bytes of an HTTP request's head kept for the alert (method, User-Agent). */
const MAX_REQUEST_HEAD = 4096;
/** A name that is an IPv4 address literal. */
const ADDRESS_LITERAL = /^[0-9.]+$/;

export class PipelineStats {
  packets = 0;
  dnsQueries = 0;
  alerts = 0;
  alertsHost = 0;
  alertsSoftware = 0;
  learningSuppressed = 0;
  connectionsNamed = 0;
  connectionsUnnamed = 0;
  internalErrors = 0;
  /** Connections whose judging failed (the baseline could not be read or written): no alert for them. */
  judgeErrors = 0;
  /** Connections by the source that named them when they were judged (before PTR). */
  namedBy: Record<string, number> = {};
  /** DNS answers not used because no matching query was seen. */
  dnsUnmatchedIgnored = 0;
  /** Connections of the agent itself (never alerted). */
  ownTraffic = 0;
  /** Connections not judged again because the same key was judged within a minute. */
  judgedRecently = 0;
  /** QUIC Initial datagrams not opened because the per-second budget was spent (QUIC_DECRYPTS_PER_SECOND). */
  quicInitialsSkipped = 0;
  /** Connections through a configured proxy, named by their request. */
  proxied = 0;
  /** Connections to one of this host's own addresses (inbound: a client of a service here), not judged. */
  connectionsInbound = 0;
  /** Connections forwarded for other machines (no process of this host's), not judged (--ignore-forwarded). */
  forwardedIgnored = 0;
  /** Internal connections carrying proxy requests to an endpoint not given with --proxy (not judged). */
  unconfiguredProxyRequests = 0;
  /**
   * Connections to a configured proxy whose request named nothing (TLS to the proxy, another
   * protocol): not judged when the proxy is internal, judged as connections to the proxy itself
   * when it is external.
   */
  proxiedUnnamed = 0;
  /** Connections judged for the host only, and DNS query sockets not looked up, because MAX_PENDING_ATTRIBUTIONS were waiting. */
  attributionsShed = 0;
  /** Connections not judged because PipelineSettings.maxPendingJudgments were waiting (live, overloaded). */
  connectionsUnjudged = 0;
}

export class Pipeline implements BackStages {
  readonly stats = new PipelineStats();
  readonly decodeStats = new DecodeStats();
  readonly dnsStats = new DnsStats();
  readonly names: NameCache;
  readonly flows: FlowTable;
  private readonly pkt = new PacketInfo();
  private readonly tcpDns: DnsTcpStreams;
  private readonly classifier: AddressClassifier;
  private readonly dnsPort = new Uint8Array(65536);
  private readonly hold: AlertHold<ConnectionFacts>;
  private readonly inflight = new Set<Promise<void>>();
  private readonly onDnsMessage: (buf: Buffer, off: number, len: number) => void;
  private readonly onDnsQueryMessage: (buf: Buffer, off: number, len: number) => void;
  /** The TCP DNS segment being reassembled (its messages are matched with its addresses). */
  private tcpDnsPkt: PacketInfo | undefined;
  private packetTime = 0;
  /** The link type of the packet being processed (onPacket). */
  private linkType = -1;
  /** Why the first connection that could not be judged failed (a baseline write on a full disk). */
  firstJudgeError: unknown = undefined;
  /** judge key → packet time it was last judged. */
  private readonly judged = new Map<string, number>();
  /** judge key → the connection judged under it whose judgment or alert is still to come (see repeats()). */
  private readonly relatedByKey = new Map<string, ConnectionFacts>();
  private readonly resolvers = new ResolverOwners();
  private readonly encryptedDns = new EncryptedDnsEndpoints();
  /**
   * IPv4 address text, one memo for the whole pipeline: DNS clients and servers (the few of a
   * host repeat on every message), answered addresses and connection ends, so the name cache's
   * keys and the flows' addresses are the same strings.
   */
  private readonly addressText = new AddressMemo();
  readonly queries: QueryTracker;
  /** Reused for every DNS message's tracker key (the tracker copies what it keeps). */
  private readonly queryKey = new QueryKey();
  /** Reused for every DNS query read on the packet path. */
  private readonly queryHead: DnsQueryHead = { id: 0, type: 0, nameHash: 0 };
  grouper: DomainGrouper;
  suppressions: Suppressions;
  /** TCP connections waiting for their first client bytes before they are judged. */
  private readonly awaitingPayload = new Set<Pending>();
  private readonly quicBudget = new RateBudget(QUIC_DECRYPTS_PER_SECOND);
  /** A TCP connection's first bytes while clientPayload settles it (in the capture buffer, valid for that call only). */
  private helloBytes: [Buffer, number, number] | undefined;
  /** Configured proxies as "address|port". */
  private readonly proxies: ReadonlySet<string>;
  /** Proxies ("address|port") whose clients were seen speaking TLS to them (told once). */
  private readonly tlsProxiesTold = new Set<string>();
  /** Internal endpoints not given with --proxy whose connections carried proxy requests: how many. */
  private readonly proxyHints = new Map<string, number>();
  /** Owners asked of the attributor and not answered yet (MAX_PENDING_ATTRIBUTIONS). */
  private pendingAttributionCount = 0;
  /**
   * Since when (packet time) the agent is overloaded, and what it has given up so far: attributions
   * shed, connections not judged; undefined while it is not.
   */
  private overload: { since: number; shed: number; unjudged: number } | undefined;
  /** The reading thread of a split replay hands its packets' work over to this (PipelineDeps.sink). */
  private readonly sink: FrontSink | undefined;
  /** Whether a pid still exists (ResolverOwners.query), made once rather than per DNS query. */
  private readonly processAlive = (pid: number): boolean => this.deps.attributor?.processAlive(pid) ?? true;

  constructor(private s: PipelineSettings, private readonly deps: PipelineDeps) {
    for (const p of s.dnsPorts) this.dnsPort[p] = 1;
    this.proxies = new Set((s.proxies ?? []).map((p) => `${p.host}|${p.port}`));
    this.classifier = new AddressClassifier({ internalCidrs: [...s.internalCidrs], externalCidrs: [...s.externalCidrs] });
    this.names = new NameCache({ maxEntries: s.dnsCacheSize, retentionMs: s.dnsRetentionMs });
    this.tcpDns = new DnsTcpStreams({ stats: this.dnsStats });
    this.queries = new QueryTracker({ windowMs: s.dnsQueryWindowMs });
    this.grouper = new DomainGrouper(s.groupingRules, { memoSize: GROUP_MEMO_ENTRIES });
    this.suppressions = new Suppressions(s.suppressions, deps.now);
    const sink = deps.sink;
    // The judging thread gets packets, not processes: a split replay attributes nothing, as a replay does not.
    if (sink !== undefined && deps.attributor !== undefined) throw new Error('a pipeline that hands its packets to another thread attributes nothing');
    const hooks: FlowHooks = {
      // A connection over lo is the host talking to itself, even to one of its own public
      // addresses (a web server fetching its own URL): never egress. Only a loopback address
      // itself is left to the classifier (internal, unless --external-cidr says otherwise).
      accept: (pkt) => ((!pkt.loopback || isLoopbackAt(pkt.buf, pkt.dstOffset, pkt.ipVersion))
        && this.classifier.isExternalAt(pkt.buf, pkt.dstOffset, pkt.ipVersion) && !this.toThisHost(pkt))
        // A proxy is most often internal: its connections are tracked for the request they carry.
        || (this.proxies.size > 0 && pkt.protocol === 6 && this.proxies.has(`${this.textAt(pkt, pkt.dstOffset)}|${pkt.dstPort}`)),
      onStart: (flow, pkt) => this.connectionStarted(flow, pkt),
      onEnd: (flow, reason) => this.connectionEnded(flow, reason),
      onClientPayload: (flow, pkt) => this.clientPayload(flow, pkt),
      // A proxy's answer to the request: its status line (CONNECT 200 = the tunnel is up, 403 = refused).
      onServerPayload: (flow, pkt) => this.proxyAnswer(flow, pkt),
      onProxyPortPayload: (pkt) => this.unconfiguredProxy(pkt),
      sentByAnother: (pkt) => this.linkType === LinkType.ETHERNET && this.deps.hostAddresses?.sentByThisHost?.(u48(pkt.buf, pkt.frameOffset + 6)) === false,
    };
    if (sink !== undefined) {
      // The reading thread of a split replay: what the flows do goes to the other thread.
      hooks.onStart = (flow, pkt) => sink.start(flow, pkt, this.isProxied(flow));
      hooks.onEnd = (flow, reason) => sink.end(flow, reason);
      hooks.onClientPayload = (flow, pkt) => sink.clientPayload(flow, pkt);
      hooks.onServerPayload = (flow, pkt) => sink.serverPayload(flow, pkt);
      hooks.onCounted = (flow, fromClient, pkt) => sink.counted(flow, fromClient, pkt);
      hooks.onClientChanged = (flow) => sink.clientChanged(flow);
    }
    this.sink = sink;
    this.flows = new FlowTable(
      { maxFlows: s.flowTableSize, tcpIdleMs: s.tcpIdleMs, udpIdleMs: s.udpIdleMs, addressText: this.addressText, midstream: s.midstream },
      hooks,
    );
    this.hold = new AlertHold((facts) => this.emitAlert(facts), MAX_HELD_ALERTS);
    this.onDnsMessage = (buf, off, len) => this.dnsAnswer(parseDnsResponse(buf, off, len, this.dnsStats, this.addressText), this.tcpDnsPkt);
    this.onDnsQueryMessage = (buf, off, len) => {
      const pkt = this.tcpDnsPkt;
      const q = this.queryHead;
      if (pkt === undefined || !readDnsQuery(buf, off, len, q)) return;
      this.queries.queryKeyed(queryKey(pkt, q.id, true, this.queryKey), q.nameHash, this.packetTime);
    };
  }

  /**
   * Applies reloaded rules (SIGHUP): grouping and suppression rules and the name trust order.
   * Flows, caches, held alerts and the baseline are kept.
   */
  updateRules(next: Pick<PipelineSettings, 'groupingRules' | 'suppressions' | 'nameOrder'>): void {
    this.s = { ...this.s, ...next };
    this.grouper = new DomainGrouper(next.groupingRules, { memoSize: GROUP_MEMO_ENTRIES });
    this.suppressions = new Suppressions(next.suppressions, this.deps.now);
  }

  /** Time of the last packet seen, ms. */
  get lastPacketTime(): number {
    return this.packetTime;
  }

  get heldAlerts(): number {
    return this.hold.size;
  }

  /** Alerts the hold let out before their window ended because MAX_HELD_ALERTS were held. */
  get alertsReleasedEarly(): number {
    return this.hold.releasedEarly;
  }

  /** Owners asked of the attributor and not answered yet. */
  get pendingAttributions(): number {
    return this.pendingAttributionCount;
  }

  /**
   * The packet path. Never throws: wire problems are counted by the stages. `handle`: which
   * interface of a capture on several it came from (PacketCallback); without a cooked header to
   * say so, it stands for the interface, so that a packet captured on two is counted once.
   * The frame is buf[offset, offset + caplen) (PacketCallback).
   */
  onPacket(buf: Buffer, caplen: number, wireLen: number, tsMs: number, linkType: number, handle?: number, offset = 0): void {
    this.stats.packets += 1;
    this.sink?.next(tsMs);
    this.packetTime = tsMs;
    this.linkType = linkType;
    const pkt = this.pkt;
    if (!decodePacket(linkType, buf, caplen, pkt, this.decodeStats, wireLen, offset)) return;
    if (handle !== undefined && pkt.sllPacketType < 0) pkt.ifIndex = handle;
    if (this.dnsPort[pkt.srcPort] === 1 || this.dnsPort[pkt.dstPort] === 1) {
      if (this.sink === undefined) this.dnsPacket(pkt);
      // A query over UDP goes over as its tracker key (its question read here, off the judging thread).
      else if (this.dnsPort[pkt.srcPort] !== 1 && pkt.protocol === 17) this.queryOver(pkt, this.sink);
      else this.sink.dns(pkt);
      return;
    }
    this.flows.process(pkt, tsMs);
  }

  /** A packet from or to a DNS port (either way: a response, or the query side). */
  dnsPacket(pkt: PacketInfo): void {
    if (this.dnsPort[pkt.srcPort] === 1) {
      this.dnsResponse(pkt);
      return;
    }
    // The query side of DNS; the answers are what name connections. DNS itself is not an egress connection.
    this.stats.dnsQueries += 1;
    if (pkt.protocol === 17 && pkt.payloadLength > 0) this.dnsQuery(pkt);
    else if (pkt.protocol === 6 && pkt.payloadLength > 0) this.tcpDnsStream(pkt, 'q', this.onDnsQueryMessage);
  }

  /** The packet time the stages see, for the judging thread of a split replay (BackPlayer). */
  setPacketTime(time: number): void {
    this.packetTime = time;
  }

  /** Address text through the memo the name cache and the flows share. */
  textOf(buf: Buffer, offset: number, version: 4 | 6): string {
    return this.addressText.text(buf, offset, version);
  }

  /** Advances time-driven work: names waited for too long, held alerts due. */
  tick(now: number): void {
    if (this.sink !== undefined) {
      this.sink.tick(now);
      return;
    }
    const o = this.overload;
    if (o !== undefined && this.pendingAttributionCount <= MAX_PENDING_ATTRIBUTIONS / 2 && this.pendingJudgments * 2 <= (this.s.maxPendingJudgments ?? Infinity)) {
      this.deps.logger.info('caught up: new connections are attributed and judged again', {
        shed: o.shed, unjudged: o.unjudged, seconds: Math.round((now - o.since) / 1000), pendingAttributions: this.pendingAttributionCount,
      });
      this.overload = undefined;
    }
    for (const st of this.awaitingPayload) {
      if (st.facts.flow.startTime + SNIFF_WAIT_MS <= now) this.settle(st);
    }
    this.hold.tick(now);
  }

  expire(now: number): void {
    this.flows.expire(now);
  }

  /**
   * Connections waiting for their attribution or their baseline write before they are concluded.
   * (Those still waiting for their first bytes, a second at most, are not: the flow table bounds
   * them, each holds little, and an unanswered SYN waits the whole second, so a scan at 10,000 a
   * second keeps 10,000.)
   */
  get pendingJudgments(): number {
    return this.inflight.size;
  }

  /** Waits for the attribution and baseline work in flight (flows stay open, held alerts held). */
  async drain(): Promise<void> {
    while (this.inflight.size > 0) await Promise.all([...this.inflight]);
  }

  /** Ends every flow, waits for attribution and baseline work in flight, emits what is held. */
  async finish(): Promise<void> {
    this.flows.endAll('shutdown');
    await this.drain();
    this.hold.flush();
  }

  private dnsResponse(pkt: PacketInfo): void {
    if (pkt.payloadLength === 0) return;
    if (pkt.protocol === 17) {
      this.dnsAnswer(parseDnsResponse(pkt.buf, pkt.payloadOffset, pkt.payloadLength, this.dnsStats, this.addressText), pkt);
      return;
    }
    this.tcpDnsStream(pkt, 'r', this.onDnsMessage);
  }

  /** DNS over TCP, one reassembled stream per direction: queries ('q') and responses ('r'). */
  private tcpDnsStream(pkt: PacketInfo, dir: 'q' | 'r', onMessage: (buf: Buffer, off: number, len: number) => void): void {
    const key = flowKey(pkt) + dir;
    this.tcpDnsPkt = pkt;
    this.tcpDns.push(key, pkt.tcpSeq, pkt.buf, pkt.payloadOffset, pkt.payloadLength, onMessage);
    this.tcpDnsPkt = undefined;
    if ((pkt.tcpFlags & 0x05) !== 0) this.tcpDns.end(key);
  }

  /**
   * Answers name connections. An answer (over UDP or TCP) is used only when it matches a query
   * seen shortly before from that client socket to that server (same id and name): an answer
   * nobody asked for (spoofed, or a stray) must not rename an address.
   */
  private dnsAnswer(info: DnsResponseInfo | null, pkt?: PacketInfo): void {
    if (info === null || info.answers.length === 0) return;
    // Evidence for the alert: which resolver answered for the address.
    let resolver: string | undefined;
    if (pkt) {
      if (!this.queries.matchKeyed(queryKey(pkt, info.id, false, this.queryKey), info.queryHash, this.packetTime) && !this.s.acceptUnmatchedDns) {
        this.stats.dnsUnmatchedIgnored += 1;
        return;
      }
      resolver = this.textAt(pkt, pkt.srcOffset);
    }
    for (const a of info.answers) {
      // The chain starts at the question's name (the same string) but for a response without a question.
      this.names.add(a.ip, a.chain, a.ttl, this.packetTime, resolver, a.chain[0] === info.queryName ? info.queryHash : 0);
    }
    if (pkt && this.deps.attributor) {
      this.resolvers.answer(`${this.textAt(pkt, pkt.dstOffset)}|${pkt.dstPort}`, info, this.packetTime);
    }
  }

  /** A DNS query over UDP: remember it for answer matching; find (once per socket) its process. */
  private dnsQuery(pkt: PacketInfo): void {
    const key = this.udpQuery(pkt);
    if (key === undefined) return;
    this.queries.queryKeyed(key, this.queryHead.nameHash, this.packetTime);
    if (!this.deps.attributor) return;
    const clientIp = this.textAt(pkt, pkt.srcOffset);
    const socket = `${clientIp}|${pkt.srcPort}`;
    const state = this.resolvers.query(socket, this.packetTime, this.processAlive);
    if (state === undefined) return;
    if (!this.mayAttribute()) {
      this.resolvers.owner(socket, undefined, state);
      return;
    }
    const ends = { transport: 'udp' as const, clientIp, clientPort: pkt.srcPort, serverIp: this.textAt(pkt, pkt.dstOffset), serverPort: pkt.dstPort, ended: true };
    void this.attributing(this.deps.attributor.socketOwner(ends)).then((pid) => this.resolvers.owner(socket, pid, state));
  }

  /** A DNS query over UDP on the reading thread of a split replay: its tracker key and question's hash go over (FrontSink.query). */
  private queryOver(pkt: PacketInfo, sink: FrontSink): void {
    const key = pkt.payloadLength > 0 ? this.udpQuery(pkt) : undefined;
    sink.query(key, key === undefined ? 0 : this.queryHead.nameHash);
  }

  /** The tracker key of a DNS query over UDP (its question's name hash in queryHead); undefined when it is not one. */
  private udpQuery(pkt: PacketInfo): QueryKey | undefined {
    const q = this.queryHead;
    return readDnsQuery(pkt.buf, pkt.payloadOffset, pkt.payloadLength, q) ? queryKey(pkt, q.id, true, this.queryKey) : undefined;
  }

  /**
   * A DNS query over UDP read by the reading thread of a split replay (FrontSink.query): as
   * dnsPacket() takes one, `key` undefined when it was not a query to track.
   */
  dnsQueryKeyed(key: QueryKey | undefined, nameHash: number): void {
    this.stats.dnsQueries += 1;
    if (key !== undefined) this.queries.queryKeyed(key, nameHash, this.packetTime);
  }

  /** A connection to one of this host's own addresses (PipelineDeps.hostAddresses): inbound, not egress. */
  private toThisHost(pkt: PacketInfo): boolean {
    const own = this.deps.hostAddresses;
    if (own === undefined || !own.has(this.textAt(pkt, pkt.dstOffset))) return false;
    this.stats.connectionsInbound += 1;
    return true;
  }

  /** A connection to a configured proxy (named by the request it carries). */
  private isProxied(flow: Flow): boolean {
    return this.proxies.size > 0 && flow.transport === 'tcp' && this.proxies.has(`${flow.serverIp}|${flow.serverPort}`);
  }

  connectionStarted(flow: Flow, pkt: PacketInfo): void {
    if (this.noRoomToJudge()) return;
    const proxied = this.isProxied(flow);
    // The proxy's own DNS name is not where the connection goes: its request will say.
    const name = proxied ? undefined : this.names.lookup(flow.serverIp, flow.startTime);
    const g = name ? this.grouper.lookup(name.name) : undefined;
    if (name) this.stats.connectionsNamed += 1;
    else this.stats.connectionsUnnamed += 1;
    const facts: ConnectionFacts = {
      flow,
      domain: name?.name,
      cnameChain: name ? name.chain.slice(1) : [],
      alternatives: name?.alternatives ?? [],
      answerAgeMs: name ? flow.startTime - name.answeredAt : undefined,
      nameSource: name ? 'dns' : 'none',
      resolver: name?.resolver,
      registeredDomain: g?.registered,
      domainGroup: g?.group ?? flow.serverIp,
      attribution: 'none',
      novelFor: [],
    };
    // Attribution starts at once (a short-lived socket leaves the kernel's tables when it
    // closes); naming may wait for the client's first bytes.
    const attributor = this.deps.attributor;
    let who: Promise<Attribution> | undefined;
    if (attributor !== undefined && this.mayAttribute()) who = this.attributing(attributor.attribute(flow, () => this.toldBy(flow)));
    else if (attributor !== undefined) facts.attributionSkipped = 'overload';
    const st: Pending = { facts, who, segments: undefined, bytes: 0, packets: 0, proxied };
    if (proxied) {
      facts.proxy = { ip: flow.serverIp, port: flow.serverPort };
      flow.wantServerPayload = true;
    }
    flow.data = st;
    if (flow.transport === 'udp') {
      // QUIC long header (RFC 9000 §17.2): the Initial carries the ClientHello.
      if (pkt.payloadLength > 0 && (pkt.buf[pkt.payloadOffset] & 0xc0) === 0xc0 && this.quicInitial(st, pkt)) {
        // Its rest is in the client's next Initial datagram, sent right behind this one.
        flow.wantPayload = true;
        this.awaitingPayload.add(st);
        return;
      }
      this.settle(st);
      return;
    }
    if (flow.midstream) {
      // Taken up mid-stream: its first bytes (ClientHello, request) went by unseen, but the data
      // that took it up may begin a request of its own (HTTP kept alive across an agent restart).
      const end = pkt.payloadOffset + pkt.payloadLength;
      if (looksLikeHttp(pkt.buf, pkt.payloadOffset, end)) {
        if (proxied) {
          const request = proxyRequest(pkt.buf, pkt.payloadOffset, end);
          if (request !== undefined) this.nameProxied(facts, request.target);
        } else {
          const r = sniffStream(pkt.buf, pkt.payloadOffset, pkt.payloadLength);
          if (r.kind === 'http') this.offerName(facts, 'http', r.name);
        }
        this.helloBytes = [pkt.buf, pkt.payloadOffset, end];
      }
      this.settle(st);
      this.helloBytes = undefined;
      return;
    }
    flow.wantPayload = true;
    this.awaitingPayload.add(st);
    // TCP Fast Open (RFC 7413) carries the first bytes (the ClientHello, the request) in the SYN.
    if (pkt.payloadLength > 0) this.clientPayload(flow, pkt);
  }

  /**
   * A client Initial datagram of a QUIC connection: gathers its CRYPTO data and names the
   * connection once the ClientHello's server_name is in. True while the rest of the ClientHello
   * may still come.
   */
  private quicInitial(st: Pending, pkt: PacketInfo): boolean {
    st.packets += 1;
    if (pkt.payloadLength >= QUIC_MIN_INITIAL && !this.quicBudget.take(this.packetTime)) {
      this.stats.quicInitialsSkipped += 1;
      return false;
    }
    const frags = st.segments ?? [];
    if (!quicInitialCrypto(pkt.buf, pkt.payloadOffset, pkt.payloadLength, frags)) return false;
    st.segments = frags;
    const r = quicHelloSni(frags, st.packets < QUIC_MAX_DATAGRAMS);
    if (r.kind === 'sni') {
      const hello = contiguousPrefix(frags, SNIFF_MAX_BYTES);
      this.offerSni(st.facts, 'quic', r.name, helloOffersEch(hello, 0, hello.length));
    }
    return r.kind === 'more';
  }

  /** A client payload packet of a flow still being named: SNI / HTTP Host (TCP), QUIC Initial SNI (UDP). */
  clientPayload(flow: Flow, pkt: PacketInfo): void {
    if (flow.data instanceof ProxyFollow) {
      this.proxyRequests(flow, flow.data, pkt.buf, pkt.payloadOffset, pkt.payloadOffset + pkt.payloadLength, this.packetTime);
      return;
    }
    const st = flow.data as Pending;
    if (flow.transport === 'udp') {
      if (!this.quicInitial(st, pkt)) this.settle(st);
      return;
    }
    st.packets += 1;
    // Where the segment's bytes sit in the client's stream: its first byte is ISN + 1 (the SYN
    // takes one sequence number; TCP Fast Open data in the SYN comes after it). Modulo 2^32: a
    // segment from before the start (a stray) comes out huge and is left out.
    const first = (pkt.tcpFlags & TCP_SYN) !== 0 ? pkt.tcpSeq + 1 : pkt.tcpSeq;
    const at = (first - flow.isn - 1) >>> 0;
    const take = at < SNIFF_MAX_BYTES ? Math.min(pkt.payloadLength, SNIFF_MAX_BYTES - at) : 0;
    let r: SniffResult = MORE;
    let inPlace = false;
    let data: Buffer | undefined;
    if (st.segments === undefined && at === 0) {
      // Most first payloads hold the whole ClientHello or request: read it in place.
      r = sniffStream(pkt.buf, pkt.payloadOffset, take);
      inPlace = true;
      st.bytes = take;
    } else if (take > 0) {
      (st.segments ??= []).push({ offset: at, data: Buffer.from(pkt.buf.subarray(pkt.payloadOffset, pkt.payloadOffset + take)) });
      st.bytes += take;
      data = contiguousPrefix(st.segments, SNIFF_MAX_BYTES);
      if (data.length > 0) r = sniffStream(data, 0, data.length);
    }
    const room = st.bytes < SNIFF_MAX_BYTES && st.packets < SNIFF_MAX_PACKETS;
    const [vb, vo, ve] = inPlace ? [pkt.buf, pkt.payloadOffset, pkt.payloadOffset + take] : [data ?? EMPTY_BYTES, 0, data?.length ?? 0];
    // The server name is in but not the whole ClientHello (a post-quantum key share can follow
    // it): the name counts now, and the rest is waited for like a name, for the alert's JA3.
    let waitHello = false;
    if (r.kind === 'sni' && !st.proxied && room) {
      waitHello = !clientHelloComplete(vb, vo, ve);
      // Taken when the ClientHello is whole (whether it offers ECH decides how), or at settle().
      if (waitHello) st.sni = r.name;
    }
    if (st.proxied && r.kind !== 'more' && looksLikeHttp(vb, vo, ve)) {
      // Only the request names a proxied connection (a TLS server name is the proxy's own): the
      // target of its request line, where the proxy goes; the Host header when that is a path.
      const request = proxyRequest(vb, vo, ve);
      if (request !== undefined) this.nameProxied(st.facts, request.target);
      const port = request?.port;
      if (port !== undefined && st.facts.proxy) st.facts.proxy.targetPort = port;
      // Through a CONNECT, the client's ClientHello follows in the tunnel, in the clear to us:
      // waited for (within the same bounds) for the alert's JA3.
      if (port !== undefined && room) {
        const tunnel = headerEnd(vb, vo, ve);
        waitHello = tunnel < 0 || tunnel === ve || (looksLikeTls(vb, tunnel, ve) && !clientHelloComplete(vb, tunnel, ve));
      }
    } else if (st.proxied && r.kind === 'none') {
      // A SOCKS proxy: the client's greeting, its authentication and its request follow one
      // another in its stream (the proxy's answers go the other way).
      const socks = sniffSocks(vb, vo, ve);
      if (socks === 'more') {
        r = MORE;
      } else if (socks !== undefined) {
        this.nameProxied(st.facts, socks.host);
        if (st.facts.proxy) {
          st.facts.proxy.targetPort = socks.port;
          st.facts.proxy.socks = socks.version;
        }
        // The tunnel's ClientHello follows, for the alert's JA3, as through a CONNECT.
        if (room && socks.command === 1) waitHello = socks.end === ve || (looksLikeTls(vb, socks.end, ve) && !clientHelloComplete(vb, socks.end, ve));
      }
    }
    if ((r.kind === 'more' || waitHello) && room) {
      // The capture buffer is reused for the next packet: copy what is kept.
      if (inPlace) st.segments = [{ offset: 0, data: Buffer.from(pkt.buf.subarray(pkt.payloadOffset, pkt.payloadOffset + take)) }];
      return;
    }
    if (!st.proxied && r.kind === 'sni') {
      st.sni = undefined;
      this.offerSni(st.facts, 'sni', r.name, recordsOfferEch(vb, vo, ve));
    } else if (!st.proxied && r.kind === 'http') {
      this.offerName(st.facts, 'http', r.name);
    }
    // Read in place: the bytes settle() may keep a copy of (the ClientHello) are this packet's.
    if (inPlace) this.helloBytes = [pkt.buf, pkt.payloadOffset, pkt.payloadOffset + take];
    this.settle(st);
    this.helloBytes = undefined;
  }

  /**
   * A proxy's answer to the connection's request: an HTTP status line (CONNECT 200 = the tunnel is
   * up, 403 = refused), or a SOCKS reply, which comes after the method selection (and the
   * authentication status), often in a segment of its own: gathered, bounded, until it is whole.
   */
  proxyAnswer(flow: Flow, pkt: PacketInfo): void {
    const end = pkt.payloadOffset + pkt.payloadLength;
    const first = flow.serverHead === undefined;
    const head = first ? pkt.buf.subarray(pkt.payloadOffset, end) : Buffer.concat([flow.serverHead as Buffer, pkt.buf.subarray(pkt.payloadOffset, end)]);
    const status = responseStatus(head, 0, head.length);
    if (status !== undefined) {
      flow.proxyStatus = status;
    } else {
      const socks = socksReply(head, 0, head.length);
      if (socks === 'more' && head.length < PROXY_ANSWER_BYTES) {
        flow.serverHead = Buffer.from(head.subarray(0, PROXY_ANSWER_BYTES)); // the capture buffer is reused
        return;
      }
      if (socks !== undefined && socks !== 'more') {
        flow.socksReply = socks.code;
        flow.socksOk = socks.ok;
      }
    }
    flow.serverHead = undefined;
    flow.wantServerPayload = false;
  }

  /**
   * The first client bytes of an internal connection on a proxy's port (FlowTable PROXY_PORTS):
   * a proxy request (CONNECT, an absolute-form request, a SOCKS greeting or request) means a proxy
   * the agent was not told of. Every connection through it goes to one internal address and
   * nothing alerts, silently: after PROXY_HINT_AFTER such connections the log says so, once, with
   * the --proxy setting that makes them visible.
   */
  private unconfiguredProxy(pkt: PacketInfo): void {
    // A proxy this host's software uses: an internal endpoint and a client of this host's (an
    // internal address, or one of its own). Not an internet scanner trying this host's public
    // address, or one reaching a port forwarded to an internal address, for an open proxy.
    if (this.classifier.isExternalAt(pkt.buf, pkt.dstOffset, pkt.ipVersion)) return;
    if (this.classifier.isExternalAt(pkt.buf, pkt.srcOffset, pkt.ipVersion) && !this.deps.hostAddresses?.has(this.textAt(pkt, pkt.srcOffset))) return;
    const buf = pkt.buf;
    const off = pkt.payloadOffset;
    const end = off + pkt.payloadLength;
    const target = requestTarget(buf, off, end)?.host;
    if (target === undefined && !looksLikeSocksHello(buf, off, end)) return;
    this.stats.unconfiguredProxyRequests += 1;
    const ip = this.textAt(pkt, pkt.dstOffset);
    const endpoint = endpointText(ip, pkt.dstPort);
    const seen = this.proxyHints.get(endpoint);
    if (seen === undefined && this.proxyHints.size >= MAX_PROXY_HINTS) return;
    this.proxyHints.set(endpoint, (seen ?? 0) + 1);
    if ((seen ?? 0) + 1 !== PROXY_HINT_AFTER) return;
    this.deps.logger.warn('connections to an internal address carry proxy requests: it is a proxy the agent was not told of, and where its connections go is not judged', {
      proxy: endpoint, example: target ?? '(a SOCKS request)', connections: PROXY_HINT_AFTER,
      fix: `add --proxy ${endpoint} (or proxies: [${endpoint}] in the config file)`,
    });
  }

  /** Text of the address at `off` in a DNS packet: IPv4 through the memo (the host's few clients and resolvers repeat). */
  private textAt(pkt: PacketInfo, off: number): string {
    return this.addressText.text(pkt.buf, off, pkt.ipVersion === 6 ? 6 : 4);
  }

  /**
   * Whether the attributor may be asked for one more owner: not while MAX_PENDING_ATTRIBUTIONS
   * wait (counted; the log says so when shedding starts, and tick() when it ends).
   */
  private mayAttribute(): boolean {
    if (this.pendingAttributionCount < MAX_PENDING_ATTRIBUTIONS) return true;
    this.stats.attributionsShed += 1;
    this.overloaded('shed');
    return false;
  }

  /** True (counted) when maxPendingJudgments connections are being judged already: one more is not. */
  private noRoomToJudge(): boolean {
    const bound = this.s.maxPendingJudgments;
    if (bound === undefined || this.pendingJudgments < bound) return false;
    this.stats.connectionsUnjudged += 1;
    this.overloaded('unjudged');
    return true;
  }

  /**
   * Counts what an overload gave up (an attribution shed, a connection not judged); the log says
   * so once for each when it starts, and tick() when it is over.
   */
  private overloaded(what: 'shed' | 'unjudged'): void {
    const o = this.overload ?? { since: this.packetTime, shed: 0, unjudged: 0 };
    this.overload = o;
    o[what] += 1;
    if (o[what] !== 1) return;
    if (what === 'shed') {
      this.deps.logger.warn('attribution overloaded: new connections are judged for the host only until it catches up', {
        pending: this.pendingAttributionCount,
        why: 'new connections (or DNS query sockets) come faster than their processes can be looked up: a scan from this host, or a burst',
        metric: 'egresswatch_attributions_shed',
      });
    } else {
      this.deps.logger.warn('judging overloaded: new connections are not judged until it catches up', {
        waiting: this.pendingJudgments,
        why: 'new connections come faster than the agent can judge them (a scan from this host); the packets the kernel has no room for are dropped meanwhile',
        metric: 'egresswatch_connections_unjudged',
      });
    }
  }

  /** Counts `asked` as pending until it is answered. */
  private attributing<T>(asked: Promise<T>): Promise<T> {
    this.pendingAttributionCount += 1;
    return asked.finally(() => {
      this.pendingAttributionCount -= 1;
    });
  }

  /** The one process that DNS gave the flow's address to just before it started, if only one was (ResolverOwners.soleResolver). */
  private toldBy(flow: Flow): FallbackOwner | undefined {
    const pid = this.resolvers.soleResolver(flow.serverIp, flow.startTime - TOLD_WINDOW_MS, flow.startTime);
    return pid === undefined ? undefined : { pid, method: 'per-process-dns', confidence: 'medium' };
  }

  /**
   * Where a request to a proxy asked it to go, as the connection's destination: a name, or an
   * address literal (`CONNECT 203.0.113.5:443`: no name to be had, the address is the domain
   * group, as for a direct connection to an unnamed address). undefined: nothing to judge (an
   * internal address behind the proxy, or no usable name).
   */
  private proxiedDestination(target: string): { domain?: string; group: string; registered?: string; ip?: string } | undefined {
    const ip = canonicalAddress(target);
    if (ip !== undefined) return this.classifier.isExternal(ip) ? { group: ip, ip } : undefined;
    if (ADDRESS_LITERAL.test(target) || target.includes(':')) return undefined;
    const [group, registered] = this.groupOf(target);
    return { domain: target, group, registered };
  }

  /** Names a proxied connection by its request's target (see proxiedDestination). */
  private nameProxied(facts: ConnectionFacts, target: string): void {
    const d = this.proxiedDestination(target);
    if (d === undefined) return;
    facts.domain = d.domain;
    facts.nameSource = 'http';
    facts.cnameChain = [];
    facts.answerAgeMs = undefined;
    facts.domainGroup = d.group;
    facts.registeredDomain = d.registered;
    if (d.ip !== undefined && facts.proxy) facts.proxy.targetIp = d.ip;
  }

  /**
   * The server name of a ClientHello. One that offers Encrypted Client Hello may carry the
   * provider's public name (`cloudflare-ech.com` for every site behind it) instead of the site:
   * when DNS named the address and none of the names DNS gave it is the server name, DNS's name
   * stays (the server name joins the alternatives). A server name DNS gave the address too is
   * the site's, with ECH or its GREASE (Chrome sends one on every connection): taken as always.
   */
  private offerSni(facts: ConnectionFacts, source: 'sni' | 'quic', name: string, ech: boolean): void {
    facts.serverName = name;
    if (ech && facts.nameSource !== 'dns') {
      // Nothing to tell ECH from its GREASE by: the alert says the name may be a public one.
      facts.echOffered = true;
    } else if (ech && facts.domain !== name && !facts.alternatives.includes(name)) {
      facts.echOffered = true;
      facts.alternatives = [name, ...facts.alternatives];
      return;
    }
    this.offerName(facts, source, name);
  }

  /** Takes `name` from `source` when the trust order puts it above the current name. */
  private offerName(facts: ConnectionFacts, source: 'sni' | 'http' | 'quic', name: string): void {
    // An address literal (Host: 203.0.113.5) names nothing the IP does not already say.
    if (ADDRESS_LITERAL.test(name) || name.includes(':')) return;
    if (facts.nameSource !== 'none' && this.rank(source) >= this.rank(facts.nameSource)) {
      if (facts.domain !== name && !facts.alternatives.includes(name)) facts.alternatives = [name, ...facts.alternatives];
      return;
    }
    const before = facts.domain;
    // The client named what DNS named (the usual case): same name, same group.
    const [group, registered] = name === before ? [facts.domainGroup, facts.registeredDomain] : this.groupOf(name);
    if (before !== undefined && before !== name) facts.alternatives = [before, ...facts.alternatives.filter((n) => n !== before && n !== name)];
    facts.domain = name;
    facts.nameSource = source;
    facts.cnameChain = [];
    facts.answerAgeMs = undefined;
    facts.domainGroup = group;
    facts.registeredDomain = registered;
  }

  /** The name is as good as it will get: judge the connection. */
  private settle(st: Pending): void {
    if (st.settled) return;
    st.settled = true;
    // A server name whose ClientHello never came whole (ECH unknown).
    if (st.sni !== undefined) this.offerSni(st.facts, 'sni', st.sni, false);
    const segments = st.segments;
    st.segments = undefined;
    this.awaitingPayload.delete(st);
    const facts = st.facts;
    const flow = facts.flow;
    flow.wantPayload = false;
    // Judged from here on: the flow (a UDP flow lives until it has been idle a minute) need not
    // keep its facts; the judgement and a held alert keep what they use.
    flow.data = undefined;
    if (st.proxied) {
      // A request that named nothing (TLS to the proxy itself, another protocol) leaves a
      // connection to the proxy: judged as that only when the proxy is external.
      if (facts.nameSource === 'none') {
        this.stats.proxiedUnnamed += 1;
        this.tlsToProxy(flow, segments);
        if (!this.classifier.isExternal(flow.serverIp)) return;
        facts.proxy = undefined; // judged as a connection to the proxy itself
      } else {
        this.stats.proxied += 1;
      }
    }
    // Another machine's connection, routed through this host: left alone when asked to (without attribution, nothing is this host's own).
    if (st.who === undefined && flow.forwarded && this.s.ignoreForwarded) {
      this.stats.forwardedIgnored += 1;
      return;
    }
    this.stats.namedBy[facts.nameSource] = (this.stats.namedBy[facts.nameSource] ?? 0) + 1;
    // A plain HTTP request to a proxy (not a CONNECT): the connection's later requests are read too.
    const follow = st.proxied && facts.nameSource === 'http' && facts.proxy !== undefined && facts.proxy.targetPort === undefined && !flow.ended
      ? new ProxyFollow({ ip: facts.proxy.ip, port: facts.proxy.port }, st.who, new Set([facts.domainGroup])) : undefined;
    const first = follow ? this.helloBytes ?? firstBytes(segments) : undefined;
    this.judgeSettled(facts, segments, st.who);
    if (follow && first) {
      flow.data = follow;
      flow.wantPayload = true;
      // Requests written at once behind the first one (pipelining).
      const next = headerEnd(first[0], first[1], first[2]);
      if (next >= 0) this.proxyRequests(flow, follow, first[0], next, first[2], this.packetTime);
    }
  }

  /**
   * Tells once per proxy when its clients speak TLS to the proxy itself (an https:// proxy URL):
   * their requests, and so their destinations, cannot be read; an operator should know the agent
   * is blind there rather than find out from the metric.
   */
  private tlsToProxy(flow: Flow, segments: StreamFragment[] | undefined): void {
    const proxy = `${flow.serverIp}|${flow.serverPort}`;
    if (this.tlsProxiesTold.has(proxy)) return;
    const [buf, off, end] = this.helloBytes ?? firstBytes(segments);
    if (!looksLikeTls(buf, off, end) || end - off < 2) return;
    this.tlsProxiesTold.add(proxy);
    this.deps.logger.warn('connections to a proxy carry TLS to the proxy itself (an https:// proxy): where they go cannot be read, and they are not judged unless the proxy is external', {
      proxy: endpointText(flow.serverIp, flow.serverPort),
      fix: 'have clients reach this proxy over plain HTTP (http:// proxy URL; CONNECT still carries their TLS end to end)',
    });
  }

  private judgeSettled(facts: ConnectionFacts, segments: StreamFragment[] | undefined, who: Promise<Attribution> | undefined): void {
    const flow = facts.flow;
    // Without attribution (a replay, or shed) the judge key is known now: skip the whole async path for repeats.
    if (who === undefined && this.repeats(facts.domainGroup, facts)) return;
    // What only an alert carries: a copy of the ClientHello or the HTTP request (for its TLS
    // fingerprint or User-Agent; this packet's bytes are gone after it) and the encrypted-DNS
    // flag. Taken only when an alert may follow: most judged connections go to a destination the
    // baseline already holds, and judgeNow clears them from memory at once (replay of the bench
    // capture: 14,800 of 18,800, ~5 µs each).
    const forAlert = (): void => {
      this.keepFirstBytes(facts, segments);
      if (this.encryptedDns.isEncrypted(flow.serverIp, flow.serverPort, facts.domain, true)) facts.encryptedDns = true;
    };
    if (who === undefined && (facts.nameSource !== 'none' || !this.deps.ptr) && this.judgeNow(facts, forAlert)) return;
    forAlert();
    // Settled after a wait for its first bytes while the judging fell behind: no room either
    // (and its key, taken above when unattributed, is free for the next connection).
    if (this.noRoomToJudge()) {
      this.notJudged(facts);
      return;
    }
    this.track(this.judge(facts, who), facts);
  }

  /**
   * Client bytes of a kept-alive proxy connection from `off`: the requests that start there (a
   * request whose head is split over segments is not read). Each names its destination.
   */
  private proxyRequests(flow: Flow, fw: ProxyFollow, buf: Buffer, off: number, end: number, time: number): void {
    for (let n = 0; n < MAX_REQUESTS_PER_SEGMENT && off < end && looksLikeHttp(buf, off, end); n++) {
      const head = headerEnd(buf, off, end);
      const request = proxyRequest(buf, off, end);
      if (request === undefined) return;
      this.proxyRequest(flow, fw, request.target, request.port, buf, off, head < 0 ? end : head, time);
      if (head < 0 || flow.data !== fw) return;
      off = head;
    }
  }

  /**
   * A later request on a proxy connection, for `name` (`port`: a CONNECT's): judged as a
   * connection of its own when it names a domain group the connection has not.
   */
  private proxyRequest(flow: Flow, fw: ProxyFollow, name: string, port: number | undefined, buf: Buffer, off: number, end: number, time: number): void {
    fw.requests += 1;
    const stop = (): void => {
      flow.wantPayload = false;
      flow.data = undefined;
    };
    // A CONNECT turns the connection into a tunnel: what follows is not requests to the proxy.
    if (port !== undefined) stop();
    const d = this.proxiedDestination(name);
    if (d === undefined) return;
    const group = d.group;
    if (fw.groups.has(group)) return;
    if (fw.groups.size >= MAX_PROXY_GROUPS) {
      stop();
      return;
    }
    fw.groups.add(group);
    const facts: ConnectionFacts = {
      flow, domain: d.domain, cnameChain: [], alternatives: [], nameSource: 'http', registeredDomain: d.registered, domainGroup: group,
      attribution: 'none', novelFor: [], proxy: { ip: fw.proxy.ip, port: fw.proxy.port, targetPort: port, targetIp: d.ip, request: fw.requests }, at: time,
    };
    this.stats.proxied += 1;
    this.stats.namedBy.http = (this.stats.namedBy.http ?? 0) + 1;
    if (fw.who === undefined && this.repeats(group, facts)) return;
    facts.httpRequest = Buffer.from(buf.subarray(off, Math.min(end, off + MAX_REQUEST_HEAD)));
    if (fw.who === undefined && this.judgeNow(facts)) return;
    this.track(this.judge(facts, fw.who), facts);
  }

  private track(judging: Promise<void>, facts: ConnectionFacts): void {
    const flow = facts.flow;
    const work = judging.catch((err: unknown) => {
      this.stats.internalErrors += 1;
      const n = ++this.stats.judgeErrors;
      this.firstJudgeError ??= err;
      this.notJudged(facts);
      // A failing disk fails every new destination: logged at the 1st, 10th, 100th, ... one.
      if (isLogPoint(n)) {
        this.deps.logger.error('connection could not be judged (no alert for it; the next connection to its destination is judged again)', {
          error: (err as Error).message, flow: flow.key, failures: n,
        });
      }
    });
    this.inflight.add(work);
    void work.finally(() => this.inflight.delete(work));
  }

  /** `facts` was not judged after all: the next connection under its key must be, not skipped as a repeat of it. */
  private notJudged(facts: ConnectionFacts): void {
    this.forgetRelated(facts);
    if (facts.judgeKey !== undefined && this.judged.get(facts.judgeKey) === facts.flow.startTime) this.judged.delete(facts.judgeKey);
  }

  /**
   * Judges an unattributed connection at once when the baseline can decide from memory; a new
   * destination still waits for its baseline entry to be written before it alerts. False:
   * nothing done, judge() it. `forAlert` runs before anything else when the verdict is one
   * that alerts (novel, not learning).
   */
  private judgeNow(facts: ConnectionFacts, forAlert?: () => void): boolean {
    const baseline = this.deps.baseline;
    if (typeof baseline === 'function') return false;
    const sync = baseline.observeSync({ host: this.s.hostName, software: undefined, group: facts.domainGroup, time: facts.at ?? facts.flow.startTime });
    if (sync === undefined) return false;
    if (forAlert !== undefined && sync.verdict.novelFor.length > 0 && !sync.verdict.learning) forAlert();
    facts.attribution = NO_ATTRIBUTION.method;
    facts.confidence = NO_ATTRIBUTION.confidence;
    if (sync.durable === undefined) this.conclude(facts, sync.verdict);
    else this.track(sync.durable.then(() => this.conclude(facts, sync.verdict)), facts);
    return true;
  }

  private async judge(facts: ConnectionFacts, attribution?: Promise<Attribution>): Promise<void> {
    const flow = facts.flow;
    const who = attribution ? await attribution : NO_ATTRIBUTION;
    const d = who.described;
    if (d === undefined && flow.forwarded && this.s.ignoreForwarded) {
      this.stats.forwardedIgnored += 1;
      return;
    }
    if (d && d.process.pid === process.pid) {
      // The agent's own traffic (PTR lookups, a collector) never alerts.
      this.stats.ownTraffic += 1;
      return;
    }
    if (d && d.software.id === '') {
      // A process caught while exiting can show an empty command line: name it by its comm,
      // and keep it out of the per-software baseline rather than keying it on "".
      d.software = { id: d.process.exe ?? `[${d.process.name}]`, kind: 'unknown' };
      d.softwareKey = '';
    }
    // Through a proxy, what the process resolved for the proxy's address is the proxy's own name, not where the request went.
    if (d && !facts.proxy) this.preferOwnName(facts, d.process.pid);
    if (facts.nameSource === 'none' && d?.hosts) this.nameByHosts(facts, d.hosts);
    if (facts.nameSource === 'none' && this.deps.ptr) await this.nameByPtr(facts);
    facts.attribution = who.method;
    facts.confidence = who.confidence;
    facts.process = d?.process;
    if (d === undefined && who.gone !== undefined) facts.goneProcess = who.gone;
    facts.software = d?.software;
    facts.softwareKey = d && d.softwareKey !== '' ? (this.s.normalizeVersions ? d.softwareKey : softwareKey(d.software, d.container, { normalize: false })) : undefined;
    facts.mainFile = d?.mainFile;
    facts.container = d?.container;
    facts.systemdUnit = d?.unit;
    if (attribution !== undefined && this.repeats(`${facts.softwareKey ?? ''}\n${facts.domainGroup}`, facts)) return;
    const baseline = typeof this.deps.baseline === 'function' ? await this.deps.baseline() : this.deps.baseline;
    const seen = { host: this.s.hostName, software: facts.softwareKey, group: facts.domainGroup, time: facts.at ?? flow.startTime };
    const sync = baseline.observeSync(seen);
    if (sync?.durable !== undefined) await sync.durable;
    this.conclude(facts, sync?.verdict ?? await baseline.observe(seen));
  }

  /** The baseline's verdict is in: learning, suppressed, or an alert (held or emitted). */
  private conclude(facts: ConnectionFacts, verdict: Verdict): void {
    const flow = facts.flow;
    if (verdict.novelFor.length === 0 || verdict.learning) {
      this.forgetRelated(facts);
      if (verdict.novelFor.length > 0) this.stats.learningSuppressed += 1;
      return;
    }
    const rule = this.suppressions.match({
      domain: facts.domain, domainGroup: facts.domainGroup, softwareId: facts.software?.id, softwareKey: facts.softwareKey,
      userName: facts.process?.userName, uid: facts.process?.uid, ip: flow.serverIp, port: flow.serverPort,
      image: facts.container?.image?.name, unit: facts.systemdUnit,
    });
    if (rule) {
      this.forgetRelated(facts);
      return; // counted by the rule set (stats.byRule); the baseline already has it
    }
    facts.novelFor = verdict.novelFor;
    facts.hostFirstSeen = verdict.hostFirstSeen;
    facts.softwareFirstSeen = verdict.softwareFirstSeen;
    const now = this.deps.now();
    if (flow.ended) this.emitAlert(facts);
    else this.hold.add(flow, facts, (facts.at ?? flow.startTime) + this.s.alertDelayMs, now);
  }

  /**
   * Copies of the client's first bytes the alert reads: its ClientHello handshake message (TLS
   * records over TCP, CRYPTO data of QUIC Initials), or the head of its HTTP request. From the
   * bytes gathered for the connection (read in place: helloBytes).
   */
  private keepFirstBytes(facts: ConnectionFacts, segments: StreamFragment[] | undefined): void {
    if (facts.flow.transport === 'udp') {
      // The CRYPTO data of a client's Initials is its ClientHello (decrypted copies already).
      const data = segments ? contiguousPrefix(segments, SNIFF_MAX_BYTES) : undefined;
      if (data !== undefined && data.length > 0) facts.clientHello = data;
      return;
    }
    const [buf, off, end] = this.helloBytes ?? firstBytes(segments);
    const hello = clientHelloFromRecords(buf, off, end);
    if (hello) {
      facts.clientHello = Buffer.from(hello);
    } else if (looksLikeHttp(buf, off, end)) {
      facts.httpRequest = Buffer.from(buf.subarray(off, Math.min(end, off + MAX_REQUEST_HEAD)));
      // A proxy's CONNECT: the tunnel's first bytes, when they are a ClientHello.
      const tunnel = facts.proxy ? headerEnd(buf, off, end) : -1;
      const inner = tunnel >= 0 ? clientHelloFromRecords(buf, tunnel, end) : undefined;
      if (inner) facts.clientHello = Buffer.from(inner);
    } else if (facts.proxy?.socks !== undefined) {
      // Through a SOCKS proxy: the ClientHello after the request.
      const socks = sniffSocks(buf, off, end);
      const inner = socks !== undefined && socks !== 'more' ? clientHelloFromRecords(buf, socks.end, end) : undefined;
      if (inner) facts.clientHello = Buffer.from(inner);
    }
  }

  /**
   * An address no DNS answer, SNI or Host named, that the process's own hosts file names: what
   * the program resolved without DNS (a pinned endpoint, a pod's hostAliases).
   */
  private nameByHosts(facts: ConnectionFacts, hosts: ReadonlyMap<string, string>): void {
    const name = hosts.get(facts.flow.serverIp);
    if (name !== undefined) this.nameUnnamed(facts, 'hosts', name);
  }

  /** Last resort: the address's reverse (PTR) name. */
  private async nameByPtr(facts: ConnectionFacts): Promise<void> {
    const name = await this.deps.ptr?.lookup(facts.flow.serverIp);
    if (name) this.nameUnnamed(facts, 'ptr', name);
  }

  /** Names a connection nothing named yet (no chain, no answer age to reset) by `name` from `source`. */
  private nameUnnamed(facts: ConnectionFacts, source: 'hosts' | 'ptr', name: string): void {
    const [group, registered] = this.groupOf(name);
    facts.domain = name;
    facts.nameSource = source;
    facts.domainGroup = group;
    facts.registeredDomain = registered;
  }

  /** Names the connection by what its own process resolved for the address, when it did. */
  private preferOwnName(facts: ConnectionFacts, pid: number): void {
    const own = this.resolvers.nameFor(pid, facts.flow.serverIp, facts.flow.startTime);
    if (!own) return;
    facts.resolvedByProcess = true;
    if (own.name === facts.domain) return;
    const host = facts.domain;
    const [group, registered] = this.groupOf(own.name);
    facts.domain = own.name;
    facts.cnameChain = own.chain.slice(1);
    facts.alternatives = host ? [host, ...facts.alternatives.filter((n) => n !== host && n !== own.name)] : facts.alternatives;
    facts.answerAgeMs = facts.flow.startTime - own.answeredAt;
    facts.nameSource = 'dns';
    facts.domainGroup = group;
    facts.registeredDomain = registered;
  }

  /** Place of a name source in the trust order (0 = most trusted; unlisted ones last). */
  private rank(source: string): number {
    const i = this.s.nameOrder.indexOf(source);
    return i < 0 ? this.s.nameOrder.length : i;
  }

  private groupOf(name: string): [string, string | undefined] {
    const g = this.grouper.lookup(name);
    return [g.group, g.registered];
  }

  /**
   * True when the connection of `facts` repeats one judged within REJUDGE_AFTER_MS under the same
   * `key` (host or software, and domain group): it joins that one's alert, if one is coming,
   * as a related connection. Otherwise it is the one judged, and later ones join it.
   */
  private repeats(key: string, facts: ConnectionFacts): boolean {
    const flow = facts.flow;
    const first = this.relatedByKey.get(key);
    // Started within the alert delay of the first, before or after it (connections are judged
    // in the order their names settle: an unanswered SYN waits a second for first bytes that
    // its rival already sent): what the first one's hold gathers live.
    if (first?.related !== undefined && first.related.length < MAX_RELATED && Math.abs(flow.startTime - first.flow.startTime) <= this.s.alertDelayMs) {
      first.related.push(flow);
      return true;
    }
    if (this.recentlyJudged(key, flow.startTime)) return true;
    facts.judgeKey = key;
    facts.related = [];
    if (this.relatedByKey.size >= MEMO_ENTRIES) this.relatedByKey.clear();
    this.relatedByKey.set(key, facts);
    return false;
  }

  /** The connection's judgment is over (no alert, or its alert is out): later ones no longer join it. */
  private forgetRelated(facts: ConnectionFacts): void {
    if (facts.judgeKey !== undefined && this.relatedByKey.get(facts.judgeKey) === facts) this.relatedByKey.delete(facts.judgeKey);
  }

  /** True when `key` was judged within REJUDGE_AFTER_MS before `time`; records `time` otherwise. */
  private recentlyJudged(key: string, time: number): boolean {
    const last = this.judged.get(key);
    if (last !== undefined && time - last >= 0 && time - last < REJUDGE_AFTER_MS) {
      this.stats.judgedRecently += 1;
      return true;
    }
    if (this.judged.size >= MEMO_ENTRIES) this.judged.clear();
    this.judged.set(key, time);
    return false;
  }

  connectionEnded(flow: Flow, _reason: FlowEndReason): void {
    const st = flow.data as Pending | ProxyFollow | undefined;
    if (st !== undefined && !(st instanceof ProxyFollow)) this.settle(st);
    flow.data = undefined;
    this.hold.release(flow);
  }

  private emitAlert(facts: ConnectionFacts): void {
    this.forgetRelated(facts);
    const alert = buildAlert(facts, {
      hostName: this.s.hostName,
      hostId: this.s.hostId,
      hostOs: this.deps.hostOs,
      agentVersion: AGENT_VERSION,
      baselineWindowDays: Math.round(this.s.baselineWindowMs / DAY_MS),
      now: this.deps.now(),
    });
    this.stats.alerts += 1;
    if (facts.novelFor.includes('host')) this.stats.alertsHost += 1;
    if (facts.novelFor.includes('software')) this.stats.alertsSoftware += 1;
    try {
      this.deps.emit(alert);
    } catch (err) {
      this.stats.internalErrors += 1;
      this.deps.logger.error('alert output failed', { error: (err as Error).message });
    }
  }
}

const EMPTY_BYTES = Buffer.alloc(0);

/** The first contiguous client bytes gathered for a connection, as (buffer, start, end). */
function firstBytes(segments: StreamFragment[] | undefined): [Buffer, number, number] {
  const data = segments ? contiguousPrefix(segments, SNIFF_MAX_BYTES) : Buffer.alloc(0);
  return [data, 0, data.length];
}

/** 1, 10, 100, 1000, ...: when a repeating failure is logged again. */
export function isLogPoint(n: number): boolean {
  while (n >= 10 && n % 10 === 0) n /= 10;
  return n === 1;
}
