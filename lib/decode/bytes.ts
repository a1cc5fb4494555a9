// Big-endian fields read from a packet buffer by byte arithmetic. Buffer's readUInt16BE /
// readUInt32BE check their argument and are found on Buffer.prototype, a dictionary-mode
// object, at every call: on the per-packet path (flow lookup, TCP header) they were about a
// seventh of the flow table's time on the bench capture. The caller has checked the bounds
// (a read past the end gives 0 here, where Buffer's methods would throw).

/** Big-endian unsigned 16 bits at `off`. */
export function u16(buf: Uint8Array, off: number): number {
  return (buf[off] << 8) | buf[off + 1];
}

/** Big-endian unsigned 32 bits at `off`. */
export function u32(buf: Uint8Array, off: number): number {
  return ((buf[off] << 24) | (buf[off + 1] << 16) | (buf[off + 2] << 8) | buf[off + 3]) >>> 0;
}

/** Big-endian unsigned 48 bits at `off` (a MAC address), as a number (exact: below 2^53). */
export function u48(buf: Uint8Array, off: number): number {
  return ((buf[off] << 8) | buf[off + 1]) * 0x1_0000_0000 + u32(buf, off + 2);
}
