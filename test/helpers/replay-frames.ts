// Built frames written to a capture and replayed through the real pipeline (runReplay), each in
// a state dir of its own under `dir`, with the learning period off: the stats and the alerts.
import fs from 'node:fs';
import path from 'node:path';
import winston from 'winston';
import { loadConfig } from '../../lib/config/index.js';
import { runReplay, type ReplayStats } from '../../lib/pipeline/index.js';
import { writePcap, type PcapFrame } from './packets.js';

const silent = winston.createLogger({ silent: true });

/** `flags` as the CLI takes them (external-cidr, proxy, ...); Ethernet frames unless `linkType` says otherwise. */
export async function replayFrames<A>(dir: string, frames: PcapFrame[], flags: Record<string, unknown> = {},
  logger: winston.Logger = silent, linkType = 1): Promise<{ stats: ReplayStats; alerts: A[] }> {
  const sub = fs.mkdtempSync(path.join(dir, 'r-'));
  const file = path.join(sub, 'capture.pcap');
  writePcap(file, linkType, frames);
  const alertsFile = path.join(sub, 'alerts.json');
  const config = loadConfig({ flags: { 'state-dir': path.join(sub, 'state'), 'alerts-file': alertsFile, 'learning-period': '0', ...flags }, env: {} });
  const stats = await runReplay(config, [file], logger);
  const text = fs.existsSync(alertsFile) ? fs.readFileSync(alertsFile, 'utf8') : '';
  return { stats, alerts: text.trim().split('\n').filter(Boolean).map((l) => JSON.parse(l) as A) };
}
