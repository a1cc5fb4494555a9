// `--format ocsf`: the alert as an OCSF Detection Finding (class 2004), for SIEMs and data lakes
// that ingest OCSF (Security Lake, Sentinel, Splunk). Mapped from the ECS alert exactly as
// lib/alerts/model.ts builds it (docs/alert-fields.md), so both formats carry the same facts.
//
// Schema version: anomaly_analyses (our baseline novelty), is_alert, and evidences.container /
// .device exist in Detection Finding only in later 1.x releases, not in 1.1.0; we name the
// release whose schema holds every attribute we write (OCSF_VERSION). Facts OCSF has no
// attribute for (domain group, DNS chain, attribution, pod name and namespace, traffic
// counters on a finding) go to `unmapped` or the evidence's free-form `data`, never to invented
// attribute names.
import { ocsfProcess, ocsfUser, softwareFile } from './ocsf-process.js';
import { compact, ms, num, obj, str, type Obj } from './ocsf-values.js';

export const OCSF_VERSION = '1.6.0';
export const OCSF_CLASS_UID = 2004;
export const OCSF_CATEGORY_UID = 2;
const ACTIVITY_CREATE = 1;
/** The finding type: new external host server connection. */
export const OCSF_FINDING_TYPE = 'New External Host Server Connection';

/**
 * Severity: a domain group this whole host has never reached in the window is Medium (3); one
 * that is new only for this software (the host knows it) is Low (2).
 */
function severity(novelFor: string[]): { severity_id: number; severity: string } {
  return novelFor.includes('host') ? { severity_id: 3, severity: 'Medium' } : { severity_id: 2, severity: 'Low' };
}

const CONFIDENCE: Record<string, { confidence_id: number; confidence: string }> = {
  low: { confidence_id: 1, confidence: 'Low' },
  medium: { confidence_id: 2, confidence: 'Medium' },
  high: { confidence_id: 3, confidence: 'High' },
};

export function toOcsf(alert: Record<string, unknown>): Record<string, unknown> {
  const event = obj(alert.event);
  const rule = obj(alert.rule);
  const host = obj(alert.host);
  const ew = obj(alert.egresswatch);
  const novelFor = Array.isArray(ew.novel_for) ? ew.novel_for.map(String) : [];
  const created = ms(event.created) ?? ms(alert['@timestamp']);
  const start = ms(event.start) ?? ms(alert['@timestamp']);
  const end = ms(event.end);
  const hostOs = obj(host.os);
  // OCSF OS object: type_id 200 is Linux.
  const deviceOs = str(hostOs.type) === 'linux'
    ? compact({ name: str(hostOs.name) ?? 'Linux', type_id: 200, type: 'Linux', version: str(hostOs.version), kernel_release: str(hostOs.kernel) })
    : undefined;
  const device = compact({ hostname: str(host.hostname) ?? str(host.name), name: str(host.name), uid: str(host.id), type_id: 0, type: 'Unknown', os: deviceOs });
  const process = ocsfProcess(alert);
  const user = ocsfUser(alert);
  const net = network(alert);
  const container = ocsfContainer(alert);
  const evidence = compact({
    src_endpoint: net.src,
    dst_endpoint: net.dst,
    connection_info: net.connection,
    process,
    user,
    file: softwareFile(alert),
    device,
    container,
    // The DNS question the client asked, when the name came from DNS (not SNI or PTR).
    query: net.dst.hostname !== undefined && ew.name_source === 'dns' ? { hostname: net.dst.hostname } : undefined,
    // A finding has no traffic attribute; the counters ride in the evidence's free-form data.
    data: { traffic: net.traffic },
  });
  return compact({
    activity_id: ACTIVITY_CREATE,
    activity_name: 'Create',
    category_uid: OCSF_CATEGORY_UID,
    category_name: 'Findings',
    class_uid: OCSF_CLASS_UID,
    class_name: 'Detection Finding',
    type_uid: OCSF_CLASS_UID * 100 + ACTIVITY_CREATE,
    type_name: 'Detection Finding: Create',
    ...severity(novelFor),
    ...(CONFIDENCE[str(obj(ew.attribution).confidence) ?? ''] ?? {}),
    status_id: 1,
    status: 'New',
    is_alert: true,
    time: created,
    start_time: start,
    end_time: end,
    message: str(alert.message),
    metadata: compact({
      product: compact({ name: 'egresswatch', vendor_name: 'egresswatch', version: str(obj(ew.agent).version) }),
      version: OCSF_VERSION,
      uid: str(event.id),
      log_name: str(event.dataset),
      event_code: str(event.action),
    }),
    finding_info: compact({
      uid: str(event.id),
      title: str(rule.name),
      desc: str(alert.message),
      types: [OCSF_FINDING_TYPE],
      first_seen_time: start,
      last_seen_time: end,
      created_time: created,
      analytic: compact({ uid: str(rule.id), name: str(rule.name), category: str(rule.category), type_id: 2, type: 'Behavioral' }),
    }),
    device,
    actor: process ? compact({ process, user }) : undefined,
    evidences: [evidence],
    observables: observables(alert),
    anomaly_analyses: anomalyAnalyses(alert, created),
    unmapped: compact({
      egresswatch: alert.egresswatch,
      orchestrator: alert.orchestrator,
      event: compact({ reason: str(event.reason), outcome: str(event.outcome) }),
      process: compact({ working_directory: str(obj(alert.process).working_directory), args: obj(alert.process).args }),
    }),
  });
}

