// The alert: one JSON object per line, ECS field names, ours under `egresswatch.*`.
// Every field is documented in docs/alert-fields.md; keep the two in step.
import { hash } from 'node:crypto';
import { endpointText } from '../decode/index.js';
import { displayName } from '../dns/index.js';
import { ja3, requestHead } from '../sniff/index.js';
import { isoTime } from './time.js';
import { ANSWERED, REFUSED, type Flow } from '../flows/index.js';
import type { ProcessInfo } from '../procfs/index.js';
import type { SoftwareIdentity } from '../software/index.js';

/**
 * Longest command line (characters) an alert carries for a process or an ancestor, and the
 * most characters of its argv. A JVM's classpath or a Spark job's arguments run to hundreds of
 * KB, and an alert repeats the command line up to six times (the process, its args, its
 * parent, the ancestors): unbounded, one alert was megabytes, past what syslog receivers (8 KB
 * by default in rsyslog) and the collector's batches take. The cut ones end in an ellipsis and
 * are named in egresswatch.truncated.
 */
export const MAX_COMMAND_LINE = 16_384;
const ELLIPSIS = '…';

/**
 * A TCP connection whose server has not answered its SYN this long after it was sent is taken as
 * failed (`no-answer`): a reachable server answers within a round trip, and Linux retransmits
 * an unanswered SYN after 1 s and 3 s. A firewall that drops the SYN (an egress block) looks
 * like this.
 */
export const NO_ANSWER_MS = 3_000;

/** TCP: how far the connection got by the time the alert is written. */
export type TcpHandshake = 'completed' | 'refused' | 'no-answer' | 'pending';

/** The state of `flow`'s TCP handshake at `now` (ms, the pipeline's clock), from what the server sent. */
export function tcpHandshake(flow: Flow, now: number): TcpHandshake {
  if (flow.answer === ANSWERED) return 'completed';
  if (flow.answer === REFUSED) return 'refused';
  return flow.ended || now - flow.startTime >= NO_ANSWER_MS ? 'no-answer' : 'pending';
}

/**
 * ECS event.outcome: TCP `success` once the server answered, `failure` when it refused or never
 * answered; UDP `success` once anything came back, else `unknown` (many UDP protocols are
 * one-way: syslog, StatsD).
 */
function outcomeOf(flow: Flow, handshake: TcpHandshake | undefined): 'success' | 'failure' | 'unknown' {
  if (handshake === undefined) return flow.answer === ANSWERED ? 'success' : 'unknown';
  if (handshake === 'completed') return 'success';
  return handshake === 'pending' ? 'unknown' : 'failure';
}

export const RULE_NAME = 'New External Host Server Connection';
export const RULE_ID = 'egresswatch-new-external-host-server-connection';

/**
 * How the connection was tied to a process: found live in the kernel's socket tables
 * (`procfs-socket`), through a socket or process remembered from moments before
 * (`cached-socket`: the socket or its process was gone by the time we looked), by the kernel's
 * record of the process that called connect() (`ebpf-connect`: the socket was gone), by DNS
 * (`per-process-dns`), or not at all.
 */
export type AttributionMethod = 'procfs-socket' | 'cached-socket' | 'ebpf-connect' | 'per-process-dns' | 'none';
export type Confidence = 'high' | 'medium' | 'low';

/** Container and pod identity, from the cgroup and the runtime's metadata on disk. */
export interface ContainerFacts {
  id: string;
  runtime: string;
  name?: string;
  image?: { name?: string; tag?: string; digest?: string };
  pod?: { name?: string; namespace?: string; uid?: string };
}

/** The software's main file (executable, script or JAR). */
export interface MainFileFacts {
  path: string;
  sha256?: string;
  size?: number;
  mtime?: string;
  changed: boolean;
  package?: { name: string; version?: string; manager: string };
}

