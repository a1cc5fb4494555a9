// One snapshot of every stage's counters, for /metrics (and logs). Names become
// `egresswatch_<name>`; records become one gauge labelled by `kind`.
import type { LiveCapture } from '../capture/index.js';
import type { Pipeline } from './pipeline.js';
import type { Attributor } from './attribution.js';
import type { LogFile } from '../config/index.js';

export const METRIC_HELP: Record<string, string> = {
  packets: 'Packets handed to the pipeline',
  decode_errors: 'Malformed packets dropped, by kind',
  decode_skipped: 'Packets skipped on purpose (non-IP, fragments, other transports), by kind',
  dns_responses: 'DNS responses parsed',
  dns_answers: 'A/AAAA answers mapped to names',
  dns_malformed: 'DNS messages that could not be parsed, by kind',
  dns_answers_unmatched: 'DNS answers not used: no matching query from that socket to that server',
  connections_proxied: 'Connections to a configured --proxy: named by their request (named), or whose request named nothing (unnamed: TLS to the proxy, another protocol), then judged as connections to the proxy itself when it is external and not judged when it is internal',
  quic_initials_skipped: 'QUIC Initial datagrams not decrypted for their server name: past the budget of 2,000 a second (a flood)',
  dns_queries_tracked: 'DNS queries remembered for answer matching',
  name_cache_entries: 'IP to name cache entries',
  name_cache_evictions: 'IP to name cache entries evicted by the size bound',
  name_cache_expired: 'IP to name cache entries expired (TTL + retention)',
  connections_started: 'Connection starts seen, by transport (live: not those between two internal addresses, left out of the capture); tcp_midstream: TCP connections taken up mid-stream (their start not seen)',
  connections_outbound: 'Connections to external responders tracked',
  connections_inbound: 'Connections to an external address of this host (inbound: a client of a service here, or a container to the host): not judged',
  connections_forwarded_ignored: 'Connections forwarded for other machines (no process of this host found) and not judged (--ignore-forwarded)',
  connections_unconfigured_proxy: 'Internal connections that carried proxy requests to an endpoint not given with --proxy (their destinations not judged; the log names the endpoint)',
  connections_named: 'Outbound connections by the source of their name (sni, http, quic, dns, none) when judged',
  flows_active: 'Entries in the flow table',
  flow_evictions: 'Flows evicted because the flow table was full',
  flow_packet_copies: 'Packets of tracked flows captured again on another interface (a bridge and its port, a router in and out), counted once',
  flow_udp_server_first: 'UDP datagrams from a service port to an ephemeral one with no flow known (a server\'s side of a flow begun before the capture): not taken as a flow start',
  connections_attributed: 'Outbound connections attributed to a process, by method (live socket, cached socket, ebpf: the process the connect tracer saw connect, dns: the process that resolved the address)',
  connections_unattributed: 'Outbound connections that could not be attributed',
  attribution_resolver: 'Socket resolver counters by kind (netlink probes and errors, table reads, fd rescans, cache hits)',
  attribution_outcomes: 'Attributor counters by kind (attributed, socket not found, process gone, retries, process cache hits; describedBeforeExec: named as the program a process ran at its connection, exec\'d away from since; staleAfterExec: cached descriptions not used because the process exec\'d since)',
  attribution_user_names: 'Users named through the name service (getent: SSSD / LDAP, systemd DynamicUser=) when no passwd file lists the uid, by outcome (asked, found, unknown, failures, cached; unavailable 1 when getent cannot be run)',
  attribution_netlink: '1 when sockets in the host namespace are looked up through netlink sock_diag, 0 when through /proc/net',
  attribution_exec_watch: 'The exec watcher (copies of each new program\'s and each new process\'s /proc files, taken at its exec or fork, for one gone before it is asked about): watching 1 or 0, execs, copies, vanished (gone before the copy), overruns (notifications lost), skipped (execs over the 2,000 copies a second budget), forks (new processes), forksSkipped (over the 1,000 fork copies a second budget), served (facts answered from a copy), superseded (snapshots of a socket holder not used: it exec\'d another program after they were taken)',
  attribution_tracer: 'The connect tracer (BPF, for sockets gone before /proc could be read): attached 1 or 0, udp 1 when UDP senders are traced too, lookups, found, notFound, errors',
  baseline: 'Baseline counters by kind: cacheEvictions (known entries dropped from memory), reads (LevelDB reads for keys not in memory), absentByFilter (new keys decided without a read by the filter of the store\'s keys), filterBuilds and filterBuildErrors (scans of the keys for that filter), newEntries, writeBatches, flushes and flushErrors (write-behind of last-seen updates), badValues (unreadable entries rewritten)',
  names_saves: 'Periodic saves of the DNS names learned (<state dir>/names.json, every --names-save-interval): saved, failed',
  alerts: 'Alerts emitted, by novelty',
  alerts_held: 'Alerts waiting for their hold window',
  alerts_released_early: 'Alerts let out before their hold window ended because 10,000 were held (a burst of new destinations); their bytes are those counted so far',
  attributions_pending: 'Owners of connections and DNS query sockets asked of the attributor and not answered yet',
  connections_unjudged: 'New connections tracked but not judged (no alert for them) because 8,192 were already waiting for their verdict: the agent had no time for them (a scan from this host faster than it can judge)',
  attributions_shed: 'Connections judged for the host only (egresswatch.attribution.skipped: overload), and DNS query sockets not looked up, because 8,192 attributions were already waiting (a scan from this host, or a burst)',
  alerts_suppressed: 'New destinations not alerted because a suppression rule matched, by rule comment',
  capture_received: 'Packets received by the kernel for our capture, by interface',
  capture_dropped: 'Packets dropped by the kernel (buffer full), by interface',
  capture_if_dropped: 'Packets dropped by the interface or driver, by interface',
  capture_stopped: 'Interfaces whose capture stopped (deleted or taken down) and is not open again yet: 1, by interface',
  capture_reopens: 'Times the capture of an interface was opened again after it stopped, by interface',
  forward_sent: 'Alerts delivered, by forwarder',
  forward_failures: 'Failed deliveries (retried with backoff), by forwarder',
  spool_depth: 'Alerts in the durable spool not yet delivered by every forwarder',
  spool_oldest_age_seconds: 'Age of the oldest spooled alert',
  alerts_file_renames_followed: 'Alerts file: renames of its name (logrotate create) followed before a write',
  alerts_file_reopen_errors: 'Alerts file: failed opens of its name after a rename (alerts went to the renamed file)',
  alerts_file_reopen_failing: 'Alerts file: 1 while its name cannot be opened (e.g. EACCES on a file logrotate created for another user)',
  alerts_file_created_after_wait: 'Alerts file: times its name stayed missing past the wait for logrotate and the agent created it',
  alerts_file_rename_races: 'Alerts file: writes a rename overtook between the name check and the write (not held)',
  alerts_file_holds: 'Alerts file: writes held for logrotate (SIGUSR2 from prerotate)',
  alerts_file_hold_timeouts: 'Alerts file: holds ended by the safety timeout because no SIGHUP came',
  alerts_file_held_lines: 'Alerts file: alerts queued in memory during holds, written at the reopen',
  alerts_file_hold_overflows: 'Alerts file: alerts written during a hold because the queue was full',
  spool_append_errors: 'Spool: appends that failed (a full disk under --state-dir); their alerts wait in memory and are retried',
  spool_unspooled: 'Spool: alerts waiting in memory for the spool to take them (forwarding gets them after)',
  spool_unspooled_dropped: 'Spool: alerts given up on for forwarding (past 10,000 waiting, or unspooled at exit; they are in the alerts file)',
  alerts_file_write_errors: 'Alerts file: writes that failed (ENOSPC, EIO); their alerts wait in memory and are retried',
  alerts_file_unwritten_lines: 'Alerts file: alerts waiting in memory for the file to take them again',
  alerts_file_lines_dropped: 'Alerts file: alerts lost from the file (past the 64 MiB bound of waiting alerts, or unwritten at exit)',
  log_file_write_errors: 'Log file (--log-file): records that could not be written',
  log_file_renames_followed: 'Log file: renames of its name followed before a write',
  log_file_reopen_errors: 'Log file: failed opens of its name after a rename',
  log_file_holds: 'Log file: writes held for logrotate (SIGUSR2 from prerotate)',
};

