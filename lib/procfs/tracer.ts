// The connect tracer (native/tracer.c): the kernel's own record of which process started a
// socket, kept in BPF maps at connect() (TCP) and at each send (UDP). Asked only when /proc
// could not answer: a client that connected, talked to a nearby server and closed within a
// millisecond is gone from the socket tables before the agent has read its SYN, but the tracer
// saw its connect(). Optional, like netlink sock_diag: without the addon, without root (or
// CAP_BPF + CAP_PERFMON), or on a kernel without BPF raw tracepoints, open() says why once and
// returns undefined, and attribution works as before.
import fs from 'node:fs';
import { loadNativeModule, mapped, toV4, toV6 } from './netlink.js';

/** What the addon exports for the tracer (native/tracer.c). Negative numbers are -errno. */
export interface TracerAddon {
  tracerOpen(pidnsDev: number, pidnsIno: number, offV6Saddr: number, offV6Daddr: number, offProtocol: number, offSkbSk: number, udpViaSkb: number,
    offSockSocket: number, offSocketFile: number): number;
  tracerError(): string;
  /** 0: UDP not traced; 1: through sock_send_length; 2: through net_dev_queue. */
  tracerUdpAttached(): number;
  tracerLookupTcp(family: 4 | 6, local: Uint8Array, lport: number, remote: Uint8Array, rport: number, out: Uint32Array, comm: Uint8Array): number;
  tracerLookupUdp(family: 4 | 6, lport: number, out: Uint32Array, comm: Uint8Array): number;
  tracerClose(): number;
}

/** The process that started a socket, as the kernel told it. */
export interface TracedSocket {
  /** In the agent's pid namespace; 0 when the process is not visible there (another pid namespace). */
  pid: number;
  /** In the initial user namespace. */
  uid: number;
  /** The task's name (comm, 15 characters at most). */
  comm: string;
  /** Wall-clock ms of the connect() (TCP) or of the socket's last send (UDP). */
  at: number;
}

export interface ConnectTracerOptions {
  /** One line when the tracer cannot be used. */
  log?: (msg: string) => void;
  /** The addon itself (tests), or a path to load instead of the built one. */
  addon?: TracerAddon | string;
  /** The kernel's BTF (default /sys/kernel/btf/vmlinux). */
  btfFile?: string;
  /**
   * The /proc the agent reads (default /proc): the tracer names processes by their pid in that
   * procfs's pid namespace (its pid 1's), so a pid it hands out is the one /proc describes.
   */
  pidnsOf?: string;
  /** Trace UDP senders through net_dev_queue even where sock_send_length exists (tests of the older kernels' way). */
  udpViaPackets?: boolean;
}

/** Offsets of the struct fields the programs read beyond sock_common's fixed head, from BTF (0: unknown). */
export interface SockOffsets {
  v6Saddr: number;
  v6Daddr: number;
  protocol: number;
  /** sk_buff.sk: UDP senders through net_dev_queue on kernels without sock_send_length. */
  skbSk: number;
  /**
   * sock.sk_socket and socket.file: a kernel socket (a tunnel's, which sends from softirq or a
   * kernel thread, under whatever task runs) has no file, and is not taken as a process's there.
   */
  sockSocket: number;
  socketFile: number;
}

/** No offset known (no BTF, or a layout not trusted): the programs trace IPv4 TCP only. */
const NO_OFFSETS: Readonly<SockOffsets> = Object.freeze({ v6Saddr: 0, v6Daddr: 0, protocol: 0, skbSk: 0, sockSocket: 0, socketFile: 0 });

/** The addon holds one tracer per process: the one open now. */
let current: ConnectTracer | undefined;

export class ConnectTracer {
  readonly stats = { lookups: 0, found: 0, notFound: 0, errors: 0 };
  private readonly out = new Uint32Array(4);
  private readonly comm = new Uint8Array(16);
  private readonly v4l = new Uint8Array(4);
  private readonly v4r = new Uint8Array(4);
  private open = true;

  private constructor(
    private readonly addon: TracerAddon,
    /** The tracepoint UDP senders are traced on, or undefined when they are not. */
    readonly udpVia: 'sock_send_length' | 'net_dev_queue' | undefined,
    readonly ipv6: boolean,
  ) {}

  /** UDP senders are traced. */
  get udp(): boolean {
    return this.udpVia !== undefined;
  }

