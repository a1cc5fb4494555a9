// createRegistry: gauges read from the snapshot at scrape time.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { createRegistry } from '../../lib/outputs/index.js';
import { EVENT_LOOP_SAMPLE_MS } from '../../lib/outputs/metrics.js';

/**
 * The main thread's wake-ups (voluntary context switches, /proc/self/status) over `ms` of an
 * otherwise idle Node.js process that has run `setup` (module text; may import metrics.js as M).
 */
function idleWakeups(setup: string, ms: number): number {
  const metrics = new URL('../../lib/outputs/metrics.js', import.meta.url).href;
  const script = `import fs from 'node:fs';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import * as M from ${JSON.stringify(metrics)};
${setup}
const switches = () => Number(/^voluntary_ctxt_switches:\\s*(\\d+)/m.exec(fs.readFileSync('/proc/self/status', 'utf8'))[1]);
setTimeout(() => {
  const before = switches();
  setTimeout(() => { console.log(switches() - before); process.exit(0); }, ${ms});
}, 300);`;
  return Number(execFileSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8', timeout: 20_000 }).trim());
}

describe('outputs/createRegistry', () => {
  it('exports plain and labelled values, and drops a label that left the snapshot', async () => {
    let forwards: Record<string, number> = { 'http https://a.example/api': 3, 'syslog tcp://b.example:514': 1 };
    const registry = createRegistry(() => ({ alerts: 7, forward_sent: forwards }), { alerts: 'alerts emitted' });
    let text = await registry.metrics();
    assert.match(text, /^egresswatch_alerts 7$/m);
    assert.match(text, /^egresswatch_forward_sent\{kind="http https:\/\/a.example\/api"\} 3$/m);
    forwards = { 'syslog tcp://b.example:514': 2 };
    text = await registry.metrics();
    assert.doesNotMatch(text, /a\.example/, 'a removed forwarder is no longer exported');
    assert.match(text, /^egresswatch_forward_sent\{kind="syslog tcp:\/\/b.example:514"\} 2$/m);
  });

  it("adds prom-client's process metrics only when asked (work for numbers nobody reads)", async () => {
    const served = await createRegistry(() => ({ alerts: 1 }), {}).metrics();
    assert.match(served, /^egresswatch_process_nodejs_eventloop_lag_p99_seconds /m);
    assert.match(served, /^egresswatch_process_process_cpu_user_seconds_total /m);
    const unserved = await createRegistry(() => ({ alerts: 1 }), {}, { processMetrics: false }).metrics();
    assert.match(unserved, /^egresswatch_alerts 1$/m);
    assert.doesNotMatch(unserved, /egresswatch_process_/);
  });

  it('samples the event-loop delay every EVENT_LOOP_SAMPLE_MS, not 100 times a second (an idle agent stays asleep), and still catches a stall', async function () {
    this.timeout(30_000);
    // The measurement itself, checked: prom-client's default sampler (10 ms) wakes the process ~200 times in 2 s.
    const control = idleWakeups('monitorEventLoopDelay({ resolution: 10 }).enable();', 2000);
    assert.ok(control > 120, `a 10 ms sampler woke the process only ${control} times in 2 s: the count does not measure wake-ups`);
    const ours = idleWakeups('globalThis.registry = M.createRegistry(() => ({ alerts: 1 }), {});', 2000);
    assert.ok(ours < 60, `the process metrics woke an idle process ${ours} times in 2 s (~${Math.round(2000 / EVENT_LOOP_SAMPLE_MS)} expected at ${EVENT_LOOP_SAMPLE_MS} ms)`);
    // And the delay is still measured, as the delay past the sampler's schedule: ~0 while the
    // loop is idle (Node.js records the time between samples: 0.1 s), and a 600 ms stall as at
    // least 0.5 s.
    const registry = createRegistry(() => ({ alerts: 1 }), {});
    const lag = async (): Promise<Record<string, number>> => Object.fromEntries([...(await registry.metrics())
      .matchAll(/^egresswatch_process_nodejs_eventloop_lag_(min|max|p50)_seconds (\S+)$/gm)].map((m) => [m[1], Number(m[2])]));
    await new Promise((r) => setTimeout(r, 500));
    // The least of ~5 samples: one delayed by a busy machine does not move it.
    const idle = await lag();
    assert.ok(idle.min >= 0 && idle.min < 0.05, `an idle event loop read as ${idle.min} s late at least`);
    await new Promise((r) => setTimeout(r, 300)); // past the first sample after the scrape (a reset starts the histogram over)
    const until = Date.now() + 600;
    while (Date.now() < until) { /* a stall of the event loop */ }
    await new Promise((r) => setTimeout(r, 50));
    const stalled = await lag();
    assert.ok(stalled.max >= 0.45 && stalled.max < 5, `a 600 ms stall left the delay max at ${stalled.max} s`);
    assert.ok(stalled.min < 0.05, `the samples before the stall were on time, yet the min is ${stalled.min} s`);
  });
});
