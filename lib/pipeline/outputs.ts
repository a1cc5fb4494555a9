// Where an alert goes once raised: the durable spool (when forwarding is configured) first, then
// the local alerts file, then standard output. The spool comes first so that an alert reported
// as written is already safe for the forwarders, across a collector outage or a kill -9.
//
// reconfigure() (SIGHUP) swaps outputs without losing an alert: forwarders change while alerts
// keep going into the spool (they only read it); the alerts file, the format, --stdout and the
// closing of a spool nobody reads any more change inside the write chain, so every alert
// emitted before the reload is written by the old outputs and every one after by the new.
import type winston from 'winston';
import type { AgentConfig } from '../config/index.js';
import { alertLine } from '../alerts/index.js';
import { AlertFile, toOcsf, writeErrorFix } from '../outputs/index.js';
import { SpoolForwarders, type ApplyReport } from '../outputs/spool-forwarders.js';
import type { Spool } from '../outputs/spool.js';

/**
 * Alerts written together at most (one alerts-file write, one spool append). A replay concludes
 * its new destinations in one go after the last packet (they wait for their baseline entries):
 * 4,000 alerts at once on the bench capture, whose texts and lines, all held until one write,
 * were copied by the young generation's collections; in batches of this many, the texts of each
 * batch die before the next is made (from the end of reading to the end of the pipeline's
 * finish(), warm replays: ~160-290 ms against ~275-365).
 */
const MAX_BATCH = 256;
/** Alerts kept in memory while the spool fails, and how often the spool is tried again. */
const UNSPOOLED_MAX = 10_000;
const SPOOL_RETRY_MS = 5_000;

/** The settings reconfigure() applies; every other one needs a restart. */
export const OUTPUT_SETTINGS = [
  'format', 'stdout', 'alertsFile', 'alertsMaxBytes', 'alertsMaxFiles', 'collectorUrls', 'syslogUrls',
  'collectorTokenFile', 'collectorCa', 'collectorCert', 'collectorKey',
] as const satisfies readonly (keyof AgentConfig)[];

export interface ReconfigureReport extends ApplyReport {
  alertsFile: 'reopened' | 'changed' | 'kept-old';
}

export class AlertOutputs {
  private fileRef: AlertFile;
  private chain: Promise<void> = Promise.resolve();
  /** Alerts emitted and not yet taken by the write chain (its step is queued). */
  private batch: Record<string, unknown>[] | undefined;
  /** Reloads, one at a time (two quick SIGHUPs apply in order). */
  private reloading: Promise<unknown> = Promise.resolve();
  emitted = 0;
  /** Failed spool appends (counter). */
  spoolErrors = 0;
  /** Alerts not yet handed to the forwarders because the spool failed (a full disk), oldest first, as JSON text. */
  private unspooled: string[] = [];
  private spoolRetry: NodeJS.Timeout | undefined;
  /** Alerts given up on for forwarding: past UNSPOOLED_MAX, or still unspooled at close. */
  unspooledDropped = 0;

  private constructor(
    private config: Readonly<AgentConfig>,
    private readonly logger: winston.Logger,
    private readonly forwarding: SpoolForwarders,
    private readonly writeStdout: (text: string) => void,
  ) {
    this.fileRef = fileOf(config, logger);
  }

  /**
   * Opens the file and, when forwarding is configured, the spool and the forwarders.
   * `writeStdout`: where --stdout lines go (the judging thread of a replay hands them to the main
   * thread, in order with its end: split-worker.ts).
   */
  static async open(config: Readonly<AgentConfig>, logger: winston.Logger, live: boolean,
    writeStdout: (text: string) => void = (text) => process.stdout.write(text)): Promise<AlertOutputs> {
    const forwarding = new SpoolForwarders({ stateDir: config.stateDir, logger });
    if (live) await forwarding.apply(config);
    const out = new AlertOutputs(config, logger, forwarding, writeStdout);
    try {
      out.fileRef.openOrWait();
    } catch (err) {
      await forwarding.close();
      throw err;
    }
    return out;
  }

  get file(): AlertFile {
    return this.fileRef;
  }

  get spool(): Spool | undefined {
    return this.forwarding.spool;
  }

  get forwarders(): readonly { name: string }[] {
    return this.forwarding.list();
  }

  /**
   * Emits one alert, in order with the ones before it. Alerts emitted before the write chain
   * gets to them go out together (one alerts-file write for up to MAX_BATCH): emit() only queues.
   */
  emit(alert: Record<string, unknown>): void {
    let batch = this.batch;
    if (batch === undefined || batch.length >= MAX_BATCH) {
      const next: Record<string, unknown>[] = [];
      this.serial(() => this.writeBatch(next));
      this.batch = batch = next;
    }
    batch.push(alert);
  }

  private async writeBatch(batch: Record<string, unknown>[]): Promise<void> {
    if (this.batch === batch) this.batch = undefined;
    const out = this.config.format === 'ocsf' ? batch.map((a) => toOcsf(a)) : batch;
    // Serialised once for both (under a flood JSON.stringify is the largest part of an alert's cost).
    const json = out.map((a) => JSON.stringify(a));
    await this.spoolAll(json);
    this.fileRef.writeMany(out, json);
    if (this.config.stdout) this.writeStdout(batch.map((a) => alertLine(a) + '\n').join(''));
    this.emitted += batch.length;
  }

