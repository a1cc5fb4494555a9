// Where an alert goes once raised: the durable spool (when forwarding is configured) first, then
// the local alerts file, then standard output. The spool comes first so that an alert reported
// as written is already safe for the forwarders, across a collector outage or a kill -9.
import path from 'node:path';
import type winston from 'winston';
import type { AgentConfig } from '../config/index.js';
import { alertLine } from '../alerts/index.js';
import { AlertFile, HttpForwarder, Spool, toOcsf } from '../outputs/index.js';
import { SyslogForwarder } from '../outputs/syslog.js';

interface Forwarder {
  start(): void;
  stop(): Promise<void>;
  readonly stats: object;
}

export class AlertOutputs {
  readonly file: AlertFile;
  private chain: Promise<void> = Promise.resolve();
  emitted = 0;
  spoolErrors = 0;

  private constructor(
    private readonly config: Readonly<AgentConfig>,
    private readonly logger: winston.Logger,
    readonly spool: Spool | undefined,
    readonly forwarders: { name: string; fw: Forwarder }[],
  ) {
    this.file = new AlertFile(config.alertsFile, { maxBytes: config.alertsMaxBytes, maxFiles: config.alertsMaxFiles });
  }

  /** Opens the file and, when forwarding is configured, the spool and the forwarders. */
  static async open(config: Readonly<AgentConfig>, logger: winston.Logger, live: boolean): Promise<AlertOutputs> {
    const forwarding = live && (config.collectorUrls.length > 0 || config.syslogUrls.length > 0);
    const spool = forwarding ? await Spool.open({
      dir: path.join(config.stateDir, 'spool'),
      onDrop: (n, why) => logger.warn('spool full: oldest alerts dropped', { dropped: n, why }),
    }) : undefined;
    const forwarders: { name: string; fw: Forwarder }[] = [];
    if (spool) {
      const tls = { caFile: config.collectorCa, certFile: config.collectorCert, keyFile: config.collectorKey };
      config.collectorUrls.forEach((url, i) => {
        const name = `http-${i}`;
        spool.consumer(name);
        forwarders.push({ name, fw: new HttpForwarder({ url, spool, name, tokenFile: config.collectorTokenFile, ...tls, logger }) });
      });
      config.syslogUrls.forEach((url, i) => {
        const name = `syslog-${i}`;
        spool.consumer(name);
        forwarders.push({ name, fw: new SyslogForwarder({ url, spool, name, ...tls, hostName: config.hostName, logger }) });
      });
    }
    const out = new AlertOutputs(config, logger, spool, forwarders);
    out.file.open();
    for (const f of forwarders) f.fw.start();
    return out;
  }

  /** Emits one alert, in order with the ones before it. */
  emit(alert: Record<string, unknown>): void {
    const out = this.config.format === 'ocsf' ? toOcsf(alert) : alert;
    this.chain = this.chain.then(async () => {
      if (this.spool) {
        try {
          await this.spool.append(out);
        } catch (err) {
          this.spoolErrors++;
          this.logger.error('alert not spooled for forwarding', { error: (err as Error).message });
        }
      }
      this.file.write(out);
      if (this.config.stdout) process.stdout.write(alertLine(alert) + '\n');
      this.emitted++;
    }).catch((err: unknown) => {
      this.logger.error('alert output failed', { error: (err as Error).message });
    });
  }

  /** Waits for every alert emitted so far to be written. */
  flush(): Promise<void> {
    return this.chain;
  }

  reopen(): void {
    this.file.reopen();
  }

  async close(): Promise<void> {
    await this.flush();
    for (const f of this.forwarders) await f.fw.stop().catch(() => undefined);
    await this.spool?.close();
    this.file.close();
  }

  stats(): Record<string, number | Record<string, number>> {
    const fwd: Record<string, number> = {};
    const failed: Record<string, number> = {};
    for (const f of this.forwarders) {
      const s = f.fw.stats as { sent?: number; failures?: number };
      fwd[f.name] = s.sent ?? 0;
      failed[f.name] = s.failures ?? 0;
    }
    return {
      forward_sent: fwd,
      forward_failures: failed,
      spool_depth: this.spool ? this.spool.depth() : 0,
      spool_oldest_age_seconds: this.spool ? Math.round(this.spool.oldestAgeMs() / 1000) : 0,
    };
  }
}
