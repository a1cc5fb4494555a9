// `npm run bench`: the replay benchmark. Generates a synthetic busy-host capture, then, in
// one process and alternating (a, b, a, b, a, b), measures packets per second of
//   (a) the bare loop: libpcap (the `pcap` binding) delivering every packet to an empty callback,
//   (b) the full replay pipeline (the file read by lib/capture/pcap-file.ts, then decode → DNS →
//       flows → classify → baseline → alerts),
// and prints the medians, their ratio against the target, the pipeline's counters, peak RSS,
// the bare loop of pcap-file.ts (what (b) spends on reading, beside (a)),
// a micro-benchmark of the packet path's stages, and (c) the pipeline over the capture held in
// memory, which bounds the ratio any way of receiving the packets could reach.
// Flags: --packets N (default 2,000,000), --keep (keep the capture), --seed S.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import winston from 'winston';
import { replayFile } from '../lib/capture/index.js';
import { runScanBench } from './scan.js';
import { loadConfig } from '../lib/config/index.js';
import { replayThreads, SPLIT_MIN_BYTES } from '../lib/pipeline/split-thread.js';
import { DEFAULT_PACKETS, DEFAULT_SEED } from './gen-capture.js';
import { fmtInt, fmtMiB, median, memoryReader, seconds, table } from './measure.js';
import { runMicro } from './micro.js';
import { RssSampler } from './rss.js';
import { onlyFlag, runAttributionBench } from './attribution.js';

type PipelineModule = typeof import('../lib/pipeline/index.js');
type ReplayStats = Awaited<ReturnType<PipelineModule['runReplay']>>;
type CaptureReader = import('../lib/pipeline/index.js').CaptureReader;

/** The pipeline must reach this share of the bare loop's packet rate. */
const TARGET_RATIO = 0.35;
const RUNS = 3;
const EXTERNAL_CIDRS = ['192.0.2.0/24', '198.51.100.0/24', '203.0.113.0/24', '2001:db8::/32'];
const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');

interface Args { packets: number; keep: boolean; seed: number }

function parseArgs(argv: string[]): Args {
  const value = (flag: string): string | undefined => {
    const i = argv.indexOf(flag);
    return i >= 0 ? argv[i + 1] : undefined;
  };
  const packets = Number(value('--packets') ?? DEFAULT_PACKETS);
  if (!Number.isInteger(packets) || packets < 1000) throw new Error(`--packets must be an integer >= 1000, got ${value('--packets')}`);
  return { packets, keep: argv.includes('--keep'), seed: Number(value('--seed') ?? DEFAULT_SEED) };
}

interface Sample { pps: number; rss: number; packets: number; stats?: ReplayStats }

/** The bare loop: libpcap's (a), or with `ours` the pipeline's own reader of classic pcap files. */
function runBare(file: string, rss: RssSampler, ours = false): Sample {
  rss.reset();
  const t = process.hrtime.bigint();
  const r = replayFile(file, () => {}, { libpcap: !ours });
  const s = seconds(t);
  return { pps: r.packets / s, rss: rss.peakBytes(), packets: r.packets };
}

