// pipeline: wires capture → decode → dns / flows → attribution → classify → baseline → alerts
// for the daemon (`runAgent`) and for capture files (`runReplay`).
import path from 'node:path';
import v8 from 'node:v8';
import { setTimeout as sleep } from 'node:timers/promises';
import type winston from 'winston';
import { ConfigError, DEFAULTS, type AgentConfig, type LogFile } from '../config/index.js';
import { SoftwareContext } from '../software/index.js';
import {
  CaptureStopped, LiveCapture, replayFile, ringPackets, type InterfaceStats, type ReplayResult,
} from '../capture/index.js';
import { Baseline } from '../baseline/index.js';
import { ConnectTracer, ExecWatch, SNAPSHOT_FILES, SNAPSHOT_LINKS, SnapshotProcFs, SocketResolver } from '../procfs/index.js';
import { MetricsServer, createRegistry } from '../outputs/index.js';
import { AlertOutputs, OUTPUT_SETTINGS } from './outputs.js';
import { DEFAULT_NAME_ORDER, LIVE_MAX_PENDING_JUDGMENTS, Pipeline, isLogPoint, type PipelineSettings } from './pipeline.js';
import { Attributor } from './attribution.js';
import { PtrResolver } from './ptr.js';
import { readHostOs } from './host-os.js';
import { readResolvConf, uncapturedLocalResolvers } from './local-resolver.js';
import { agentCaptureFilter } from './capture-filter.js';
import { HOST_ADDRESSES_REFRESH_MS, HostAddresses } from './host-addresses.js';
import { loadNames, saveNames } from './names-file.js';
import { logFileStats, snapshot, METRIC_HELP } from './stats.js';
import {
  EXPIRE_MS, MAX_PENDING_JUDGMENTS, TICK_MS, baselineRepaired, closeJudging, openJudging, packetFeeder, readFiles, readingCounts, replayStats, type ReplayStats,
} from './replay-parts.js';
import { runSplitReplay, type SplitOptions } from './split-replay.js';
import { replayThreads } from './split-thread.js';

export { Pipeline, PipelineStats, DEFAULT_NAME_ORDER, type PipelineSettings, type PipelineDeps } from './pipeline.js';
export { Attributor, type Attribution } from './attribution.js';
export type { ReplayStats } from './replay-parts.js';


/**
 * Heap a tracked flow takes, with its share of the index, rounded up: measured ~460 bytes (half
 * IPv4, half IPv6 flows, their address strings and number boxes included), more while a
 * connection waits for its verdict.
 */
const FLOW_BYTES = 800;
/** Share of the heap the flow table may take: the rest is for names, judgments, held alerts. */
const FLOW_HEAP_SHARE = 0.4;

/**
 * The flow table size that fits the heap: `configured`, or fewer when that many flows would take
 * more than FLOW_HEAP_SHARE of it. Node sizes its heap from the memory it is given (a pod's limit:
 * ~259 MB in 512 MiB), and a scan from the host fills the table with unanswered SYNs: 200,000
 * flows then took ~140 MB of the 259.
 */
export function fitFlowTable(configured: number, heapLimitBytes: number = v8.getHeapStatistics().heap_size_limit): number {
  return Math.min(configured, Math.max(1000, Math.floor((heapLimitBytes * FLOW_HEAP_SHARE) / FLOW_BYTES)));
}

/** Below this heap limit, V8 gives its young generation semi-spaces of 1 MB (low-memory sizing). */
const SMALL_HEAP_BYTES = 512 * 1048576;

/**
 * The fix to log when Node runs with a small heap (a memory limit) and V8's default young
 * generation: 1 MB semi-spaces, collected thousands of times a minute when connections come fast
 * (a quarter of the agent's time during a scan, measured). undefined when the heap is large or
 * --max-semi-space-size is given (on the command line or in NODE_OPTIONS).
 */
