// Child-process helpers for the integration harness: every command is bounded in time and
// in captured output, and a long-running child keeps only the tail of its output so a
// failure message can quote it without the test holding megabytes.
import { spawn, type ChildProcess, type SpawnOptions } from 'node:child_process';

export interface RunResult {
  pid: number;
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  timedOut: boolean;
}

export interface RunOptions {
  timeoutMs?: number;
  env?: NodeJS.ProcessEnv;
  cwd?: string;
  input?: string;
}

/** Output kept per stream; enough for every reply a client prints and an error tail. */
const MAX_CAPTURE = 256 * 1024;

/** Runs a command to completion (killed after timeoutMs, 15 s by default). Never rejects. */
export function run(cmd: string, args: readonly string[], opts: RunOptions = {}): Promise<RunResult> {
  return new Promise((resolve) => {
    const stdin = opts.input === undefined ? 'ignore' : 'pipe';
    const child = spawn(cmd, args, { env: opts.env ?? process.env, cwd: opts.cwd, stdio: [stdin, 'pipe', 'pipe'] });
    const out = new Tail(MAX_CAPTURE);
    const err = new Tail(MAX_CAPTURE);
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill('SIGKILL');
    }, opts.timeoutMs ?? 15_000);
    child.stdout?.on('data', (d: Buffer) => out.push(d));
    child.stderr?.on('data', (d: Buffer) => err.push(d));
    child.on('error', (e) => err.push(Buffer.from(`spawn error: ${e.message}\n`)));
    // A child that exits without reading its input must not fail the run with EPIPE.
    child.stdin?.on('error', () => undefined);
    child.stdin?.end(opts.input);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ pid: child.pid ?? -1, code, signal, stdout: out.text(), stderr: err.text(), timedOut });
    });
  });
}

/** Like run(), but throws with the command and its stderr when it does not exit 0. */
export async function runOk(cmd: string, args: readonly string[], opts: RunOptions = {}): Promise<RunResult> {
  const r = await run(cmd, args, opts);
  if (r.code !== 0) {
    throw new Error(`${cmd} ${args.join(' ')} failed (code ${r.code}, signal ${r.signal}${r.timedOut ? ', timed out' : ''}): ${r.stderr.trim()}`);
  }
  return r;
}

/** Keeps the last `max` bytes of a stream. */
export class Tail {
  private chunks: Buffer[] = [];
  private size = 0;
  constructor(private readonly max: number) {}

  push(d: Buffer): void {
    this.chunks.push(d);
    this.size += d.length;
    while (this.size > this.max && this.chunks.length > 1) {
      this.size -= this.chunks.shift()!.length;
    }
  }

  text(): string {
    const s = Buffer.concat(this.chunks).toString('utf8');
    return s.length > this.max ? s.slice(s.length - this.max) : s;
  }
}

/** A child that runs until stopped, with the tails of its output kept. */
/** Starts a daemon that prints "ready" once it serves; killed and rethrown if it does not within timeoutMs. */
export async function startReady(label: string, [cmd, args]: [string, string[]], timeoutMs = 5000): Promise<Daemon> {
  const d = new Daemon(label, cmd, args);
  try {
    await d.waitForOutput(/^ready$/m, timeoutMs);
  } catch (e) {
    await d.stop('SIGKILL');
    throw e;
  }
  return d;
}

export class Daemon {
  readonly child: ChildProcess;
  readonly out = new Tail(64 * 1024);
  readonly err = new Tail(64 * 1024);
  private exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  exitInfo: { code: number | null; signal: NodeJS.Signals | null } | undefined;

  /** keepStdin: give the child a stdin pipe (closed by ending child.stdin); otherwise none. */
  constructor(readonly label: string, cmd: string, args: readonly string[], opts: SpawnOptions & { keepStdin?: boolean } = {}) {
    const { keepStdin, ...spawnOpts } = opts;
    this.child = spawn(cmd, args, { ...spawnOpts, stdio: [keepStdin ? 'pipe' : 'ignore', 'pipe', 'pipe'] });
    this.child.stdin?.on('error', () => undefined);
    this.child.stdout?.on('data', (d: Buffer) => this.out.push(d));
    this.child.stderr?.on('data', (d: Buffer) => this.err.push(d));
    this.child.on('error', (e) => this.err.push(Buffer.from(`spawn error: ${e.message}\n`)));
    this.exited = new Promise((resolve) => {
      this.child.on('exit', (code, signal) => {
        this.exitInfo = { code, signal };
        resolve(this.exitInfo);
      });
    });
  }

  get pid(): number {
    return this.child.pid ?? -1;
  }

  get running(): boolean {
    return this.exitInfo === undefined && this.child.pid !== undefined;
  }

  /** Waits for the condition on stdout+stderr, failing early if the child exits. */
  async waitForOutput(re: RegExp, timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      if (re.test(this.out.text()) || re.test(this.err.text())) return;
      if (!this.running) throw new Error(`${this.label} exited early (${JSON.stringify(this.exitInfo)}): ${this.describe()}`);
      await sleep(50);
    }
    throw new Error(`${this.label}: no ${re} within ${timeoutMs} ms: ${this.describe()}`);
  }

  /** Sends `signal`, waits up to graceMs, then SIGKILL. Resolves with how it exited. */
  async stop(signal: NodeJS.Signals = 'SIGTERM', graceMs = 5000): Promise<{ code: number | null; signal: NodeJS.Signals | null; killed: boolean }> {
    if (!this.running) return { ...(this.exitInfo ?? { code: null, signal: null }), killed: false };
    this.child.kill(signal);
    const timeout = sleep(graceMs).then(() => undefined);
    const first = await Promise.race([this.exited, timeout]);
    if (first) return { ...first, killed: false };
    this.child.kill('SIGKILL');
    return { ...(await this.exited), killed: true };
  }

  describe(): string {
    return `\n--- ${this.label} stdout (tail) ---\n${this.out.text().slice(-4000)}\n--- ${this.label} stderr (tail) ---\n${this.err.text().slice(-8000)}`;
  }
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