/** The --log-file counters, for /metrics next to the alerts file's. */
export function logFileStats(f: LogFile): Record<string, number> {
  return {
    log_file_write_errors: f.writeErrors,
    log_file_renames_followed: f.renamesFollowed,
    log_file_reopen_errors: f.reopenErrors,
    log_file_holds: f.held.holds,
  };
}

function perInterface(capture: LiveCapture | undefined, pick: 'received' | 'dropped' | 'ifDropped' | 'reopens'): Record<string, number> {
  const out: Record<string, number> = {};
  for (const s of capture?.stats() ?? []) out[s.interface] = s[pick];
  return out;
}

export function snapshot(p: Pipeline, capture?: LiveCapture, attributor?: Attributor): Record<string, number | Record<string, number>> {
  const f = p.flows.stats;
  return {
    packets: p.stats.packets,
    decode_errors: { ...p.decodeStats.errors },
    decode_skipped: { ...p.decodeStats.skipped },
    dns_responses: p.dnsStats.responses,
    dns_answers: p.dnsStats.answers,
    dns_malformed: { ...p.dnsStats.malformed },
    dns_answers_unmatched: p.stats.dnsUnmatchedIgnored,
    quic_initials_skipped: p.stats.quicInitialsSkipped,
    connections_proxied: { named: p.stats.proxied, unnamed: p.stats.proxiedUnnamed },
    dns_queries_tracked: p.queries.stats.queries,
    name_cache_entries: p.names.size,
    name_cache_evictions: p.names.stats.evictions,
    name_cache_expired: p.names.stats.expired,
    connections_started: { tcp: f.tcpStarts, udp: f.udpStarts, tcp_midstream: f.tcpMidstream },
    connections_outbound: f.outbound,
    connections_inbound: p.stats.connectionsInbound,
    connections_forwarded_ignored: p.stats.forwardedIgnored,
    connections_unconfigured_proxy: p.stats.unconfiguredProxyRequests,
    connections_named: { ...p.stats.namedBy },
    flows_active: p.flows.size,
    flow_evictions: f.evictions,
    flow_packet_copies: f.copies,
    flow_udp_server_first: f.udpServerFirst,
    connections_attributed: { live: attributor?.stats.attributed ?? 0, cached: attributor?.stats.attributedCached ?? 0, ebpf: attributor?.stats.attributedTraced ?? 0, dns: attributor?.stats.attributedByDns ?? 0 },
    connections_unattributed: attributor?.stats.unattributed ?? 0,
    alerts: { host: p.stats.alertsHost, software: p.stats.alertsSoftware, total: p.stats.alerts },
    alerts_held: p.heldAlerts,
    alerts_released_early: p.alertsReleasedEarly,
    attributions_pending: p.pendingAttributions,
    attributions_shed: p.stats.attributionsShed,
    connections_unjudged: p.stats.connectionsUnjudged,
    alerts_suppressed: { ...p.suppressions.stats.byRule },
    capture_received: perInterface(capture, 'received'),
    capture_dropped: perInterface(capture, 'dropped'),
    capture_if_dropped: perInterface(capture, 'ifDropped'),
    capture_stopped: Object.fromEntries((capture?.failedInterfaces() ?? []).map((i) => [i, 1])),
    capture_reopens: perInterface(capture, 'reopens'),
  };
}