export function youngGenerationFix(heapLimitBytes: number, execArgv: readonly string[], nodeOptions: string | undefined): string | undefined {
  if (heapLimitBytes >= SMALL_HEAP_BYTES) return undefined;
  if ([...execArgv, ...(nodeOptions ?? '').split(/\s+/)].some((a) => /^--max-semi-space-size(=|$)/.test(a))) return undefined;
  return 'run node with --max-semi-space-size=16 (or NODE_OPTIONS=--max-semi-space-size=16), as the systemd unit and the image do';
}

function settingsOf(config: Readonly<AgentConfig>, logger: winston.Logger): PipelineSettings {
  const heapLimit = v8.getHeapStatistics().heap_size_limit;
  const youngFix = youngGenerationFix(heapLimit, process.execArgv, process.env.NODE_OPTIONS);
  if (youngFix !== undefined) {
    logger.warn('small heap with V8\'s smallest young generation: a burst of connections will cost many collections', {
      heapMiB: Math.round(heapLimit / 1048576), fix: youngFix,
    });
  }
  const flowTableSize = fitFlowTable(config.flowTableSize, heapLimit);
  if (flowTableSize < config.flowTableSize) {
    logger.warn('flow table made smaller to fit the heap', {
      setting: 'flowTableSize', configured: config.flowTableSize, used: flowTableSize,
      heapMiB: Math.round(heapLimit / 1048576),
      fix: 'give the agent more memory (Node sizes its heap from it; or node --max-old-space-size), or set --flow-table-size to the size used',
    });
  }
  return {
    hostName: config.hostName,
    hostId: config.hostId,
    dnsPorts: config.dnsPorts,
    alertDelayMs: config.alertDelayMs,
    baselineWindowMs: config.baselineWindowMs,
    dnsCacheSize: config.dnsCacheSize,
    dnsRetentionMs: config.dnsRetentionMs,
    flowTableSize,
    tcpIdleMs: config.tcpIdleMs,
    udpIdleMs: config.udpIdleMs,
    internalCidrs: config.internalCidrs,
    externalCidrs: config.externalCidrs,
    normalizeVersions: config.normalizeVersions,
    nameOrder: nameOrderOf(config.nameOrder),
    dnsQueryWindowMs: config.dnsQueryWindowMs,
    acceptUnmatchedDns: config.dnsAcceptUnmatched,
    ignoreForwarded: config.ignoreForwarded,
    midstream: config.midstream,
    groupingRules: config.groupingRules,
    suppressions: config.suppressions,
    proxies: config.proxies,
  };
}


const NAME_SOURCES = ['sni', 'http', 'quic', 'dns', 'ptr'];

/** `--name-order`: the trust order of name sources, most trusted first; the defaults when unset. */
function nameOrderOf(text: string | undefined): readonly string[] {
  if (text === undefined || text.trim() === '') return DEFAULT_NAME_ORDER;
  const order = text.split(',').map((t) => t.trim().toLowerCase()).filter(Boolean);
  const bad = order.filter((t) => !NAME_SOURCES.includes(t));
  if (bad.length > 0 || new Set(order).size !== order.length) {
    throw new ConfigError(`invalid --name-order '${text}': expected a comma-separated order of ${NAME_SOURCES.join(', ')} without repeats`, 'nameOrder', 'e.g. --name-order sni,http,quic,dns,ptr');
  }
  return order;
}

/** What a SIGHUP applies (the output settings are AlertOutputs'); `statsJson` is for replays only. */
const RELOADABLE: ReadonlySet<string> = new Set<keyof AgentConfig>([
  ...OUTPUT_SETTINGS, 'groupingRules', 'suppressions', 'nameOrder', 'logLevel', 'statsJson',
]);

/**
 * Settings that differ in `next` but are fixed for the life of the process: the capture
 * (interfaces, buffer), the stores (state dir), the /proc and host roots, the pipeline's table
 * sizes and timers, the metrics listener and the agent's own log destination.
 */
function needsRestart(cur: Readonly<AgentConfig>, next: Readonly<AgentConfig>): string[] {
  const keys = new Set([...Object.keys(cur), ...Object.keys(next)]) as Set<keyof AgentConfig>;
  return [...keys].filter((k) => !RELOADABLE.has(k) && JSON.stringify(cur[k]) !== JSON.stringify(next[k])).sort();
}

