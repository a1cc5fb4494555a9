import dgram from 'node:dgram';
import { loadBinding, parseLinkType, type NativeBinding, type NativeSession } from './binding.js';
import { PacketReader, type PacketCallback } from './callback.js';
import { CaptureError } from './errors.js';
import { WAKE_PORT } from './filter.js';

export interface LiveOptions {
  /** Interface names; `any` captures every interface with a Linux cooked header. */
  interfaces: string[];
  filter: string;
  /** Kernel ring size per interface (pcap_set_buffer_size). */
  bufferBytes: number;
  snapLength: number;
  /** Deliver each packet as it arrives (default in the agent: attribution reads /proc right after the SYN). */
  immediate: boolean;
  /**
   * Told about exceptions from onPacket and about a capture that stopped (a CaptureStopped:
   * libpcap's read failed, the interface went away or down); they are counted either way.
   */
  onError?: (err: unknown, iface: string) => void;
}

/**
 * libpcap's read failed on a live interface (deleted, or taken down): the handle delivers
 * nothing more. LiveCapture.reopenFailed() opens the interface again once it is back.
 */
export class CaptureStopped extends CaptureError {
  override name = 'CaptureStopped';
  constructor(readonly iface: string) {
    super(`capture on interface ${iface} stopped: libpcap's read failed (the interface went away or down)`);
  }
}

export interface InterfaceStats {
  interface: string;
  /** libpcap ps_recv: packets that passed the filter. */
  received: number;
  /** ps_drop: dropped because the ring was full (we read too slowly). */
  dropped: number;
  /** ps_ifdrop: dropped by the interface / driver. */
  ifDropped: number;
  /** Packets handed to onPacket, onPacket exceptions, and failed libpcap reads. */
  delivered: number;
  callbackErrors: number;
  readErrors: number;
  /** Times the capture was opened again after it stopped. */
  reopens: number;
}

/** Bytes libpcap's immediate-mode ring frame takes beyond the snap length (cooked header of `any` included), before rounding. */
const RING_FRAME_OVERHEAD = 96;
const TPACKET_ALIGNMENT = 16;

/**
 * About how many packets the kernel ring of one live capture holds (the agent's immediate
 * mode): libpcap then uses TPACKET_V2, one fixed-size frame per packet, of the snap length plus
 * headers, rounded up to 16 bytes, whatever the packet's own size. A burst of more packets than
 * this while the agent is busy is dropped by the kernel. Measured with libpcap 1.10 on `any`
 * (test/capture/ring.test.ts): 32 MiB held 512 packets at snap length 65535, 8,192 at 4000.
 */
export function ringPackets(bufferBytes: number, snapLength: number): number {
  const frame = Math.ceil((snapLength + RING_FRAME_OVERHEAD) / TPACKET_ALIGNMENT) * TPACKET_ALIGNMENT;
  return Math.ceil(bufferBytes / frame);
}

/** Read timeout when not in immediate mode: packets are batched for at most this long. */
const BATCH_TIMEOUT_MS = 100;
/** Wake-up datagrams to 127.0.0.1:WAKE_PORT (discard, RFC 863; the filter keeps them) sent on close; see close(). */
const WAKE_ATTEMPTS = 5;
const WAKE_INTERVAL_MS = 200;

/**
 * Native live sessions are never released to the garbage collector. The binding stops its
 * libuv poll handle on close but never uv_close()s it, so the handle stays linked in the event
 * loop's handle queue; once V8 collected the session object, libuv wrote into freed memory
 * (seen as "double free or corruption" aborts in long test runs). Keeping each one alive costs
 * a few hundred bytes per interface opened, once per agent start.
 */
const RETAINED_SESSIONS: NativeSession[] = [];

class InterfaceSession {
  readonly reader: PacketReader;
  readonly native: NativeSession;
  linkType = -1;
  freed = false;
  /**
   * A read failed: nothing more comes from this handle. The binding frees a live handle only
   * through a read that returns "broken out of", which a failed handle never gives, so its
   * socket and ring stay allocated (RETAINED_SESSIONS) until the process exits.
   */
  failed = false;
  readErrors = 0;
  lastStats = { ps_recv: 0, ps_drop: 0, ps_ifdrop: 0 };

