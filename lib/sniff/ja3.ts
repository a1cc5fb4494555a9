// JA3 (Salesforce, 2017): a TLS client fingerprint from its ClientHello, what Zeek, Suricata and
// Wireshark print as `ja3` and ECS carries as tls.client.ja3. The string is
// "version,ciphers,extensions,groups,point formats", each list in wire order as decimal numbers
// joined by '-', with the GREASE values (RFC 8701: 0x?a?a) left out; the fingerprint is its MD5.
// A curl, a Python requests, a JVM and a piece of malware each have theirs, whatever the name
// they connect to. Computed only for a connection that alerts (from the ClientHello bytes kept
// for it), never on the packet path.
import { createHash } from 'node:crypto';
import { HANDSHAKE_CLIENT_HELLO } from './tls.js';

const EXT_SUPPORTED_GROUPS = 10;
const EXT_EC_POINT_FORMATS = 11;

export interface Ja3 {
  /** The JA3 string. */
  full: string;
  /** Its MD5, lower-case hex. */
  hash: string;
}

function isGrease(v: number): boolean {
  return (v & 0x0f0f) === 0x0a0a && (v >> 8) === (v & 0xff);
}

/** JA3 of a whole ClientHello handshake message (from records or QUIC CRYPTO frames); undefined when it is cut or malformed. */
export function ja3(hello: Buffer): Ja3 | undefined {
  if (hello.length < 4 || hello[0] !== HANDSHAKE_CLIENT_HELLO) return undefined;
  const end = 4 + hello.readUIntBE(1, 3);
  if (end > hello.length) return undefined;
  let p = 4;
  if (p + 2 + 32 + 1 > end) return undefined;
  const version = hello.readUInt16BE(p);
  p += 2 + 32;
  p += 1 + hello[p]; // session id
  if (p + 2 > end) return undefined;
  const cipherEnd = p + 2 + hello.readUInt16BE(p);
  if (cipherEnd > end) return undefined;
  const ciphers: number[] = [];
  for (p += 2; p + 2 <= cipherEnd; p += 2) {
    const c = hello.readUInt16BE(p);
    if (!isGrease(c)) ciphers.push(c);
  }
  p = cipherEnd;
  if (p + 1 > end) return undefined;
  p += 1 + hello[p]; // compression methods
  const extensions: number[] = [];
  let groups: number[] = [];
  let formats: number[] = [];
  if (p + 2 <= end) {
    const extEnd = p + 2 + hello.readUInt16BE(p);
    if (extEnd > end) return undefined;
    for (p += 2; p + 4 <= extEnd;) {
      const type = hello.readUInt16BE(p);
      const len = hello.readUInt16BE(p + 2);
      const data = p + 4;
      if (data + len > extEnd) return undefined;
      if (!isGrease(type)) extensions.push(type);
      if (type === EXT_SUPPORTED_GROUPS && len >= 2) {
        groups = [];
        const listEnd = Math.min(data + len, data + 2 + hello.readUInt16BE(data));
        for (let q = data + 2; q + 2 <= listEnd; q += 2) {
          const g = hello.readUInt16BE(q);
          if (!isGrease(g)) groups.push(g);
        }
      } else if (type === EXT_EC_POINT_FORMATS && len >= 1) {
        formats = [];
        const listEnd = Math.min(data + len, data + 1 + hello[data]);
        for (let q = data + 1; q < listEnd; q++) formats.push(hello[q]);
      }
      p = data + len;
    }
  }
  const full = [version, ciphers.join('-'), extensions.join('-'), groups.join('-'), formats.join('-')].join(',');
  return { full, hash: createHash('md5').update(full).digest('hex') };
}
