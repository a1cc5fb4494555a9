// What the container test expects of an alert, as a list of mismatches (all reported at once),
// and the attribution rate of the short-lived clients.
import { get, summarize, type Alert } from '../integration/alerts.js';
import { NET } from '../integration/netns.js';
import { imageRepository, imageTag, APP_SCRIPT } from './hostroot.js';
import type { Container } from './containers.js';
import { POD_TARGET } from './scenario.js';

const RULE = 'New External Host Server Connection';
export const ATTRIBUTION_METHODS: readonly string[] = ['procfs-socket', 'cached-socket'];

/** One line per alert with the container fields, for failure messages. */
export function describeAlert(a: Alert): string {
  const f = (k: string) => JSON.stringify(get(a, k));
  return `${summarize(a)} src ${f('source.ip')} container ${f('container.id')} ${f('container.image.name')}:${f('container.image.tag')} ` +
    `pod ${f('orchestrator.namespace')}/${f('orchestrator.resource.name')} key ${f('egresswatch.software.key')} ` +
    `attribution ${f('egresswatch.attribution.method')}/${f('egresswatch.attribution.confidence')}`;
}

/**
 * Alerts that pod traffic may have caused: to the pods' server, or from a pod or the NAT
 * address (an unattributed alert for the NATed copy of a pod connection lands here too).
 */
export function podAlerts(alerts: readonly Alert[], containers: readonly Container[]): Alert[] {
  const sources = new Set([NET.hostAddr, ...containers.map((c) => c.pod.podAddr)]);
  return alerts.filter((a) => get(a, 'destination.domain') === POD_TARGET.domain
    || (get(a, 'destination.ip') === POD_TARGET.addr && Number(get(a, 'destination.port')) === POD_TARGET.port)
    || (sources.has(String(get(a, 'source.ip'))) && get(a, 'destination.ip') === POD_TARGET.addr));
}

export interface ContainerExpectation {
  c: Container;
  /** process.pid as the root pid namespace numbers it. */
  pid: number;
  executable: string;
  novelFor: ReadonlyArray<'host' | 'software'>;
}

export function containerAlertProblems(a: Alert, x: ContainerExpectation): string[] {
  const p: string[] = [];
  const d = x.c.def;
  const eq = (k: string, want: unknown) => {
    const v = get(a, k);
    if (v !== want) p.push(`${k} = ${JSON.stringify(v)}, want ${JSON.stringify(want)}`);
  };
  eq('event.kind', 'alert');
  eq('rule.name', RULE);
  eq('container.id', d.id);
  eq('container.name', d.name);
  eq('container.image.name', imageRepository(d.image));
  eq('container.image.tag', imageTag(d.image));
  eq('container.runtime', 'containerd');
  eq('orchestrator.type', 'kubernetes');
  eq('orchestrator.namespace', d.podNamespace);
  eq('orchestrator.resource.name', d.podName);
  eq('orchestrator.resource.type', 'pod');
  eq('egresswatch.software.id', APP_SCRIPT);
  eq('egresswatch.software.key', imageRepository(d.image));
  eq('user.name', d.user.name);
  if (String(get(a, 'user.id')) !== String(d.user.uid)) p.push(`user.id = ${JSON.stringify(get(a, 'user.id'))}, want ${d.user.uid}`);
  if (Number(get(a, 'process.pid')) !== x.pid) p.push(`process.pid = ${JSON.stringify(get(a, 'process.pid'))}, want ${x.pid} (the root namespace's number)`);
  eq('process.executable', x.executable);
  const method = get(a, 'egresswatch.attribution.method');
  if (!ATTRIBUTION_METHODS.includes(String(method))) p.push(`egresswatch.attribution.method = ${JSON.stringify(method)}, want one of ${ATTRIBUTION_METHODS.join(', ')}`);
  if (get(a, 'egresswatch.attribution.confidence') === undefined) p.push('egresswatch.attribution.confidence missing');
  eq('source.ip', x.c.pod.podAddr);
  eq('destination.ip', POD_TARGET.addr);
  if (Number(get(a, 'destination.port')) !== POD_TARGET.port) p.push(`destination.port = ${JSON.stringify(get(a, 'destination.port'))}, want ${POD_TARGET.port}`);
  eq('destination.domain', POD_TARGET.domain);
  eq('egresswatch.domain_group', POD_TARGET.group);
  const novel = get(a, 'egresswatch.novel_for');
  if (!Array.isArray(novel) || [...novel].sort().join(',') !== [...x.novelFor].sort().join(',')) {
    p.push(`egresswatch.novel_for = ${JSON.stringify(novel)}, want ${JSON.stringify(x.novelFor)}`);
  }
  return p.length ? [`${d.name} (${d.image}) alert ${describeAlert(a)}:`, ...p.map((s) => `  ${s}`)] : [];
}

/** One short-lived client run: the name it resolved, its script copy and its pid. */
export interface ShortRun {
  domain: string;
  group: string;
  script: string;
  pid: number;
}

export interface RateReport {
  alerts: number;
  /** Alerts naming the run's own pid and script. */
  attributed: number;
  /** Alerts that name a process, but not the run's own: a wrong pid. */
  misattributed: number;
  /**
   * Alerts with the run's own pid but another software id (the process was read while it
   * exited, after its command line was gone: the interpreter instead of its script).
   */
  partial: string[];
  /** Runs with exactly such an alert. */
  runsAttributed: number;
  runs: number;
  /** attributed / alerts (0 when there is no alert). */
  rate: number;
  /** runsAttributed / runs. */
  runRate: number;
  methods: Record<string, number>;
  /** Runs with more than one alert (a duplicate). */
  duplicates: string[];
}

export function attributionRate(alerts: readonly Alert[], runs: readonly ShortRun[]): RateReport {
  const byGroup = new Map(runs.map((r) => [r.group, r]));
  const mine = alerts.filter((a) => byGroup.has(String(get(a, 'egresswatch.domain_group'))));
  const methods: Record<string, number> = {};
  const hits = new Map<string, number>();
  let attributed = 0;
  let misattributed = 0;
  const partial: string[] = [];
  for (const a of mine) {
    const m = String(get(a, 'egresswatch.attribution.method') ?? 'none');
    methods[m] = (methods[m] ?? 0) + 1;
    const r = byGroup.get(String(get(a, 'egresswatch.domain_group')))!;
    hits.set(r.group, (hits.get(r.group) ?? 0) + 1);
    const rightPid = Number(get(a, 'process.pid')) === r.pid;
    if (rightPid && get(a, 'egresswatch.software.id') === r.script) attributed++;
    else if (rightPid) partial.push(`${r.group}: ${String(get(a, 'egresswatch.software.id'))}`);
    else if (m !== 'none') misattributed++;
  }
  const runsAttributed = runs.filter((r) => mine.some((a) => get(a, 'egresswatch.domain_group') === r.group
    && Number(get(a, 'process.pid')) === r.pid && get(a, 'egresswatch.software.id') === r.script)).length;
  return {
    alerts: mine.length, attributed, misattributed, partial, runsAttributed, runs: runs.length,
    rate: mine.length ? attributed / mine.length : 0, runRate: runs.length ? runsAttributed / runs.length : 0,
    methods, duplicates: [...hits].filter(([, n]) => n > 1).map(([g, n]) => `${g} ×${n}`),
  };
}
