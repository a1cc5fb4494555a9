// Which process resolved which name. A DNS query's client socket is attributed like a
// connection (its pid only); the answers that come back to that socket are kept per pid, so
// when one IP carries several names (CDNs, shared hosting) a connection is named by what its
// own process asked for, not by whichever answer the host saw last. The same record read the
// other way (address → the processes that were just told it) names the process of a connection
// whose socket was gone before it could be looked up: a client holds its DNS socket for the
// whole lookup round trip, milliseconds to a real upstream resolver, which can outlast a
// connection to a nearby server that is over within a millisecond (attribution method
// `per-process-dns`; see Pipeline.toldBy). Against a resolver that answers within ~0.3 ms (the
// test harness's local dnsmasq) the DNS socket is gone as fast, and this adds little.
import { OrderedMap } from '../collections/index.js';
import type { DnsResponseInfo } from '../dns/index.js';

export interface ProcessName {
  name: string;
  chain: string[];
  answeredAt: number;
}

/** A process that was told an address. */
export interface AddressResolver {
  pid: number;
  answeredAt: number;
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
  /** Addresses whose resolving processes are kept (see resolversOf); default 16384. */
  maxAddresses?: number;
}

/** Processes remembered per address, newest first. */
const RESOLVERS_PER_ADDRESS = 4;

interface SocketState {
  pid?: number;
  /** Answers that arrived before the socket's owner was known. */
  pending: { info: DnsResponseInfo; at: number }[];
}

export class ResolverOwners {
  readonly stats = { socketsSeen: 0, socketsAttributed: 0, answersKept: 0, evictions: 0 };
  private readonly sockets = new OrderedMap<string, SocketState>();
  private readonly byPid = new OrderedMap<number, OrderedMap<string, ProcessName>>();
  private readonly byIp = new OrderedMap<string, AddressResolver[]>();
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

  /** A query left `socket`; true when the socket is new and should be attributed. */
  query(socket: string): boolean {
    if (this.sockets.has(socket)) return false;
    this.stats.socketsSeen++;
    bounded(this.sockets, this.maxSockets, () => this.stats.evictions++);
    this.sockets.set(socket, { pending: [] });
    return true;
  }

  /** The socket's owner is known (or not: undefined). */
  owner(socket: string, pid: number | undefined): void {
    const s = this.sockets.get(socket);
    if (!s) return;
    if (pid === undefined) {
      this.sockets.delete(socket);
      return;
    }
    this.stats.socketsAttributed++;
    s.pid = pid;
    for (const p of s.pending) this.keep(pid, p.info, p.at, socket);
    s.pending = [];
  }

  /** An answer arrived at `socket` (the querying client's address and port). */
  answer(socket: string, info: DnsResponseInfo, now: number): void {
    const s = this.sockets.get(socket);
    if (!s || info.answers.length === 0) return;
    if (s.pid !== undefined) this.keep(s.pid, info, now, socket);
    else if (s.pending.length < 8) s.pending.push({ info, at: now });
  }

  /**
   * The processes told `ip` between `from` and `to` (inclusive), newest first. Where a local stub
   * resolver forwards for the host, both the asking process (over loopback) and the stub (to
   * its upstream) were told the address: only those that asked over loopback are returned then.
   */
  resolversOf(ip: string, from: number, to: number): AddressResolver[] {
    const all = (this.byIp.get(ip) ?? []).filter((r) => r.answeredAt >= from && r.answeredAt <= to);
    return all.some((r) => r.viaLoopback) ? all.filter((r) => r.viaLoopback) : all;
  }

  /** The name `pid` itself resolved for `ip`, if it did recently. */
  nameFor(pid: number, ip: string, now: number): ProcessName | undefined {
    const n = this.byPid.get(pid)?.get(ip);
    if (!n || now - n.answeredAt > this.ttlMs) return undefined;
    return n;
  }

  private keep(pid: number, info: DnsResponseInfo, at: number, socket: string): void {
    const viaLoopback = socket.startsWith('127.') || socket.startsWith('::1|');
    let names = this.byPid.get(pid);
    if (!names) {
      bounded(this.byPid, this.maxPids, () => this.stats.evictions++);
      names = new OrderedMap();
      this.byPid.set(pid, names);
    }
    for (const a of info.answers) {
      names.delete(a.ip);
      bounded(names, this.maxNames, () => this.stats.evictions++);
      names.set(a.ip, { name: a.chain[0], chain: a.chain, answeredAt: at });
      this.stats.answersKept++;
      this.told(a.ip, { pid, answeredAt: at, viaLoopback });
    }
  }

  private told(ip: string, r: AddressResolver): void {
    const old = this.byIp.get(ip);
    const list = [r, ...(old ?? []).filter((o) => o.pid !== r.pid)].slice(0, RESOLVERS_PER_ADDRESS);
    if (!old) bounded(this.byIp, this.maxAddresses, () => this.stats.evictions++);
    this.byIp.set(ip, list, true);
  }
}

/** Drops the oldest entry of `map` when it is full. */
function bounded<K, V>(map: OrderedMap<K, V>, max: number, onEvict: () => void): void {
  if (map.size < max) return;
  if (map.shift() !== undefined) onEvict();
}