  /** The tracer, attached; or undefined with one log line saying why it cannot be used here. */
  static open(opts: ConnectTracerOptions = {}): ConnectTracer | undefined {
    const fail = (why: string): undefined => {
      opts.log?.(`connect tracer unavailable (${why}): a client that closes its socket within a millisecond of connecting may go unattributed`);
      return undefined;
    };
    const addon = typeof opts.addon === 'object' ? opts.addon : loadTracerAddon(opts.addon);
    if (typeof addon === 'string') return fail(addon);
    if (current !== undefined) return fail('another one is open in this process');
    const pidns = pidNamespace(opts.pidnsOf ?? '/proc');
    if (typeof pidns === 'string') return fail(pidns);
    const { dev, ino } = pidns;
    let off: Readonly<SockOffsets> = NO_OFFSETS;
    try {
      off = sockOffsets(fs.readFileSync(opts.btfFile ?? '/sys/kernel/btf/vmlinux'));
    } catch {
      // No BTF: IPv4 TCP still works (sock_common's head is fixed); IPv6 and UDP do not.
    }
    let r: number;
    try {
      // The packets' way needs all three offsets (the socket, and whether it is a process's).
      const skbSk = off.sockSocket > 0 && off.socketFile > 0 ? off.skbSk : 0;
      r = addon.tracerOpen(dev, ino, off.v6Saddr, off.v6Daddr, off.protocol, skbSk, opts.udpViaPackets ? 1 : 0, off.sockSocket, off.socketFile);
    } catch (err) {
      return fail(`open threw: ${(err as Error).message}`);
    }
    if (r < 0) return fail(addon.tracerError() || `errno ${-r}`);
    const udp = addon.tracerUdpAttached();
    current = new ConnectTracer(addon, udp === 0 ? undefined : udp === 1 ? 'sock_send_length' : 'net_dev_queue', off.v6Saddr > 0 && off.v6Daddr > 0);
    return current;
  }

  /**
   * The process that called connect() for this TCP connection (local = the client's end), or
   * undefined. An IPv4 connection may come from a dual-stack (AF_INET6) socket: asked both ways.
   */
  lookupTcp(localIp: string, localPort: number, remoteIp: string, remotePort: number): TracedSocket | undefined {
    if (!this.open) return undefined;
    this.stats.lookups++;
    let r: number;
    if (toV4(localIp, this.v4l) && toV4(remoteIp, this.v4r)) {
      r = this.call(() => this.addon.tracerLookupTcp(4, this.v4l, localPort, this.v4r, remotePort, this.out, this.comm));
      if (r === 0 && this.ipv6) r = this.call(() => this.addon.tracerLookupTcp(6, mapped(this.v4l), localPort, mapped(this.v4r), remotePort, this.out, this.comm));
    } else {
      const l = toV6(localIp);
      const rem = toV6(remoteIp);
      if (!l || !rem || !this.ipv6) return this.miss(0);
      r = this.call(() => this.addon.tracerLookupTcp(6, l, localPort, rem, remotePort, this.out, this.comm));
    }
    return r > 0 ? this.found() : this.miss(r);
  }

  /** The last process that sent from this local UDP port (IPv4 may be a dual-stack socket's), or undefined. */
  lookupUdp(localIp: string, localPort: number): TracedSocket | undefined {
    if (!this.open || !this.udp) return undefined;
    this.stats.lookups++;
    const v4 = toV4(localIp, this.v4l);
    let r = this.call(() => this.addon.tracerLookupUdp(v4 ? 4 : 6, localPort, this.out, this.comm));
    if (r === 0 && v4) r = this.call(() => this.addon.tracerLookupUdp(6, localPort, this.out, this.comm));
    return r > 0 ? this.found() : this.miss(r);
  }

  /** Detaches the programs and frees the maps. */
  close(): void {
    if (!this.open) return;
    this.open = false;
    if (current === this) current = undefined;
    this.addon.tracerClose();
  }

  private call(f: () => number): number {
    try {
      return f();
    } catch {
      return -38; // ENOSYS: an addon without the function
    }
  }

  private found(): TracedSocket {
    this.stats.found++;
    const o = this.out;
    const ns = BigInt(o[2]) | (BigInt(o[3]) << 32n);
    const end = this.comm.indexOf(0);
    return {
      pid: o[0],
      uid: o[1],
      comm: Buffer.from(this.comm.subarray(0, end < 0 ? 16 : end)).toString('utf8'),
      at: Date.now() - Number(process.hrtime.bigint() - ns) / 1e6,
    };
  }

  private miss(r: number): undefined {
    if (r < 0) this.stats.errors++;
    else this.stats.notFound++;
    return undefined;
  }
}

/** The pid namespace whose pids `proc` shows: its pid 1's (ours when that one cannot be read). */
function pidNamespace(proc: string): { dev: number; ino: number } | string {
  for (const who of ['1', 'self']) {
    try {
      const st = fs.statSync(`${proc}/${who}/ns/pid`);
      return { dev: st.dev, ino: st.ino };
    } catch {
      // next
    }
  }
  return `cannot read ${proc}/1/ns/pid or ${proc}/self/ns/pid`;
}

function loadTracerAddon(spec: string | undefined): TracerAddon | string {
  const mod = loadNativeModule(spec);
  if (typeof mod === 'string') return mod;
  if (typeof mod.tracerOpen !== 'function') return 'the built addon has no connect tracer (rebuild it: npm run build)';
  return mod as unknown as TracerAddon;
}