  /** The spool has every alert it was given: nothing waits for a failed append to be retried. */
  get spoolCaughtUp(): boolean {
    return this.unspooled.length === 0;
  }

  /**
   * Appends to the spool, in order, after what earlier failures left. An append that fails (a
   * full disk under --state-dir) keeps it and the ones after it in memory, bounded, retried every
   * SPOOL_RETRY_MS and before newer alerts: forwarding gets them once the disk has room. (The
   * alerts file is written either way.)
   */
  private async spoolAll(json: readonly string[]): Promise<void> {
    const spool = this.forwarding.spool;
    if (!spool) {
      // Forwarding was turned off by a reload: what waited for the spool has no reader any more.
      this.unspooledDropped += this.unspooled.length;
      this.unspooled = [];
      clearInterval(this.spoolRetry);
      this.spoolRetry = undefined;
      return;
    }
    const todo = this.unspooled.length > 0 ? [...this.unspooled, ...json] : json;
    this.unspooled = [];
    for (let i = 0; i < todo.length; i++) {
      try {
        await spool.appendJson(todo[i]);
      } catch (err) {
        this.spoolErrors++;
        const keep = todo.slice(i, i + UNSPOOLED_MAX);
        this.unspooledDropped += todo.length - i - keep.length;
        this.unspooled = keep;
        if (this.spoolRetry === undefined) {
          this.logger.error('alerts not spooled for forwarding; kept in memory and retried', {
            error: (err as Error).message, alerts: keep.length, fix: 'free space on (or repair) the file system of --state-dir',
          });
          this.spoolRetry = setInterval(() => {
            if (this.unspooled.length > 0) this.serial(() => this.spoolAll([]));
          }, SPOOL_RETRY_MS);
          this.spoolRetry.unref();
        }
        return;
      }
    }
    if (this.spoolRetry !== undefined) {
      clearInterval(this.spoolRetry);
      this.spoolRetry = undefined;
      this.logger.info('spool writable again; the alerts kept for forwarding are spooled');
    }
  }

  /** Waits for every alert emitted so far to be written. */
  flush(): Promise<void> {
    return this.chain;
  }

  /** Reopens the alerts file under its name (after logrotate renamed it), ending a hold. */
  reopen(): void {
    this.serial(() => Promise.resolve(this.fileRef.reopen()));
  }

  /**
   * logrotate's prerotate (SIGUSR2): hold alerts-file writes until the postrotate SIGHUP's
   * reopen. Not through the write chain: it must take effect (and its marker exist) now; an
   * alert the chain writes later is queued in order. The spool and --stdout are not held.
   */
  hold(): void {
    this.fileRef.hold();
  }

  /**
   * Applies the output settings of `next` (OUTPUT_SETTINGS; the others are ignored here). A part
   * that cannot be applied (unreadable CA, unwritable alerts file) is logged and that part keeps
   * running as before; the rest is applied.
   */
  reconfigure(next: Readonly<AgentConfig>): Promise<ReconfigureReport> {
    const run = this.reloading.then(() => this.apply(next));
    this.reloading = run.catch(() => undefined);
    return run;
  }

  private async apply(next: Readonly<AgentConfig>): Promise<ReconfigureReport> {
    let fwd: ApplyReport;
    let forwardingApplied = true;
    try {
      fwd = await this.forwarding.apply({ ...next, hostName: this.config.hostName });
    } catch (err) {
      forwardingApplied = false;
      this.logger.error('SIGHUP: forwarding not changed, the running forwarders go on', { error: (err as Error).message });
      fwd = { started: [], stopped: [], kept: this.forwarding.list().map((f) => f.name), spool: this.forwarding.spool ? 'kept' : 'none' };
    }
    let alertsFile: ReconfigureReport['alertsFile'] = 'reopened';
    await this.serial(async () => {
      alertsFile = this.swapFile(next);
      const keepFile = alertsFile === 'kept-old';
      const prev = this.config;
      this.config = Object.freeze({
        ...next,
        ...(keepFile ? { alertsFile: prev.alertsFile, alertsMaxBytes: prev.alertsMaxBytes, alertsMaxFiles: prev.alertsMaxFiles } : {}),
        ...(forwardingApplied ? {} : forwardingOf(prev)),
      });
      // Appends queued before this step have resolved, so the spool can close under no writer.
      await this.forwarding.closeIfUnused();
    });
    return { ...fwd, alertsFile };
  }

