// The one table of settings: for each field of AgentConfig, its config-file key, flag,
// environment variable, value kind and bounds. The loader, the CLI's flag definitions and
// docs/configuration.md all follow this table, so a new setting is added here once.
import type { AgentConfig } from './types.js';

export type Kind =
  | 'duration' | 'size' | 'count' | 'text' | 'path' | 'bool' | 'logLevel'
  | 'interfaces' | 'cidrs' | 'ports' | 'listen'
  /** Repeatable IP:PORT endpoints ([IPv6]:PORT), addresses only (packets are matched on them). */
  | 'endpoints'
  /** on/off written as a value (`--ptr off`), not a bare yargs boolean. */
  | 'switch'
  /** Repeatable URLs (collectors, syslog receivers), checked for scheme and host. */
  | 'urls'
  /** One of a fixed set of words (--format ecs|ocsf). */
  | 'format'
  /** auto | json | text (the agent's own log). */
  | 'logFormat'
  /** Config-file lists of structured rules, checked by lib/classify's parsers. */
  | 'groupingRules' | 'suppressions';

export type Command = 'run' | 'replay';

export interface SettingSpec {
  field: keyof AgentConfig;
  /** Config-file key (camelCase). */
  key: string;
  /** Flag name without the leading dashes. */
  flag: string;
  /** Environment variable, or undefined when the setting is flag-only. */
  env?: string;
  kind: Kind;
  /** Inclusive bounds, in ms for durations, bytes for sizes. */
  min?: number;
  max?: number;
  /** Repeatable flag / list value. */
  list?: boolean;
  /** Accepted in the config file (false for per-invocation switches). */
  inFile: boolean;
  /**
   * Config file only: no flag, no environment variable (lists of structured rules do not fit
   * either). `flag` is then only the name the docs table and messages use.
   */
  fileOnly?: boolean;
  commands: readonly Command[];
  describe: string;
}

const BOTH: readonly Command[] = ['run', 'replay'];
const RUN: readonly Command[] = ['run'];
const SEC = 1000;
const MIN = 60 * SEC;
const HOUR = 60 * MIN;
const DAY = 24 * HOUR;
const MIB = 1024 * 1024;

type Row = Omit<SettingSpec, 'env' | 'inFile' | 'list'> & { env?: false; inFile?: false };

const LIST_KINDS: readonly Kind[] = ['interfaces', 'cidrs', 'ports', 'endpoints', 'urls', 'groupingRules', 'suppressions'];

function row(r: Row): SettingSpec {
  const env = r.env === false || r.fileOnly ? undefined : 'EGRESSWATCH_' + r.flag.toUpperCase().replace(/-/g, '_');
  return { ...r, env, list: LIST_KINDS.includes(r.kind), inFile: r.inFile !== false };
}

