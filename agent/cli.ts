#!/usr/bin/env node
// egresswatch command line: parses flags, loads the configuration, creates the logger and
// hands over to the pipeline. Everything a test would want to reach lives in lib/.
import yargs, { type Argv } from 'yargs';
import { hideBin } from 'yargs/helpers';
import {
  CONFIG_FLAG, ConfigError, EXIT_CONFIG, checkInputFiles, createLogger, debugRequested, describeFailure,
  flagOptions, loadConfig, logStreamFor, type AgentConfig, type Command,
} from '../lib/config/index.js';

// The pipeline (and with it the native libpcap binding) is imported only when a command runs,
// so --help and configuration errors work even where the binding cannot load.
const pipeline = (): Promise<typeof import('../lib/pipeline/index.js')> => import('../lib/pipeline/index.js');

class UsageError extends Error {
  override readonly name = 'UsageError';
}

function configFrom(argv: Record<string, unknown>): Readonly<AgentConfig> {
  return loadConfig({ file: argv.config as string | undefined, flags: argv, env: process.env });
}

async function run(argv: Record<string, unknown>): Promise<void> {
  const config = configFrom(argv);
  const logger = createLogger(config.logLevel, { stream: logStreamFor(config) });
  logger.debug('configuration loaded', { config });
  const { runAgent } = await pipeline();
  // SIGHUP re-reads the same sources (file, environment, flags).
  await runAgent(config, logger, () => configFrom(argv));
}

async function replay(argv: Record<string, unknown>): Promise<void> {
  // A replay is an investigation of a capture: its learning period is off unless
  // --learning-period is given on the command line (documented in docs/configuration.md).
  const config = configFrom(argv['learning-period'] === undefined ? { ...argv, 'learning-period': '0' } : argv);
  const files = checkInputFiles((argv.files as string[] | undefined) ?? [], 'capture file');
  const logger = createLogger(config.logLevel, { stream: logStreamFor(config) });
  logger.debug('configuration loaded', { config });
  const { runReplay } = await pipeline();
  const stats = await runReplay(config, files, logger);
  if (config.statsJson) process.stdout.write(JSON.stringify(stats) + '\n');
  if (stats.failedFiles.length > 0) {
    const what = stats.failedFiles.map((f) => f.error).join('; ');
    throw Object.assign(new Error(what), {
      userMessage: `${stats.failedFiles.length} of ${files.length} capture file(s) could not be read, the others were replayed: ${what}`,
      exitCode: 1,
    });
  }
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
    .demandCommand(1, 'name a command: run or replay')
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

async function main(): Promise<void> {
  const args = hideBin(process.argv);
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
