// What the CLI prints when the agent cannot start or stops on an error: one line, no stack
// trace, for anything the operator can fix; exit 2 for configuration, 1 for runtime.

export const EXIT_RUNTIME = 1;
export const EXIT_CONFIG = 2;

/** Operator errors by class name; the value is the exit code. */
const OPERATOR_ERRORS: Record<string, number> = {
  ConfigError: EXIT_CONFIG,
  ClassifyConfigError: EXIT_CONFIG,
  UsageError: EXIT_CONFIG,
  CaptureError: EXIT_RUNTIME,
  BaselineOpenError: EXIT_RUNTIME,
  BaselineWriteError: EXIT_RUNTIME,
  AlertFileError: EXIT_RUNTIME,
  MetricsListenError: EXIT_RUNTIME,
  RotationConfigError: EXIT_CONFIG,
  SyslogConfigError: EXIT_CONFIG,
  ConfigFileError: EXIT_CONFIG,
  TokenFileError: EXIT_CONFIG,
  CollectorConfigError: EXIT_CONFIG,
  TlsFilesError: EXIT_CONFIG,
};

// Codes that mean "the environment is not as configured": a path, a permission, a port.
const ERRNO_HINTS: Record<string, string> = {
  EACCES: 'permission denied: check ownership or run with the capabilities in systemd/',
  EPERM: 'operation not permitted: capture needs CAP_NET_RAW and CAP_NET_ADMIN',
  ENOENT: 'no such file or directory',
  ENOTDIR: 'a parent is not a directory',
  EROFS: 'read-only file system',
  ENOSPC: 'no space left on device',
  EADDRINUSE: 'address already in use: choose another --metrics-listen port',
  EADDRNOTAVAIL: 'address not available on this host: check --metrics-listen',
};

export interface Failure {
  exitCode: number;
  /** The one line for stderr, prefixed "egresswatch: ". */
  line: string;
  /** The stack, only when debug was asked for and the error is unexpected. */
  detail?: string;
}

interface ErrorLike { name?: unknown; message?: unknown; userMessage?: unknown; exitCode?: unknown;
  code?: unknown; path?: unknown; syscall?: unknown; address?: unknown; port?: unknown; stack?: unknown }

export function describeFailure(err: unknown, debug: boolean): Failure {
  const e: ErrorLike = typeof err === 'object' && err !== null ? (err as ErrorLike) : { message: String(err) };
  const message = oneLine(typeof e.message === 'string' ? e.message : String(err));
  const name = typeof e.name === 'string' ? e.name : '';
  if (typeof e.userMessage === 'string') {
    const code = typeof e.exitCode === 'number' ? e.exitCode : OPERATOR_ERRORS[name] ?? EXIT_RUNTIME;
    return { exitCode: code, line: `egresswatch: ${oneLine(e.userMessage)}` };
  }
  if (name in OPERATOR_ERRORS) return { exitCode: OPERATOR_ERRORS[name], line: `egresswatch: ${message}` };
  if (typeof e.code === 'string' && e.code in ERRNO_HINTS) {
    return { exitCode: EXIT_RUNTIME, line: `egresswatch: ${errnoLine(e, e.code)}` };
  }
  const line = `egresswatch: unexpected error: ${message}` + (debug ? '' : ' (run with --log-level debug for details)');
  return { exitCode: EXIT_RUNTIME, line, detail: debug && typeof e.stack === 'string' ? e.stack : undefined };
}

function errnoLine(e: ErrorLike, code: string): string {
  const what = typeof e.path === 'string' ? e.path
    : typeof e.address === 'string' ? `${e.address}${typeof e.port === 'number' ? ':' + e.port : ''}` : undefined;
  const op = typeof e.syscall === 'string' ? `${e.syscall} ` : '';
  return what ? `cannot ${op}${what}: ${code} (${ERRNO_HINTS[code]})` : `${code} (${ERRNO_HINTS[code]})`;
}

function oneLine(s: string): string {
  return s.replace(/\s*\n\s*/g, ' ').trim();
}

/** The log level asked for on the raw command line or in the environment, for failures
 *  that happen before the configuration could be loaded. */
export function debugRequested(argv: readonly string[], env: NodeJS.ProcessEnv): boolean {
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === '--log-level' && argv[i + 1] === 'debug') return true;
    if (argv[i] === '--log-level=debug') return true;
  }
  return env.EGRESSWATCH_LOG_LEVEL === 'debug';
}

/**
 * The daemon carries on after a promise rejection nobody handled (Node's default is to exit): a
 * failed piece of background work (a lookup, a write) is logged with its stack and counted, and
 * capture goes on. A security agent that exits is blind until restarted, and whatever it held
 * (connections waiting for their alert) would be lost. Synchronous exceptions still end the
 * process (its state may be broken); systemd restarts it. Returns how many were seen so far.
 */
export function surviveRejections(log: (message: string, meta: Record<string, unknown>) => void): () => number {
  let seen = 0;
  process.on('unhandledRejection', (reason) => {
    seen += 1;
    log('internal error: a promise rejection nobody handled; the agent carries on', {
      error: reason instanceof Error ? reason.message : String(reason),
      stack: reason instanceof Error ? reason.stack : undefined,
      count: seen,
    });
  });
  return () => seen;
}