function network(alert: Obj): { src: Obj; dst: Obj; connection: Obj; traffic: Obj; transport?: string } {
  const src = obj(alert.source);
  const dst = obj(alert.destination);
  const n = obj(alert.network);
  const transport = str(n.transport);
  return {
    transport,
    src: compact({ ip: str(src.ip), port: num(src.port), hostname: str(obj(alert.host).hostname) }),
    dst: compact({ ip: str(dst.ip), port: num(dst.port), hostname: str(dst.domain), domain: str(dst.registered_domain) }),
    connection: compact({
      protocol_name: transport,
      protocol_num: n.iana_number !== undefined ? Number(n.iana_number) : undefined,
      protocol_ver_id: n.type === 'ipv6' ? 6 : n.type === 'ipv4' ? 4 : undefined,
      protocol_ver: n.type === 'ipv6' ? 'Internet Protocol version 6 (IPv6)' : n.type === 'ipv4' ? 'Internet Protocol version 4 (IPv4)' : undefined,
      direction_id: 2,
      direction: 'Outbound',
    }),
    // The host's side: out = what the source (this host) sent.
    traffic: compact({
      bytes_out: num(src.bytes), packets_out: num(src.packets),
      bytes_in: num(dst.bytes), packets_in: num(dst.packets),
      bytes: num(n.bytes), packets: num(n.packets),
    }),
  };
}

function ocsfContainer(alert: Obj): Obj | undefined {
  const c = obj(alert.container);
  if (str(c.id) === undefined) return undefined;
  const img = obj(c.image);
  const digest = Array.isArray(obj(img.hash).all) ? str((obj(img.hash).all as unknown[])[0]) : undefined;
  const orch = obj(alert.orchestrator);
  return compact({
    uid: str(c.id),
    name: str(c.name),
    runtime: str(c.runtime),
    image: compact({ name: str(img.name), tag: str(img.tag), uid: digest }),
    orchestrator: str(orch.type) === 'kubernetes' ? 'Kubernetes' : undefined,
    pod_uuid: str(obj(orch.resource).id),
  });
}

function observables(alert: Obj): Obj[] {
  const dst = obj(alert.destination);
  const src = obj(alert.source);
  const p = obj(alert.process);
  const rows: [string, number, string, unknown][] = [
    ['evidences.dst_endpoint.hostname', 1, 'Hostname', dst.domain],
    ['evidences.dst_endpoint.domain', 1, 'Hostname', dst.registered_domain],
    ['evidences.dst_endpoint.ip', 2, 'IP Address', dst.ip],
    ['evidences.dst_endpoint.port', 11, 'Port', dst.port],
    ['evidences.src_endpoint.ip', 2, 'IP Address', src.ip],
    ['device.hostname', 1, 'Hostname', obj(alert.host).hostname],
    ['actor.process.name', 9, 'Process Name', p.name],
    ['actor.process.pid', 15, 'Process ID', p.pid],
    ['actor.process.cmd_line', 13, 'Command Line', p.command_line],
    ['actor.process.file.name', 7, 'File Name', p.executable !== undefined ? String(p.executable).split('/').pop() : undefined],
    ['actor.user.name', 4, 'User Name', obj(alert.user).name],
    ['evidences.file.hashes.value', 8, 'Hash', obj(obj(obj(obj(alert.egresswatch).software).file).hash).sha256],
    ['evidences.container.uid', 10, 'Resource UID', obj(alert.container).id],
  ];
  return rows.filter(([, , , v]) => v !== undefined && v !== null && v !== '')
    .map(([name, type_id, type, v]) => ({ name, type_id, type, value: String(v) }));
}

/**
 * The novelty as OCSF anomaly analysis: one analysis per baseline it is new for (the host, the
 * software), each with the baseline it was checked against (window, earlier expired sighting)
 * and the anomaly (domain group UNSEEN in that window).
 */
function anomalyAnalyses(alert: Obj, created: number | undefined): Obj[] | undefined {
  const ew = obj(alert.egresswatch);
  const group = str(ew.domain_group);
  const novelFor = Array.isArray(ew.novel_for) ? ew.novel_for.map(String) : [];
  if (group === undefined || novelFor.length === 0) return undefined;
  const base = obj(ew.baseline);
  const days = num(base.window_days);
  const softwareKey = str(obj(ew.software).key) ?? str(obj(ew.software).id) ?? str(obj(alert.process).executable);
  const param = 'destination domain group';
  return novelFor.map((who) => {
    const target = who === 'host'
      ? { name: str(obj(alert.host).name) ?? str(obj(alert.host).id), type: 'Host' }
      : { name: softwareKey, type: 'Software' };
    const firstSeen = ms(who === 'host' ? base.host_first_seen : base.software_first_seen);
    const windowStart = created !== undefined && days !== undefined ? created - days * 86_400_000 : undefined;
    return {
      analysis_targets: [compact(target)],
      baselines: [compact({
        observation_parameter: param,
        observation_type: 'Frequency Analysis',
        observed_pattern: 'UNSEEN',
        observations: [
          compact({ value: group, count: 0, timespan: compact({ start_time: windowStart, end_time: created, duration_days: days }) }),
          // An older sighting that aged out of the window: when the group was first seen then.
          ...(firstSeen !== undefined ? [{ value: group, timespan: { start_time: firstSeen } }] : []),
        ],
      })],
      anomalies: [{
        observation_parameter: param,
        observation_type: 'Frequency Analysis',
        observed_pattern: 'UNSEEN',
        observations: [compact({ value: group, count: 1, timespan: compact({ start_time: ms(alert['@timestamp']) }) })],
      }],
    };
  });
}