/** The running configuration with the reloadable settings of `next`. */
function reloadable(cur: Readonly<AgentConfig>, next: Readonly<AgentConfig>): Readonly<AgentConfig> {
  const out: Record<string, unknown> = { ...cur };
  for (const k of RELOADABLE) out[k] = (next as unknown as Record<string, unknown>)[k];
  return Object.freeze(out as unknown as AgentConfig);
}

const PRUNE_MS = 3_600_000;
const CAPTURE_STATS_MS = 10_000;
/** How long a stopping agent waits for libpcap to free its handles (see the end of runAgent). */
const RELEASE_WAIT_MS = 1_000;
/** How often an interface whose capture stopped (deleted, taken down) is opened again. */
const REOPEN_MS = 2_000;
/** Saving names more often than this only costs CPU (JSON of up to --dns-cache-size entries). */
const MIN_NAMES_SAVE_MS = 1_000;
/** A socket whose process exited is still attributed to it this long after (cached-socket). */
const EXITED_GRACE_MS = 5_000;


/**
 * Runs the daemon until SIGINT/SIGTERM; resolves once it has shut down cleanly. `logFile`: the
 * --log-file stream, for its counters in /metrics (the CLI holds and reopens it on signals).
 */
export async function runAgent(config: Readonly<AgentConfig>, logger: winston.Logger,
  reload?: () => Readonly<AgentConfig>, logFile?: LogFile): Promise<{ captureHandlesHeld: boolean }> {
  const now = (): number => Date.now();
  /** The configuration in force: the start one with what SIGHUPs have changed since. */
  let running = config;
  let flushErrors = 0;
  const baseline = await Baseline.open({
    dir: path.join(config.stateDir, 'baseline'), windowMs: config.baselineWindowMs, learningPeriodMs: config.learningPeriodMs, now,
    // Background writes of last-seen updates (a full disk): kept and retried; logged at the 1st, 10th, 100th, ...
    onError: (err) => {
      if (isLogPoint(++flushErrors)) logger.error('baseline updates not written; they are kept and retried', { error: err.message, failures: flushErrors });
    },
    onRepaired: baselineRepaired(logger, config.stateDir),
  });
  const alerts = await AlertOutputs.open(config, logger, true);
  // A copy of each program's /proc files at its exec, for one gone before it is asked about.
  const execWatch = config.kernelTracing ? ExecWatch.open(config.procRoot, SNAPSHOT_FILES, SNAPSHOT_LINKS, { log: (m) => logger.warn(m) }) : undefined;
  const proc = new SnapshotProcFs(config.procRoot, { execCopies: execWatch });
  // The passwd file is the host's, under --host-root unless --passwd-file names another.
  const passwdFile = config.passwdFile === DEFAULTS.passwdFile ? path.join(config.hostRoot, 'etc', 'passwd') : config.passwdFile;
  // The kernel's record of who called connect(), for sockets gone before /proc could be read.
  const tracer = config.kernelTracing ? ConnectTracer.open({ pidnsOf: config.procRoot, log: (m) => logger.warn(m) }) : undefined;
  const resolver = new SocketResolver({
    proc, now, exitedGraceMs: EXITED_GRACE_MS, onNewSocketHolders: (pids) => proc.capture(pids), log: (m) => logger.warn(m), tracer,
  });
  const software = new SoftwareContext({
    proc, hostRoot: config.hostRoot, parentDepth: config.parentDepth, normalizeVersions: config.normalizeVersions, passwdFile,
  });
  const attributor = new Attributor({ resolver, software, now, programs: execWatch });
  const ptr = config.ptr ? new PtrResolver({ servers: config.ptrServers?.split(',').map((s) => s.trim()).filter(Boolean) }) : undefined;
  const hostAddresses = new HostAddresses(undefined, undefined, config.interfaces.filter((i) => i !== 'any'));
  const pipeline = new Pipeline({ ...settingsOf(config, logger), maxPendingJudgments: LIVE_MAX_PENDING_JUDGMENTS }, {
    baseline, attributor, ptr, emit: (a) => alerts.emit(a), logger, now, hostOs: readHostOs(config.hostRoot), hostAddresses,
  });
  loadNames(config.stateDir, pipeline.names, now(), logger);

  let capture: LiveCapture | undefined;
  let callbackErrors = 0;
  /** Periodic saves of the names learned (names.json): done, failed. */
  const namesSaves = { saved: 0, failed: 0 };
  const registry = createRegistry(() => ({
    ...snapshot(pipeline, capture, attributor), ...alerts.stats(), ...(logFile ? logFileStats(logFile) : {}),
    attribution_resolver: resolver.stats, attribution_outcomes: { ...attributor.stats }, attribution_netlink: resolver.usesNetlink ? 1 : 0,
    baseline: { ...baseline.counters },
    attribution_tracer: tracer ? { attached: 1, udp: tracer.udp ? 1 : 0, ...tracer.stats } : { attached: 0 },
    attribution_exec_watch: execWatch ? { watching: 1, ...execWatch.stats, served: proc.snapshotStats.servedFromExec, superseded: proc.snapshotStats.supersededByExec } : { watching: 0 },
    names_saves: { ...namesSaves },
    ...(software.nameService ? { attribution_user_names: { ...software.nameService.stats } } : {}),
  }), METRIC_HELP, { processMetrics: config.metricsListen !== undefined });
  // logrotate's prerotate: hold alerts-file writes until postrotate's SIGHUP (AlertFile.hold).
  const holdForLogrotate = (): void => alerts.hold();
  process.on('SIGUSR2', holdForLogrotate);
  let stopping = false;
  // Capturing on every interface asked for: one that stopped (and is not back) makes the agent
  // partly blind, which /healthz must show.
  const capturing = (): boolean => capture !== undefined && capture.failedInterfaces().length === 0;
  const metrics = new MetricsServer(registry, capturing, () => capturing() && !stopping && alerts.spoolCaughtUp);
  if (config.metricsListen) await metrics.listen(config.metricsListen.host, config.metricsListen.port);

  capture = LiveCapture.open({
    interfaces: [...config.interfaces],
    filter: agentCaptureFilter(config),
    bufferBytes: config.captureBufferBytes,
    snapLength: config.snapLength,
    immediate: true,
    onError: (err, iface) => {
      if (err instanceof CaptureStopped) {
        logger.error('capture stopped on an interface; the agent sees nothing there until it is back (tried every 2 s)', {
          interface: iface, error: err.message,
        });
        return;
      }
      // An exception out of the packet path is a bug of ours: counted, and logged at the 1st, 10th, 100th, ...
      if (isLogPoint(++callbackErrors)) {
        logger.error('packet handling failed (packet dropped)', { interface: iface, error: (err as Error).message, failures: callbackErrors });
      }
    },
  }, (buf, caplen, wireLen, ts, linkType, handle) => pipeline.onPacket(buf, caplen, wireLen, ts, linkType, handle));
  const unseenResolvers = uncapturedLocalResolvers(config.interfaces, readResolvConf(config.hostRoot));
  if (unseenResolvers.length > 0) {
    logger.warn('this host\'s resolver answers its programs over lo, which is not captured: a name it answers from its cache leaves the connection unnamed by DNS (fix: add --interface lo)', {
      nameservers: unseenResolvers, interfaces: config.interfaces,
    });
  }
  const ring = ringPackets(config.captureBufferBytes, config.snapLength);
  const dropsSeen = new Map<string, number>();
  const learning = baseline.learningUntil > now();
  logger.info('egresswatch running', {
    interfaces: config.interfaces, stateDir: config.stateDir, alertsFile: config.alertsFile,
    // How long a burst the kernel keeps while the agent is busy (see ringPackets).
    captureRingPackets: ring,
    // What names a client gone before /proc could be read (--kernel-tracing).
    connectTracer: tracer ? `tcp${tracer.ipv6 ? '+ipv6' : ''}${tracer.udpVia ? `, udp via ${tracer.udpVia}` : ''}` : 'off', execWatcher: execWatch ? 'on' : 'off',
    learningUntil: learning ? new Date(baseline.learningUntil).toISOString() : null,
  });

  const timers = [
    setInterval(() => pipeline.tick(now()), TICK_MS),
    setInterval(() => pipeline.expire(now()), EXPIRE_MS),
    setInterval(() => hostAddresses.refresh(), HOST_ADDRESSES_REFRESH_MS),
    setInterval(() => {
      baseline.prune(now()).then((n) => n > 0 && logger.info('baseline pruned', { entries: n }))
        .catch((err: Error) => logger.warn('baseline prune failed', { error: err.message }));
    }, PRUNE_MS),
    setInterval(() => {
      for (const d of newDrops(capture?.stats() ?? [], dropsSeen)) {
        logger.warn('kernel dropped packets', {
          ...d.stats, droppedSinceLastReport: d.since, ringPackets: ring,
          fix: 'a burst outgrew the kernel ring while the agent was busy: raise --capture-buffer or lower --snap-length (the ring holds about capture-buffer / (snap-length + 96) packets)',
        });
      }
    }, CAPTURE_STATS_MS),
    setInterval(() => {
      if (!capture || capture.failedInterfaces().length === 0) return;
      for (const iface of capture.reopenFailed().resumed) logger.info('capture resumed on an interface', { interface: iface });
    }, REOPEN_MS),
  ];
  /** The periodic save under way: the next one waits its turn rather than writing the same file at once. */
  let namesSaving: Promise<void> | undefined;
  if (config.namesSaveIntervalMs > 0) {
    // Not only at stop: a crash, an OOM kill or a SIGKILL would lose every name learned.
    timers.push(setInterval(() => {
      if (namesSaving) return;
      namesSaving = saveNames(config.stateDir, pipeline.names, now()).then((r) => {
        if (!(r instanceof Error)) {
          namesSaves.saved += 1;
          logger.debug('DNS names saved for the next start', { names: r });
          return;
        }
        namesSaves.failed += 1;
        if (isLogPoint(namesSaves.failed)) {
          logger.warn('DNS names not saved for the next start; tried again at the next interval', { error: r.message, failures: namesSaves.failed });
        }
      }).finally(() => { namesSaving = undefined; });
    }, Math.max(MIN_NAMES_SAVE_MS, config.namesSaveIntervalMs)));
  }

  await new Promise<void>((resolve) => {
    const stop = (signal: string): void => {
      logger.info('stopping', { signal });
      resolve();
    };
    process.once('SIGTERM', () => stop('SIGTERM'));
    process.once('SIGINT', () => stop('SIGINT'));
    process.on('SIGHUP', () => {
      // Reload what can change without losing state: rules, name order, log level and the
      // outputs (alerts file, format, stdout, forwarders). A bad new config is logged and the old
      // one kept; the alerts file is reopened either way (logrotate's create mode).
      let next: Readonly<AgentConfig> | undefined;
      let nameOrder: readonly string[] = [];
      try {
        next = reload?.();
        if (next) nameOrder = nameOrderOf(next.nameOrder);
      } catch (err) {
        next = undefined;
        logger.error('SIGHUP: configuration not reloaded, keeping the running one', { error: (err as Error).message });
      }
      if (!next) {
        alerts.reopen();
        return;
      }
      const restart = needsRestart(running, next);
      if (restart.length > 0) {
        logger.warn('SIGHUP: these settings need a restart to change; the running values stay', { settings: restart });
      }
      running = reloadable(running, next);
      pipeline.updateRules({ groupingRules: next.groupingRules, suppressions: next.suppressions, nameOrder });
      logger.level = next.logLevel;
      logger.info('SIGHUP: configuration reloaded', { groupingRules: next.groupingRules.length, suppressions: next.suppressions.length, logLevel: next.logLevel });
      alerts.reconfigure(running)
        .then((r) => logger.info('SIGHUP: outputs reloaded', { ...r }))
        .catch((err: Error) => logger.error('SIGHUP: outputs not reloaded', { error: err.message }));
    });
  });

  stopping = true;
  process.off('SIGUSR2', holdForLogrotate);
  for (const t of timers) clearInterval(t);
  capture.close();
  const released = capture.closed;
  capture = undefined;
  await pipeline.finish();
  await namesSaving;
  const saved = await saveNames(config.stateDir, pipeline.names, now());
  if (saved instanceof Error) logger.warn('DNS names not saved for the next start', { stateDir: config.stateDir, error: saved.message });
  resolver.close();
  tracer?.close();
  execWatch?.close();
  await baseline.close();
  await alerts.close();
  await metrics.close();
  // libpcap frees a closed handle only at its next packet (LiveCapture.close): on a quiet
  // interface that can be never, and the handle keeps the event loop, so the process would not
  // exit. Everything is written by now; the caller exits when this says so.
  const held = !(await Promise.race([released.then(() => true), sleep(RELEASE_WAIT_MS, undefined, { ref: false }).then(() => false)]));
  logger.info('egresswatch stopped', { alerts: pipeline.stats.alerts });
  return { captureHandlesHeld: held };
}

