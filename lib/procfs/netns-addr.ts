// Local addresses of a network namespace from its /proc/net/fib_trie and /proc/net/if_inet6.
// Pure parsers: a line that does not fit is skipped.
import { formatIPv6 } from './address.js';

const LEAF = /^\s*\|--\s+(\d+\.\d+\.\d+\.\d+)\s*$/;
const HOST_LOCAL = /^\s*\/32 host LOCAL\s*$/;
const IF_INET6 = /^([0-9a-fA-F]{32})\s/;

/**
 * IPv4 addresses the namespace owns: leaves "|-- a.b.c.d" followed by "/32 host LOCAL". The
 * table is printed twice (Main and Local); a Set removes the repeats.
 */
export function parseFibTrieLocal(text: string): string[] {
  const out = new Set<string>();
  let leaf: string | undefined;
  for (const line of text.split('\n')) {
    const m = LEAF.exec(line);
    if (m) { leaf = m[1]; continue; }
    if (leaf !== undefined && HOST_LOCAL.test(line)) out.add(leaf);
  }
  return [...out];
}

/** IPv6 addresses from if_inet6: 32 hex digits in network byte order, then index, prefix, scope, flags, name. */
export function parseIfInet6(text: string): string[] {
  const out: string[] = [];
  const bytes = new Uint8Array(16);
  for (const line of text.split('\n')) {
    const m = IF_INET6.exec(line);
    if (!m) continue;
    for (let i = 0; i < 16; i++) bytes[i] = Number.parseInt(m[1].slice(i * 2, i * 2 + 2), 16);
    out.push(formatIPv6(bytes));
  }
  return out;
}

/**
 * A network namespace's local addresses, IPv4 and IPv6, from its net/fib_trie and net/if_inet6
 * as `read` gives them (undefined: unreadable, taken as empty).
 */
export function localAddresses(read: (file: 'fib_trie' | 'if_inet6') => string | undefined): string[] {
  return [...parseFibTrieLocal(read('fib_trie') ?? ''), ...parseIfInet6(read('if_inet6') ?? '')];
}