export const SETTINGS: readonly SettingSpec[] = Object.freeze([
  row({ field: 'interfaces', key: 'interfaces', flag: 'interface', kind: 'interfaces', commands: RUN,
    describe: "Interface to capture on; repeat or comma-separate for several; 'any' = all" }),
  row({ field: 'stateDir', key: 'stateDir', flag: 'state-dir', kind: 'path', commands: BOTH,
    describe: 'Directory for the baseline database and spools' }),
  row({ field: 'alertsFile', key: 'alertsFile', flag: 'alerts-file', kind: 'path', commands: BOTH,
    describe: 'Alert log file (one JSON object per line)' }),
  row({ field: 'procRoot', key: 'procRoot', flag: 'proc-root', kind: 'path', commands: RUN,
    describe: "The host's /proc (e.g. /host/proc in a container)" }),
  row({ field: 'hostName', key: 'hostName', flag: 'host-name', kind: 'text', commands: BOTH,
    describe: 'host.name in alerts' }),
  row({ field: 'hostId', key: 'hostId', flag: 'host-id', kind: 'text', commands: BOTH,
    describe: 'host.id in alerts and the baseline host key' }),
  row({ field: 'learningPeriodMs', key: 'learningPeriod', flag: 'learning-period', kind: 'duration',
    min: 0, max: 365 * DAY, commands: BOTH,
    describe: 'Learn without alerting for this long after the baseline is created; 0 = off' }),
  row({ field: 'baselineWindowMs', key: 'baselineWindow', flag: 'baseline-window', kind: 'duration',
    min: HOUR, max: 3650 * DAY, commands: BOTH,
    describe: 'A domain not contacted for this long is new again' }),
  row({ field: 'alertDelayMs', key: 'alertDelay', flag: 'alert-delay', kind: 'duration',
    min: 0, max: 10 * MIN, commands: BOTH,
    describe: 'Hold an alert this long to collect bytes and SNI; 0 = emit immediately' }),
  row({ field: 'internalCidrs', key: 'internalCidrs', flag: 'internal-cidr', kind: 'cidrs', commands: BOTH,
    describe: 'Extra range treated as internal (never alerted); repeatable' }),
  row({ field: 'externalCidrs', key: 'externalCidrs', flag: 'external-cidr', kind: 'cidrs', commands: BOTH,
    describe: 'Range treated as external even if private; repeatable' }),
  row({ field: 'dnsPorts', key: 'dnsPorts', flag: 'dns-port', kind: 'ports', commands: BOTH,
    describe: 'Port carrying DNS (UDP and TCP); repeatable' }),
  row({ field: 'proxies', key: 'proxies', flag: 'proxy', kind: 'endpoints', commands: BOTH,
    describe: 'An HTTP or SOCKS proxy the host uses (IP:PORT, [IPv6]:PORT): its requests name the real destination; repeatable' }),
  row({ field: 'metricsListen', key: 'metricsListen', flag: 'metrics-listen', kind: 'listen', commands: RUN,
    describe: 'Serve Prometheus metrics and health on HOST:PORT ([::1]:9500 for IPv6); off if unset' }),
  row({ field: 'stdout', key: 'stdout', flag: 'stdout', kind: 'bool', commands: BOTH,
    describe: 'Also write alerts to standard output (logs then go to standard error)' }),
  row({ field: 'logLevel', key: 'logLevel', flag: 'log-level', kind: 'logLevel', commands: BOTH,
    describe: 'error, warn, info or debug' }),
  row({ field: 'captureBufferBytes', key: 'captureBuffer', flag: 'capture-buffer', kind: 'size',
    min: 1 * MIB, max: 2048 * MIB - 1, commands: RUN,
    describe: 'Kernel capture buffer per interface (e.g. 64M, 1G, 4096k, bytes)' }),
  row({ field: 'snapLength', key: 'snapLength', flag: 'snap-length', kind: 'count',
    min: 96, max: 262144, commands: RUN, describe: 'Bytes captured per packet; the kernel ring holds about capture-buffer / (snap-length + 96) packets' }),
  row({ field: 'dnsCacheSize', key: 'dnsCacheSize', flag: 'dns-cache-size', kind: 'count',
    min: 1000, max: 10_000_000, commands: BOTH, describe: 'Maximum IP → name entries kept' }),
  row({ field: 'dnsRetentionMs', key: 'dnsRetention', flag: 'dns-retention', kind: 'duration',
    min: 0, max: 7 * DAY, commands: BOTH, describe: 'Keep a DNS answer this long past its TTL' }),
  row({ field: 'namesSaveIntervalMs', key: 'namesSaveInterval', flag: 'names-save-interval', kind: 'duration',
    min: 0, max: DAY, commands: RUN, describe: 'Save the DNS names learned this often (and at stop), for the next start after a crash; 0 = only at stop' }),
  row({ field: 'flowTableSize', key: 'flowTableSize', flag: 'flow-table-size', kind: 'count',
    min: 1000, max: 10_000_000, commands: BOTH, describe: 'Maximum connections tracked at once' }),
  row({ field: 'tcpIdleMs', key: 'tcpIdleTimeout', flag: 'tcp-idle-timeout', kind: 'duration',
    min: SEC, max: DAY, commands: BOTH, describe: 'Forget a TCP flow idle this long' }),
  row({ field: 'udpIdleMs', key: 'udpIdleTimeout', flag: 'udp-idle-timeout', kind: 'duration',
    min: SEC, max: DAY, commands: BOTH, describe: 'Forget a UDP flow idle this long' }),
  row({ field: 'hostRoot', key: 'hostRoot', flag: 'host-root', kind: 'path', commands: RUN,
    describe: "The host's / (e.g. /host in a container): passwd, container runtime state, package databases" }),
  row({ field: 'parentDepth', key: 'parentDepth', flag: 'parent-depth', kind: 'count',
    min: 0, max: 32, commands: RUN, describe: 'Parent processes listed in alerts (nearest first)' }),
  row({ field: 'normalizeVersions', key: 'normalizeVersions', flag: 'normalize-versions', kind: 'bool', commands: BOTH,
    describe: 'Baseline software without version numbers (billing-2.3.1.jar and billing-2.4.0.jar are one software)' }),
  row({ field: 'dnsQueryWindowMs', key: 'dnsQueryWindow', flag: 'dns-query-window', kind: 'duration',
    min: 100, max: 60 * SEC, commands: BOTH, describe: 'A DNS answer is used only if its query was seen this long before at most' }),
  row({ field: 'dnsAcceptUnmatched', key: 'dnsAcceptUnmatched', flag: 'dns-accept-unmatched', kind: 'bool', commands: BOTH,
    describe: 'Also use DNS answers that match no query seen (they could be spoofed)' }),
  row({ field: 'midstream', key: 'midstream', flag: 'midstream', kind: 'bool', commands: BOTH,
    describe: "Take up a TCP connection whose SYN was not seen at its client's first data packet (run: on; replay: off unless given)" }),
  row({ field: 'ignoreForwarded', key: 'ignoreForwarded', flag: 'ignore-forwarded', kind: 'bool', commands: BOTH,
    describe: "Do not judge connections this host forwards for other machines (no process of its own: VMs, a router's clients)" }),
  row({ field: 'nameOrder', key: 'nameOrder', flag: 'name-order', kind: 'text', commands: BOTH,
    describe: 'Trust order of name sources, most trusted first (sni,http,quic,dns,ptr)' }),
  row({ field: 'logFile', key: 'logFile', flag: 'log-file', kind: 'path', commands: BOTH,
    describe: "Write the agent's own log to this file (appended) instead of stdout" }),
  row({ field: 'logFormat', key: 'logFormat', flag: 'log-format', kind: 'logFormat', commands: BOTH,
    describe: "The agent's own log: auto (text on a terminal, else JSON), json or text" }),
  row({ field: 'ptr', key: 'ptr', flag: 'ptr', kind: 'switch', commands: RUN,
    describe: 'Reverse (PTR) lookups for external addresses no DNS answer named: on or off' }),
  row({ field: 'ptrServers', key: 'ptrServers', flag: 'ptr-server', kind: 'text', commands: RUN,
    describe: "DNS servers for PTR lookups, comma-separated IP[:PORT]; default: the system's resolvers" }),
  row({ field: 'kernelTracing', key: 'kernelTracing', flag: 'kernel-tracing', kind: 'switch', commands: RUN,
    describe: 'The connect tracer (BPF) and exec watcher, for clients gone before /proc could be read: on or off' }),
  row({ field: 'format', key: 'format', flag: 'format', kind: 'format', commands: BOTH,
    describe: 'Alert format: ecs (JSON lines with ECS field names) or ocsf (OCSF Detection Finding)' }),
  row({ field: 'alertsMaxBytes', key: 'alertsMaxSize', flag: 'alerts-max-size', kind: 'size',
    min: 0, max: 1024 * 1024 * MIB, commands: BOTH, describe: 'Rotate the alerts file at this size (alerts.json.1, .2, ...); 0 = never (use logrotate)' }),
  row({ field: 'alertsMaxFiles', key: 'alertsMaxFiles', flag: 'alerts-max-files', kind: 'count',
    min: 1, max: 1000, commands: BOTH, describe: 'Rotated alerts files kept' }),
  row({ field: 'collectorUrls', key: 'collectorUrls', flag: 'collector-url', kind: 'urls', commands: RUN,
    describe: 'Forward alerts to this HTTP(S) collector (POSTed NDJSON batches, durable spool); repeatable' }),
  row({ field: 'collectorTokenFile', key: 'collectorTokenFile', flag: 'collector-token-file', kind: 'path', commands: RUN,
    describe: 'File holding the bearer token for the collectors' }),
  row({ field: 'collectorCa', key: 'collectorCa', flag: 'collector-ca', kind: 'path', commands: RUN,
    describe: 'CA certificate (PEM) to verify collectors and TLS syslog receivers' }),
  row({ field: 'collectorCert', key: 'collectorCert', flag: 'collector-cert', kind: 'path', commands: RUN,
    describe: 'Client certificate (PEM) for collectors and TLS syslog receivers' }),
  row({ field: 'collectorKey', key: 'collectorKey', flag: 'collector-key', kind: 'path', commands: RUN,
    describe: 'Client key (PEM) for collectors and TLS syslog receivers' }),
  row({ field: 'syslogUrls', key: 'syslogUrls', flag: 'syslog-url', kind: 'urls', commands: RUN,
    describe: 'Forward alerts as RFC 5424 syslog, tcp://HOST:PORT or tls://HOST:PORT (octet-counted); repeatable' }),
  row({ field: 'passwdFile', key: 'passwdFile', flag: 'passwd-file', kind: 'path', commands: RUN,
    describe: 'passwd file for user names, read inside each process root' }),
  row({ field: 'groupingRules', key: 'groupingRules', flag: 'grouping-rules', kind: 'groupingRules', fileOnly: true,
    commands: [], describe: 'Own domain grouping rules, tried in order before the built-in grouping (config file only)' }),
  row({ field: 'suppressions', key: 'suppressions', flag: 'suppressions', kind: 'suppressions', fileOnly: true,
    commands: [], describe: 'Connections that never alert (config file only); each needs a comment' }),
  row({ field: 'replayThreads', key: 'replayThreads', flag: 'replay-threads', kind: 'count', min: 0, max: 2,
    commands: ['replay'], describe: 'Threads a replay runs on: 1, or 2 (reading and decoding on one, judging on the other); 0 = 2 with two processors or more and captures of 512 MiB or more' }),
  row({ field: 'statsJson', key: 'statsJson', flag: 'stats-json', kind: 'bool', env: false, inFile: false,
    commands: ['replay'], describe: 'Print replay statistics as one JSON line on standard output' }),
]);

/** Finds a setting by any of its names: flag (with or without --), file key, env, field. */
export function findSetting(name: string): SettingSpec | undefined {
  const bare = name.replace(/^--/, '');
  return SETTINGS.find((s) => s.flag === bare || s.key === bare || s.env === bare || s.field === bare);
}

/** "(setting learningPeriod / env EGRESSWATCH_LEARNING_PERIOD)": the names not used in `label`. */
export function otherNames(label: string): string {
  const spec = findSetting(label.split(' ')[0]);
  if (!spec) return '';
  const used = label.split(' ')[0].replace(/^--/, '');
  const names: string[] = [];
  if (used !== spec.flag && !spec.fileOnly) names.push(`flag --${spec.flag}`);
  if (used !== spec.key && spec.inFile) names.push(`setting ${spec.key}`);
  if (spec.env && used !== spec.env) names.push(`env ${spec.env}`);
  return names.length > 0 ? ` (${names.join(' / ')})` : '';
}