/**
 * The interfaces whose kernel drop counters (libpcap's, which only grow while a handle lives)
 * went up since the last call, with by how much; `seen` keeps each interface's last total. A
 * drop is told once, when it happens, not again at every report after it. A handle opened
 * again (its interface came back) starts from zero: its first total is new.
 */
export function newDrops(stats: readonly InterfaceStats[], seen: Map<string, number>): { stats: InterfaceStats; since: number }[] {
  const out: { stats: InterfaceStats; since: number }[] = [];
  for (const s of stats) {
    const total = s.dropped + s.ifDropped;
    let last = seen.get(s.interface) ?? 0;
    if (total < last) last = 0;
    seen.set(s.interface, total);
    if (total > last) out.push({ stats: s, since: total - last });
  }
  return out;
}

/**
 * What reads a capture file for runReplay: replayFile (pcap-file.ts for classic pcap, libpcap for
 * the rest). The benchmark hands in a reader of a capture held in memory, to measure the
 * pipeline without the file's reading (bench/run.ts).
 */
export type CaptureReader = typeof replayFile;

/**
 * Runs the same pipeline over capture files; time comes from the packets; no attribution. On two
 * threads (replayThreads: config.replayThreads; by default with two processors and large
 * captures) the reading and the judging run apart (split-replay.ts), with the same results.
 */
