// A host whose resolver is local (systemd-resolved's stub on 127.0.0.53, dnsmasq, unbound or
// nscd on 127.0.0.1) has its programs' DNS answered over lo, and the resolver's own queries go
// out only when its cache does not hold the name. On `any` both are captured; on interfaces named
// without lo only the second: a program that looks up a name the resolver already holds gets its
// answer where the agent does not see it, and its connection goes unnamed by DNS (SNI, HTTP Host
// or PTR may still name it). The agent says so at start rather than leave the gap to be found.
import fs from 'node:fs';
import path from 'node:path';
import { canonicalAddress, isLoopbackText } from '../decode/index.js';

/**
 * The loopback nameservers of `resolvConf` (resolv.conf(5) text) when `interfaces` capture none
 * of their traffic (neither `any` nor `lo`); [] when they do, or none is local.
 */
export function uncapturedLocalResolvers(interfaces: readonly string[], resolvConf: string | undefined): string[] {
  if (resolvConf === undefined || interfaces.includes('any') || interfaces.includes('lo')) return [];
  const out: string[] = [];
  for (const line of resolvConf.split('\n')) {
    const m = /^\s*nameserver\s+(\S+)/.exec(line);
    if (m === null) continue;
    const ns = canonicalAddress(m[1]);
    if (ns !== undefined && isLoopbackText(ns) && !out.includes(ns)) out.push(ns);
  }
  return out;
}

/** The host's resolv.conf under `hostRoot`, or undefined when it cannot be read. */
export function readResolvConf(hostRoot: string): string | undefined {
  try {
    return fs.readFileSync(path.join(hostRoot, 'etc/resolv.conf'), 'utf8');
  } catch {
    return undefined;
  }
}
