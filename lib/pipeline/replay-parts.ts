// What a replay does around its packets, shared by the single-threaded replay (index.ts
// runReplay) and the two threads of a split one (split-replay.ts, split-worker.ts): opening and
// closing the judging (alert outputs, baseline, pipeline), and reading the files in turn.
import path from 'node:path';
import type winston from 'winston';
import type { AgentConfig } from '../config/index.js';
import { CaptureError, inflateIfCompressed, readErrorReason, type Inflated, type PacketCallback, type ReplayResult } from '../capture/index.js';
import { Baseline, BaselineWriteError } from '../baseline/index.js';
import { AlertOutputs } from './outputs.js';
import { Pipeline, type PipelineSettings } from './pipeline.js';

export interface ReplayStats {
  packets: number;
  decodeErrors: Record<string, number>;
  decodeSkipped: Record<string, number>;
  dnsResponses: number;
  dnsAnswers: number;
  /** Connection starts seen (tcp: SYNs), and TCP connections taken up mid-stream (their SYN not in the capture). */
  connections: { tcp: number; udp: number; tcpMidstream: number };
  alerts: number;
  seconds: number;
  packetsPerSecond: number;
  files: number;
  /** Files that could not be read, with libpcap's reason; the others were still replayed. */
  failedFiles: { file: string; error: string }[];
  /** Files libpcap stopped reading before their end (cut short, corrupt): their packets up to there were replayed. */
  incompleteFiles: { file: string; packets: number; error: string }[];
  /** Connections that raised no alert because judging them failed (the baseline could not be written). */
  connectionsNotJudged: number;
  /** Why the baseline's writes failed (a full disk under --state-dir): new entries during the run, or the last updates at close; absent when none did. */
  baselineWriteError?: string;
  /** Alerts the alerts file would not take (a full disk), and the errno it gave; 0 when all were written. */
  alertsNotWritten: number;
  alertsWriteError?: string;
  /**
   * Times reading stopped to let the judgments of new destinations catch up (a capture with
   * very many of them, such as a scan); each file read on from where it stopped.
   */
  replayPauses: number;
}

/** A replay's counts from its reading side (packets, decoding, flows). */
export interface ReadingCounts {
  packets: number;
  decodeErrors: Record<string, number>;
  decodeSkipped: Record<string, number>;
  connections: ReplayStats['connections'];
}

export function readingCounts(p: Pipeline): ReadingCounts {
  const fs = p.flows.stats;
  return {
    packets: p.stats.packets, decodeErrors: { ...p.decodeStats.errors }, decodeSkipped: { ...p.decodeStats.skipped },
    connections: { tcp: fs.tcpStarts, udp: fs.udpStarts, tcpMidstream: fs.tcpMidstream },
  };
}

/** The statistics of a replay from its parts. */
export function replayStats(reading: ReadingCounts, judged: JudgingResult, outcomes: FileOutcomes,
  run: { seconds: number; files: number; replayPauses: number }): ReplayStats {
  const { alertsWriteError, baselineWriteError, ...judgedCounts } = judged;
  return {
    packets: reading.packets,
    decodeErrors: reading.decodeErrors,
    decodeSkipped: reading.decodeSkipped,
    dnsResponses: judgedCounts.dnsResponses,
    dnsAnswers: judgedCounts.dnsAnswers,
    connections: reading.connections,
    alerts: judgedCounts.alerts,
    seconds: run.seconds,
    packetsPerSecond: run.seconds > 0 ? Math.round(reading.packets / run.seconds) : 0,
    files: run.files,
    failedFiles: outcomes.failedFiles,
    incompleteFiles: outcomes.incompleteFiles,
    connectionsNotJudged: judgedCounts.connectionsNotJudged,
    ...(baselineWriteError !== undefined ? { baselineWriteError } : {}),
    alertsNotWritten: judgedCounts.alertsNotWritten,
    replayPauses: run.replayPauses,
    ...(alertsWriteError !== undefined ? { alertsWriteError } : {}),
  };
}

/**
 * The replay's packet callback for `p`: each packet, then at every TICK_MS of packet time a tick
 * (and at every EXPIRE_MS the flows' expiry), as the daemon's timers do on the wall clock.
 */
export function packetFeeder(p: Pipeline): PacketCallback {
  let nextTick = 0;
  let nextExpire = 0;
  return (buf, caplen, wireLen, ts, linkType, _handle, offset) => {
    p.onPacket(buf, caplen, wireLen, ts, linkType, undefined, offset);
    if (ts >= nextTick) {
      p.tick(ts);
      nextTick = ts + TICK_MS;
      if (ts >= nextExpire) {
        p.expire(ts);
        nextExpire = ts + EXPIRE_MS;
      }
    }
  };
}

/** Packet time between ticks (held alerts due, names waited for) and between flow expiry sweeps. */
export const TICK_MS = 250;
export const EXPIRE_MS = 5_000;
/**
 * Connections a replay lets wait for their judgment (their baseline write) before it pauses
 * reading to let them finish: ~8 KB each, so ~130 MB. A capture of a busy host has a few
 * thousand new destinations at most (the bench's 2M packets: 4,000) and never pauses.
 */
export const MAX_PENDING_JUDGMENTS = 16_384;

/** Logs that the baseline store was damaged and LevelDB's repair got it open (lib/level-open.ts). */
export function baselineRepaired(logger: winston.Logger, stateDir: string): (what: string) => void {
  return (what) => logger.warn('baseline was damaged (a crash?) and LevelDB repaired it; entries in files it could not read are lost (see docs/operations.md)', {
    dir: path.join(stateDir, 'baseline'), damage: what,
  });
}