export async function runReplay(config: Readonly<AgentConfig>, files: string[], logger: winston.Logger, readCapture: CaptureReader = replayFile,
  split: SplitOptions = {}): Promise<ReplayStats> {
  const settings = settingsOf(config, logger);
  if (replayThreads(config, files) > 1) return runSplitReplay(config, settings, files, logger, readCapture, split);
  const j = await openJudging(config, settings, logger);
  const p = j.pipeline;
  const started = process.hrtime.bigint();
  const onPacket = packetFeeder(p);
  let replayPauses = 0;
  const outcomes = await readFiles(files, logger, replayOne);
  async function replayOne(file: string, progress: (packets: number) => void): Promise<ReplayResult> {
    const shouldPause = (): boolean => p.pendingJudgments >= MAX_PENDING_JUDGMENTS;
    let skip = 0;
    let offset: number | undefined;
    let pcapng: ReplayResult['pcapng'];
    for (;;) {
      const r = readCapture(file, onPacket, { skip, offset, pcapng, shouldPause });
      if (!r.paused) return r;
      progress(r.packets);
      replayPauses += 1;
      await p.drain();
      await j.alerts.flush();
      skip = r.packets;
      offset = r.offset;
      pcapng = r.pcapng;
    }
  }
  const judged = await closeJudging(j, config, logger);
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  return replayStats(readingCounts(p), judged, outcomes, { seconds, files: files.length, replayPauses });
}
