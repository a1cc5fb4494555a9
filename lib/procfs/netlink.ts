// Exact socket lookups through netlink sock_diag (native/netlink.c), for the agent's own network
// namespace. A lookup is one hash lookup in the kernel (~10-30 µs) where /proc/net/tcp walks
// the whole table (1.5-7 ms measured here), so a connection that closes a few ms after its SYN
// is still found open. Optional: when the addon is not built, does not load, or netlink is
// refused, open() says why once through `log` and returns undefined, and the resolver reads
// /proc/net/* as before. A netlink error is a counted miss, never an exception.
import { createRequire } from 'node:module';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import ipaddr from 'ipaddr.js';
import { parseIPv6Plain } from '../decode/index.js';

/** What the addon exports (native/netlink.c). Negative numbers are -errno. */
export interface NetlinkAddon {
  open(): number;
  close(fd: number): number;
  lookup(fd: number, family: 4 | 6, proto: number, local: Uint8Array, lport: number, remote: Uint8Array, rport: number, out: Uint32Array): number;
}

export interface DiagSocket { inode: number; uid: number; state: number }

export interface SockDiagOptions {
  /** One line when netlink cannot be used (and once more if it is given up at run time). */
  log?: (msg: string) => void;
  /** The addon itself (tests), or a path to load instead of the built one. */
  addon?: NetlinkAddon | string;
  /** Consecutive errors after which lookups are given up for good (default 16). */
  maxConsecutiveErrors?: number;
}

const IPPROTO_TCP = 6;
const IPPROTO_UDP = 17;
const ENOSYS = 38;
/** dist/lib/procfs → the repository's native/build/Release (also the layout of an installed copy). */
const BUILT = ['../../../native/build/Release/egresswatch_netlink.node', '../../native/build/Release/egresswatch_netlink.node'];

/**
 * The built addon module (native/: sock_diag lookups and the connect tracer), a given path's, or
 * why it cannot be had. Loaded once per path: Node keeps a loaded addon for the process anyway.
 */
export function loadNativeModule(spec?: string): Record<string, unknown> | string {
  const here = path.dirname(fileURLToPath(import.meta.url));
  const candidates = spec !== undefined ? [spec] : BUILT.map((rel) => path.resolve(here, rel));
  const file = candidates.find((c) => fs.existsSync(c));
  if (!file) return `addon not built (${candidates[0]} missing; npm run build compiles it)`;
  try {
    return createRequire(import.meta.url)(file) as Record<string, unknown>;
  } catch (err) {
    return `addon did not load: ${(err as Error).message.split('\n')[0]}`;
  }
}

function loadAddon(spec: NetlinkAddon | string | undefined): NetlinkAddon | string {
  if (spec !== undefined && typeof spec !== 'string') return spec;
  const mod = loadNativeModule(spec);
  if (typeof mod === 'string') return mod;
  if (typeof mod.open !== 'function' || typeof mod.lookup !== 'function' || typeof mod.close !== 'function') return 'the built module is not the netlink addon';
  return mod as unknown as NetlinkAddon;
}

export class SockDiag {
  readonly stats = { lookups: 0, found: 0, notFound: 0, errors: 0, mappedLookups: 0, badAddresses: 0, givenUp: 0 };
  private readonly out = new Uint32Array(3);
  private readonly v4l = new Uint8Array(4);
  private readonly v4r = new Uint8Array(4);
  private consecutiveErrors = 0;
  private fd: number;

  private constructor(private readonly addon: NetlinkAddon, fd: number, private readonly opts: SockDiagOptions) {
    this.fd = fd;
  }

