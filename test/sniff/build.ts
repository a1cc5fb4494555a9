// Builders for hand-made ClientHellos and TLS records, field by field (RFC 8446 §4.1.2,
// RFC 6066 §3), so each test states what differs from an ordinary hello.

const u8 = (n: number): Buffer => Buffer.from([n]);
const u16 = (n: number): Buffer => Buffer.from([n >> 8, n & 0xff]);
const u24 = (n: number): Buffer => Buffer.from([n >> 16, (n >> 8) & 0xff, n & 0xff]);

/** A TLS extension: type (2 bytes), length (2 bytes), data. */
export function extension(type: number, data: Buffer): Buffer {
  return Buffer.concat([u16(type), u16(data.length), data]);
}

/** server_name extension (type 0) with the given (name_type, name) entries. */
export function serverNameExt(entries: [number, Buffer | string][]): Buffer {
  const list = Buffer.concat(entries.map(([t, n]) => {
    const b = typeof n === 'string' ? Buffer.from(n, 'latin1') : n;
    return Buffer.concat([u8(t), u16(b.length), b]);
  }));
  return extension(0, Buffer.concat([u16(list.length), list]));
}

export interface HelloOptions {
  /** Extensions in order; omit for no extensions block at all (a TLS 1.0-era hello). */
  extensions?: Buffer[];
  sessionIdLength?: number;
}

/** A ClientHello handshake message: type 1, 3-byte length, body. */
export function clientHello(opts: HelloOptions): Buffer {
  const sid = Buffer.alloc(opts.sessionIdLength ?? 32, 0xab);
  const body = [
    u16(0x0303), // legacy_version TLS 1.2
    Buffer.alloc(32, 0x11), // random
    u8(sid.length), sid, // legacy_session_id
    u16(6), Buffer.from([0x0a, 0x0a, 0x13, 0x01, 0x13, 0x02]), // cipher_suites: GREASE, AES128-GCM, AES256-GCM
    u8(1), u8(0), // legacy_compression_methods: null
  ];
  if (opts.extensions) {
    const ext = Buffer.concat(opts.extensions);
    body.push(u16(ext.length), ext);
  }
  const b = Buffer.concat(body);
  return Buffer.concat([u8(1), u24(b.length), b]);
}

/** Wrap handshake bytes into handshake records (type 22, version 0x0301) of the given sizes; the rest in one last record. */
export function records(hs: Buffer, sizes: number[] = []): Buffer {
  const out: Buffer[] = [];
  let p = 0;
  for (const s of [...sizes, hs.length]) {
    if (p >= hs.length) break;
    const part = hs.subarray(p, Math.min(hs.length, p + s));
    out.push(Buffer.from([22, 3, 1]), u16(part.length), part);
    p += part.length;
  }
  return Buffer.concat(out);
}

/** An ordinary modern hello for `name`: GREASE, supported_versions, key_share before server_name. */
export function helloFor(name: string): Buffer {
  return clientHello({
    extensions: [
      extension(0x0a0a, Buffer.alloc(0)), // GREASE (RFC 8701)
      extension(0x002b, Buffer.from([4, 0x03, 0x04, 0x03, 0x03])), // supported_versions
      extension(0x0033, Buffer.concat([u16(36), u16(0x001d), u16(32), Buffer.alloc(32, 7)])), // key_share x25519
      serverNameExt([[0, name]]),
      extension(0x0010, Buffer.from('0003026832', 'hex')), // ALPN "h2"
    ],
  });
}
