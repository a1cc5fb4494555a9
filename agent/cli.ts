#!/usr/bin/env node
// egresswatch command line: parses flags, loads the configuration, creates the logger and
// hands over to the pipeline. Everything a test would want to reach lives in lib/.
import path from 'node:path';
import yargs, { type Argv, type Options } from 'yargs';
import { hideBin } from 'yargs/helpers';
import {
  CONFIG_FLAG, ConfigError, EXIT_CONFIG, STDIN_FILE, checkInputFiles, createLogger, debugRequested, describeFailure,
  flagOptions, loadConfig, logStreamFor, logTextFor, parseDuration, parseListen, surviveRejections, LogFile, LOG_LEVELS, type AgentConfig, type Command,
  type LogLevel,
} from '../lib/config/index.js';
import { prestartJudgingThread, replayThreads } from '../lib/pipeline/split-thread.js';

// The pipeline (and with it the native libpcap binding) is imported only when a command runs,
// so --help and configuration errors work even where the binding cannot load.
const pipeline = (): Promise<typeof import('../lib/pipeline/index.js')> => import('../lib/pipeline/index.js');

/** Write errors of an alerts file that is a FIFO or pipe: its reader is missing, gone or behind. */
const STREAM_ERRORS = new Set(['ENXIO', 'EPIPE', 'EAGAIN']);

class UsageError extends Error {
  override readonly name = 'UsageError';
}

function configFrom(argv: Record<string, unknown>): Readonly<AgentConfig> {
  return loadConfig({ file: argv.config as string | undefined, flags: argv, env: process.env });
}

async function run(argv: Record<string, unknown>): Promise<void> {
  // SIGUSR2 (logrotate's prerotate) would terminate a process without a listener: one from the
  // start, so a rotation during start-up costs no agent. The alerts file is held by runAgent's.
  const holdLog: { file?: LogFile } = {};
  process.on('SIGUSR2', () => holdLog.file?.hold(() => logger.warn('--log-file held for logrotate but no SIGHUP came; resumed')));
  const config = configFrom(argv);
  const stream = logStreamFor(config);
  const logger = createLogger(config.logLevel, { stream, text: logTextFor(config) });
  if (stream instanceof LogFile) {
    // Registered before runAgent's SIGUSR2 listener: the log file is held before the alerts
    // file's marker tells prerotate that the agent holds.
    holdLog.file = stream;
    stream.onReopenError = (file, errno) => logger.warn('--log-file: cannot open the file now under its name; logging on into the renamed one', {
      file, errno, fix: "logrotate's create must leave it writable by the agent's user (create 0640 egresswatch adm)",
    });
    // logrotate's postrotate SIGHUP: the log file is reopened too (it also follows a rename by
    // itself at its next line). Registered before the pipeline's handler, so the pipeline's
    // "configuration reloaded" line already goes to the new file.
    process.on('SIGHUP', () => {
      try {
        stream.reopen();
      } catch (err) {
        logger.error('SIGHUP: cannot reopen --log-file, still writing to the file open before', { error: (err as Error).message });
      }
    });
  }
  logger.debug('configuration loaded', { config });
  surviveRejections((message, meta) => logger.error(message, meta));
  const { runAgent } = await pipeline();
  // SIGHUP re-reads the same sources (file, environment, flags).
  const { captureHandlesHeld } = await runAgent(config, logger, () => configFrom(argv), stream instanceof LogFile ? stream : undefined);
  // A quiet interface keeps its closed libpcap handle, and the event loop, until its next packet;
  // everything is written (log writes to files and pipes are synchronous on Linux), so leave.
  if (captureHandlesHeld) process.exit(process.exitCode ?? 0);
}

