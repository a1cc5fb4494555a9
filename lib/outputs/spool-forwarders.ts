// The forwarders that read the durable spool, as one set that a reload (SIGHUP) can change while
// alerts keep flowing into the spool.
//
// Each forwarder is a spool consumer named after what it sends to ("http " or "syslog " and the
// URL without user info), not after its position in the list: a reload that reorders, adds or
// removes URLs leaves every unchanged URL on its own cursor, and a URL that comes back later
// resumes where it stopped. A URL never seen before starts at the oldest alert still in the
// spool. That is what a security user expects when moving from collector A to collector B:
// entries leave the spool only once every forwarder has delivered them, so what is still there
// is what has not reached anyone yet (for example alerts raised while A was down) — starting B
// at the spool's end would silently drop exactly those. The price is that an added second
// collector also receives the backlog the first one has not acknowledged: at least once, and
// each alert keeps its event.id for the collector to deduplicate on.
//
// A forwarder whose settings changed (token file, CA, client certificate or key, or the content
// of those PEM files: a renewed certificate is picked up by a reload) is stopped and started
// again under the same name, so it keeps its cursor. A stop sends what it can within
// its stop timeout; a batch in flight that is cut short stays unacknowledged in the spool and is
// sent again (at least once, never lost).
import fs from 'node:fs';
import path from 'node:path';
import { HttpForwarder } from './http-forwarder.js';
import { Spool } from './spool.js';
import { SyslogForwarder } from './syslog.js';

export interface ForwardingSettings {
  collectorUrls: readonly string[];
  syslogUrls: readonly string[];
  collectorTokenFile?: string;
  collectorCa?: string;
  collectorCert?: string;
  collectorKey?: string;
  /** HOSTNAME of syslog messages. */
  hostName: string;
}

export interface SpoolForwardersLogger {
  info(message: string, meta?: Record<string, unknown>): unknown;
  warn(message: string, meta?: Record<string, unknown>): unknown;
}

export interface Forwarder {
  start(): void;
  stop(): Promise<void>;
  readonly stats: object;
}

interface Spec {
  name: string;
  url: string;
  /** Everything the forwarder was built from: a different key means a restart. */
  key: string;
  create(spool: Spool): Forwarder;
}

interface Running {
  name: string;
  key: string;
  fw: Forwarder;
}

export interface ApplyReport {
  started: string[];
  stopped: string[];
  kept: string[];
  spool: 'opened' | 'kept' | 'unused' | 'none';
}

/** The spool consumer name of a forwarder: its kind and URL, user info removed (kept out of logs and metrics). */
export function consumerName(kind: 'http' | 'syslog', url: string): string {
  try {
    const u = new URL(url);
    u.username = '';
    u.password = '';
    return `${kind} ${u.href}`;
  } catch {
    return `${kind} ${url}`;
  }
}

export class SpoolForwarders {
  private spoolRef: Spool | undefined;
  private running: Running[] = [];

  constructor(private readonly o: { stateDir: string; logger: SpoolForwardersLogger }) {}

  /** The open spool, while forwarding is configured (or was, until closeIfUnused()). */
  get spool(): Spool | undefined {
    return this.spoolRef;
  }

  list(): readonly { name: string; fw: Forwarder }[] {
    return this.running;
  }