  /** Opens the new alerts file before closing the old one; on failure the old one stays. */
  private swapFile(next: Readonly<AgentConfig>): ReconfigureReport['alertsFile'] {
    const c = this.config;
    if (next.alertsFile === c.alertsFile && next.alertsMaxBytes === c.alertsMaxBytes && next.alertsMaxFiles === c.alertsMaxFiles) {
      this.fileRef.reopen();
      return 'reopened';
    }
    const file = fileOf(next, this.logger);
    try {
      file.open();
    } catch (err) {
      this.logger.error('SIGHUP: alerts file not changed, still writing to the old one', { file: c.alertsFile, error: (err as Error).message });
      this.fileRef.reopen();
      return 'kept-old';
    }
    // Alerts a failed write left on the old file go to the new one first, in order.
    const waiting = this.fileRef.takeUnwritten();
    this.fileRef.close();
    this.fileRef = file;
    file.adopt(waiting);
    this.logger.info('SIGHUP: alerts file changed', { from: c.alertsFile, to: next.alertsFile });
    return 'changed';
  }

  /**
   * Writes what is waiting and closes. Alerts the alerts file still would not take (a full
   * disk) are lost from it: logged, and counted in `file.linesDropped`.
   */
  async close(): Promise<void> {
    await this.reloading;
    await this.flush();
    if (this.unspooled.length > 0) await this.serial(() => this.spoolAll([]));
    clearInterval(this.spoolRetry);
    if (this.unspooled.length > 0) {
      this.logger.error('alerts could not be spooled before exit and will not be forwarded (they are in the alerts file)', { alerts: this.unspooled.length });
      this.unspooledDropped += this.unspooled.length;
      this.unspooled = [];
    }
    await this.forwarding.close();
    const lost = this.fileRef.close();
    if (lost > 0) {
      this.logger.error('alerts file: alerts could not be written before exit and are lost from it', {
        file: this.fileRef.file, alerts: lost, errno: this.fileRef.writeFailing,
        ...(this.forwarding.spool ? { note: 'they are in the forwarding spool' } : {}),
      });
    }
  }

  stats(): Record<string, number | Record<string, number>> {
    const fwd: Record<string, number> = {};
    const failed: Record<string, number> = {};
    for (const f of this.forwarding.list()) {
      const s = f.fw.stats as { sent?: number; failures?: number };
      fwd[f.name] = s.sent ?? 0;
      failed[f.name] = s.failures ?? 0;
    }
    const spool = this.forwarding.spool;
    const file = this.fileRef;
    return {
      alerts_file_renames_followed: file.renamesFollowed,
      alerts_file_reopen_errors: file.reopenErrors,
      alerts_file_reopen_failing: file.reopenFailing ? 1 : 0,
      alerts_file_created_after_wait: file.createdAfterWait,
      alerts_file_rename_races: file.renameRaces,
      alerts_file_holds: file.held.holds,
      alerts_file_hold_timeouts: file.held.timeouts,
      alerts_file_held_lines: file.held.queued,
      alerts_file_hold_overflows: file.held.overflows,
      alerts_file_write_errors: file.writeErrors,
      alerts_file_unwritten_lines: file.unwrittenLines,
      alerts_file_lines_dropped: file.linesDropped,
      forward_sent: fwd,
      forward_failures: failed,
      spool_depth: spool ? spool.depth() : 0,
      spool_append_errors: this.spoolErrors,
      spool_unspooled: this.unspooled.length,
      spool_unspooled_dropped: this.unspooledDropped,
      spool_oldest_age_seconds: spool ? Math.round(spool.oldestAgeMs() / 1000) : 0,
    };
  }

  private serial(fn: () => Promise<void>): Promise<void> {
    // A step queued after a batch closes it: alerts emitted from now on are written after the step.
    this.batch = undefined;
    this.chain = this.chain.then(fn).catch((err: unknown) => {
      this.logger.error('alert output failed', { error: (err as Error).message });
    });
    return this.chain;
  }
}

function fileOf(config: Readonly<AgentConfig>, logger: winston.Logger): AlertFile {
  return new AlertFile(config.alertsFile, {
    maxBytes: config.alertsMaxBytes, maxFiles: config.alertsMaxFiles,
    // Once per episode: alerts keep going into the renamed file, which followers have left.
    onReopenError: (file, errno) => logger.warn('alerts file: cannot open the file now under its name; alerts go on into the renamed one', {
      file, errno, fix: "logrotate's create must leave it writable by the agent's user (create 0640 egresswatch adm)",
    }),
    onHoldTimeout: (file) => logger.warn('alerts file: held for logrotate but no SIGHUP came; resumed, queued alerts written', { file }),
    // Once per episode: the alerts wait in memory, in order, and are written once the file takes them.
    onWriteError: (file, errno) => logger.error('alerts file: cannot write; alerts are kept in memory and written when it takes them again', {
      file, errno, fix: writeErrorFix(errno),
    }),
    onWriteRecovered: (file, lines) => logger.info('alerts file: writing again, waiting alerts written', { file, lines }),
  });
}

function forwardingOf(c: Readonly<AgentConfig>): Partial<AgentConfig> {
  return {
    collectorUrls: c.collectorUrls, syslogUrls: c.syslogUrls, collectorTokenFile: c.collectorTokenFile,
    collectorCa: c.collectorCa, collectorCert: c.collectorCert, collectorKey: c.collectorKey,
  };
}
