// createRegistry: gauges read from the snapshot at scrape time.
import assert from 'node:assert/strict';
import { createRegistry } from '../../lib/outputs/index.js';

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

  it("adds prom-client's process metrics only when asked (their event-loop sampler wakes the agent 100 times a second)", async () => {
    const served = await createRegistry(() => ({ alerts: 1 }), {}).metrics();
    assert.match(served, /^egresswatch_process_nodejs_eventloop_lag_p99_seconds /m);
    assert.match(served, /^egresswatch_process_process_cpu_user_seconds_total /m);
    const unserved = await createRegistry(() => ({ alerts: 1 }), {}, { processMetrics: false }).metrics();
    assert.match(unserved, /^egresswatch_alerts 1$/m);
    assert.doesNotMatch(unserved, /egresswatch_process_/);
  });
});
