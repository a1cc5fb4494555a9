// Per-call lookup tables over one /proc/net/{tcp,udp}[6] file: exact 4-tuple, local ip+port
// (unconnected sockets only) and wildcard-local by port. Built once per file per resolve() call.
import { isWildcard, unmapIPv4 } from './address.js';
import type { SocketEntry } from './netparse.js';

export interface FlowKey { localIp: string; localPort: number; remoteIp: string; remotePort: number }

/** Match quality, best first. */
export const enum Tier { Exact = 0, Local = 1, Wildcard = 2, None = 3 }

export class SocketTable {
  private readonly exact = new Map<string, SocketEntry>();
  private readonly local = new Map<string, SocketEntry>();
  private readonly wildcard = new Map<number, SocketEntry>();

  constructor(entries: SocketEntry[]) {
    for (const e of entries) {
      // Keys use the unmapped IPv4 form so an IPv4 flow finds a dual-stack socket in tcp6/udp6.
      const lip = unmapIPv4(e.localIp);
      const rip = unmapIPv4(e.remoteIp);
      put(this.exact, `${lip}|${e.localPort}|${rip}|${e.remotePort}`, e);
      // A connected UDP socket only talks to its peer, so only unconnected ones match by local end.
      if (e.remotePort !== 0 || !isWildcard(rip)) continue;
      if (isWildcard(lip)) put(this.wildcard, e.localPort, e);
      else put(this.local, `${lip}|${e.localPort}`, e);
    }
  }

  /** TCP: the exact 4-tuple only. UDP: exact, then local ip+port, then wildcard local address. */
  find(flow: FlowKey, udp: boolean): { entry?: SocketEntry; tier: Tier } {
    const e = this.exact.get(`${flow.localIp}|${flow.localPort}|${flow.remoteIp}|${flow.remotePort}`);
    if (e) return { entry: e, tier: Tier.Exact };
    if (!udp) return { tier: Tier.None };
    const l = this.local.get(`${flow.localIp}|${flow.localPort}`);
    if (l) return { entry: l, tier: Tier.Local };
    const w = this.wildcard.get(flow.localPort);
    if (w) return { entry: w, tier: Tier.Wildcard };
    return { tier: Tier.None };
  }
}

// Several entries can share a key (TIME_WAIT leftovers with inode 0, SO_REUSEPORT groups):
// keep one that has an inode, since only that leads to a process.
function put<K>(map: Map<K, SocketEntry>, key: K, e: SocketEntry): void {
  const old = map.get(key);
  if (!old || (old.inode === 0 && e.inode !== 0)) map.set(key, e);
}
