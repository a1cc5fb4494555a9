// One TCP or TLS connection to a syslog relay, and the pieces the forwarder's retry loop
// needs around it: URL parsing, TLS files, an interruptible sleep.
import net from 'node:net';
import tls from 'node:tls';
import { readTlsFiles } from './tls-files.js';

export class SyslogConfigError extends Error {
  override name = 'SyslogConfigError';
}

export interface SyslogTarget {
  tls: boolean;
  host: string;
  port: number;
}

/** `tcp://HOST:PORT` or `tls://HOST:PORT` (IPv6 in brackets). No default port: say it. */
export function parseSyslogUrl(url: string): SyslogTarget {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    throw new SyslogConfigError(`syslog url ${JSON.stringify(url)} is not a URL (fix: tcp://HOST:PORT or tls://HOST:PORT)`);
  }
  const scheme = u.protocol.replace(/:$/, '');
  if (scheme !== 'tcp' && scheme !== 'tls') {
    throw new SyslogConfigError(`syslog url scheme ${JSON.stringify(scheme)} is not supported (fix: tcp:// or tls://; UDP drops alerts silently)`);
  }
  const port = Number(u.port);
  if (!u.hostname || !Number.isInteger(port) || port < 1 || port > 65535) {
    throw new SyslogConfigError(`syslog url ${JSON.stringify(url)} needs a host and a port (fix: e.g. tls://relay.example:6514)`);
  }
  return { tls: scheme === 'tls', host: u.hostname.replace(/^\[|\]$/g, ''), port };
}

/** A sleep that `wake()` ends early (stop, new data). */
export class Sleeper {
  private timer: NodeJS.Timeout | undefined;
  private resolve: (() => void) | undefined;

  sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      this.resolve = resolve;
      this.timer = setTimeout(() => this.wake(), ms);
    });
  }

  wake(): void {
    if (this.timer) clearTimeout(this.timer);
    const r = this.resolve;
    this.timer = undefined;
    this.resolve = undefined;
    r?.();
  }
}

export interface TlsFiles {
  caFile?: string;
  certFile?: string;
  keyFile?: string;
  servername?: string;
}

/** Reads the TLS files once, at start, so a wrong path fails there with the setting named. */
export function loadTlsOptions(files: TlsFiles): tls.ConnectionOptions {
  // RFC 5425 §4.2 asks for TLS 1.2 at least; the server certificate is always verified.
  return { ...readTlsFiles(files), servername: files.servername, minVersion: 'TLSv1.2', rejectUnauthorized: true };
}

/**
 * An open connection, broken for good once the socket errors, closes or the peer sends FIN:
 * a syslog receiver never writes to us and never half-closes, so any of those means that
 * what we write now may be lost.
 */
export class SyslogConnection {
  brokenReason: Error | undefined;
  /** Callbacks of writes and settles in progress, told when the connection breaks. */
  private readonly waiters = new Set<(err: Error) => void>();

  private constructor(readonly socket: net.Socket) {
    socket.on('error', (err) => this.fail(err));
    socket.on('end', () => this.fail(new Error('peer closed the connection')));
    socket.on('close', () => this.fail(new Error('connection closed')));
    socket.resume(); // discard anything the peer sends; keeps 'end' and resets visible
  }

  /** Marks the connection broken (idempotent), destroys the socket and tells the waiters. */
  fail(err: Error): void {
    if (this.brokenReason) return;
    this.brokenReason = err;
    this.socket.destroy();
    for (const w of [...this.waiters]) w(err);
    this.waiters.clear();
  }

  /** Calls `cb` with the error that breaks the connection (at once if broken); returns the unsubscribe. */
  onBreak(cb: (err: Error) => void): () => void {
    if (this.brokenReason) {
      cb(this.brokenReason);
      return () => undefined;
    }
    this.waiters.add(cb);
    return () => this.waiters.delete(cb);
  }

  static open(target: SyslogTarget, tlsOpts: tls.ConnectionOptions | undefined, timeoutMs: number): {
    conn: Promise<SyslogConnection>; abort: () => void;
  } {
    const socket = target.tls
      ? tls.connect({ ...tlsOpts, host: target.host, port: target.port, servername: tlsOpts?.servername ?? sniName(target.host) })
      : net.connect({ host: target.host, port: target.port });
    const conn = new Promise<SyslogConnection>((resolve, reject) => {
      const timer = setTimeout(() => socket.destroy(new Error(`connect timed out after ${timeoutMs} ms`)), timeoutMs);
      socket.once(target.tls ? 'secureConnect' : 'connect', () => {
        clearTimeout(timer);
        socket.removeListener('error', onError);
        socket.setNoDelay(true);
        socket.setKeepAlive(true, 30_000); // an idle link to a vanished relay is noticed
        resolve(new SyslogConnection(socket));
      });
      const onError = (err: Error): void => {
        clearTimeout(timer);
        reject(err);
      };
      socket.once('error', onError);
      socket.once('close', () => onError(new Error('connection closed during connect')));
    });
    return { conn, abort: () => socket.destroy(new Error('aborted')) };
  }

  /** Resolves once `buf` is handed to the kernel; rejects on error, break or timeout. */
  write(buf: Buffer, timeoutMs: number): Promise<void> {
    return new Promise((resolve, reject) => {
      let off = (): void => undefined;
      const timer = setTimeout(() => {
        this.socket.destroy(new Error(`write timed out after ${timeoutMs} ms (relay not reading)`));
      }, timeoutMs);
      const done = (err?: Error | null): void => {
        clearTimeout(timer);
        off();
        if (err) reject(err);
        else resolve();
      };
      off = this.onBreak(done);
      if (this.brokenReason) return;
      this.socket.write(buf, (err) => done(err ?? this.brokenReason));
    });
  }

  /**
   * Waits `ms` and resolves true if the connection is still whole then: a relay that died
   * after our write answers the bytes with a reset within a round trip, which lands here.
   */
  settle(ms: number): Promise<boolean> {
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        off();
        resolve(this.brokenReason === undefined);
      }, ms);
      const off = this.onBreak(() => {
        clearTimeout(timer);
        resolve(false);
      });
    });
  }

  /** Graceful close: FIN after what is queued; destroyed if the peer does not finish in time. */
  close(graceMs: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(() => this.socket.destroy(), graceMs);
      this.onBreak(() => {
        clearTimeout(timer);
        resolve();
      });
      if (!this.brokenReason) this.socket.end();
    });
  }
}

/** SNI must be a DNS name, never an IP literal (RFC 6066 §3). */
function sniName(host: string): string | undefined {
  return net.isIP(host) === 0 ? host : undefined;
}
