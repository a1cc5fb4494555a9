// A fake /proc tree with network namespaces: PID/ns/net links "net:[N]", per-pid net/ tables
// (what /proc/PID/net/tcp shows: the namespace of PID), self/ns/net for the agent's own one.
import fs from 'node:fs';
import path from 'node:path';
import { FakeProc, type FakePid } from './faketree.js';

export const HOST_NS = 4026531840;
const HEADER = '  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode\n';

export interface Row { localIp: string; localPort: number; remoteIp: string; remotePort: number; state?: number; uid?: number; inode: number }

/** IPv4 a.b.c.d as the kernel prints it on a little-endian host: one u32, bytes reversed. */
function hex4(ip: string): string {
  return ip.split('.').map((b) => Number(b).toString(16).padStart(2, '0').toUpperCase()).reverse().join('');
}

const port = (p: number): string => p.toString(16).toUpperCase().padStart(4, '0');

/** /proc/net/tcp text (IPv4 rows only; the fake tests need no IPv6). */
export function tcpText(rows: Row[]): string {
  return HEADER + rows.map((r, i) => `${String(i).padStart(4)}: ${hex4(r.localIp)}:${port(r.localPort)} ${hex4(r.remoteIp)}:${port(r.remotePort)} ` +
    `${(r.state ?? 1).toString(16).padStart(2, '0').toUpperCase()} 00000000:00000000 00:00000000 00000000 ${String(r.uid ?? 0).padStart(5)}        0 ${r.inode} 1 0000000000000000 20 4 30 10 -1\n`).join('');
}

/** fib_trie text in which each address is a "/32 host LOCAL" leaf. */
export function fibTrieText(addrs: string[]): string {
  return `Local:\n  +-- 0.0.0.0/0 3 0 5\n${addrs.map((a) => `     |-- ${a}\n        /32 host LOCAL\n`).join('')}`;
}

export class NetnsProc extends FakeProc {
  constructor(hostNs = HOST_NS) {
    super();
    fs.mkdirSync(path.join(this.root, 'self', 'ns'), { recursive: true });
    fs.symlinkSync(`net:[${hostNs}]`, path.join(this.root, 'self', 'ns', 'net'));
    for (const f of ['tcp', 'tcp6', 'udp', 'udp6']) this.writeNet(f, HEADER);
  }

  /** A pid in namespace `ns` (its ns/net link), with its own sockets in fd/. */
  addNsPid(pid: number, ns: number, p: Partial<FakePid> = {}): void {
    this.addPid(pid, { comm: `p${pid}`, ppid: 1, uid: 0, argv: [`p${pid}`], ...p });
    fs.mkdirSync(path.join(this.root, String(pid), 'ns'));
    fs.symlinkSync(`net:[${ns}]`, path.join(this.root, String(pid), 'ns', 'net'));
    fs.mkdirSync(path.join(this.root, String(pid), 'net'));
    for (const f of ['tcp', 'tcp6', 'udp', 'udp6']) this.writePidNet(pid, f, HEADER);
  }

  /** What /proc/PID/net/NAME shows: the table of PID's namespace. */
  writePidNet(pid: number, name: string, text: string): void {
    fs.writeFileSync(path.join(this.root, String(pid), 'net', name), text);
  }

  /** Moves a pid to another namespace (setns). */
  moveNs(pid: number, ns: number): void {
    const link = path.join(this.root, String(pid), 'ns', 'net');
    fs.rmSync(link);
    fs.symlinkSync(`net:[${ns}]`, link);
  }
}