/** What the pipeline learned about a connection before it alerts. */
export interface ConnectionFacts {
  flow: Flow;
  /** The name the client asked for (DNS), or undefined for a bare IP. */
  domain?: string;
  cnameChain: string[];
  alternatives: string[];
  /** Age of the DNS answer at connect time, ms. */
  answerAgeMs?: number;
  nameSource: 'dns' | 'sni' | 'http' | 'quic' | 'hosts' | 'ptr' | 'none';
  /** The DNS server whose answer named the address. */
  resolver?: string;
  /** The responder is a DNS-over-TLS/QUIC port or a public DNS-over-HTTPS resolver. */
  encryptedDns?: boolean;
  /** The name came from an answer to this connection's own process (not just any answer for the IP). */
  resolvedByProcess?: boolean;
  registeredDomain?: string;
  domainGroup: string;
  process?: ProcessInfo;
  /**
   * Unattributed (no process description), but the kernel named the process that made the
   * connection, gone since with nothing left to describe it: its pid, uid, name when traced, and
   * the uid's host user name.
   */
  goneProcess?: { pid: number; uid: number; name?: string; userName?: string };
  software?: SoftwareIdentity;
  attribution: AttributionMethod;
  confidence?: Confidence;
  /**
   * Why no process was looked up for the connection: `overload`, too many connections were
   * waiting for theirs (Pipeline MAX_PENDING_ATTRIBUTIONS); it was judged for the host only.
   */
  attributionSkipped?: 'overload';
  /** The baseline's software key (version-normalised; the image for a container). */
  softwareKey?: string;
  container?: ContainerFacts;
  /** The systemd unit the process runs in ("nginx.service", "session-4.scope" for a login session). */
  systemdUnit?: string;
  /** The client's TLS ClientHello handshake message, when it sent one (the alert's JA3). */
  clientHello?: Buffer;
  /** The head of the client's HTTP/1.x request, when it sent one (the alert's method and User-Agent). */
  httpRequest?: Buffer;
  /**
   * The connection went to this HTTP or SOCKS (`socks`: its version) proxy (--proxy); the domain
   * is the one its request named, on targetPort for a CONNECT or a SOCKS request; targetIp when the
   * request named an address, not a name. `request`: a later request on the same (kept-alive)
   * connection that named another domain group: its place on the connection (2 = the second
   * request), made at `at`.
   */
  proxy?: { ip: string; port: number; targetPort?: number; targetIp?: string; request?: number; socks?: 4 | 5 };
  /** When the request that named this destination was made, when later than the connection's start (a kept-alive proxy connection). */
  at?: number;
  /** The server name the client's ClientHello carried (TLS or QUIC), whichever name the connection took. */
  serverName?: string;
  /** That ClientHello offered Encrypted Client Hello and its server name may be a provider's public name, not the site (see Pipeline.offerSni). */
  echOffered?: boolean;
  mainFile?: MainFileFacts;
  novelFor: ('host' | 'software')[];
  hostFirstSeen?: number;
  softwareFirstSeen?: number;
  /** The key the connection was judged under (host or software, and domain group); the pipeline's. */
  judgeKey?: string;
  /**
   * Later connections under the same key, started within the alert delay after this one (the
   * pipeline's): a retry, a Happy Eyeballs race's other address family, a client's parallel
   * connections. The alert counts them in egresswatch.connections.
   */
  related?: Flow[];
}

export interface AlertContext {
  hostName: string;
  hostId: string;
  /** ECS host.os and host.architecture (live: this host's); absent in a replay. */
  hostOs?: { os: Record<string, string>; architecture: string };
  agentVersion: string;
  baselineWindowDays: number;
  /** Emission time, ms. */
  now: number;
}

/**
 * A stable id: the same connection always yields the same id (host, 5-tuple, start time), so a
 * retried or re-sent alert keeps its identity and collectors can deduplicate on it.
 */
