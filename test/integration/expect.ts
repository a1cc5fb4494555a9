// What the end-to-end test expects of an alert for one client run, as a list of mismatches
// (all reported at once, so one failing run says everything that is wrong).
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { get, summarize, type Alert } from './alerts.js';
import { checkClientOutput, runClient, type ClientKit, type ClientSpec } from './clients.js';
import { NET } from './netns.js';
import type { TestUser } from './clients.js';

const RULE = 'New External Host Server Connection';
const SERVICE_IPS = new Set([...NET.serviceAddrs, ...NET.serviceAddrs6]);

/** Alerts caused by the test: by the test user, or to a test-internet address. */
export function ours(alerts: readonly Alert[], user: TestUser): Alert[] {
  return alerts.filter((a) => get(a, 'user.name') === user.name || SERVICE_IPS.has(String(get(a, 'destination.ip'))));
}

export interface Expectation {
  spec: ClientSpec;
  pid: number;
  user: TestUser;
  hostName: string;
  novelFor: ReadonlyArray<'host' | 'software'>;
}

export function alertProblems(a: Alert, x: Expectation): string[] {
  const p: string[] = [];
  const eq = (k: string, want: unknown) => {
    const v = get(a, k);
    if (v !== want) p.push(`${k} = ${JSON.stringify(v)}, want ${JSON.stringify(want)}`);
  };
  eq('event.kind', 'alert');
  eq('rule.name', RULE);
  eq('host.name', x.hostName);
  eq('host.os.kernel', os.release());
  eq('host.os.type', 'linux');
  eq('event.outcome', 'success');
  if (Number(get(a, 'process.pid')) !== x.pid) p.push(`process.pid = ${JSON.stringify(get(a, 'process.pid'))}, want ${x.pid}`);
  eq('process.executable', x.spec.executable);
  eq('process.command_line', x.spec.argv.join(' '));
  eq('user.name', x.user.name);
  if (String(get(a, 'user.id')) !== String(x.user.uid)) p.push(`user.id = ${JSON.stringify(get(a, 'user.id'))}, want ${x.user.uid}`);
  eq('destination.domain', x.spec.domain);
  eq('destination.registered_domain', x.spec.registeredDomain);
  eq('egresswatch.domain_group', x.spec.domainGroup);
  // HTTP clients also say the name in their Host header, which the default trust order puts
  // first; either way it is the name the client asked DNS for (checked above).
  const source = String(get(a, 'egresswatch.name_source'));
  if (!['dns', 'http'].includes(source)) p.push(`egresswatch.name_source = ${JSON.stringify(source)}, want dns or http`);
  eq('egresswatch.software.id', x.spec.softwareId);
  eq('egresswatch.software.kind', x.spec.softwareKind);
  const conn = x.spec.connections.find((c) => c.addr === get(a, 'destination.ip') && c.port === Number(get(a, 'destination.port')));
  if (!conn) {
    p.push(`destination ${JSON.stringify(get(a, 'destination.ip'))}:${JSON.stringify(get(a, 'destination.port'))} is none of ${x.spec.connections.map((c) => `${c.addr}:${c.port}`).join(', ')}`);
  } else {
    eq('network.transport', conn.transport);
    if (conn.transport === 'tcp') {
      for (const k of ['source.bytes', 'destination.bytes']) {
        const v = get(a, k);
        if (typeof v !== 'number' || !(v > 0)) p.push(`${k} = ${JSON.stringify(v)}, want a number > 0`);
      }
    }
  }
  const novel = get(a, 'egresswatch.novel_for');
  if (!Array.isArray(novel) || [...novel].sort().join(',') !== [...x.novelFor].sort().join(',')) {
    p.push(`egresswatch.novel_for = ${JSON.stringify(novel)}, want ${JSON.stringify(x.novelFor)}`);
  }
  return p.length ? [`${x.spec.label} alert ${summarize(a)}:`, ...p.map((s) => `  ${s}`)] : [];
}

/** Runs every client once, in order; throws if one did not get its server's reply. */
export async function runAll(kit: ClientKit, specs: readonly ClientSpec[]): Promise<Map<string, number>> {
  const pids = new Map<string, number>();
  for (const s of specs) {
    const r = await runClient(kit, s.argv);
    const problem = checkClientOutput(s, r);
    if (problem) throw new Error(`client failed (harness, not agent): ${problem}`);
    pids.set(s.softwareId, r.pid);
  }
  return pids;
}

/**
 * A never-seen piece of software (a copy of the python client under a new path) going to a
 * group the host already knows: it must alert, new for the software only. It proves the agent
 * is watching in the runs whose other assertion is "no alert".
 */
export function canary(kit: ClientKit, tag: string): ClientSpec {
  const py = kit.clients.find((c) => c.label === 'python')!;
  const script = path.join(kit.dir, `canary_${tag}.py`);
  fs.copyFileSync(py.softwareId, script);
  fs.chmodSync(script, 0o644);
  return { ...py, argv: [kit.python, script], softwareId: script };
}
