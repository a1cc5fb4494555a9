// Small process helpers for the deployment tests: run a command to completion with a time
// bound, or keep one running and stop it, with its output kept for failure messages.
import { spawn, spawnSync, type ChildProcess, type SpawnOptions } from 'node:child_process';
import http from 'node:http';
import net from 'node:net';

export interface Result {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/** Runs to completion; killed (SIGKILL) after timeoutMs so a hung command cannot hang the suite. */
export function runSync(cmd: string, args: string[], opts: { timeoutMs?: number; cwd?: string; env?: NodeJS.ProcessEnv } = {}): Result {
  const r = spawnSync(cmd, args, { encoding: 'utf8', timeout: opts.timeoutMs ?? 60_000, killSignal: 'SIGKILL', cwd: opts.cwd, env: opts.env });
  if (r.error && (r.error as NodeJS.ErrnoException).code !== 'ETIMEDOUT') throw r.error;
  return { code: r.status, signal: r.signal, stdout: r.stdout ?? '', stderr: r.stderr ?? '' };
}

export function describeResult(r: Result): string {
  return `exit ${r.code} signal ${r.signal}\n--- stdout ---\n${r.stdout.slice(-3000)}\n--- stderr ---\n${r.stderr.slice(-3000)}`;
}

/** A child kept running; output accumulates in memory (bounded to the last 64 KiB each). */
export class Child {
  readonly proc: ChildProcess;
  stdout = '';
  stderr = '';
  private exited: Promise<Result>;
  private done = false;

  constructor(cmd: string, args: string[], opts: SpawnOptions = {}) {
    this.proc = spawn(cmd, args, { ...opts, stdio: ['ignore', 'pipe', 'pipe'] });
    const keep = (s: string, d: Buffer): string => (s + d.toString('utf8')).slice(-65536);
    this.proc.stdout?.on('data', (d: Buffer) => { this.stdout = keep(this.stdout, d); });
    this.proc.stderr?.on('data', (d: Buffer) => { this.stderr = keep(this.stderr, d); });
    this.exited = new Promise((resolve) => {
      this.proc.on('error', (e) => { this.stderr += `\n(spawn error: ${e.message})`; });
      this.proc.on('close', (code, signal) => {
        this.done = true;
        resolve({ code, signal, stdout: this.stdout, stderr: this.stderr });
      });
    });
  }

  get running(): boolean {
    return !this.done;
  }

  /** Resolves with the exit, or rejects after timeoutMs (the child is then killed). */
  async wait(timeoutMs: number): Promise<Result> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => {
        this.proc.kill('SIGKILL');
        reject(new Error(`timed out after ${timeoutMs} ms${this.describe()}`));
      }, timeoutMs);
    });
    try {
      return await Promise.race([this.exited, timeout]);
    } finally {
      clearTimeout(timer);
    }
  }

  /** SIGTERM, then SIGKILL after graceMs. */
  async stop(graceMs = 10_000): Promise<Result> {
    if (this.running) this.proc.kill('SIGTERM');
    return this.wait(graceMs).catch(async () => this.exited);
  }

  describe(): string {
    return `\n--- stdout ---\n${this.stdout.slice(-3000)}\n--- stderr ---\n${this.stderr.slice(-3000)}`;
  }
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** A port free on 127.0.0.1 right now (the kernel's pick). */
export async function freePort(): Promise<number> {
  const srv = net.createServer();
  await new Promise<void>((resolve) => srv.listen(0, '127.0.0.1', resolve));
  const port = (srv.address() as net.AddressInfo).port;
  await new Promise<void>((resolve) => srv.close(() => resolve()));
  return port;
}

export function httpStatus(port: number, path: string, timeoutMs: number): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = http.get({ host: '127.0.0.1', port, path, timeout: timeoutMs }, (res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
    });
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', reject);
  });
}

export interface Account {
  name: string;
  uid: number;
  gid: number;
  shell: string;
}

/** The passwd entry of `name` on the running system, or undefined. */
export function getAccount(name: string): Account | undefined {
  const r = runSync('getent', ['passwd', name], { timeoutMs: 10_000 });
  if (r.code !== 0) return undefined;
  const f = r.stdout.trim().split(':');
  return { name: f[0], uid: Number(f[2]), gid: Number(f[3]), shell: f[6] };
}

/**
 * An unprivileged system user with its own group, created when missing (useradd --system is
 * idempotent in effect: an existing user is reused as is and nothing is ever removed).
 */
export function ensureSystemUser(name: string): Account {
  const have = getAccount(name);
  if (have) return have;
  const r = runSync('useradd', ['--system', '--user-group', '--no-create-home', '--home-dir', '/nonexistent', '--shell', '/usr/sbin/nologin', name], { timeoutMs: 30_000 });
  const made = getAccount(name);
  if (!made) throw new Error(`useradd ${name} failed: ${describeResult(r)}`);
  return made;
}
