import { u32 } from './bytes.js';
import { skipVlanTags } from './ethernet.js';
import type { PacketInfo } from './packet-info.js';
import { Status } from './status.js';

/**
 * Linux cooked capture v1 (LINKTYPE_LINUX_SLL, what the `any` device delivers), 16 bytes:
 *   packet type (2) | ARPHRD type (2) | link-layer address length (2) | address (8) | protocol (2)
 * The protocol is an EtherType for Ethernet-like devices; small values (1 Novell 802.3,
 * 4 802.2 LLC, ...) are not IP and fall through to the non-IP skip.
 */
export const SLL_HEADER_LENGTH = 16;

/**
 * Linux cooked capture v2 (LINKTYPE_LINUX_SLL2), 20 bytes:
 *   protocol (2) | reserved (2) | interface index (4) | ARPHRD type (2) | packet type (1) |
 *   address length (1) | address (8)
 */
export const SLL2_HEADER_LENGTH = 20;

/** The ARPHRD type of `lo` (linux/if_arp.h). */
const ARPHRD_LOOPBACK = 772;

export function decodeSll(buf: Buffer, offset: number, end: number, out: PacketInfo): number {
  if (end - offset < SLL_HEADER_LENGTH) return Status.TruncatedSll;
  out.sllPacketType = (buf[offset] << 8) | buf[offset + 1];
  out.loopback = ((buf[offset + 2] << 8) | buf[offset + 3]) === ARPHRD_LOOPBACK;
  out.etherType = (buf[offset + 14] << 8) | buf[offset + 15];
  return skipVlanTags(buf, offset + SLL_HEADER_LENGTH, end, out);
}

export function decodeSll2(buf: Buffer, offset: number, end: number, out: PacketInfo): number {
  if (end - offset < SLL2_HEADER_LENGTH) return Status.TruncatedSll2;
  out.etherType = (buf[offset] << 8) | buf[offset + 1];
  out.sllPacketType = buf[offset + 10];
  out.ifIndex = u32(buf, offset + 4);
  out.loopback = ((buf[offset + 8] << 8) | buf[offset + 9]) === ARPHRD_LOOPBACK;
  return skipVlanTags(buf, offset + SLL2_HEADER_LENGTH, end, out);
}
