// Turning name bytes from the wire into the string the flow table keeps.

/** RFC 1035 §2.3.4: 255 octets at most in a domain name. Longer SNI / Host values are cut here. */
export const MAX_NAME_LENGTH = 255;

/** Bytes kept as they are: printable ASCII except backslash, which starts an escape. */
function plain(b: number): boolean {
  return b > 0x20 && b < 0x7f && b !== 0x5c;
}

/**
 * Read a host name: ASCII lower-cased, one trailing dot removed (the root label is not part of
 * the name the user sees), at most MAX_NAME_LENGTH bytes. Bytes outside printable ASCII (and
 * backslash) come back as \xNN, so a hostile name cannot inject control characters into a log
 * line; the caller decides whether such a name is usable. Returns undefined for an empty name.
 */
export function readName(buf: Buffer, offset: number, length: number): string | undefined {
  let end = offset + Math.min(length, MAX_NAME_LENGTH);
  if (end > offset && buf[end - 1] === 0x2e) end--;
  if (end <= offset) return undefined;
  let clean = true;
  for (let i = offset; i < end; i++) {
    if (!plain(buf[i])) {
      clean = false;
      break;
    }
  }
  // Common case: one latin1 decode, no per-byte string building.
  // Every character is printable ASCII here, so toLowerCase only maps A-Z.
  if (clean) return buf.toString('latin1', offset, end).toLowerCase();
  let s = '';
  for (let i = offset; i < end; i++) {
    const b = buf[i];
    s += plain(b) ? String.fromCharCode(b) : '\\x' + (b < 16 ? '0' : '') + b.toString(16);
  }
  return s.toLowerCase();
}
