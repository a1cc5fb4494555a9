// Looking a flow up in one namespace's tables, and bringing flow text to the tables' form.
import { normaliseIp, unmapIPv4 } from './address.js';
import type { NetFile, NetTables } from './netns-tables.js';
import type { SocketEntry } from './netparse.js';
import type { FlowEnds, SocketOwner } from './owner.js';
import { Tier, type FlowKey } from './socketindex.js';

/** `owner`: already built (and maybe given its pid) by the resolver's early netlink pass. */
export type Match = { entry?: SocketEntry; tier: Tier; ns: number; owner?: SocketOwner };

/** `reread` false: only tables already cached are used (a broad search between sweeps). */
export function searchNs(tables: NetTables, ns: number, key: FlowKey, files: NetFile[], udp: boolean, reread = true): Match {
  let best: Match = { tier: Tier.None, ns };
  for (const name of files) {
    let got = tables.get(ns, name, reread ? 'ttl' : 'any');
    let found = got.table.find(key, udp);
    // A table cached from an earlier batch predates a new connection: read it once more.
    if (found.tier === Tier.None && !got.readNow && reread) {
      got = tables.get(ns, name, 'fresh');
      found = got.table.find(key, udp);
    }
    if (found.tier < best.tier) best = { entry: found.entry, tier: found.tier, ns };
    if (best.tier === Tier.Exact) break;
  }
  return best;
}

export function normaliseFlow(flow: FlowEnds): (FlowKey & { v4: boolean }) | undefined {
  const local = normaliseIp(flow.localIp);
  const remote = normaliseIp(flow.remoteIp);
  if (!local || !remote) return undefined;
  // A flow written with mapped addresses is still an IPv4 flow on the wire.
  const localIp = unmapIPv4(local);
  const remoteIp = unmapIPv4(remote);
  const v4 = !localIp.includes(':');
  if (v4 !== !remoteIp.includes(':')) return undefined;
  return { localIp, localPort: flow.localPort, remoteIp, remotePort: flow.remotePort, v4 };
}