/** The judging side of a replay: where alerts go, the baseline, the pipeline that judges. */
export interface Judging {
  alerts: AlertOutputs;
  baseline: Baseline;
  pipeline: Pipeline;
}

/**
 * Opens the alert outputs, then the baseline (before the first packet: a file is read in one
 * synchronous call, and the pipeline judges from the open baseline's memory as it goes; a new
 * state dir's learning period starts at the capture's first connection rather than today).
 */
export async function openJudging(config: Readonly<AgentConfig>, settings: PipelineSettings, logger: winston.Logger,
  writeStdout?: (text: string) => void): Promise<Judging> {
  const alerts = await AlertOutputs.open(config, logger, false, writeStdout);
  const clock = { pipeline: undefined as Pipeline | undefined };
  const now = (): number => clock.pipeline?.lastPacketTime ?? 0;
  let baseline: Baseline;
  try {
    baseline = await Baseline.open({
      dir: path.join(config.stateDir, 'baseline'), windowMs: config.baselineWindowMs, learningPeriodMs: config.learningPeriodMs, now,
      learningFromFirstObservation: true,
      onRepaired: baselineRepaired(logger, config.stateDir),
    });
  } catch (err) {
    await alerts.close();
    throw err;
  }
  const pipeline = new Pipeline(settings, { baseline, emit: (a) => alerts.emit(a), logger, now });
  clock.pipeline = pipeline;
  return { alerts, baseline, pipeline };
}

/** What the judging side of a replay reports (ReplayStats). */
export interface JudgingResult {
  dnsResponses: number;
  dnsAnswers: number;
  alerts: number;
  connectionsNotJudged: number;
  baselineWriteError?: string;
  alertsNotWritten: number;
  alertsWriteError?: string;
}

/** Ends the judging: what is in flight and held goes out, the baseline and the outputs close. */
export async function closeJudging(j: Judging, config: Readonly<AgentConfig>, logger: winston.Logger): Promise<JudgingResult> {
  const p = j.pipeline;
  await p.finish();
  let baselineWriteError: string | undefined;
  try {
    await j.baseline.close();
  } catch (err) {
    // The alerts already out stay out; the stats say what is missing and the CLI fails the run.
    baselineWriteError = (err as Error).message;
    logger.error('baseline not saved', { error: baselineWriteError });
  }
  // New entries that could not be written left their connections without a verdict (and an
  // alert) even when nothing was left to write at close: that fails the run too.
  if (baselineWriteError === undefined && p.stats.judgeErrors > 0) {
    baselineWriteError = new BaselineWriteError(path.join(config.stateDir, 'baseline'), p.firstJudgeError).message;
  }
  await j.alerts.close();
  const file = j.alerts.file;
  return {
    dnsResponses: p.dnsStats.responses,
    dnsAnswers: p.dnsStats.answers,
    alerts: p.stats.alerts,
    connectionsNotJudged: p.stats.judgeErrors,
    ...(baselineWriteError !== undefined ? { baselineWriteError } : {}),
    alertsNotWritten: file.linesDropped,
    ...(file.linesDropped > 0 ? { alertsWriteError: file.writeFailing ?? 'write failed' } : {}),
  };
}

/** Files of a replay that could not be read, or not to their end. */
export interface FileOutcomes {
  failedFiles: { file: string; error: string }[];
  incompleteFiles: { file: string; packets: number; error: string }[];
}

/**
 * Reads the files in turn with `readOne` (given the path to read, a gzip file's inflated copy,
 * and a progress callback for packets read so far), logging and collecting what could not be read.
 */
export async function readFiles(files: string[], logger: winston.Logger,
  readOne: (file: string, progress: (packets: number) => void) => Promise<ReplayResult>): Promise<FileOutcomes> {
  const out: FileOutcomes = { failedFiles: [], incompleteFiles: [] };
  for (const file of files) {
    let read = 0;
    let inflated: Inflated | undefined;
    try {
      inflated = await inflateIfCompressed(file);
      if (inflated) logger.info('gzip-compressed capture file inflated into a temporary file to be replayed', { file, into: inflated.path });
      const r = await readOne(inflated?.path ?? file, (packets) => { read = packets; });
      if (r.pcapngFrom !== undefined) {
        logger.info('libpcap could not read this pcapng past a point (interfaces of different link types); read on with our own pcapng reader', {
          file, libpcapPackets: r.pcapngFrom, packets: r.packets,
        });
      }
      // A gzip stream that breaks off usually cuts a record too: its own reason says more.
      if (r.readError || inflated?.error !== undefined) {
        const error = inflated?.error ?? readErrorReason(r.packets);
        out.incompleteFiles.push({ file, packets: r.packets, error });
        logger.error('capture file not read to its end', { file, packets: r.packets, error });
      }
    } catch (err) {
      if (!(err instanceof CaptureError)) throw err;
      // libpcap names the file it was given: the temporary one, for a gzip file.
      const message = inflated ? err.message.split(inflated.path).join(`${file} (inflated)`) : err.message;
      if (read > 0) {
        // Gone or changed while the replay waited for its judgments (see replayOne).
        const error = `reading stopped after ${read} packet(s): the file could not be opened again to read on (${message})`;
        out.incompleteFiles.push({ file, packets: read, error });
        logger.error('capture file not read to its end', { file, packets: read, error });
        continue;
      }
      out.failedFiles.push({ file, error: message });
      logger.error('capture file skipped', { file, error: message });
    } finally {
      inflated?.remove();
    }
  }
  return out;
}
