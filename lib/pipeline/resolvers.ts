// Which process resolved which name. A DNS query's client socket is attributed like a
// connection (its pid only); the answers that come back to that socket are kept per pid, so
// when one IP carries several names (CDNs, shared hosting) a connection is named by what its
// own process asked for, not by whichever answer the host saw last. The same record read the
// other way names the process of a connection whose socket was gone before it could be looked
// up: a client holds its DNS socket for the whole lookup round trip, milliseconds to a real
// upstream resolver, which can outlast a connection to a nearby server that is over within a
// millisecond (attribution method `per-process-dns`; see Pipeline.toldBy). Only when every
// answer that gave the address to anyone on the host in the window went to that one process's
// sockets: an answer to a socket whose owner was not found could have gone to the connection's
// real process. Against a resolver that answers within ~0.3 ms (the test harness's local
// dnsmasq) the DNS socket is gone as fast as the connection's, and this adds little.
import { OrderedMap } from '../collections/index.js';
import type { DnsResponseInfo } from '../dns/index.js';

export interface ProcessName {
  name: string;
  chain: string[];
  answeredAt: number;
}

/** An answer that gave an address to a client socket. */
interface Told {
  /** The client socket it went to, as it was then: its port may since belong to another process. */
  state: SocketState;
  at: number;
  /** The query went to a resolver on loopback (a local stub such as systemd-resolved or dnsmasq). */
  viaLoopback: boolean;
}

export interface ResolverOwnersOptions {
  /** Query sockets remembered (pending or attributed); default 4096. */
  maxSockets?: number;
  /** Processes with names kept; default 1024. */
  maxPids?: number;
  /** Addresses kept per process; default 256. */
  maxNamesPerPid?: number;
  /** How long a process's answer names its connections, ms; default 10 minutes. */
  ttlMs?: number;
  /** Addresses whose recent answers are kept (see soleResolver); default 16384. */
  maxAddresses?: number;
}

/** Answers remembered per address (one per client socket), newest first. */
const ANSWERS_PER_ADDRESS = 8;

/** One query socket (client address and port) from its first query until its port may be another's. */
export interface SocketState {
  pid?: number;
  /** Answers that arrived before the socket's owner was known. */
  pending: { info: DnsResponseInfo; at: number }[];
  /** Packet time of its last query. */
  lastQuery: number;
}

/**
 * A closed DNS socket's port is soon picked again, by any process (each lookup of a stub
 * resolver such as glibc's opens a socket on a random port). A query on a known address and
 * port more than this after the last one is taken as a new socket and looked up again; the
 * queries of one lookup (A and AAAA, retries) come within it.
 */
const SOCKET_REUSE_MS = 1_000;

export class ResolverOwners {
  readonly stats = { socketsSeen: 0, socketsAttributed: 0, answersKept: 0, evictions: 0 };
  private readonly sockets = new OrderedMap<string, SocketState>();
  private readonly byPid = new OrderedMap<number, OrderedMap<string, ProcessName>>();
  private readonly byIp = new OrderedMap<string, Told[]>();
  /** Newest answer of any address dropped by the maxAddresses bound: a window reaching back to it may miss answers. */
  private forgottenUntil = Number.NEGATIVE_INFINITY;
  private readonly maxAddresses: number;
  private readonly maxSockets: number;
  private readonly maxPids: number;
  private readonly maxNames: number;
  private readonly ttlMs: number;

  constructor(opts: ResolverOwnersOptions = {}) {
    this.maxSockets = opts.maxSockets ?? 4096;
    this.maxPids = opts.maxPids ?? 1024;
    this.maxNames = opts.maxNamesPerPid ?? 256;
    this.ttlMs = opts.ttlMs ?? 600_000;
    this.maxAddresses = opts.maxAddresses ?? 16_384;
  }

  /**
   * A query left `socket` at `now`; the socket's state when it is new (or its port may have
   * been taken again since its last query, or its owner is no longer `alive`) and should be
   * attributed, else undefined.
   */
  query(socket: string, now: number, alive?: (pid: number) => boolean): SocketState | undefined {
    const known = this.sockets.get(socket);
    // A port its owner cannot hold any more (the process is gone: the next lookup of a
    // short-lived client took the port within the second) is another socket, however recent.
    if (known !== undefined && now >= known.lastQuery && now - known.lastQuery <= SOCKET_REUSE_MS
      && (known.pid === undefined || alive === undefined || alive(known.pid))) {
      known.lastQuery = now;
      return undefined;
    }
    // A new socket, or a port that may be another process's now: answers already told keep
    // the old state (and its owner); the new one is looked up.
    if (known !== undefined) this.sockets.delete(socket);
    this.stats.socketsSeen++;
    const state: SocketState = { pending: [], lastQuery: now };
    this.sockets.set(socket, state);
    this.stats.evictions += this.sockets.trim(this.maxSockets);
    return state;
  }

