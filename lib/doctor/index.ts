// doctor: checks that the agent can run here with this configuration, and explains each
// problem with its fix. Used by `egresswatch doctor`; one line per check, or JSON.
import fs from 'node:fs';
import { checkCapture, checkLocalResolver, type CaptureSettings } from './capture.js';
import { checkCollector, collectorTargetsOf } from './collector.js';
import { checkCapabilities, checkClock, checkProcAccess } from './host.js';
import { checkAlertsFile, checkLevelDb, checkWritableDir } from './storage.js';
import { checkKernelTracing } from './tracing.js';
import { warn, type CheckResult, type DoctorReport } from './types.js';

export type { CheckResult, CheckStatus, DoctorReport } from './types.js';
export { parseCapEff, hasCapability, agentCapabilities, AGENT_CAPABILITIES, type CapabilityNeed } from './caps.js';
export { checkCapabilities, checkClock, checkProcAccess } from './host.js';
export { checkWritableDir, checkAlertsFile, checkLevelDb } from './storage.js';
export { checkCollector, collectorTargetsOf, type CollectorTarget } from './collector.js';
export { checkCapture, checkLocalResolver, type CaptureSettings } from './capture.js';
export { checkKernelTracing } from './tracing.js';

/** The slice of the agent configuration the doctor reads. */
export interface DoctorConfig extends CaptureSettings {
  stateDir: string;
  alertsFile: string;
  procRoot: string;
  /** The host's root file system (its resolv.conf). */
  hostRoot: string;
  kernelTracing: boolean;
}

export interface DoctorOptions {
  now?: () => number;
  /** Our own status file, for CapEff (default /proc/self/status). */
  selfStatus?: string;
}

export async function runDoctor(config: Readonly<DoctorConfig>, opts: DoctorOptions = {}): Promise<DoctorReport> {
  const now = opts.now ?? Date.now;
  const uid = process.geteuid?.() ?? -1;
  const checks: CheckResult[] = [];
  let status = '';
  try {
    status = fs.readFileSync(opts.selfStatus ?? '/proc/self/status', 'utf8');
  } catch { /* reported by checkCapabilities as "no CapEff line" */ }
  checks.push(checkCapabilities(status, uid));
  const capture = await checkCapture(config);
  checks.push(...capture.checks);
  const resolver = checkLocalResolver(config.interfaces, config.hostRoot);
  if (resolver !== undefined) checks.push(resolver);
  checks.push(await checkProcAccess(config.procRoot, uid));
  checks.push(checkKernelTracing(config.procRoot, config.kernelTracing));
  const state = checkWritableDir('state dir', config.stateDir, '--state-dir');
  checks.push(state);
  if (state.status === 'ok') checks.push(...await checkLevelDb(config.stateDir));
  else checks.push(warn('leveldb', 'not tried: the state dir is not usable', 'fix the state dir first'));
  checks.push(checkAlertsFile(config.alertsFile));
  checks.push(await checkClock(now));
  const collectors = collectorTargetsOf(config);
  if (collectors.length === 0) checks.push(await checkCollector(undefined));
  for (const target of collectors) checks.push(await checkCollector(target));
  return { checks, canRun: checks.every((c) => c.status !== 'fail'), captureHandlesHeld: capture.held };
}

const LABEL = { ok: 'ok', warn: 'warn', fail: 'FAIL' } as const;

/** `ok|warn|FAIL  name  detail  (fix: ...)`, one line per check, then a summary line. */
export function formatReport(r: DoctorReport): string {
  const width = Math.max(...r.checks.map((c) => c.name.length));
  const lines = r.checks.map((c) => `${LABEL[c.status].padEnd(4)}  ${c.name.padEnd(width)}  ${c.detail}${c.fix ? `  (fix: ${c.fix})` : ''}`);
  const failed = r.checks.filter((c) => c.status === 'fail').length;
  const warned = r.checks.filter((c) => c.status === 'warn').length;
  lines.push(failed > 0 ? `egresswatch cannot run here: ${failed} check(s) failed` : `egresswatch can run here (${warned} warning(s))`);
  return lines.join('\n') + '\n';
}

export function reportJson(r: DoctorReport): string {
  return JSON.stringify({ canRun: r.canRun, checks: r.checks }) + '\n';
}
