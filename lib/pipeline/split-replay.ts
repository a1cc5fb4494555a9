// A replay on two threads. This one reads the files, decodes each packet and keeps the flow
// table (a Pipeline with a FrontSink); the judging thread (split-worker.ts) runs the DNS stage,
// the connection path, the baseline and the alert outputs on its own Pipeline, from the records
// this one writes into a shared ring (split-records.ts, split-ring.ts), in packet order. Nothing
// it decides flows back but which payloads it still wants (two shared words per flow), so
// its alerts and counts are those of a single-threaded replay (test/pipeline/split-replay.test.ts).
//
// Why: on the benchmark's capture the single-threaded replay spends ~45% of its time decoding
// and in the flow table, ~55% in DNS and the connection path; each thread now takes about half.
import fs from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Worker } from 'node:worker_threads';
import type winston from 'winston';
import { ConfigError, type AgentConfig } from '../config/index.js';
import type { PacketCallback, ReplayOptions, ReplayResult } from '../capture/index.js';
import { Pipeline, type PipelineSettings } from './pipeline.js';
import { FrontSink } from './split-front.js';
import { wantsFor } from './split-records.js';
import { keepJudgingThread, takeJudgingThread } from './split-thread.js';
import { makeRing, RingStopped, RingWriter, WRITER_FAILED } from './split-ring.js';
import { packetFeeder, readFiles, readingCounts, replayStats, type FileOutcomes, type JudgingResult, type ReadingCounts, type ReplayStats } from './replay-parts.js';

/**
 * The ring's size: ~0.3 s of records at the benchmark's rate (mostly a 40-byte record per packet
 * of a tracked flow: 24 of header, 12 of fields, padded to 8), which lets the reading go on while the judging thread starts.
 */
export const RING_BYTES = 64 * 1024 * 1024;

export interface SplitOptions {
  /** The ring's size in bytes, a power of two (tests make it small, for the reading to wait on the judging). */
  ringBytes?: number;
}

/** What the judging thread posts. */
export type FromJudging =
  | { type: 'log'; info: Record<string, unknown> }
  | { type: 'stdout'; text: string }
  | { type: 'done'; judged: JudgingResult; front: ReadingCounts; pauses: number }
  | { type: 'error'; error: Record<string, unknown> };

/** What it is given to start a replay. */
export interface JudgingStart {
  type: 'start';
  config: AgentConfig;
  settings: PipelineSettings;
  logLevel: string;
  ring: ReturnType<typeof makeRing>;
  wants: SharedArrayBuffer;
}

type Reader = (path: string, onPacket: PacketCallback, opts?: ReplayOptions) => ReplayResult;

export async function runSplitReplay(config: Readonly<AgentConfig>, settings: PipelineSettings, files: string[], logger: winston.Logger,
  readCapture: Reader, opts: SplitOptions = {}): Promise<ReplayStats> {
  const worker = takeJudgingThread();
  let done: Awaited<ReturnType<typeof judgingResult>>;
  let outcomes: FileOutcomes;
  const started = process.hrtime.bigint();
  try {
    [done, outcomes] = await readAndJudge(worker, config, settings, files, logger, readCapture, opts.ringBytes ?? RING_BYTES);
  } catch (err) {
    void worker.terminate();
    throw err;
  }
  keepJudgingThread(worker);
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  return replayStats(done.front, done.judged, outcomes, { seconds, files: files.length, replayPauses: done.pauses });
}