  /** A sock_diag socket, or undefined (with one log line) when netlink cannot be used here. */
  static open(opts: SockDiagOptions = {}): SockDiag | undefined {
    const addon = loadAddon(opts.addon);
    const fail = (why: string): undefined => {
      opts.log?.(`netlink sock_diag unavailable (${why}); reading /proc/net/* for socket lookups`);
      return undefined;
    };
    if (typeof addon === 'string') return fail(addon);
    let fd: number;
    try { fd = addon.open(); } catch (err) { return fail(`open threw: ${(err as Error).message}`); }
    if (!Number.isInteger(fd) || fd < 0) return fail(`socket(NETLINK_SOCK_DIAG) failed: errno ${-fd}`);
    return new SockDiag(addon, fd, opts);
  }

  get usable(): boolean {
    return this.fd >= 0;
  }

  /**
   * The socket with this local and remote end in the agent's namespace: a DiagSocket (inode 0
   * for TIME_WAIT and orphans), null when the kernel has no such socket, undefined when the
   * lookup failed (counted; the caller falls back to /proc/net). UDP gets the socket that would
   * receive from the remote end: connected, then bound to the address, then wildcard.
   */
  lookup(transport: 'tcp' | 'udp', localIp: string, localPort: number, remoteIp: string, remotePort: number): DiagSocket | null | undefined {
    if (this.fd < 0) return undefined;
    this.stats.lookups++;
    const proto = transport === 'udp' ? IPPROTO_UDP : IPPROTO_TCP;
    const v4 = toV4(localIp, this.v4l) && toV4(remoteIp, this.v4r);
    let r: number;
    if (v4) {
      r = this.call(4, proto, this.v4l, localPort, this.v4r, remotePort);
      // A dual-stack (AF_INET6) socket talking IPv4 is asked for as ::ffff:a.b.c.d.
      if (r === 0) {
        this.stats.mappedLookups++;
        r = this.call(6, proto, mapped(this.v4l), localPort, mapped(this.v4r), remotePort);
      }
    } else {
      const l = toV6(localIp);
      const rem = toV6(remoteIp);
      if (!l || !rem) {
        this.stats.badAddresses++;
        return undefined;
      }
      r = this.call(6, proto, l, localPort, rem, remotePort);
    }
    if (r > 0) {
      this.consecutiveErrors = 0;
      this.stats.found++;
      return { inode: this.out[0], uid: this.out[1], state: this.out[2] };
    }
    if (r === 0) {
      this.consecutiveErrors = 0;
      this.stats.notFound++;
      return null;
    }
    this.failed(r);
    return undefined;
  }

  close(): void {
    if (this.fd < 0) return;
    this.addon.close(this.fd);
    this.fd = -1;
  }

  private call(family: 4 | 6, proto: number, local: Uint8Array, lport: number, remote: Uint8Array, rport: number): number {
    try {
      return this.addon.lookup(this.fd, family, proto, local, lport, remote, rport, this.out);
    } catch {
      return -ENOSYS;
    }
  }

  private failed(r: number): void {
    this.stats.errors++;
    this.consecutiveErrors++;
    if (this.consecutiveErrors < (this.opts.maxConsecutiveErrors ?? 16)) return;
    this.stats.givenUp++;
    this.opts.log?.(`netlink sock_diag failed ${this.consecutiveErrors} times in a row (last errno ${-r}); reading /proc/net/* from now on`);
    this.close();
  }
}

const V4 = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/;

/** Dotted IPv4 into `out` (no allocation: called per connection). */
export function toV4(ip: string, out: Uint8Array): boolean {
  const m = V4.exec(ip);
  if (!m) return false;
  for (let i = 0; i < 4; i++) {
    const b = Number(m[i + 1]);
    if (b > 255) return false;
    out[i] = b;
  }
  return true;
}

export function toV6(ip: string): Uint8Array | undefined {
  const plain = parseIPv6Plain(ip);
  if (plain !== undefined) return plain;
  if (!ipaddr.IPv6.isValid(ip)) return undefined;
  return Uint8Array.from(ipaddr.IPv6.parse(ip).toByteArray());
}

export function mapped(v4: Uint8Array): Uint8Array {
  const b = new Uint8Array(16);
  b[10] = 0xff;
  b[11] = 0xff;
  b.set(v4, 12);
  return b;
}
