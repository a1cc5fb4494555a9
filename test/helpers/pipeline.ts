// A Pipeline for tests of one behaviour: the live agent's settings with small tables, a baseline
// that finds every destination new for the host, and what the test gives (attributor, host
// addresses, PTR, clock).
import winston from 'winston';
import { Pipeline, DEFAULT_NAME_ORDER, type PipelineDeps, type PipelineSettings } from '../../lib/pipeline/index.js';
import type { Baseline } from '../../lib/baseline/index.js';

/** An attributor that names nobody (the live agent's shape, no process found). */
export const NOBODY = { attribute: async () => ({ method: 'none', confidence: 'low' }), socketOwner: async () => undefined, processAlive: () => true };

export function testPipeline(emit: (a: any) => void, opts: { settings?: Partial<PipelineSettings>; deps?: Partial<PipelineDeps>; attributor?: unknown } = {}): Pipeline {
  const baseline = { observeSync: () => undefined, observe: async () => ({ novelFor: ['host'], learning: false }) } as unknown as Baseline;
  return new Pipeline({
    hostName: 'h', hostId: 'h', dnsPorts: [53], alertDelayMs: 0, baselineWindowMs: 86_400_000, dnsCacheSize: 1000,
    dnsRetentionMs: 60_000, flowTableSize: 1000, tcpIdleMs: 60_000, udpIdleMs: 60_000, internalCidrs: [],
    externalCidrs: ['203.0.113.0/24'], normalizeVersions: true, nameOrder: DEFAULT_NAME_ORDER, dnsQueryWindowMs: 5000,
    acceptUnmatchedDns: false, groupingRules: [], suppressions: [],
    ...opts.settings,
  }, {
    baseline: async () => baseline, attributor: (opts.attributor ?? NOBODY) as never, emit, logger: winston.createLogger({ silent: true }), now: () => 0,
    ...opts.deps,
  });
}
