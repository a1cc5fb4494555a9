// Parser of /proc/net/{tcp,udp} (IPv4) and {tcp6,udp6} text. Pure: tested on captured text,
// the reader lives in procfs.ts. A line that does not parse is skipped and counted, never thrown.
import { addressToString } from '../decode/index.js';
import { decodeHexAddress, HOST_LITTLE_ENDIAN } from './address.js';

export interface SocketEntry {
  localIp: string;
  localPort: number;
  remoteIp: string;
  remotePort: number;
  /** Kernel socket state (TCP: 1 ESTABLISHED, 2 SYN_SENT, 10 LISTEN; UDP: 7 unconnected, 1 connected). */
  state: number;
  uid: number;
  inode: number;
}

export interface ProcNetParseStats {
  lines: number;
  badLines: number;
}

export interface ProcNetParseOptions {
  /** Byte order the kernel that wrote the text used for address words; defaults to this host's. */
  littleEndian?: boolean;
  /** Filled with line counts when given. */
  stats?: ProcNetParseStats;
}

// Columns: sl local rem st tx:rx tr:when retrnsmt uid timeout inode ...
const COL_LOCAL = 1;
const COL_REMOTE = 2;
const COL_STATE = 3;
const COL_UID = 7;
const COL_INODE = 9;

export function parseProcNet(text: string, family: 4 | 6, opts: ProcNetParseOptions = {}): SocketEntry[] {
  const le = opts.littleEndian ?? HOST_LITTLE_ENDIAN;
  const bytes = new Uint8Array(16);
  const out: SocketEntry[] = [];
  let lines = 0;
  let bad = 0;
  for (const line of text.split('\n')) {
    const trimmed = line.trim();
    // The header starts with "sl"; blank lines come from the trailing newline.
    if (trimmed === '' || trimmed.startsWith('sl ')) continue;
    lines++;
    const entry = parseLine(trimmed, family, le, bytes);
    if (entry) out.push(entry);
    else bad++;
  }
  if (opts.stats) {
    opts.stats.lines += lines;
    opts.stats.badLines += bad;
  }
  return out;
}

function parseLine(line: string, family: 4 | 6, le: boolean, bytes: Uint8Array): SocketEntry | undefined {
  const cols = line.split(/\s+/);
  if (cols.length <= COL_INODE) return undefined;
  const local = parseEndpoint(cols[COL_LOCAL], family, le, bytes);
  if (!local) return undefined;
  const remote = parseEndpoint(cols[COL_REMOTE], family, le, bytes);
  if (!remote) return undefined;
  const state = parseStrictInt(cols[COL_STATE], 16);
  const uid = parseStrictInt(cols[COL_UID], 10);
  const inode = parseStrictInt(cols[COL_INODE], 10);
  if (state === undefined || uid === undefined || inode === undefined) return undefined;
  return { localIp: local.ip, localPort: local.port, remoteIp: remote.ip, remotePort: remote.port, state, uid, inode };
}

function parseEndpoint(col: string, family: 4 | 6, le: boolean, bytes: Uint8Array): { ip: string; port: number } | undefined {
  const colon = col.indexOf(':');
  const hex = col.slice(0, colon);
  if (colon < 0 || hex.length !== (family === 4 ? 8 : 32)) return undefined;
  if (!decodeHexAddress(hex, le, bytes)) return undefined;
  // Ports are printed with ntohs already applied: plain big-number hex.
  const port = parseStrictInt(col.slice(colon + 1), 16);
  if (port === undefined || port > 0xffff) return undefined;
  // The text decode gives a packet's address: /proc's and the flows' must match.
  return { ip: addressToString(bytes, 0, family), port };
}

const DEC = /^[0-9]+$/;
const HEX = /^[0-9A-Fa-f]+$/;

function parseStrictInt(text: string, radix: 10 | 16): number | undefined {
  if (!(radix === 10 ? DEC : HEX).test(text)) return undefined;
  const n = Number.parseInt(text, radix);
  return Number.isSafeInteger(n) ? n : undefined;
}
