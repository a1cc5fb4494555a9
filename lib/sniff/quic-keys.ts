// QUIC client Initial packet protection: keys from the Destination Connection ID and the
// version's public salt (RFC 9001 §5.2, RFC 9369 §3.3.1), header protection (RFC 9001 §5.4.3)
// and AEAD_AES_128_GCM (RFC 9001 §5.3). Anyone on the path can do this by design: Initial
// protection guards against off-path tampering, not against observers.
import { createCipheriv, createDecipheriv, createHmac } from 'node:crypto';

export const QUIC_V1 = 0x00000001;
export const QUIC_V2 = 0x6b3343cf;

interface VersionParams {
  salt: Buffer;
  /** Label prefix for key, iv and hp: "quic" (RFC 9001 §5.1), "quicv2" (RFC 9369 §3.3.2). */
  prefix: string;
  /** Long-header packet type of Initial: 0b00 in v1, 0b01 in v2 (RFC 9369 §3.2). */
  initialType: number;
}

const V1: VersionParams = {
  salt: Buffer.from('38762cf7f55934b34d179ae6a4c80cadccbb7f0a', 'hex'), // RFC 9001 §5.2
  prefix: 'quic',
  initialType: 0,
};
const V2: VersionParams = {
  salt: Buffer.from('0dede3def700a6db819381be6e269dcbf9bd2ed9', 'hex'), // RFC 9369 §3.3.1
  prefix: 'quicv2',
  initialType: 1,
};

/** Parameters of a version whose Initial packets we can open, or undefined. */
export function versionParams(version: number): VersionParams | undefined {
  if (version === QUIC_V1) return V1;
  if (version === QUIC_V2) return V2;
  return undefined;
}

export interface QuicInitialKeys {
  /** client_initial_secret (32 bytes). */
  secret: Buffer;
  key: Buffer;
  iv: Buffer;
  hp: Buffer;
}

/** HKDF-Expand-Label (RFC 8446 §7.1) with an empty context, for outputs of at most 32 bytes. */
export function hkdfExpandLabel(secret: Buffer, label: string, length: number): Buffer {
  const full = 'tls13 ' + label;
  const info = Buffer.alloc(2 + 1 + full.length + 1 + 1);
  info.writeUInt16BE(length, 0);
  info[2] = full.length;
  info.write(full, 3, 'latin1');
  info[3 + full.length] = 0; // empty context
  info[4 + full.length] = 1; // HKDF-Expand block counter T(1); one SHA-256 block covers 32 bytes
  return createHmac('sha256', secret).update(info).digest().subarray(0, length);
}

/** Client Initial keys for `version` from the client's Destination Connection ID. */
export function clientInitialKeys(version: number, dcid: Buffer): QuicInitialKeys | undefined {
  const v = versionParams(version);
  if (!v) return undefined;
  const initialSecret = createHmac('sha256', v.salt).update(dcid).digest(); // HKDF-Extract
  const secret = hkdfExpandLabel(initialSecret, 'client in', 32);
  return {
    secret,
    key: hkdfExpandLabel(secret, `${v.prefix} key`, 16),
    iv: hkdfExpandLabel(secret, `${v.prefix} iv`, 12),
    hp: hkdfExpandLabel(secret, `${v.prefix} hp`, 16),
  };
}

/** Header protection mask: AES-128-ECB of the 16-byte sample (RFC 9001 §5.4.3). */
export function headerMask(hp: Buffer, buf: Buffer, sampleOffset: number): Buffer {
  const c = createCipheriv('aes-128-ecb', hp, null);
  c.setAutoPadding(false);
  return c.update(buf.subarray(sampleOffset, sampleOffset + 16));
}

/**
 * Open an Initial payload: nonce = iv XOR packet number (RFC 9001 §5.3), AAD = the unprotected
 * header, the last 16 bytes the GCM tag. Undefined when authentication fails (not an Initial
 * of this DCID, or corrupted).
 */
export function openPayload(keys: QuicInitialKeys, packetNumber: number, header: Buffer,
  buf: Buffer, start: number, end: number): Buffer | undefined {
  if (end - start < 16) return undefined;
  const nonce = Buffer.from(keys.iv);
  // Packet numbers are at most 2^32 here (4 bytes on the wire); XOR into the last 4 bytes.
  nonce.writeUInt32BE((nonce.readUInt32BE(8) ^ packetNumber) >>> 0, 8);
  try {
    const d = createDecipheriv('aes-128-gcm', keys.key, nonce);
    d.setAAD(header);
    d.setAuthTag(buf.subarray(end - 16, end));
    const out = d.update(buf.subarray(start, end - 16));
    d.final(); // throws on a bad tag
    return out;
  } catch {
    return undefined;
  }
}
