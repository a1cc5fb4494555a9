// The agent's configuration as every stage sees it: one flat, frozen object built once by
// loadConfig(). Durations are milliseconds, sizes are bytes, paths are absolute.
import type { GroupingRule, SuppressionRule } from '../classify/index.js';

export type { GroupingRule, SuppressionRule };

export type LogLevel = 'error' | 'warn' | 'info' | 'debug';

export const LOG_LEVELS: readonly LogLevel[] = ['error', 'warn', 'info', 'debug'];

export interface ListenAddress {
  /** IPv6 hosts are stored without brackets ("::1"), ready for net.Server.listen(). */
  host: string;
  port: number;
}

export interface AgentConfig {
  interfaces: string[];          // --interface (repeatable), default ['any']
  stateDir: string;              // --state-dir, default /var/lib/egresswatch
  alertsFile: string;            // --alerts-file, default /var/log/egresswatch/alerts.json
  procRoot: string;              // --proc-root, default /proc
  hostName: string;              // --host-name, default os.hostname()
  hostId: string;                // --host-id, default: /etc/machine-id content if readable, else hostName
  learningPeriodMs: number;      // --learning-period, default 24h, 0 = off
  baselineWindowMs: number;      // --baseline-window, default 90d
  alertDelayMs: number;          // --alert-delay, default 10s, 0 = immediately
  internalCidrs: string[];       // --internal-cidr (repeatable)
  externalCidrs: string[];       // --external-cidr (repeatable)
  dnsPorts: number[];            // --dns-port (repeatable), default [53]
  proxies: ListenAddress[];      // --proxy IP:PORT (repeatable): HTTP proxies whose requests name the real destination
  metricsListen?: ListenAddress; // --metrics-listen HOST:PORT ([::1]:9000 form for IPv6)
  stdout: boolean;               // --stdout
  logLevel: LogLevel;            // --log-level, default info
  captureBufferBytes: number;    // --capture-buffer, default 32MiB
  snapLength: number;            // --snap-length, default 65535 (bounds 64..262144)
  dnsCacheSize: number;          // --dns-cache-size, default 100000 entries (min 1000)
  dnsRetentionMs: number;        // --dns-retention, default 1h (name kept this long past its TTL)
  namesSaveIntervalMs: number;   // --names-save-interval, default 5m (0 = only at stop)
  flowTableSize: number;         // --flow-table-size, default 200000
  tcpIdleMs: number;             // --tcp-idle-timeout, default 5m
  udpIdleMs: number;             // --udp-idle-timeout, default 60s
  passwdFile: string;            // --passwd-file, default /etc/passwd
  hostRoot: string;              // --host-root, default /
  dnsQueryWindowMs: number;      // --dns-query-window, default 5s
  dnsAcceptUnmatched: boolean;   // --dns-accept-unmatched, default false
  ignoreForwarded: boolean;      // --ignore-forwarded, default false
  midstream: boolean;            // --midstream, default true (replay: false unless given)
  nameOrder?: string;            // --name-order, default sni,http,quic,dns,ptr
  format: 'ecs' | 'ocsf';        // --format, default ecs
  alertsMaxBytes: number;        // --alerts-max-size, default 100 MiB, 0 = no built-in rotation
  alertsMaxFiles: number;        // --alerts-max-files, default 5
  collectorUrls: string[];       // --collector-url (repeatable)
  collectorTokenFile?: string;   // --collector-token-file
  collectorCa?: string;          // --collector-ca
  collectorCert?: string;        // --collector-cert
  collectorKey?: string;         // --collector-key
  syslogUrls: string[];          // --syslog-url (repeatable)
  logFile?: string;              // --log-file, default: standard output
  logFormat: 'auto' | 'json' | 'text'; // --log-format, default auto
  ptr: boolean;                  // --ptr on|off, default on
  ptrServers?: string;           // --ptr-server, default: the system's resolvers
  kernelTracing: boolean;        // --kernel-tracing on|off, default on
  parentDepth: number;           // --parent-depth, default 4
  normalizeVersions: boolean;    // --normalize-versions, default true
  groupingRules: GroupingRule[]; // config file only, default [] (see docs/configuration.md)
  suppressions: SuppressionRule[]; // config file only, default []
  replayThreads: number;         // replay only: --replay-threads, default 0 (2 with two processors or more)
  statsJson: boolean;            // replay only: --stats-json
}

export interface ConfigSources {
  /** Config file path (the --config flag); falls back to env EGRESSWATCH_CONFIG. */
  file?: string;
  /** Parsed command-line flags, kebab-case or camelCase keys; undefined = not given. */
  flags: Record<string, unknown>;
  env: NodeJS.ProcessEnv;
  /** Where the default hostId comes from; tests point it at a temp file. */
  machineIdFile?: string;
  /** Base for relative paths given by flags or env (default process.cwd()). */
  cwd?: string;
}