  constructor(binding: NativeBinding, readonly name: string, opts: LiveOptions, onPacket: PacketCallback,
    warnings: string[], private readonly onFreed: () => void) {
    const onError = (err: unknown): void => opts.onError?.(err, name);
    this.reader = new PacketReader(opts.snapLength, () => this.linkType, onPacket, onError);
    this.native = new binding.PcapSession();
    RETAINED_SESSIONS.push(this.native);
    const timeout = opts.immediate ? 0 : BATCH_TIMEOUT_MS; // <= 0 makes the binding set immediate mode
    let linkName: string;
    try {
      // Not promiscuous: the agent watches this host's own connections.
      linkName = this.native.open_live(name, opts.filter, opts.bufferBytes, opts.snapLength, '', this.reader.ready,
        false, timeout, (w) => warnings.push(`${name}: ${w}`), false);
    } catch (err) {
      // Not touched again: after a failed open the binding may hold a NULL handle.
      this.freed = true;
      throw openError(binding, name, opts.filter, (err as Error).message);
    }
    this.linkType = parseLinkType(linkName);
    this.native.read_callback = () => this.read(onError);
    this.native.start_polling();
    process.nextTick(() => this.read(onError)); // packets queued before the poll started
  }

  private read(onError: (err: unknown) => void): void {
    if (this.freed || this.failed) return;
    try {
      const r = this.native.dispatch(this.reader.buf, this.reader.header);
      if (r === -2) this.markFreed();
      else if (r === -1) {
        this.readErrors++;
        this.fail();
        onError(new CaptureStopped(this.name));
      }
    } catch (err) {
      // An exception here would reach the binding's poll handler, which exits the process.
      this.readErrors++;
      try { onError(err); } catch { /* see above */ }
    }
  }

  stats(): InterfaceStats {
    if (!this.freed && !this.failed) {
      try { this.lastStats = this.native.stats(); } catch { /* keeps the last values */ }
    }
    const s = this.lastStats;
    return { interface: this.name, received: s.ps_recv, dropped: s.ps_drop, ifDropped: s.ps_ifdrop,
      delivered: this.reader.packets, callbackErrors: this.reader.callbackErrors, readErrors: this.readErrors, reopens: 0 };
  }

  /** Stop delivering; free the handle now if libpcap lets us (see LiveCapture.close). */
  close(): void {
    if (this.freed || this.failed) return;
    this.stats();
    this.reader.muted = true;
    this.native.close();
    this.read(() => undefined);
  }

  private markFreed(): void {
    this.freed = true;
    this.onFreed();
  }

  private fail(): void {
    this.failed = true;
    this.reader.muted = true;
    try { this.native.close(); } catch { /* a failed handle: nothing to break */ }
    this.onFreed();
  }
}

