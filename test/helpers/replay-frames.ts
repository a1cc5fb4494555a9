// Built frames written to a capture and replayed through the real pipeline (runReplay), each in
// a state dir of its own under `dir`, with the learning period off: the stats and the alerts.
// Replayed twice, on one thread and on two (--replay-threads; split-replay.ts), which must give
// the same statistics and the same alert lines: every test that replays frames checks both.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import winston from 'winston';
import { loadConfig } from '../../lib/config/index.js';
import { runReplay, type ReplayStats } from '../../lib/pipeline/index.js';
import { writePcap, type PcapFrame } from './packets.js';

const silent = winston.createLogger({ silent: true });

/**
 * `flags` as the CLI takes them (external-cidr, proxy, ...); Ethernet frames unless `linkType`
 * says otherwise. The result is the two-thread replay's, whose log goes to `logger`.
 */
export async function replayFrames<A>(dir: string, frames: PcapFrame[], flags: Record<string, unknown> = {},
  logger: winston.Logger = silent, linkType = 1): Promise<{ stats: ReplayStats; alerts: A[] }> {
  const sub = fs.mkdtempSync(path.join(dir, 'r-'));
  const file = path.join(sub, 'capture.pcap');
  writePcap(file, linkType, frames);
  const one = await replayOnce(sub, 'one-thread', [file], { ...flags, 'replay-threads': 1 }, silent);
  const two = await replayOnce(sub, 'two-threads', [file], { ...flags, 'replay-threads': 2 }, logger);
  assertSameReplays(one, two);
  return { stats: two.stats, alerts: two.text.trim().split('\n').filter(Boolean).map((l) => JSON.parse(l) as A) };
}

export interface Replayed {
  stats: ReplayStats;
  /** The alerts file's text ('' when none was written). */
  text: string;
}

/**
 * Replays `files` with `flags` into a state dir and alerts file of their own under `dir`/`name`;
 * with `configFile`, its settings under the flags (the learning period then from the file).
 */
export async function replayOnce(dir: string, name: string, files: string[], flags: Record<string, unknown>,
  logger: winston.Logger = silent, configFile?: string): Promise<Replayed> {
  const alertsFile = path.join(dir, name, 'alerts.json');
  const config = loadConfig({
    file: configFile,
    flags: { 'state-dir': path.join(dir, name, 'state'), 'alerts-file': alertsFile, ...(configFile === undefined ? { 'learning-period': '0' } : {}), ...flags },
    env: {},
  });
  const stats = await runReplay(config, files, logger);
  return { stats, text: fs.existsSync(alertsFile) ? fs.readFileSync(alertsFile, 'utf8') : '' };
}

/** The same statistics but for the time taken, and the same alert lines, in the same order. */
export function assertSameReplays(one: Replayed, two: Replayed): void {
  const counts = (s: ReplayStats): Omit<ReplayStats, 'seconds' | 'packetsPerSecond'> => {
    const { seconds: _s, packetsPerSecond: _p, ...rest } = s;
    return rest;
  };
  assert.deepEqual(counts(two.stats), counts(one.stats), 'the two-thread replay counts as the one-thread replay does');
  const lines = (t: string): string[] => t.split('\n').filter(Boolean);
  assert.deepEqual(lines(two.text), lines(one.text), 'the two-thread replay writes the alerts the one-thread replay does');
}
