// The scan benchmark: memory of a replay whose capture has very many new destinations (a host
// scanning: a SYN to each of N addresses, 100 µs apart). Every one of them is a new
// destination, and each alerts only once the baseline has written it, while libpcap hands over
// the whole file in one synchronous call; the replay pauses reading once 16,384 judgments wait
// (pipeline/index.ts). Each size is replayed in a child process of its own (a fresh heap), which
// reports its peak RSS. Printed side by side: if memory stays flat as the destinations grow,
// the pending judgments are bounded (before the pause, 600,000 destinations took 4.4 GB).
// Addresses: 2001:db8::/32 in the file only; nothing is sent anywhere.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import winston from 'winston';
import { loadConfig } from '../lib/config/index.js';
import { runReplay } from '../lib/pipeline/index.js';
import { PacketSpec, SYN, TCP, writeFrame } from './frames.js';
import { fmtInt, table } from './measure.js';
import { PcapWriter } from './pcap-writer.js';

/** Destinations per capture, smallest first. */
export const SCAN_SIZES = [100_000, 300_000];

interface ChildResult { destinations: number; seconds: number; alerts: number; pauses: number; peakMiB: number }

/** A SYN from one host to each of `n` addresses in 2001:db8::/32, 100 µs apart. */
function writeScan(file: string, n: number): void {
  const w = new PcapWriter(file);
  const p = new PacketSpec();
  p.v6 = true;
  p.proto = TCP;
  p.flags = SYN;
  p.outbound = true;
  p.src = Buffer.from('fd000000000000000000000000000005', 'hex');
  p.dport = 443;
  const dst = Buffer.from('20010db8000100000000000000000000', 'hex');
  for (let i = 0; i < n; i++) {
    dst.writeUInt32BE(i + 1, 12);
    p.dst = dst;
    p.sport = 10_000 + (i % 50_000);
    p.seq = (i * 7919) >>> 0;
    const len = writeFrame(w.buf, w.frameStart(), p);
    w.commit(len, 1_764_000_000_000_000 + i * 100);
  }
  w.close();
}

/** In the child: one replay, then its own numbers as one JSON line. */
async function child(file: string, destinations: number): Promise<void> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'egresswatch-scan-'));
  try {
    const config = loadConfig({
      flags: { stateDir: dir, alertsFile: '/dev/null', learningPeriod: '0', externalCidr: ['2001:db8::/32'] },
      env: {},
    });
    const logger = winston.createLogger({ silent: true, transports: [new winston.transports.Console({ silent: true })] });
    const stats = await runReplay(config, [file], logger);
    const out: ChildResult = {
      destinations, seconds: stats.seconds, alerts: stats.alerts, pauses: stats.replayPauses,
      peakMiB: Math.round(process.resourceUsage().maxRSS / 1024),
    };
    process.stdout.write(`${JSON.stringify(out)}\n`);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

/** Runs the benchmark and prints its table; returns the printed lines (for bench/RESULTS.md). */
export function runScanBench(sizes: number[] = SCAN_SIZES): string[] {
  const lines: string[] = [];
  const say = (s: string): void => {
    console.log(s);
    lines.push(s);
  };
  say(`\nscan replay: a SYN to each of ${sizes.map(fmtInt).join(' / ')} new destinations, each size in a child process:`);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'egresswatch-scan-bench-'));
  const results: ChildResult[] = [];
  try {
    for (const n of sizes) {
      const file = path.join(dir, `scan-${n}.pcap`);
      writeScan(file, n);
      const out = execFileSync(process.execPath, [fileURLToPath(import.meta.url), '--child', file, String(n)], { encoding: 'utf8', timeout: 600_000 });
      results.push(JSON.parse(out.trim().split('\n').pop() as string) as ChildResult);
      fs.rmSync(file, { force: true });
    }
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
  for (const l of table([
    ['new destinations', 'seconds', 'alerts', 'alerts/s', 'pauses', 'peak RSS, MiB'],
    ...results.map((r) => [fmtInt(r.destinations), r.seconds.toFixed(1), fmtInt(r.alerts), fmtInt(r.alerts / r.seconds), String(r.pauses), String(r.peakMiB)]),
  ]).split('\n')) say(l);
  const first = results[0];
  const last = results[results.length - 1];
  say(`peak RSS ratio ${fmtInt(last.destinations)} / ${fmtInt(first.destinations)} destinations: ${(last.peakMiB / first.peakMiB).toFixed(2)} `
    + `(destinations x${(last.destinations / first.destinations).toFixed(0)}; flat means the pending judgments are bounded)`);
  return lines;
}

if (process.argv[2] === '--child') {
  child(process.argv[3], Number(process.argv[4])).catch((err: unknown) => {
    console.error((err as Error).stack ?? String(err));
    process.exitCode = 1;
  });
}