function openError(binding: NativeBinding, name: string, filter: string, reason: string): CaptureError {
  let hint: string;
  if (/permission|not permitted|EPERM|EACCES/i.test(reason)) hint = 'needs CAP_NET_RAW and CAP_NET_ADMIN, or root';
  else if (/no such device|doesn't exist|not found/i.test(reason)) hint = `known interfaces: ${safeNames(binding).join(', ')}`;
  else if (/syntax|filter|expression|support/i.test(reason)) hint = `check the capture filter "${filter}"`;
  else hint = 'needs CAP_NET_RAW and CAP_NET_ADMIN, or root, and an interface that is up';
  return new CaptureError(`cannot capture on interface ${name}: ${reason} (${hint})`);
}

function safeNames(binding: NativeBinding): string[] {
  try { return binding.findalldevs().map((d) => d.name); } catch { return []; }
}

/** One libpcap session per interface, polled on the event loop. */
export class LiveCapture {
  /** libpcap warnings from opening (e.g. no IPv4 address on the interface). */
  readonly warnings: string[] = [];
  /** Resolves once every session has freed its libpcap handle (see close()). */
  readonly closed: Promise<void>;
  private readonly sessions: InterfaceSession[] = [];
  /** Counters of sessions that stopped and were replaced, by interface (stats() adds them). */
  private readonly retired = new Map<string, InterfaceStats>();
  private resolveClosed: () => void = () => undefined;
  private closing = false;

  private constructor(private readonly binding: NativeBinding, private readonly opts: LiveOptions, private readonly onPacket: PacketCallback) {
    this.closed = new Promise((resolve) => { this.resolveClosed = resolve; });
  }

  static open(opts: LiveOptions, onPacket: PacketCallback): LiveCapture {
    validate(opts);
    const capture = new LiveCapture(loadBinding(), opts, onPacket);
    try {
      for (const name of opts.interfaces) capture.sessions.push(capture.session(name));
    } catch (err) {
      capture.close();
      throw err;
    }
    return capture;
  }

  private session(name: string): InterfaceSession {
    // On several interfaces each packet says which it came from: a packet a router forwards from
    // one to another is captured on both, and only that tells its copy from a second packet.
    const handle = this.opts.interfaces.length > 1 ? this.opts.interfaces.indexOf(name) : -1;
    const onPacket: PacketCallback = handle < 0 ? this.onPacket
      : (buf, caplen, wireLen, tsMs, linkType) => this.onPacket(buf, caplen, wireLen, tsMs, linkType, handle);
    return new InterfaceSession(this.binding, name, this.opts, onPacket, this.warnings, () => this.checkClosed());
  }

  /** Interfaces whose capture stopped (CaptureStopped) and has not been opened again yet. */
  failedInterfaces(): string[] {
    return this.sessions.filter((s) => s.failed).map((s) => s.name);
  }

  /**
   * Opens again each interface whose capture stopped; returns those that capture again and the
   * reason of those that still cannot (the interface is not back yet). Never throws.
   */
  reopenFailed(): { resumed: string[]; failing: { interface: string; error: string }[] } {
    const resumed: string[] = [];
    const failing: { interface: string; error: string }[] = [];
    if (this.closing) return { resumed, failing };
    for (let i = 0; i < this.sessions.length; i++) {
      const old = this.sessions[i];
      if (!old.failed) continue;
      try {
        this.sessions[i] = this.session(old.name);
      } catch (err) {
        failing.push({ interface: old.name, error: (err as Error).message });
        continue;
      }
      const before = this.retired.get(old.name);
      this.retired.set(old.name, sumStats(old.stats(), before, 1));
      resumed.push(old.name);
    }
    return { resumed, failing };
  }

  /** Link type per interface, in the order of LiveOptions.interfaces. */
  linkTypes(): { interface: string; linkType: number }[] {
    return this.sessions.map((s) => ({ interface: s.name, linkType: s.linkType }));
  }

  stats(): InterfaceStats[] {
    return this.sessions.map((s) => sumStats(s.stats(), this.retired.get(s.name), 0));
  }

  /**
   * Stop delivering packets and release the sessions. The binding frees a live handle only
   * when a read returns "broken out of", and libpcap on Linux notices the break only after a
   * packet, so an idle interface keeps its handle (and the event loop) until its next packet.
   * For `lo` and `any` we make that packet ourselves: a datagram to the loopback discard port.
   * `closed` resolves when every handle is free.
   */
  close(): void {
    this.closing = true;
    for (const s of this.sessions) s.close();
    this.checkClosed();
    if (this.sessions.some((s) => !s.freed && (s.name === 'lo' || s.name === 'any'))) this.wake(WAKE_ATTEMPTS);
  }

  private checkClosed(): void {
    // A failed handle cannot be freed, and delivers nothing more: it does not hold up `closed`.
    if (this.closing && this.sessions.every((s) => s.freed || s.failed)) this.resolveClosed();
  }

  private wake(attempts: number): void {
    const socket = dgram.createSocket('udp4');
    socket.on('error', () => socket.close());
    socket.send('egresswatch capture close', WAKE_PORT, '127.0.0.1', () => socket.close());
    if (attempts > 1) {
      setTimeout(() => {
        if (this.sessions.some((s) => !s.freed)) this.wake(attempts - 1);
      }, WAKE_INTERVAL_MS).unref();
    }
  }
}

function validate(opts: LiveOptions): void {
  if (!Array.isArray(opts.interfaces) || opts.interfaces.length === 0) {
    throw new CaptureError('capture interfaces: at least one interface name is needed (e.g. "any")');
  }
  if (!Number.isInteger(opts.bufferBytes) || opts.bufferBytes <= 0 || opts.bufferBytes > 0x7fffffff) {
    throw new CaptureError(`capture buffer size ${opts.bufferBytes}: must be a positive integer number of bytes below 2 GiB`);
  }
  if (!Number.isInteger(opts.snapLength) || opts.snapLength < 96 || opts.snapLength > 262144) {
    throw new CaptureError(`capture snap length ${opts.snapLength}: must be an integer from 96 to 262144`);
  }
}

/** `cur` plus the counters of earlier sessions of the same interface, and `reopens` more reopens. */
function sumStats(cur: InterfaceStats, earlier: InterfaceStats | undefined, reopens: number): InterfaceStats {
  if (earlier === undefined) return { ...cur, reopens: cur.reopens + reopens };
  return {
    interface: cur.interface,
    received: cur.received + earlier.received,
    dropped: cur.dropped + earlier.dropped,
    ifDropped: cur.ifDropped + earlier.ifDropped,
    delivered: cur.delivered + earlier.delivered,
    callbackErrors: cur.callbackErrors + earlier.callbackErrors,
    readErrors: cur.readErrors + earlier.readErrors,
    reopens: cur.reopens + earlier.reopens + reopens,
  };
}
