// Prometheus metrics and health over HTTP (--metrics-listen). The registry is per agent, not
// prom-client's global one, so tests can run several agents in one process. Values are read from
// the stages' own counters at scrape time (collect callbacks): nothing on the packet path
// touches prom-client.
import http from 'node:http';
import { Registry, Gauge, collectDefaultMetrics } from 'prom-client';

export type Snapshot = () => Record<string, number | Record<string, number>>;

/**
 * How often (ms) the event-loop delay histogram of the process metrics samples: prom-client's
 * default, 10, wakes the agent 100 times a second on a host where nothing else happens (97 of its
 * 102 wake-ups a second, two thirds of its CPU, measured on an idle host), on every node of a
 * DaemonSet; 100 is a tenth of that. A stall of the event loop longer than this always makes a
 * sample late, by at least the stall less this; shorter ones show when a sample falls due inside
 * them. What an operator looks for in `egresswatch_process_nodejs_eventloop_lag_*` is the stall
 * of a few hundred milliseconds and more, not the agent's bursts of milliseconds.
 */
export const EVENT_LOOP_SAMPLE_MS = 100;

const PROCESS_PREFIX = 'egresswatch_process_';
/**
 * prom-client's gauges of the sampler's histogram. Node.js records the time between two samples,
 * not how late the second one came: left as they are, they would read 0.1 s on an idle agent
 * (prom-client's 10 ms default puts the same 10 ms in its numbers). They are served as the delay past
 * the sampler's schedule instead, under the same names.
 */
const DELAY_GAUGES = ['min', 'max', 'mean', 'p50', 'p90', 'p99'].map((s) => `${PROCESS_PREFIX}nodejs_eventloop_lag_${s}_seconds`);

/** prom-client's process metrics in `registry`, with the event-loop delay as DELAY_GAUGES says. */
function processMetrics(registry: Registry): void {
  collectDefaultMetrics({ register: registry, prefix: PROCESS_PREFIX, eventLoopMonitoringPrecision: EVENT_LOOP_SAMPLE_MS });
  const period = EVENT_LOOP_SAMPLE_MS / 1000;
  for (const name of DELAY_GAUGES) {
    // prom-client's own `nodejs_eventloop_lag_seconds`, registered before these, sets them at
    // each scrape; ours, registered after it, read them then.
    const sampled = registry.getSingleMetric(name) as Gauge | undefined;
    if (sampled === undefined) continue;
    registry.removeSingleMetric(name);
    new Gauge({
      name,
      help: `${name.slice(PROCESS_PREFIX.length + 'nodejs_eventloop_lag_'.length, -'_seconds'.length)} of the event loop's delays past its ${EVENT_LOOP_SAMPLE_MS} ms sampler's schedule since the last scrape, seconds`,
      registers: [registry],
      async collect() {
        const v = (await sampled.get()).values[0]?.value;
        if (v !== undefined && Number.isFinite(v)) this.set(Math.max(0, v - period));
      },
    });
  }
}

export function createRegistry(snapshot: Snapshot, help: Record<string, string>, opts: { processMetrics?: boolean } = {}): Registry {
  const registry = new Registry();
  if (opts.processMetrics !== false) processMetrics(registry);
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