async function replay(argv: Record<string, unknown>): Promise<void> {
  // A replay is an investigation of a capture: its learning period is off unless
  // --learning-period is given on the command line (documented in docs/configuration.md).
  // Likewise connections already open when the capture began are not taken up unless --midstream is given.
  const config = configFrom({ ...argv, ...(argv['learning-period'] === undefined ? { 'learning-period': '0' } : {}), ...(argv.midstream === undefined ? { midstream: false } : {}) });
  const files = checkInputFiles((argv.files as string[] | undefined) ?? [], 'capture file');
  const logger = createLogger(config.logLevel, { stream: logStreamFor(config), text: logTextFor(config) });
  logger.debug('configuration loaded', { config });
  // The judging thread of a two-thread replay loads its modules while this one loads the pipeline.
  if (replayThreads(config, files) > 1) prestartJudgingThread();
  const { runReplay } = await pipeline();
  const stats = await runReplay(config, files, logger);
  if (config.statsJson) process.stdout.write(JSON.stringify(stats) + '\n');
  if (stats.baselineWriteError !== undefined) {
    const what = `${stats.baselineWriteError}; ${stats.connectionsNotJudged} connection(s) could not be judged and raised no alert`;
    throw Object.assign(new Error(what), { userMessage: what, exitCode: 1 });
  }
  if (stats.alertsNotWritten > 0) {
    const what = `${stats.alertsNotWritten} of ${stats.alerts} alert(s) could not be written to ${config.alertsFile} (${stats.alertsWriteError})`;
    const when = STREAM_ERRORS.has(stats.alertsWriteError ?? '') ? 'the file has a reader that keeps up' : 'the file system has room';
    throw Object.assign(new Error(what), {
      userMessage: `${what}; the baseline in ${config.stateDir} has recorded them, so replay into a fresh --state-dir once ${when}`,
      exitCode: 1,
    });
  }
  // A file cut short (a capture whose writer was killed) is replayed up to the cut: logged as
  // an error and listed in incompleteFiles, but the run succeeded as far as the data goes.
  if (stats.failedFiles.length > 0) {
    const what = [...stats.failedFiles.map((f) => f.error), ...stats.incompleteFiles.map((f) => `${f.file}: ${f.error}`)].join('; ');
    throw Object.assign(new Error(what), {
      userMessage: `${stats.failedFiles.length} of ${files.length} capture file(s) could not be read, the others were replayed: ${what}`,
      exitCode: 1,
    });
  }
}

const BASELINE_SUBCOMMANDS = ['list', 'show', 'forget', 'export', 'import', 'prune', 'stats'] as const;
type BaselineSub = (typeof BASELINE_SUBCOMMANDS)[number];
/** The settings the baseline commands read; other run flags would mean nothing to them. */
const BASELINE_SETTINGS = ['state-dir', 'learning-period', 'baseline-window'];

async function baseline(sub: BaselineSub, argv: Record<string, unknown>): Promise<void> {
  const flags = Object.fromEntries(BASELINE_SETTINGS.map((f) => [f, argv[f]]));
  const config = configFrom({ ...flags, config: argv.config });
  const windowMs = argv.window === undefined ? config.baselineWindowMs : parseDuration(String(argv.window), '--window');
  const { runBaselineCommand } = await import('../lib/baseline/admin-cli.js');
  await runBaselineCommand(sub, {
    dir: path.join(config.stateDir, 'baseline'), now: Date.now(), windowMs, learningPeriodMs: config.learningPeriodMs,
    software: argv.software as string | undefined, host: argv.host as string | undefined,
    group: argv.group as string | undefined, kind: argv.kind as string | undefined, json: argv.json === true,
    out: argv.out as string | undefined, file: argv.file as string | undefined,
  }, process.stdout);
}

function baselineCommands(y: Argv): Argv {
  const run = flagOptions('run');
  const common = (c: Argv): Argv => c.options(Object.fromEntries(BASELINE_SETTINGS.map((f) => [f, run[f]]))).option('config', CONFIG_FLAG);
  const str = (describe: string): Options => ({ type: 'string', describe });
  const json: Options = { type: 'boolean', describe: 'JSON lines / one JSON object instead of a table' };
  const sub = (name: BaselineSub, usage: string, desc: string, opts: Record<string, Options>, positional?: string): Argv =>
    y.command(usage, desc, (c) => {
      const withOpts = common(c).options(opts);
      return positional ? withOpts.positional(positional, { type: 'string', demandOption: true }) : withOpts;
    }, (argv) => baseline(name, argv));
  sub('list', 'list', 'Entries: kind, subject, group, first / last seen, count', {
    software: str('only this software'), host: str('only this host id'), group: str('only this domain group'),
    kind: { type: 'string', choices: ['host', 'software'], describe: 'only host or only software entries' }, json });
  sub('show', 'show <group>', 'Who contacted this domain group, earliest first', {}, 'group');
  sub('forget', 'forget', 'Delete entries: --group G [--software S | --host H], or a whole --software S / --host H', {
    group: str('domain group'), software: str('software'), host: str('host id') });
  sub('export', 'export', 'Write every entry as JSON lines', { out: str('file to write (default: standard output)') });
  sub('import', 'import <file>', 'Merge a JSON-lines export (earliest first seen, latest last seen, counts added)', {}, 'file');
  sub('prune', 'prune', 'Delete entries last seen before the window', { window: str('e.g. 90d (default: --baseline-window)') });
  sub('stats', 'stats', 'Counts, time range and learning period', { json });
  return y.demandCommand(1, `name a baseline command: ${BASELINE_SUBCOMMANDS.join(', ')}`);
}