  /** The owner of the socket `state` (query()'s answer) is known, or not found (undefined). */
  owner(socket: string, pid: number | undefined, state: SocketState | undefined = this.sockets.get(socket)): void {
    if (!state) return;
    if (pid === undefined) {
      if (this.sockets.get(socket) === state) this.sockets.delete(socket);
      return;
    }
    this.stats.socketsAttributed++;
    state.pid = pid;
    for (const p of state.pending) this.keep(pid, p.info, p.at);
    state.pending = [];
  }

  /** An answer arrived at `socket` (the querying client's address and port). */
  answer(socket: string, info: DnsResponseInfo, now: number): void {
    if (info.answers.length === 0) return;
    // Every answer counts for soleResolver(), whether its socket's owner is known or not.
    const viaLoopback = socket.startsWith('127.') || socket.startsWith('::1|');
    const s = this.sockets.get(socket);
    const state = s ?? { pending: [], lastQuery: Number.NEGATIVE_INFINITY }; // never asked about: no owner
    for (const a of info.answers) this.told(a.ip, { state, at: now, viaLoopback });
    if (!s) return;
    if (s.pid !== undefined) this.keep(s.pid, info, now);
    else if (s.pending.length < 8) s.pending.push({ info, at: now });
  }

  /**
   * The one process that every answer giving `ip` to this host between `from` and `to`
   * (inclusive) went to, or undefined: no such answer, answers to sockets of different
   * processes, to a socket whose owner was not found, or more answers than are kept (per
   * address, or addresses dropped by the bound within the window). Where a
   * local stub resolver forwards for the host, both the asking process (over loopback) and the
   * stub (from its upstream) were given the address: only the answers over loopback count then.
   */
  soleResolver(ip: string, from: number, to: number): number | undefined {
    if (from <= this.forgottenUntil) return undefined;
    const kept = this.byIp.get(ip) ?? [];
    let inWindow = kept.filter((t) => t.at >= from && t.at <= to);
    // All kept answers are in the window: older ones in it may have been dropped.
    if (inWindow.length === ANSWERS_PER_ADDRESS) return undefined;
    if (inWindow.some((t) => t.viaLoopback)) inWindow = inWindow.filter((t) => t.viaLoopback);
    let pid: number | undefined;
    for (const t of inWindow) {
      const owner = t.state.pid;
      if (owner === undefined || (pid !== undefined && owner !== pid)) return undefined;
      pid = owner;
    }
    return pid;
  }

  /** The name `pid` itself resolved for `ip`, if it did recently. */
  nameFor(pid: number, ip: string, now: number): ProcessName | undefined {
    const n = this.byPid.get(pid)?.get(ip);
    if (!n || now - n.answeredAt > this.ttlMs) return undefined;
    return n;
  }

  private keep(pid: number, info: DnsResponseInfo, at: number): void {
    let names = this.byPid.get(pid);
    if (!names) {
      names = new OrderedMap();
      this.byPid.set(pid, names);
      this.stats.evictions += this.byPid.trim(this.maxPids);
    }
    for (const a of info.answers) {
      names.delete(a.ip);
      names.set(a.ip, { name: a.chain[0], chain: a.chain, answeredAt: at });
      this.stats.evictions += names.trim(this.maxNames);
      this.stats.answersKept++;
    }
  }

  private told(ip: string, t: Told): void {
    const old = this.byIp.get(ip);
    const list = [t, ...(old ?? []).filter((o) => o.state !== t.state)].slice(0, ANSWERS_PER_ADDRESS);
    if (!old && this.byIp.size >= this.maxAddresses) {
      const gone = this.byIp.shift();
      if (gone) {
        this.stats.evictions++;
        this.forgottenUntil = Math.max(this.forgottenUntil, gone[1][0]!.at);
      }
    }
    this.byIp.set(ip, list, true);
  }
}

