// Prometheus metrics and health over HTTP (--metrics-listen). The registry is per agent, not
// prom-client's global one, so tests can run several agents in one process. Values are read from
// the stages' own counters at scrape time (collect callbacks): nothing on the packet path
// touches prom-client.
import http from 'node:http';
import { Registry, Gauge, collectDefaultMetrics } from 'prom-client';

export type Snapshot = () => Record<string, number | Record<string, number>>;

/**
 * Exposes every numeric field of `snapshot()` as gauge `egresswatch_<name>`; a nested record
 * becomes one gauge with a `kind` label (e.g. decode errors by kind). `processMetrics` adds
 * prom-client's own (`egresswatch_process_*`: CPU, memory, GC, the event loop's delay). Only
 * when they are served: their event-loop delay histogram runs a timer 100 times a second, which
 * on an idle host without --metrics-listen was two thirds of the agent's CPU (its main thread 9.3
 * ms a second with it, 3 without, measured here) and 97 of its 102 wake-ups a second, for numbers
 * nobody read.
 */
export function createRegistry(snapshot: Snapshot, help: Record<string, string>, opts: { processMetrics?: boolean } = {}): Registry {
  const registry = new Registry();
  if (opts.processMetrics !== false) collectDefaultMetrics({ register: registry, prefix: 'egresswatch_process_' });
  const first = snapshot();
  for (const name of Object.keys(first)) {
    const labelled = typeof first[name] === 'object';
    new Gauge({
      name: `egresswatch_${name}`,
      help: help[name] ?? name.replace(/_/g, ' '),
      labelNames: labelled ? ['kind'] : [],
      registers: [registry],
      collect() {
        const v = snapshot()[name];
        if (typeof v === 'number') this.set(v);
        else if (v) {
          // The snapshot holds every current label: one that went away (a forwarder removed
          // by a reload) stops being exported instead of keeping its last value.
          this.reset();
          for (const [kind, n] of Object.entries(v)) this.set({ kind }, n);
        }
      },
    });
  }
  return registry;
}

export class MetricsServer {
  private server?: http.Server;

  /**
   * `/healthz`: the agent is up and capturing (`isHealthy`). `/readyz`: it can also keep what it
   * sees — capture open, baseline store open, spool writable (`isReady`, default isHealthy).
   */
  constructor(private readonly registry: Registry, private readonly isHealthy: () => boolean,
    private readonly isReady: () => boolean = isHealthy) {}

  listen(host: string, port: number): Promise<void> {
    const server = http.createServer((req, res) => {
      void this.handle(req, res);
    });
    this.server = server;
    return new Promise((resolve, reject) => {
      server.once('error', (err: NodeJS.ErrnoException) => reject(new MetricsListenError(
        `cannot listen on --metrics-listen ${host}:${port}: ${err.code ?? err.message} (fix: pick a free port or another address)`)));
      server.listen(port, host, () => resolve());
    });
  }

  private async handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const url = (req.url ?? '/').split('?')[0];
    if (url === '/healthz' || url === '/readyz') {
      const ok = url === '/healthz' ? this.isHealthy() : this.isReady();
      res.writeHead(ok ? 200 : 503, { 'content-type': 'text/plain' });
      res.end(ok ? 'ok\n' : url === '/healthz' ? 'capture not open on every interface\n' : 'not ready: capture, baseline store or spool unavailable\n');
    } else if (url === '/metrics') {
      try {
        const body = await this.registry.metrics();
        res.writeHead(200, { 'content-type': this.registry.contentType });
        res.end(body);
      } catch (err) {
        res.writeHead(500, { 'content-type': 'text/plain' });
        res.end(`metrics failed: ${(err as Error).message}\n`);
      }
    } else {
      res.writeHead(404, { 'content-type': 'text/plain' });
      res.end('not found; try /metrics or /healthz\n');
    }
  }

  close(): Promise<void> {
    const s = this.server;
    if (!s) return Promise.resolve();
    return new Promise((resolve) => s.close(() => resolve()));
  }
}

export class MetricsListenError extends Error {
  override name = 'MetricsListenError';
}