const BTF_MAGIC = 0xeb9f;
/** BTF kinds (include/uapi/linux/btf.h) and the bytes each adds after the 12-byte type header. */
const KIND_STRUCT = 4;
const KIND_UNION = 5;

function extraBytes(kind: number, vlen: number): number {
  switch (kind) {
    case 1: case 14: case 17: return 4; // INT, VAR, DECL_TAG
    case 3: return 12; // ARRAY
    case 4: case 5: case 15: case 19: return vlen * 12; // STRUCT, UNION, DATASEC, ENUM64
    case 6: case 13: return vlen * 8; // ENUM, FUNC_PROTO
    default: return 0; // PTR, FWD, TYPEDEF, VOLATILE, CONST, RESTRICT, FUNC, FLOAT, TYPE_TAG
  }
}

/**
 * Byte offsets of sock_common.skc_v6_rcv_saddr / skc_v6_daddr, sock.sk_protocol and sk_buff.sk
 * in a kernel BTF blob (little-endian, as /sys/kernel/btf/vmlinux on x86-64 and arm64), looking
 * into anonymous structs and unions (sk_buff.sk sits in one). A field that is a bitfield, or
 * missing, is 0. Throws on a buffer that is not BTF. Also checks the fixed head the programs rely
 * on (skc_family at byte 16): if it moved, nothing is trusted.
 */
export function sockOffsets(btf: Buffer): SockOffsets {
  if (btf.length < 24 || btf.readUInt16LE(0) !== BTF_MAGIC) throw new Error('not little-endian BTF');
  const hdrLen = btf.readUInt32LE(4);
  const typeStart = hdrLen + btf.readUInt32LE(8);
  const typeEnd = typeStart + btf.readUInt32LE(12);
  const strStart = hdrLen + btf.readUInt32LE(16);
  if (typeEnd > btf.length || strStart > btf.length) throw new Error('BTF sections past the end of the file');
  const name = (off: number): string => {
    const s = strStart + off;
    const e = btf.indexOf(0, s);
    return btf.toString('latin1', s, e < 0 ? btf.length : e);
  };
  // Where each type starts (type ids count from 1), and the structs by name.
  const at: number[] = [0];
  const structs = new Map<string, number>();
  for (let p = typeStart; p + 12 <= typeEnd;) {
    const info = btf.readUInt32LE(p + 4);
    const kind = (info >>> 24) & 0x1f;
    at.push(p);
    if (kind === KIND_STRUCT) {
      const n = name(btf.readUInt32LE(p));
      if (n !== '' && !structs.has(n)) structs.set(n, at.length - 1);
    }
    p += 12 + extraBytes(kind, info & 0xffff);
  }
  /** Byte offset of `member` in the struct or union `id` (through anonymous members), or undefined. */
  const offsetIn = (id: number, member: string, depth = 0): number | undefined => {
    const p = at[id];
    if (p === undefined || depth > 8) return undefined;
    const info = btf.readUInt32LE(p + 4);
    const kind = (info >>> 24) & 0x1f;
    if (kind !== KIND_STRUCT && kind !== KIND_UNION) return undefined;
    const bitfields = (info >>> 31) === 1;
    for (let i = 0, m = p + 12; i < (info & 0xffff) && m + 12 <= typeEnd; i++, m += 12) {
      const raw = btf.readUInt32LE(m + 8);
      const bits = bitfields ? raw & 0xffffff : raw;
      const size = bitfields ? raw >>> 24 : 0;
      const mname = name(btf.readUInt32LE(m));
      if (mname === member) return bits % 8 === 0 && size === 0 ? bits / 8 : undefined;
      if (mname === '' && bits % 8 === 0) {
        const inner = offsetIn(resolveType(btf.readUInt32LE(m + 4)), member, depth + 1);
        if (inner !== undefined) return bits / 8 + inner;
      }
    }
    return undefined;
  };
  /** Through typedefs, const, volatile and restrict, to the type they name. */
  const resolveType = (id: number): number => {
    for (let n = 0; n < 16; n++) {
      const p = at[id];
      if (p === undefined) return id;
      const kind = (btf.readUInt32LE(p + 4) >>> 24) & 0x1f;
      if (kind !== 8 && kind !== 9 && kind !== 10 && kind !== 11) return id;
      id = btf.readUInt32LE(p + 8);
    }
    return id;
  };
  const of = (struct: string, member: string): number | undefined => {
    const id = structs.get(struct);
    return id === undefined ? undefined : offsetIn(id, member);
  };
  if (of('sock_common', 'skc_family') !== 16 || of('sock', '__sk_common') !== 0) return { ...NO_OFFSETS };
  return {
    v6Saddr: of('sock_common', 'skc_v6_rcv_saddr') ?? 0,
    v6Daddr: of('sock_common', 'skc_v6_daddr') ?? 0,
    protocol: of('sock', 'sk_protocol') ?? 0,
    skbSk: of('sk_buff', 'sk') ?? 0,
    sockSocket: of('sock', 'sk_socket') ?? 0,
    socketFile: of('socket', 'file') ?? 0,
  };
}
