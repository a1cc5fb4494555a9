// One pid's fds as the inode index knows them, and the order in which a search reads them: the
// kernel gives a new socket the lowest free fd, so the likeliest places for it are the lowest
// fd free at the last listing and the fd of the oldest socket known (closed first by a program
// that keeps its connections in order); after a listing, numbers new since the last one.
import { FdBits } from './fdbits.js';

/** What the index knows of one pid's fds. */
export interface PidFds {
  /** fd → inode of the fds last read as sockets (closed or reused since, maybe). */
  socks: Map<string, number>;
  /** Fds whose link was read and that were open at the last listing: any other name is new. */
  known: FdBits;
  /**
   * Socket fds a guess found unchanged: long-lived (a pool's connection, a service's journald
   * stream, a child's stdio socketpair), so not guessed again as the oldest one.
   */
  steady: Set<string>;
}

export function emptyFds(capacity: number): PidFds {
  return { socks: new Map(), known: new FdBits(capacity), steady: new Set() };
}

/** "socket:[123]" → 123; anything else → 0. */
export function socketInode(link: string): number {
  if (!link.startsWith('socket:[') || !link.endsWith(']')) return 0;
  const n = Number(link.slice(8, -1));
  return Number.isInteger(n) && n > 0 ? n : 0;
}

/** The lowest fd free at the last listing and the fd of the oldest socket known (not steady), lower first. */
export function guessFds(fds: PidFds): string[] {
  let oldest: string | undefined;
  let min = Number.POSITIVE_INFINITY;
  for (const [fd, inode] of fds.socks) {
    if (inode < min && !fds.steady.has(fd)) { min = inode; oldest = fd; }
  }
  const free = fds.known.firstFree();
  if (oldest === undefined) return [String(free)];
  return Number(oldest) < free ? [oldest, String(free)] : [String(free), oldest];
}

/** New fd numbers first, then former sockets oldest first, then the fds last seen as something else. */
export function readOrder(fds: PidFds, names: string[], skip: string[]): string[] {
  const fresh: string[] = [];
  const socks: [string, number][] = [];
  const rest: string[] = [];
  for (const name of names) {
    if (skip.includes(name)) continue;
    const inode = fds.socks.get(name);
    if (inode !== undefined && !fds.steady.has(name)) socks.push([name, inode]);
    else if (fds.known.has(Number(name))) rest.push(name);
    else fresh.push(name);
  }
  socks.sort((a, b) => a[1] - b[1]);
  for (const [name] of socks) fresh.push(name);
  return fresh.concat(rest);
}