  /**
   * Makes the running forwarders match `s`. Everything that can fail (opening the spool, reading
   * the CA or key files, parsing a URL) happens before anything is stopped: on a failure it
   * throws and the forwarders that were running go on unchanged.
   */
  async apply(s: Readonly<ForwardingSettings>): Promise<ApplyReport> {
    const specs = this.specsOf(s);
    const wanted = new Map(specs.map((sp) => [sp.name, sp]));
    const keep = this.running.filter((r) => wanted.get(r.name)?.key === r.key);
    const keptNames = new Set(keep.map((r) => r.name));
    const toStop = this.running.filter((r) => !keptNames.has(r.name));
    const toStart = specs.filter((sp) => !keptNames.has(sp.name));

    let spoolState: ApplyReport['spool'] = this.spoolRef ? 'kept' : 'none';
    if (specs.length > 0 && !this.spoolRef) {
      this.spoolRef = await Spool.open({
        dir: path.join(this.o.stateDir, 'spool'),
        onDrop: (n, why) => this.o.logger.warn('spool full: oldest alerts dropped', { dropped: n, why }),
        onRepaired: (what) => this.o.logger.warn('forwarding spool was damaged (a crash?) and LevelDB repaired it; alerts in files it could not read are lost', { damage: what }),
      });
      spoolState = 'opened';
    }
    const spool = this.spoolRef;
    let created: Running[];
    try {
      created = spool ? toStart.map((sp) => ({ name: sp.name, key: sp.key, fw: sp.create(spool) })) : [];
    } catch (err) {
      if (spoolState === 'opened') await this.closeSpool();
      throw err;
    }
    for (const r of toStop) {
      await r.fw.stop().catch(() => undefined);
      // A name that is restarted stays registered throughout, so no other forwarder's ack can
      // delete entries it has not sent yet.
      if (!wanted.has(r.name)) spool?.release(r.name);
    }
    for (const r of created) {
      spool!.consumer(r.name);
      r.fw.start();
    }
    this.running = [...keep, ...created];
    if (specs.length === 0 && spool) spoolState = 'unused';
    return { started: created.map((r) => r.name), stopped: toStop.map((r) => r.name), kept: keep.map((r) => r.name), spool: spoolState };
  }

  /**
   * Closes the spool once no forwarder reads it. It stays on disk with whatever was not
   * delivered: configured again (within the spool's 7-day age bound) those alerts are sent.
   * The caller makes sure no append is in progress.
   */
  async closeIfUnused(): Promise<void> {
    if (!this.spoolRef || this.running.length > 0) return;
    const depth = this.spoolRef.depth();
    await this.closeSpool();
    this.o.logger.warn('forwarding removed: the spool is closed and kept on disk', {
      dir: path.join(this.o.stateDir, 'spool'), undelivered: depth,
    });
  }

  /** Stops every forwarder (each sends what it can within its stop timeout), then closes the spool. */
  async close(): Promise<void> {
    for (const r of this.running) await r.fw.stop().catch(() => undefined);
    this.running = [];
    await this.closeSpool();
  }

  private async closeSpool(): Promise<void> {
    const spool = this.spoolRef;
    this.spoolRef = undefined;
    await spool?.close();
  }

  private specsOf(s: Readonly<ForwardingSettings>): Spec[] {
    const tls = { caFile: s.collectorCa, certFile: s.collectorCert, keyFile: s.collectorKey };
    const pem = [s.collectorCa, s.collectorCert, s.collectorKey].map(fileStamp);
    const logger = this.o.logger;
    const out = new Map<string, Spec>();
    const add = (sp: Spec): void => {
      if (out.has(sp.name)) logger.warn('forwarding URL listed twice; forwarding to it once', { url: sp.url });
      else out.set(sp.name, sp);
    };
    for (const url of s.collectorUrls) {
      const name = consumerName('http', url);
      add({ name, url, key: JSON.stringify([url, s.collectorTokenFile, tls, pem]),
        create: (spool) => new HttpForwarder({ url, spool, name, tokenFile: s.collectorTokenFile, ...tls, logger }) });
    }
    for (const url of s.syslogUrls) {
      const name = consumerName('syslog', url);
      add({ name, url, key: JSON.stringify([url, tls, pem, s.hostName]),
        create: (spool) => new SyslogForwarder({ url, spool, name, ...tls, hostName: s.hostName, logger }) });
    }
    return [...out.values()];
  }
}

/** A file's path and change time, so that new content under the same path counts as a change. */
function fileStamp(file: string | undefined): string | undefined {
  if (file === undefined) return undefined;
  try {
    return `${file}@${fs.statSync(file).mtimeMs}`;
  } catch {
    return `${file}@missing`; // the forwarder's constructor reports it with the fix
  }
}