export function alertId(hostId: string, flow: Flow, request?: number): string {
  // A later request on a proxy connection is an alert of its own: its place on the connection is part of its id.
  const nth = request !== undefined && request > 1 ? `|request ${request}` : '';
  const hex = hash('sha256', `${hostId}|${flow.transport}|${flow.clientIp}|${flow.clientPort}|${flow.serverIp}|${flow.serverPort}|${flow.startTime}${nth}`, 'hex');
  // UUID layout (version nibble 5-like, name-based) for tools that expect one.
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-5${hex.slice(13, 16)}-${hex.slice(16, 20)}-${hex.slice(20, 32)}`;
}

/** RFC 1928 §6 reply codes (SOCKS4's 0x5a-0x5d; ours: 0xff no acceptable method, 0x1nn authentication failed). */
const SOCKS_REPLIES = ['succeeded', 'general failure', 'not allowed by its rules', 'network unreachable', 'host unreachable',
  'connection refused', 'TTL expired', 'command not supported', 'address type not supported'];

function socksReplyText(code: number): string {
  if (code === 0xff) return 'no acceptable authentication method';
  if (code >= 0x100) return 'authentication failed';
  if (code >= 0x5a) return code === 0x5a ? 'granted' : 'rejected';
  return SOCKS_REPLIES[code] ?? `reply ${code}`;
}

/**
 * `obj` without its undefined fields, as a new object: deleting them instead would turn the
 * object into a dictionary, which JSON.stringify walks several times slower.
 */
function omitUndefined<T extends Record<string, unknown>>(obj: T): T {
  const out: Record<string, unknown> = {};
  for (const k in obj) if (obj[k] !== undefined) out[k] = obj[k];
  return out as T;
}

export function buildAlert(f: ConnectionFacts, ctx: AlertContext): Record<string, unknown> {
  const flow = f.flow;
  const p = f.process;
  /** Fields cut to MAX_COMMAND_LINE, for egresswatch.truncated. */
  const truncated: string[] = [];
  const cut = (text: string | undefined, field: string): string | undefined => {
    if (text === undefined || text.length <= MAX_COMMAND_LINE) return text;
    truncated.push(field);
    return text.slice(0, MAX_COMMAND_LINE - ELLIPSIS.length) + ELLIPSIS;
  };
  /** The arguments up to MAX_COMMAND_LINE characters in all, the last one cut. */
  const cutArgs = (argv: string[]): string[] => {
    let room = MAX_COMMAND_LINE;
    const out: string[] = [];
    for (const a of argv) {
      if (a.length + 1 > room) {
        truncated.push('process.args');
        if (room > ELLIPSIS.length) out.push(a.slice(0, room - ELLIPSIS.length) + ELLIPSIS);
        return out;
      }
      out.push(a);
      room -= a.length + 1;
    }
    return out;
  };
  const destName = f.domain !== undefined ? displayName(f.domain) : f.proxy?.targetIp ?? flow.serverIp;
  const user = p ? p.userName ?? String(p.uid) : '';
  const login = p?.loginUid !== undefined && p.loginUid !== p.uid ? `, logged in as ${p.loginUserName ?? p.loginUid}` : '';
  // Unattributed and forwarded: another machine's (or a VM's) connection routed through this host, most likely.
  const gone = p ? undefined : f.goneProcess;
  const who = p ? `${f.software?.id ?? p.exe ?? p.name} (pid ${p.pid}, user ${user}${login})`
    : gone ? `an unattributed process (pid ${gone.pid}${gone.name !== undefined ? `, ${gone.name}` : ''}, user ${gone.userName ?? gone.uid}; gone before it could be described)`
      : flow.forwarded ? `${flow.clientIp} (forwarded by this host, no process of its own found)`
        : f.attributionSkipped === 'overload' ? 'a process not looked up (too many new connections at once)' : 'an unattributed process';
  const novel = f.novelFor.join(' and ');
  const started = isoTime(flow.startTime);
  const handshake = flow.transport === 'tcp' ? tcpHandshake(flow, ctx.now) : undefined;
  // Through a proxy, a CONNECT the proxy did not answer with 2xx (403: the proxy's policy
  // refused it; 407, 502) never reached the destination, whatever the TCP to the proxy did.
  const tunnelRefused = f.proxy?.targetPort !== undefined && f.proxy.request === undefined
    && ((flow.proxyStatus !== 0 && (flow.proxyStatus < 200 || flow.proxyStatus > 299)) || (flow.socksReply >= 0 && !flow.socksOk));
  const own = tunnelRefused ? 'failure' : outcomeOf(flow, handshake);
  const related = f.related ?? [];
  const relatedAnswered = related.filter((r) => r.answer === ANSWERED).length;
  const answered = (flow.answer === ANSWERED ? 1 : 0) + relatedAnswered;
  // A connection that failed while a related one got through (Happy Eyeballs: IPv6 tried first
  // and unanswered, IPv4 connected): the software reached the destination.
  const outcome = own !== 'success' && relatedAnswered > 0 ? 'success' : own;
  const failedFirst = own === 'failure' && outcome === 'success' ? `; its first attempt ${handshake === 'refused' ? 'was refused' : 'got no answer'}` : '';
  const via = f.proxy ? ` through the proxy ${endpointText(f.proxy.ip, f.proxy.port)}` : '';
  const why = !tunnelRefused ? (handshake === 'refused' ? 'refused' : 'no answer')
    : flow.socksReply >= 0 ? `the SOCKS proxy answered ${socksReplyText(flow.socksReply)}` : `the proxy answered ${flow.proxyStatus}`;
  const verb = outcome === 'failure' ? `tried to connect to ${destName} (${f.domainGroup}; ${why})${via}`
    : flow.midstream ? `was connected to ${destName} (${f.domainGroup}; a connection already open when first seen)${via}`
      : `connected to ${destName} (${f.domainGroup}${failedFirst})${via}`;
  const alert: Record<string, unknown> = {
    // A later request on a kept-alive proxy connection happened at its own time; event.start is the connection's.
    '@timestamp': f.at !== undefined ? isoTime(f.at) : started,
    message: `${who} on ${ctx.hostName} ${verb}, new for the ${novel} in the last ${ctx.baselineWindowDays} days`,
    event: omitUndefined({
      kind: 'alert',
      category: ['network'],
      type: ['connection', 'start'],
      action: 'new-external-connection',
      outcome,
      id: alertId(ctx.hostId, flow, f.proxy?.request),
      module: 'egresswatch',
      dataset: 'egresswatch.alert',
      created: isoTime(ctx.now),
      start: started,
      end: flow.ended ? isoTime(flow.lastTime) : undefined,
      reason: `domain group ${f.domainGroup} not contacted by this ${novel} in the last ${ctx.baselineWindowDays} days`,
    }),
    rule: { name: RULE_NAME, id: RULE_ID, category: 'egress' },
    host: { name: ctx.hostName, hostname: ctx.hostName, id: ctx.hostId, ...(ctx.hostOs ? { os: ctx.hostOs.os, architecture: ctx.hostOs.architecture } : {}) },
    source: { ip: flow.clientIp, port: flow.clientPort, bytes: flow.clientBytes, packets: flow.clientPackets },
    destination: omitUndefined({
      ip: flow.serverIp,
      port: flow.serverPort,
      // Shown as Unicode with control characters escaped; the group below stays the punycode key.
      domain: f.domain !== undefined ? displayName(f.domain) : undefined,
      registered_domain: f.registeredDomain !== undefined ? displayName(f.registeredDomain) : undefined,
      bytes: flow.serverBytes,
      packets: flow.serverPackets,
    }),
    network: {
      transport: flow.transport,
      type: flow.family === 6 ? 'ipv6' : 'ipv4',
      iana_number: flow.transport === 'tcp' ? '6' : '17',
      direction: 'egress',
      bytes: flow.clientBytes + flow.serverBytes,
      packets: flow.clientPackets + flow.serverPackets,
    },
    egresswatch: {
      domain_group: f.domainGroup,
      // No name (an address asked of a proxy is judged by itself): the IP is the destination.
      name_source: f.domain === undefined ? 'none' : f.nameSource,
      dns: { alternatives: f.alternatives.map(displayName), cname_chain: f.cnameChain.map(displayName), answer_age_ms: f.answerAgeMs, resolved_by_process: f.resolvedByProcess === true },
      name_evidence: omitUndefined({
        source: f.nameSource,
        cname_chain: f.cnameChain.map(displayName),
        answer_age_ms: f.answerAgeMs,
        resolver: f.resolver,
        other_names: f.alternatives.map(displayName),
      }),
      novel_for: f.novelFor,
      // The status read is the proxy's answer to the connection's first request only.
      ...(f.proxy ? { proxy: omitUndefined({ ip: f.proxy.ip, port: f.proxy.port, protocol: f.proxy.socks !== undefined ? `socks${f.proxy.socks}` : undefined,
        target_ip: f.proxy.targetIp, target_port: f.proxy.targetPort, request: f.proxy.request,
        socks_reply: f.proxy.socks !== undefined && flow.socksReply >= 0 ? flow.socksReply : undefined,
        status: flow.proxyStatus !== 0 && f.proxy.request === undefined ? flow.proxyStatus : undefined }) } : {}),
      ...(f.encryptedDns ? { encrypted_dns: true } : {}),
      baseline: omitUndefined({
        window_days: ctx.baselineWindowDays,
        host_first_seen: f.hostFirstSeen !== undefined ? isoTime(f.hostFirstSeen) : undefined,
        software_first_seen: f.softwareFirstSeen !== undefined ? isoTime(f.softwareFirstSeen) : undefined,
      }),
      attribution: omitUndefined({ method: f.attribution, attributed: f.attribution !== 'none', confidence: f.confidence ?? (f.attribution === 'none' ? 'low' : undefined), skipped: f.attributionSkipped }),
      flow: { open: !flow.ended, answered: flow.answer === ANSWERED, ...(handshake !== undefined ? { tcp_handshake: handshake } : {}), ...(flow.forwarded ? { forwarded: true } : {}), ...(flow.midstream ? { midstream: true } : {}) },
      connections: {
        count: 1 + related.length,
        answered,
        source_bytes: related.reduce((n, r) => n + r.clientBytes, flow.clientBytes),
        destination_bytes: related.reduce((n, r) => n + r.serverBytes, flow.serverBytes),
      },
      agent: { version: ctx.agentVersion },
      ...(f.software ? { software: softwareFields(f) } : {}),
      ...(p && ((p.parents && p.parents.length > 1) || f.systemdUnit !== undefined) ? { process: omitUndefined({
        systemd_unit: f.systemdUnit,
        ancestors: p.parents && p.parents.length > 1 ? p.parents.map((a, i) => omitUndefined({
          pid: a.pid, name: a.name, executable: a.exe, command_line: cut(a.commandLine, `egresswatch.process.ancestors.${i}.command_line`),
        })) : undefined,
      }) } : {}),
    },
  };

  // ECS tls.client.*: the client's fingerprint and the server name it asked for.
  const fp = f.clientHello ? ja3(f.clientHello) : undefined;
  if (fp) {
    const serverName = f.serverName ?? (f.nameSource === 'sni' || f.nameSource === 'quic' ? f.domain : undefined);
    alert.tls = { client: omitUndefined({ ja3: fp.hash, server_name: serverName }) };
    (alert.egresswatch as Record<string, unknown>).tls = { ja3_string: fp.full };
  }
  if (f.echOffered) (alert.egresswatch as Record<string, unknown>).tls = { ...(alert.egresswatch as { tls?: object }).tls, ech: true };
  // ECS http.request.method and user_agent.original: who the client says it is.
  const head = f.httpRequest ? requestHead(f.httpRequest, 0, f.httpRequest.length) : undefined;
  if (head) {
    alert.http = { request: { method: head.method } };
    if (head.userAgent !== undefined) alert.user_agent = { original: head.userAgent };
  }
  if (f.container) Object.assign(alert, containerFields(f.container));
  if (p) {
    alert.process = omitUndefined({
      pid: p.pid,
      name: p.name,
      executable: p.exe,
      command_line: cut(p.commandLine, 'process.command_line'),
      args: cutArgs(p.argv),
      working_directory: p.cwd,
      start: p.startTime,
      parent: p.parent ? omitUndefined({
        pid: p.parent.pid,
        name: p.parent.name,
        executable: p.parent.exe,
        command_line: cut(p.parent.commandLine, 'process.parent.command_line'),
      }) : { pid: p.ppid },
    });
    alert.user = omitUndefined({
      id: String(p.uid),
      name: p.userName,
      effective: p.euid !== undefined ? omitUndefined({ id: String(p.euid), name: p.effectiveUserName }) : undefined,
    });
    if (p.nsUid !== undefined) {
      (alert.egresswatch as Record<string, unknown>).user_namespace = omitUndefined({
        uid: String(p.nsUid), effective_uid: p.nsEuid !== undefined ? String(p.nsEuid) : undefined,
      });
    }
    if (p.loginUid !== undefined) {
      (alert.egresswatch as Record<string, unknown>).login_user = omitUndefined({ id: String(p.loginUid), name: p.loginUserName });
    }
  } else if (gone) {
    // Still unattributed (no program, no baseline of its own): what the kernel said of the process.
    alert.process = omitUndefined({ pid: gone.pid, name: gone.name });
    alert.user = omitUndefined({ id: String(gone.uid), name: gone.userName });
  }
  if (truncated.length > 0) (alert.egresswatch as Record<string, unknown>).truncated = truncated;
  // The executable's own hash where the main file is the executable (not a script or a JAR).
  if (p && f.mainFile?.sha256 !== undefined && p.exe !== undefined && f.mainFile.path === p.exe.replace(/ \(deleted\)$/, '')) {
    (alert.process as Record<string, unknown>).hash = { sha256: f.mainFile.sha256 };
  }
  alert.related = relatedFields(alert, f, ctx.hostName);
  return alert;
}

/** ECS related.*: the values a SIEM pivots on from this alert, each once. */
function relatedFields(alert: Record<string, unknown>, f: ConnectionFacts, hostName: string): Record<string, string[]> {
  const p = f.process;
  const dest = alert.destination as { domain?: string };
  const uniq = (xs: (string | undefined)[]): string[] => [...new Set(xs.filter((x): x is string => x !== undefined && x !== ''))];
  const out: Record<string, string[]> = {
    ip: uniq([f.flow.clientIp, f.flow.serverIp, f.proxy?.ip, f.proxy?.targetIp]),
    hosts: uniq([dest.domain, hostName]),
  };
  const users = uniq([p?.userName, p?.effectiveUserName, p?.loginUserName, p ? undefined : f.goneProcess?.userName]);
  if (users.length > 0) out.user = users;
  if (f.mainFile?.sha256 !== undefined) out.hash = [f.mainFile.sha256];
  return out;
}

/** The alert as one readable line, for `--stdout`. Control characters are escaped. */
export function alertLine(alert: Record<string, unknown>): string {
  const a = alert as {
    '@timestamp': string; destination: { ip: string; port: number; domain?: string; bytes: number };
    network: { transport: string }; event: { outcome?: string };
    process?: { pid: number; executable?: string }; user?: { name?: string; id: string };
    egresswatch: {
      domain_group: string; novel_for: string[]; software?: { id: string }; login_user?: { id: string; name?: string };
      flow?: { tcp_handshake?: string; forwarded?: boolean; midstream?: boolean }; proxy?: { status?: number; socks_reply?: number };
    };
    source: { bytes: number; ip: string };
  };
  const sw = a.egresswatch.software?.id ?? a.process?.executable ?? 'unattributed';
  const user = a.user?.name ?? a.user?.id;
  const login = a.egresswatch.login_user;
  const loginText = login && login.id !== a.user?.id ? ` login=${login.name ?? login.id}` : '';
  const who = a.process ? `${sw} pid=${a.process.pid} user=${user}${loginText}` : a.egresswatch.flow?.forwarded ? `forwarded-for=${a.source.ip}` : 'unattributed';
  const dest = `${a.destination.domain ?? a.destination.ip} [${a.destination.ip}]:${a.destination.port}/${a.network.transport}`;
  const proxyStatus = a.egresswatch.proxy?.status;
  const socks = a.egresswatch.proxy?.socks_reply;
  const failure = proxyStatus !== undefined && (proxyStatus < 200 || proxyStatus > 299) ? `proxy-${proxyStatus}`
    : socks !== undefined && socks !== 0 && socks !== 0x5a ? `socks-${socks}` : a.egresswatch.flow?.tcp_handshake ?? 'no-answer';
  const failed = a.event.outcome === 'failure' ? ` FAILED(${failure})` : '';
  const line = `${a['@timestamp']} NEW-EXTERNAL ${a.egresswatch.domain_group} novel_for=${a.egresswatch.novel_for.join(',')} `
    + `${who} -> ${dest}${failed}${a.egresswatch.flow?.midstream ? ' already-open' : ''} bytes_out=${a.source.bytes} bytes_in=${a.destination.bytes}`;
  return escapeControl(line);
}

export function escapeControl(s: string): string {
  return s.replace(/[\u0000-\u001f\u007f-\u009f]/g, (c) => `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`);
}

function softwareFields(f: ConnectionFacts): Record<string, unknown> {
  const sw = f.software;
  const file = f.mainFile;
  return omitUndefined({
    id: sw?.id,
    kind: sw?.kind,
    interpreter: sw?.interpreter,
    launcher: sw?.launcher,
    key: f.softwareKey,
    file: file ? omitUndefined({
      path: file.path,
      hash: file.sha256 ? { sha256: file.sha256 } : undefined,
      size: file.size,
      mtime: file.mtime,
      changed: file.changed,
    }) : undefined,
    package: file?.package ? omitUndefined({ ...file.package }) : undefined,
  });
}

/** ECS `container.*` and, for a Kubernetes pod, `orchestrator.*`. */
function containerFields(c: ContainerFacts): Record<string, unknown> {
  const out: Record<string, unknown> = {
    container: omitUndefined({
      id: c.id,
      name: c.name,
      runtime: c.runtime,
      image: c.image ? omitUndefined({ name: c.image.name, tag: c.image.tag, hash: c.image.digest ? { all: [c.image.digest] } : undefined }) : undefined,
    }),
  };
  if (c.pod && (c.pod.name || c.pod.namespace)) {
    out.orchestrator = omitUndefined({
      type: 'kubernetes',
      namespace: c.pod.namespace,
      resource: omitUndefined({ type: 'pod', name: c.pod.name, id: c.pod.uid }),
    });
  }
  return out;
}
