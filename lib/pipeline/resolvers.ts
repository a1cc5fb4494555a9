// Which process resolved which name. A DNS query's client socket is attributed like a
// connection (its pid only); the answers that come back to that socket are kept per pid, so
// when one IP carries several names (CDNs, shared hosting) a connection is named by what its
// own process asked for, not by whichever answer the host saw last.
import { OrderedMap } from '../collections/index.js';
import type { DnsResponseInfo } from '../dns/index.js';

export interface ProcessName {
  name: string;
  chain: string[];
  answeredAt: number;
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
}

interface SocketState {
  pid?: number;
  /** Answers that arrived before the socket's owner was known. */
  pending: { info: DnsResponseInfo; at: number }[];
}

export class ResolverOwners {
  readonly stats = { socketsSeen: 0, socketsAttributed: 0, answersKept: 0, evictions: 0 };
  private readonly sockets = new OrderedMap<string, SocketState>();
  private readonly byPid = new OrderedMap<number, OrderedMap<string, ProcessName>>();
  private readonly maxSockets: number;
  private readonly maxPids: number;
  private readonly maxNames: number;
  private readonly ttlMs: number;

  constructor(opts: ResolverOwnersOptions = {}) {
    this.maxSockets = opts.maxSockets ?? 4096;
    this.maxPids = opts.maxPids ?? 1024;
    this.maxNames = opts.maxNamesPerPid ?? 256;
    this.ttlMs = opts.ttlMs ?? 600_000;
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
    for (const p of s.pending) this.keep(pid, p.info, p.at);
    s.pending = [];
  }

  /** An answer arrived at `socket` (the querying client's address and port). */
  answer(socket: string, info: DnsResponseInfo, now: number): void {
    const s = this.sockets.get(socket);
    if (!s || info.answers.length === 0) return;
    if (s.pid !== undefined) this.keep(s.pid, info, now);
    else if (s.pending.length < 8) s.pending.push({ info, at: now });
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
      bounded(this.byPid, this.maxPids, () => this.stats.evictions++);
      names = new OrderedMap();
      this.byPid.set(pid, names);
    }
    for (const a of info.answers) {
      names.delete(a.ip);
      bounded(names, this.maxNames, () => this.stats.evictions++);
      names.set(a.ip, { name: a.chain[0], chain: a.chain, answeredAt: at });
      this.stats.answersKept++;
    }
  }
}

/** Drops the oldest entry of `map` when it is full. */
function bounded<K, V>(map: OrderedMap<K, V>, max: number, onEvict: () => void): void {
  if (map.size < max) return;
  if (map.shift() !== undefined) onEvict();
}
