// dnsmasq as the test internet's only resolver, inside the namespace, answering from the
// records in scenario.ts and forwarding nothing (--no-resolv, --local for our domains).
import dgram from 'node:dgram';
import path from 'node:path';
import dnsPacket from 'dns-packet';
import { Daemon, sleep } from './proc.js';
import type { Topology } from './netns.js';
import { NET } from './netns.js';
import type { DnsSpec } from './scenario.js';

export const DNSMASQ_BIN = '/usr/sbin/dnsmasq';

export function dnsmasqArgs(spec: DnsSpec, pidFile: string, listen = NET.nsAddr): string[] {
  return [
    '--no-resolv', '--no-hosts', '--keep-in-foreground', '--conf-file=/dev/null',
    `--pid-file=${pidFile}`, `--listen-address=${listen}`, '--bind-interfaces',
    '--log-facility=-', '--log-queries', '--user=root',
    ...spec.localDomains.map((d) => `--local=/${d}/`),
    ...spec.address.map(([n, a]) => `--address=/${n}/${a}`),
    ...spec.hostRecords.map((r) => `--host-record=${r.join(',')}`),
    ...spec.cnames.map(([a, t]) => `--cname=${a},${t}`),
  ];
}

/** Starts dnsmasq in the namespace and returns once it answers a query (bounded 5 s). */
export async function startDnsmasq(topo: Topology, spec: DnsSpec, workDir: string): Promise<Daemon> {
  const [cmd, args] = topo.nsExec(DNSMASQ_BIN, ...dnsmasqArgs(spec, path.join(workDir, 'dnsmasq.pid')));
  const d = new Daemon('dnsmasq', cmd, args);
  const probe = spec.address[0]?.[0] ?? spec.hostRecords[0]![0];
  const deadline = Date.now() + 5000;
  let last = '';
  while (Date.now() < deadline) {
    if (!d.running) throw new Error(`dnsmasq exited: ${d.describe()}`);
    try {
      const a = await queryDns(NET.nsAddr, probe, 'A', 300);
      if (a.length > 0) return d;
      last = 'empty answer';
    } catch (e) {
      last = (e as Error).message;
    }
    await sleep(50);
  }
  await d.stop('SIGKILL');
  throw new Error(`dnsmasq did not answer ${probe} within 5 s (${last}): ${d.describe()}`);
}

export interface DnsAnswer {
  name: string;
  type: string;
  data: string;
}

/** One query over UDP; resolves with the answer section (CNAMEs included, in order). */
export function queryDns(server: string, name: string, type: 'A' | 'AAAA', timeoutMs: number): Promise<DnsAnswer[]> {
  const id = Math.floor(Math.random() * 65535);
  const q = dnsPacket.encode({ type: 'query', id, flags: dnsPacket.RECURSION_DESIRED, questions: [{ type, name }] });
  const sock = dgram.createSocket(server.includes(':') ? 'udp6' : 'udp4');
  return new Promise<DnsAnswer[]>((resolve, reject) => {
    const timer = setTimeout(() => finish(new Error(`no DNS answer from ${server} in ${timeoutMs} ms`)), timeoutMs);
    const finish = (err: Error | null, v?: DnsAnswer[]) => {
      clearTimeout(timer);
      sock.close();
      if (err) reject(err);
      else resolve(v ?? []);
    };
    sock.on('error', (e) => finish(e));
    sock.on('message', (msg) => {
      try {
        const p = dnsPacket.decode(msg);
        if (p.id !== id) return;
        finish(null, (p.answers ?? []).map((a) => ({ name: a.name, type: a.type, data: String((a as { data: unknown }).data) })));
      } catch (e) {
        finish(e as Error);
      }
    });
    sock.send(q, 53, server);
  });
}
