// The agent under test as a child process: started with the end-to-end flags, considered up
// once GET /healthz answers 200 (capture open), stopped with SIGTERM (held alerts flushed,
// exit 0). Its output tail goes into every failure message.
import http from 'node:http';
import net from 'node:net';
import path from 'node:path';
import { REPO_ROOT } from '../helpers/env.js';
import { Daemon, sleep } from './proc.js';

export const AGENT_CLI = path.join(REPO_ROOT, 'dist', 'agent', 'cli.js');
/** Upper bound for the agent to open capture and its baseline. */
const HEALTH_TIMEOUT_MS = 20_000;

export interface AgentOptions {
  stateDir: string;
  alertsFile: string;
  /** --learning-period, e.g. '0' or '1h'. */
  learningPeriod: string;
  hostName?: string;
  extraArgs?: string[];
  /** Names this run in failure messages. */
  label?: string;
  /** --alert-delay (default 1s). */
  alertDelay?: string;
  /** Node's own flags, before the script (e.g. a heap bound). */
  nodeArgs?: string[];
}

export function agentArgs(o: AgentOptions, metricsPort: number): string[] {
  return [
    AGENT_CLI, 'run', '--interface', 'any',
    '--state-dir', o.stateDir, '--alerts-file', o.alertsFile,
    '--learning-period', o.learningPeriod, '--alert-delay', o.alertDelay ?? '1s',
    '--external-cidr', '192.0.2.0/24', '--external-cidr', '203.0.113.0/24', '--external-cidr', '2001:db8::/32',
    '--metrics-listen', `127.0.0.1:${metricsPort}`,
    // PTR lookups go to the test internet's dnsmasq, never to the machine's own resolver.
    '--ptr-server', '198.51.100.2',
    '--host-name', o.hostName ?? 'e2e-host', '--log-level', 'debug',
    ...(o.extraArgs ?? []),
  ];
}

export class AgentProcess {
  private constructor(readonly daemon: Daemon, readonly metricsPort: number, readonly options: AgentOptions) {}

  /** Starts the agent and waits (bounded) for /healthz; kills it and throws if it never gets there. */
  static async start(o: AgentOptions): Promise<AgentProcess> {
    const port = await freePort();
    const d = new Daemon(o.label ?? 'agent', process.execPath, [...(o.nodeArgs ?? []), ...agentArgs(o, port)], { cwd: REPO_ROOT, env: process.env });
    const agent = new AgentProcess(d, port, o);
    const deadline = Date.now() + HEALTH_TIMEOUT_MS;
    let last = 'no answer yet';
    while (Date.now() < deadline) {
      if (!d.running) throw new Error(`agent exited before /healthz (${JSON.stringify(d.exitInfo)})${d.describe()}`);
      const status = await httpStatus(port, '/healthz', 1000).catch((e: Error) => e.message);
      if (status === 200) return agent;
      last = String(status);
      await sleep(100);
    }
    await d.stop('SIGKILL');
    throw new Error(`agent /healthz not 200 within ${HEALTH_TIMEOUT_MS} ms (last: ${last})${d.describe()}`);
  }

  get running(): boolean {
    return this.daemon.running;
  }

  /** The agent's own metrics as last read by stop(), for failure messages. */
  lastMetrics = '';

  /** Reads /metrics (kept for describe()), then SIGTERM, then SIGKILL after graceMs. */
  async stop(graceMs = 10_000): Promise<{ code: number | null; signal: NodeJS.Signals | null; killed: boolean }> {
    if (this.running) this.lastMetrics = await httpText(this.metricsPort, '/metrics', 2000).catch((e: Error) => `(/metrics: ${e.message})`);
    return this.daemon.stop('SIGTERM', graceMs);
  }

  describe(): string {
    // The pipeline's own counters; the process_* ones say nothing about the test.
    const ours = this.lastMetrics.split('\n').filter((l) => l.startsWith('egresswatch_') && !l.startsWith('egresswatch_process_'));
    return `${this.daemon.describe()}${ours.length ? `\n--- ${this.daemon.label} metrics at stop ---\n${ours.join('\n')}` : ''}`;
  }
}

/** A port free on 127.0.0.1 right now (the kernel's pick). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const port = (srv.address() as net.AddressInfo).port;
      srv.close(() => resolve(port));
    });
  });
}

export function httpText(port: number, urlPath: string, timeoutMs: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const req = http.get({ host: '127.0.0.1', port, path: urlPath, timeout: timeoutMs }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (d: Buffer) => chunks.push(d));
      res.on('end', () => resolve(Buffer.concat(chunks).toString('utf8').slice(0, 200_000)));
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', reject);
  });
}

export function httpStatus(port: number, urlPath: string, timeoutMs: number): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = http.get({ host: '127.0.0.1', port, path: urlPath, timeout: timeoutMs }, (res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
    });
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', reject);
  });
}