async function doctor(argv: Record<string, unknown>): Promise<void> {
  const config = configFrom(argv);
  const { runDoctor, formatReport, reportJson } = await import('../lib/doctor/index.js');
  const report = await runDoctor(config);
  const code = report.canRun ? 0 : 1;
  process.exitCode = code;
  process.stdout.write(argv.json === true ? reportJson(report) : formatReport(report), () => {
    // libpcap keeps an idle interface's closed handle (and the event loop) until its next
    // packet (see LiveCapture.close); the report is written, so leave without waiting for it.
    if (report.captureHandlesHeld) process.exit(code);
  });
}

async function collector(argv: Record<string, unknown>): Promise<void> {
  const listen = parseListen(String(argv.listen), '--listen');
  const level = String(argv['log-level'] ?? 'info');
  if (!(LOG_LEVELS as readonly string[]).includes(level)) {
    throw new ConfigError(`invalid --log-level '${level}': expected one of ${LOG_LEVELS.join(', ')}`, 'logLevel', 'e.g. --log-level info');
  }
  const logger = createLogger(level as LogLevel, {});
  const { startCollector } = await import('../lib/collector/index.js');
  const c = await startCollector({
    listen, stateDir: path.resolve(String(argv['state-dir'])), tokensFile: path.resolve(String(argv['tokens-file'])),
    alertsFile: path.resolve(String(argv['alerts-file'])),
    tlsCert: argv['tls-cert'] === undefined ? undefined : path.resolve(String(argv['tls-cert'])),
    tlsKey: argv['tls-key'] === undefined ? undefined : path.resolve(String(argv['tls-key'])),
    tlsClientCa: argv['tls-client-ca'] === undefined ? undefined : path.resolve(String(argv['tls-client-ca'])),
    logger,
  });
  logger.info('egresswatch collector listening', { host: listen.host, port: c.port });
  await new Promise<void>((resolve) => {
    process.once('SIGTERM', () => resolve());
    process.once('SIGINT', () => resolve());
  });
  await c.close();
}

function withFlags(y: Argv, command: Command): Argv {
  return y.options(flagOptions(command)).option('config', CONFIG_FLAG);
}

function parser(args: string[]): Argv {
  return yargs(args)
    .scriptName('egresswatch')
    .usage('$0 <command> [options]\n\nAlerts when this host, or software on it, connects to an external domain it has not contacted in the last 90 days.')
    .command('run', 'Capture live traffic and alert on new external destinations',
      (y) => withFlags(y, 'run'), (argv) => run(argv))
    .command('replay <files..>', 'Run the pipeline over pcap / pcapng files (time comes from the packets)',
      (y) => withFlags(y, 'replay').positional('files', { type: 'string', describe: 'capture files' }),
      (argv) => replay(argv))
    .command('baseline', 'Inspect and edit the baseline in <state-dir>/baseline (stop the agent first)',
      (y) => baselineCommands(y))
    .command('doctor', 'Check that the agent can run here (capabilities, capture, /proc, directories, LevelDB, clock)',
      (y) => withFlags(y, 'run').option('json', { type: 'boolean', describe: 'one JSON object instead of lines' }),
      (argv) => doctor(argv))
    .command('collector', 'Run the reference collector: receives alerts from agents over HTTP(S), deduplicates, marks what is new for the whole deployment',
      (y) => y.options({
        listen: { type: 'string', demandOption: true, describe: 'HOST:PORT to listen on' },
        'state-dir': { type: 'string', demandOption: true, describe: 'Directory for the collector database' },
        'tokens-file': { type: 'string', demandOption: true, describe: "Agents' bearer tokens, one 'name token' per line" },
        'alerts-file': { type: 'string', demandOption: true, describe: 'NDJSON file every accepted alert is appended to' },
        'tls-cert': { type: 'string', describe: 'Serve HTTPS with this certificate (PEM)' },
        'tls-key': { type: 'string', describe: 'Key (PEM) for --tls-cert' },
        'tls-client-ca': { type: 'string', describe: 'Mutual TLS: require a client certificate signed by this CA (PEM) from every agent '
          + '(agents set --collector-cert / --collector-key); needs --tls-cert' },
        'log-level': { type: 'string', describe: 'error, warn, info or debug', defaultDescription: 'info' },
      }), (argv) => collector(argv))
    .demandCommand(1, 'name a command: run, replay, baseline, doctor or collector')
    .strict()
    .help()
    .alias('help', 'h')
    .version()
    .wrap(Math.min(120, process.stdout.columns ?? 100))
    .epilogue('Precedence: flags > EGRESSWATCH_* environment > config file > defaults. See docs/configuration.md.')
    .fail((msg, err) => {
      if (err) throw err;
      throw new UsageError(msg);
    });
}

