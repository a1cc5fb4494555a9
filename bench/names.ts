// The synthetic name space: `svcN.siteG.example` (two names per domain group, RFC 2606
// reserved TLD) answered through a CNAME chain into `cdn-example.net`, with A answers in the
// three RFC 5737 ranges and AAAA answers in 2001:db8::/32 (RFC 3849). DNS messages are encoded
// once per name with dns-packet and reused; only the 16-bit id is patched per lookup.
import dnsPacket from 'dns-packet';

const V4_PREFIXES = [[192, 0, 2], [198, 51, 100], [203, 0, 113]];
/** 3 × 254 usable host addresses: names outnumber them, so addresses are shared as on a CDN. */
const V4_POOL = V4_PREFIXES.length * 254;
const ANSWER_TTL = 60;
const CNAME_TTL = 300;
const DNS_FLAGS = dnsPacket.RECURSION_DESIRED | dnsPacket.RECURSION_AVAILABLE;

export interface NameEntry {
  index: number;
  name: string;
  group: number;
  v4: Buffer[];
  v6: Buffer;
  queryA: Buffer;
  queryAAAA: Buffer;
  responseA: Buffer;
  responseAAAA: Buffer;
  /** Answer records in each response (CNAMEs + addresses), for the summary. */
  answersA: number;
  answersAAAA: number;
  tlsHello: Buffer;
  httpGet: Buffer;
}

function v4Address(slot: number): Buffer {
  const p = V4_PREFIXES[Math.floor(slot / 254)];
  return Buffer.from([p[0], p[1], p[2], (slot % 254) + 1]);
}

function v4Text(b: Buffer): string {
  return `${b[0]}.${b[1]}.${b[2]}.${b[3]}`;
}

/** 2001:db8:<index>::1 */
function v6Address(index: number): Buffer {
  const b = Buffer.alloc(16);
  b.writeUInt32BE(0x20010db8, 0);
  b.writeUInt16BE(index & 0xffff, 4);
  b[15] = 1;
  return b;
}

function chainOf(index: number, name: string): string[] {
  const edge = `edge${index}.cdn-example.net`;
  // One name in five has a two-step chain, as CDN-fronted names often do.
  return index % 5 === 0 ? [name, edge, `e${index}.a.cdn-example.net`] : [name, edge];
}

function response(name: string, chain: string[], type: 'A' | 'AAAA', data: string[]): Buffer {
  const answers: dnsPacket.Answer[] = [];
  for (let i = 0; i + 1 < chain.length; i++) {
    answers.push({ type: 'CNAME', name: chain[i], ttl: CNAME_TTL, data: chain[i + 1] });
  }
  const owner = chain[chain.length - 1];
  for (const d of data) answers.push({ type, name: owner, ttl: ANSWER_TTL, data: d } as dnsPacket.Answer);
  return dnsPacket.encode({ type: 'response', id: 0, flags: DNS_FLAGS, questions: [{ type, name, class: 'IN' }], answers });
}

function query(name: string, type: 'A' | 'AAAA'): Buffer {
  return dnsPacket.encode({ type: 'query', id: 0, flags: dnsPacket.RECURSION_DESIRED, questions: [{ type, name, class: 'IN' }] });
}

/** A TLS 1.2-framed ClientHello carrying server_name, as the first client payload on port 443. */
export function tlsClientHello(name: string): Buffer {
  const host = Buffer.from(name, 'ascii');
  const sni = Buffer.alloc(9 + host.length);
  sni.writeUInt16BE(0x0000, 0); // extension server_name
  sni.writeUInt16BE(5 + host.length, 2);
  sni.writeUInt16BE(3 + host.length, 4); // server name list
  sni[6] = 0; // host_name
  sni.writeUInt16BE(host.length, 7);
  host.copy(sni, 9);
  const ciphers = Buffer.from('00061301130213030100', 'hex'); // 3 suites, 1 compression method (null)
  const body = Buffer.concat([
    Buffer.from([0x03, 0x03]), Buffer.alloc(32, 0x5a), Buffer.from([0]), ciphers,
    u16(sni.length), sni,
  ]);
  const hs = Buffer.concat([Buffer.from([0x01, 0, (body.length >> 8) & 0xff, body.length & 0xff]), body]);
  return Buffer.concat([Buffer.from([0x16, 0x03, 0x01]), u16(hs.length), hs]);
}

function u16(n: number): Buffer {
  const b = Buffer.alloc(2);
  b.writeUInt16BE(n, 0);
  return b;
}

/** Builds name entries lazily: only names the traffic touches cost an encode. */
export class NameTable {
  private readonly entries: (NameEntry | undefined)[];

  constructor(readonly size: number) {
    this.entries = new Array<NameEntry | undefined>(size);
  }

  get(index: number): NameEntry {
    return this.entries[index] ?? (this.entries[index] = this.build(index));
  }

  private build(index: number): NameEntry {
    const group = index >> 1;
    const name = `svc${index}.site${group}.example`;
    const chain = chainOf(index, name);
    const slot = (index * 7919) % V4_POOL;
    const v4 = index % 3 === 0 ? [v4Address(slot), v4Address((slot + 1) % V4_POOL)] : [v4Address(slot)];
    const v6 = v6Address(index);
    const v6Text = `2001:db8:${(index & 0xffff).toString(16)}::1`;
    return {
      index, name, group, v4, v6,
      queryA: query(name, 'A'),
      queryAAAA: query(name, 'AAAA'),
      responseA: response(name, chain, 'A', v4.map(v4Text)),
      responseAAAA: response(name, chain, 'AAAA', [v6Text]),
      answersA: chain.length - 1 + v4.length,
      answersAAAA: chain.length,
      tlsHello: tlsClientHello(name),
      httpGet: Buffer.from(`GET / HTTP/1.1\r\nHost: ${name}\r\nUser-Agent: bench/1.0\r\nAccept: */*\r\n\r\n`, 'ascii'),
    };
  }
}
