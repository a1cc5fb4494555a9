// The agent's own namespace asked through netlink sock_diag (see netlink.ts), in the resolver's
// terms: a Match like a /proc/net table search gives, or undefined when netlink did not answer
// (the caller then reads the table).
import fs from 'node:fs';
import { isLoopbackText } from '../decode/index.js';
import type { Match } from './netns-match.js';
import { UNKNOWN_NETNS, parseNsLink, type NetnsIndex } from './netns.js';
import type { SockDiag } from './netlink.js';
import type { ProcFs } from './procfs.js';
import { Tier, type FlowKey } from './socketindex.js';

/** TCP_LISTEN: a 4-tuple lookup falls back to a listener on the local port, which is never a client's socket. */
const TCP_LISTEN = 10;

export interface DiagCounters { diagHits: number; diagMisses: number; diagListeners: number }

/**
 * The proc root's "self" is this process's network namespace, so sock_diag sees the sockets
 * that root's tables list. Read outside the rooted reader on purpose: the question is about
 * this process, whatever root the reader has (a fake tree or another host's /proc is not ours).
 */
export function ownNetns(proc: ProcFs): boolean {
  try {
    const mine = parseNsLink(fs.readlinkSync('/proc/self/ns/net'));
    return mine !== UNKNOWN_NETNS && parseNsLink(fs.readlinkSync(proc.resolve('self/ns/net'))) === mine;
  } catch {
    return false;
  }
}

export function diagMatch(diag: SockDiag, netns: NetnsIndex, transport: 'tcp' | 'udp', key: FlowKey, counters: DiagCounters): Match | undefined {
  const ns = netns.host;
  const udp = transport === 'udp';
  const d = diag.lookup(transport, key.localIp, key.localPort, key.remoteIp, key.remotePort);
  if (d === undefined) return undefined;
  if (d === null || (!udp && d.state === TCP_LISTEN)) {
    if (d) counters.diagListeners++;
    counters.diagMisses++;
    return { tier: Tier.None, ns };
  }
  counters.diagHits++;
  // UDP answers with the socket that would receive: on an address the host does not own, a
  // wildcard-bound host socket must not beat another namespace's exact one.
  const tier = !udp || isLoopbackText(key.localIp) || netns.ownedByHost(key.localIp) ? Tier.Exact : Tier.Wildcard;
  return { entry: { ...key, inode: d.inode, uid: d.uid, state: d.state }, tier, ns };
}