/**
 * A reader of our standard output or error that goes away (`egresswatch run --stdout | head`,
 * a log shipper restarted) must not stop the agent: node would throw EPIPE out of the stream
 * and exit. The alerts file and forwarding go on; what was meant for the closed stream is
 * dropped, and said once on the other one.
 */
function survivePipeClose(): void {
  const gone = new Set<NodeJS.WriteStream>();
  const watch = (stream: NodeJS.WriteStream, name: string, other: NodeJS.WriteStream): void => {
    stream.on('error', (err: NodeJS.ErrnoException) => {
      if (gone.has(stream)) return;
      gone.add(stream);
      if (err.code === 'EPIPE' || err.code === 'ERR_STREAM_DESTROYED') {
        if (!gone.has(other)) other.write(`egresswatch: ${name} was closed by its reader (${err.code}); what goes there is dropped, alerts still go to the alerts file\n`);
        return;
      }
      if (!gone.has(other)) other.write(`egresswatch: cannot write to ${name}: ${err.code ?? err.message}; what goes there is dropped\n`);
    });
  };
  watch(process.stdout, 'standard output', process.stderr);
  watch(process.stderr, 'standard error', process.stdout);
}

/** Flags of the agent's commands that take a value (not on/off switches). */
const VALUE_FLAGS = new Set(['config', ...(['run', 'replay'] as const).flatMap((c) => Object.entries(flagOptions(c)))
  .filter(([, o]) => o.type === 'string').map(([name]) => name)]);

/**
 * `--alert-delay -1s`: yargs reads a value that starts with '-' and is not a plain number as
 * flags of its own (`-1 -s`), and the user gets a confusing message about missing arguments
 * instead of the setting's own. Such a value is joined to its flag (`--alert-delay=-1s`), so it
 * reaches the setting and its check.
 */
function joinDashValues(args: readonly string[]): string[] {
  const out: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const a = args[i];
    const next = args[i + 1];
    if (a.startsWith('--') && !a.includes('=') && VALUE_FLAGS.has(a.slice(2)) && next !== undefined && /^-[0-9.]/.test(next)) {
      out.push(`${a}=${next}`);
      i++;
    } else {
      out.push(a);
    }
  }
  return out;
}

async function main(): Promise<void> {
  survivePipeClose();
  // `replay -` reads the capture from standard input, as `tcpdump -r -` does (yargs drops a lone '-').
  const raw = hideBin(process.argv);
  const args = joinDashValues(raw[0] === 'replay' ? raw.map((a) => (a === '-' ? STDIN_FILE : a)) : raw);
  try {
    await parser(args).parseAsync();
  } catch (err) {
    const debug = debugRequested(args, process.env);
    const failure = describeFailure(err, debug);
    process.stderr.write(failure.line + '\n');
    if (err instanceof UsageError) process.stderr.write("run 'egresswatch --help' for the commands and flags\n");
    if (failure.detail) process.stderr.write(failure.detail + '\n');
    process.exitCode = err instanceof ConfigError || err instanceof UsageError ? EXIT_CONFIG : failure.exitCode;
  }
}

await main();