async function runPipeline(mod: PipelineModule, file: string, rss: RssSampler, read?: CaptureReader): Promise<Sample> {
  // A fresh state dir per run: every run starts from an empty baseline and raises the same alerts.
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'egresswatch-bench-'));
  try {
    const config = loadConfig({
      flags: { stateDir: dir, alertsFile: path.join(dir, 'alerts.json'), learningPeriod: '0', externalCidr: EXTERNAL_CIDRS },
      env: {},
    });
    const logger = winston.createLogger({ silent: true, transports: [new winston.transports.Console({ silent: true })] });
    rss.reset();
    const t = process.hrtime.bigint();
    const stats = await mod.runReplay(config, [file], logger, read);
    const s = seconds(t);
    return { pps: stats.packets / s, rss: rss.peakBytes(), packets: stats.packets, stats };
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

async function loadPipeline(): Promise<PipelineModule | string> {
  try {
    return await import('../lib/pipeline/index.js');
  } catch (err) {
    return (err as Error).message.split('\n')[0];
  }
}

function report(bare: Sample[], pipe: Sample[], startRss: number): void {
  const row = (label: string, xs: Sample[]): string[] => [label, ...xs.map((x) => fmtInt(x.pps)), xs.length ? fmtInt(median(xs.map((x) => x.pps))) : 'n/a'];
  const runs = Array.from({ length: RUNS }, (_, i) => `run ${i + 1}`);
  const rssRow = (label: string, xs: Sample[]): string[] => [label, ...xs.map((x) => String(Math.round(x.rss / 1048576))), ''];
  const rows = [['', ...runs, 'median'], row('(a) bare replay, packets/s', bare)];
  if (pipe.length > 0) {
    rows.push(row('(b) pipeline, packets/s', pipe));
    rows.push(['ratio b/a', ...pipe.map((p, i) => (p.pps / bare[i].pps).toFixed(3)), '']);
  }
  // Process-wide peaks: a bare run after a pipeline run inherits the heap that run left.
  rows.push(rssRow('(a) peak RSS, MiB', bare));
  if (pipe.length > 0) rows.push(rssRow('(b) peak RSS, MiB', pipe));
  console.log(table(rows));
  console.log(`RSS before the first run: ${fmtMiB(startRss)}`);
  if (pipe.length === 0) return;
  const ratio = median(pipe.map((x) => x.pps)) / median(bare.map((x) => x.pps));
  console.log(`\nratio (median b / median a): ${ratio.toFixed(3)}   target >= ${TARGET_RATIO}   ${ratio >= TARGET_RATIO ? 'PASS' : 'BELOW'}`);
  const st = pipe[pipe.length - 1].stats as ReplayStats;
  const errors = Object.values(st.decodeErrors).reduce((a, b) => a + b, 0);
  console.log(`pipeline stats (last run): packets ${fmtInt(st.packets)}, dnsResponses ${fmtInt(st.dnsResponses)}, dnsAnswers ${fmtInt(st.dnsAnswers)}, ` +
    `connections tcp ${fmtInt(st.connections.tcp)} udp ${fmtInt(st.connections.udp)}, alerts ${fmtInt(st.alerts)}, decode errors ${errors}`);
}

/**
 * (c) The same replay with the capture held in memory instead of read by libpcap: the pipeline's
 * own cost a packet is (c) less the walk of the records (micro's first step). Whatever receives
 * the packets (libpcap here, or a thread of its own), the pipeline cannot go faster than that,
 * so bare loop / pipeline's own cost bounds the ratio: the part of it the pipeline's code decides.
 */
async function pipelineOnItsOwn(mod: PipelineModule, file: string, bare: Sample[], walkSeconds: number, rss: RssSampler): Promise<void> {
  const read = memoryReader(file, fs.readFileSync(file));
  const runs: Sample[] = [];
  for (let i = 0; i < RUNS; i++) runs.push(await runPipeline(mod, file, rss, read));
  const inMemory = 1 / median(runs.map((x) => x.pps));
  const own = inMemory - walkSeconds;
  const bareLoop = 1 / median(bare.map((x) => x.pps));
  console.log(`\n(c) pipeline over the capture in memory (no libpcap), packets/s: ${runs.map((x) => fmtInt(x.pps)).join('  ')}; median ${fmtInt(1 / inMemory)}`);
  console.log(`the pipeline's own cost: ${(own * 1e9).toFixed(0)} ns a packet ((c) ${(inMemory * 1e9).toFixed(0)} less the walk ${(walkSeconds * 1e9).toFixed(0)}); ` +
    `the bare loop: ${(bareLoop * 1e9).toFixed(0)} ns a packet`);
  console.log(`ratio with receiving free (bare loop / the pipeline's own cost): ${(bareLoop / own).toFixed(3)}   target >= ${TARGET_RATIO}`);
}

async function main(): Promise<void> {
  const args = parseArgs(process.argv.slice(2));
  const outDir = path.join(REPO_ROOT, 'bench', 'out');
  fs.mkdirSync(outDir, { recursive: true });
  const file = path.join(outDir, `bench-${args.packets}-${args.seed}.pcap`);
  const cpu = os.cpus();
  console.log(`egresswatch replay benchmark: node ${process.version}, ${cpu.length} x ${cpu[0]?.model.trim() ?? 'cpu'}, load ${os.loadavg().map((l) => l.toFixed(1)).join(' ')}`);
  // The generator runs in a child process so that its garbage does not count in our RSS.
  const generator = fileURLToPath(new URL('./gen-capture.js', import.meta.url));
  execFileSync(process.execPath, [generator, '--packets', String(args.packets), '--seed', String(args.seed), '--out', file], { stdio: 'inherit' });

  const rss = new RssSampler();
  try {
    const mod = await loadPipeline();
    if (typeof mod === 'string') console.log(`\npipeline not available, measuring the bare loop only: ${mod}`);
    const startRss = process.memoryUsage.rss();
    const bare: Sample[] = [];
    const pipe: Sample[] = [];
    const ours: Sample[] = [];
    for (let i = 0; i < RUNS; i++) {
      bare.push(runBare(file, rss));
      if (typeof mod !== 'string') pipe.push(await runPipeline(mod, file, rss));
      ours.push(runBare(file, rss, true));
    }
    const threads = replayThreads(loadConfig({ flags: {}, env: {} }), [file]);
    console.log(`\nreplay of ${fmtInt(bare[0].packets)} packets, ${RUNS} runs each, alternating a,b; the pipeline on ${threads} thread(s) `
      + `(--replay-threads 0: two with two processors or more and captures of ${SPLIT_MIN_BYTES / 1048576} MiB or more):`);
    report(bare, pipe, startRss);
    const oursNs = 1e9 / median(ours.map((x) => x.pps));
    console.log(`bare loop of the pipeline's pcap reader (pcap-file.ts), packets/s: ${ours.map((x) => fmtInt(x.pps)).join('  ')}; ` +
      `median ${fmtInt(1e9 / oursNs)}: ${oursNs.toFixed(0)} ns a packet against libpcap's ${(1e9 / median(bare.map((x) => x.pps))).toFixed(0)}`);

    console.log('\nmicro-benchmark (capture in memory; faster of two passes per step):');
    const micro = runMicro(file);
    const base = micro[0].seconds / micro[0].packets;
    console.log(table([
      ['step', 'packets/s', 'ns/packet', '+ns over walk', 'found'],
      ...micro.map((m) => {
        const per = m.seconds / m.packets;
        return [m.step, fmtInt(m.packets / m.seconds), (per * 1e9).toFixed(0), ((per - base) * 1e9).toFixed(0), m.note];
      }),
    ]));
    if (typeof mod !== 'string') await pipelineOnItsOwn(mod, file, bare, base, rss);
  } finally {
    await rss.stop();
    if (!args.keep) fs.rmSync(file, { force: true });
    else console.log(`\ncapture kept: ${file}`);
  }
}

// --only replay|attribution|scan runs one of the three benchmarks; all three by default
// (bench/attribution.ts, bench/scan.ts).
const only = onlyFlag(process.argv.slice(2));
const wanted = (b: 'replay' | 'attribution' | 'scan'): boolean => only === undefined || only === b;
(async () => {
  if (wanted('replay')) await main();
  if (wanted('attribution')) await runAttributionBench();
  if (wanted('scan')) runScanBench();
})().catch((err: unknown) => {
  console.error((err as Error).stack ?? String(err));
  process.exitCode = 1;
});
