// Builds protected QUIC client Initial packets (RFC 9001 §5) around chosen plaintext frames, so
// tests can put CRYPTO frames in any order, coalesce packets, and fuzz the decrypted payload.
import { createCipheriv } from 'node:crypto';
import { clientInitialKeys, QUIC_V1, QUIC_V2 } from '../../lib/sniff/quic-keys.js';

export { QUIC_V1, QUIC_V2 };

/** Two-byte variable-length integer (RFC 9000 §16), enough for any value the tests use. */
export function varint2(n: number): Buffer {
  return Buffer.from([0x40 | (n >> 8), n & 0xff]);
}

/** CRYPTO frame (type 0x06) with `data` at stream `offset`. */
export function cryptoFrame(offset: number, data: Buffer): Buffer {
  return Buffer.concat([Buffer.from([0x06]), varint2(offset), varint2(data.length), data]);
}

export interface InitialOptions {
  version?: number;
  dcid?: Buffer;
  scid?: Buffer;
  token?: Buffer;
  packetNumber?: number;
  /** 1 to 4 bytes. */
  pnLength?: number;
  /** Long-header type bits; defaults to the version's Initial type. */
  type?: number;
  /** PADDING appended until the packet has this many bytes, as clients do (RFC 9000 §14.1); default 1200. */
  minPacket?: number;
}

/** A protected Initial packet carrying `payload` (plaintext frames). */
export function protectInitial(payload: Buffer, o: InitialOptions = {}): Buffer {
  const version = o.version ?? QUIC_V1;
  const dcid = o.dcid ?? Buffer.from('8394c8f03e515708', 'hex');
  const scid = o.scid ?? Buffer.alloc(0);
  const token = o.token ?? Buffer.alloc(0);
  const pn = o.packetNumber ?? 0;
  const pnLen = o.pnLength ?? 4;
  const initialType = version === QUIC_V2 ? 1 : 0;
  const type = o.type ?? initialType;
  const keys = clientInitialKeys(version, dcid);
  if (!keys) throw new Error(`no keys for version ${version}`);
  if (payload.length + pnLen < 4) payload = Buffer.concat([payload, Buffer.alloc(4 - pnLen - payload.length)]);
  // First byte, version, DCID and SCID with lengths, token with length (Initial only), 2-byte
  // Length, packet number, then the 16-byte tag.
  const overhead = 6 + dcid.length + 1 + scid.length + (type === initialType ? 1 + token.length : 0) + 2 + pnLen + 16;
  const short = (o.minPacket ?? 1200) - overhead - payload.length;
  if (short > 0) payload = Buffer.concat([payload, Buffer.alloc(short)]);
  const pnBytes = Buffer.alloc(pnLen);
  pnBytes.writeUIntBE(pn, 0, pnLen);
  const versionBytes = Buffer.alloc(4);
  versionBytes.writeUInt32BE(version);
  const header = Buffer.concat([
    Buffer.from([0xc0 | (type << 4) | (pnLen - 1)]), versionBytes,
    Buffer.from([dcid.length]), dcid, Buffer.from([scid.length]), scid,
    // Token only in Initial packets (RFC 9000 §17.2.2); 1-byte varint: tokens under 64 bytes.
    type === initialType ? Buffer.concat([Buffer.from([token.length]), token]) : Buffer.alloc(0),
    varint2(pnLen + payload.length + 16), pnBytes,
  ]);
  const nonce = Buffer.from(keys.iv);
  nonce.writeUInt32BE((nonce.readUInt32BE(8) ^ pn) >>> 0, 8);
  const c = createCipheriv('aes-128-gcm', keys.key, nonce);
  c.setAAD(header);
  const sealed = Buffer.concat([c.update(payload), c.final(), c.getAuthTag()]);
  const packet = Buffer.concat([header, sealed]);
  const pnOffset = header.length - pnLen;
  const hp = createCipheriv('aes-128-ecb', keys.hp, null);
  hp.setAutoPadding(false);
  const mask = hp.update(packet.subarray(pnOffset + 4, pnOffset + 20));
  packet[0] ^= mask[0] & 0x0f;
  for (let i = 0; i < pnLen; i++) packet[pnOffset + i] ^= mask[1 + i];
  return packet;
}