async function readAndJudge(worker: Worker, config: Readonly<AgentConfig>, settings: PipelineSettings, files: string[], logger: winston.Logger,
  readCapture: Reader, ringBytes: number): Promise<[Awaited<ReturnType<typeof judgingResult>>, FileOutcomes]> {
  const ring = makeRing(ringBytes);
  // Flow ids are those of flows open at once: at most the flow table's bound.
  const wants = wantsFor(settings.flowTableSize);
  const result = judgingResult(worker, logger);
  // Its rejection is taken below, after the reading (an unhandled one meanwhile would be reported).
  result.catch(() => undefined);
  const start: JudgingStart = { type: 'start', config: { ...config }, settings, logLevel: logger.level, ring, wants };
  worker.postMessage(start);
  const writer = new RingWriter(ring);
  const sink = new FrontSink(writer, new Int32Array(wants));
  const clock = { p: undefined as Pipeline | undefined };
  const p = new Pipeline(settings, {
    baseline: () => Promise.reject(new Error('the reading thread of a replay does not judge')),
    emit: () => undefined, logger, now: () => clock.p?.lastPacketTime ?? 0, sink,
  });
  clock.p = p;
  let outcomes: FileOutcomes;
  try {
    const onPacket = packetFeeder(p);
    outcomes = await readFiles(files, logger, async (file) => {
      sink.file(isRegularFile(file));
      const r = readCapture(file, onPacket);
      sink.fileEnd(r.packets);
      return r;
    });
    p.flows.endAll('shutdown');
    sink.finish(readingCounts(p));
  } catch (err) {
    writer.fail(WRITER_FAILED);
    // The judging thread stopped first: its error is the one to tell (if it tells it: one gone silent may not).
    if (err instanceof RingStopped) await Promise.race([result, sleep(5_000, undefined, { ref: false })]);
    throw err;
  }
  return [await result, outcomes];
}

/** A regular file: a single-threaded replay may pause in it (replay.ts shouldPause), a pipe it reads in one go. */
function isRegularFile(file: string): boolean {
  try {
    return fs.statSync(file).isFile();
  } catch {
    return false;
  }
}

/** The judging thread's result; its log lines go to `logger` as they come. */
function judgingResult(worker: Worker, logger: winston.Logger): Promise<{ judged: JudgingResult; front: ReadingCounts; pauses: number }> {
  return new Promise((resolve, reject) => {
    const stop = (): void => {
      worker.off('message', onMessage);
      worker.off('error', onError);
      worker.off('exit', onExit);
    };
    const onMessage = (m: FromJudging): void => {
      if (m.type === 'log') {
        logger.log(m.info as unknown as winston.LogEntry);
        return;
      }
      if (m.type === 'stdout') {
        process.stdout.write(m.text);
        return;
      }
      stop();
      if (m.type === 'done') resolve(m);
      else reject(errorFrom(m.error));
    };
    const onError = (err: Error): void => {
      stop();
      reject(err);
    };
    const onExit = (code: number): void => {
      stop();
      reject(new Error(`the judging thread of the replay exited (code ${code})`));
    };
    worker.on('message', onMessage);
    worker.on('error', onError);
    worker.on('exit', onExit);
  });
}

/** An error of the judging thread as data (postMessage keeps no class). */
export function errorData(err: unknown): Record<string, unknown> {
  if (!(err instanceof Error)) return { message: String(err) };
  const out: Record<string, unknown> = { name: err.name, message: err.message, stack: err.stack };
  for (const k of ['code', 'userMessage', 'exitCode', 'setting', 'fix', 'path', 'syscall']) {
    const v = (err as unknown as Record<string, unknown>)[k];
    if (v !== undefined) out[k] = v;
  }
  return out;
}

/** The error again, as the CLI tells errors apart: its name and fields (a ConfigError as one). */
export function errorFrom(data: Record<string, unknown>): Error {
  const message = String(data.message);
  const err = data.name === 'ConfigError' ? new ConfigError(message, String(data.setting ?? ''), String(data.fix ?? '')) : new Error(message);
  for (const [k, v] of Object.entries(data)) {
    if (k !== 'message' && k !== 'setting' && k !== 'fix') Object.defineProperty(err, k, { value: v, writable: true, configurable: true, enumerable: k !== 'stack' && k !== 'name' });
  }
  return err;
}
