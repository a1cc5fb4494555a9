import { EtherType } from './link-types.js';
import type { PacketInfo } from './packet-info.js';
import { Status } from './status.js';

/** Ethernet II header: destination MAC (6), source MAC (6), EtherType (2). */
export const ETHERNET_HEADER_LENGTH = 14;
/** An 802.1Q / 802.1ad tag after the EtherType that announced it: TCI (2), next EtherType (2). */
const VLAN_TAG_LENGTH = 4;
/**
 * Deepest tag stack we walk. Triple tagging (QinQinQ) exists in carrier networks; anything
 * deeper is either a loop in a fuzzed frame or not traffic a host agent can attribute.
 */
export const MAX_VLAN_TAGS = 4;

/**
 * Ethernet II frame: sets out.etherType (after any VLAN tags) and returns the offset of the
 * network-layer header. 802.3 length frames (EtherType < 0x0600, LLC) come back as etherType
 * below 0x0600 and are skipped as non-IP by the caller.
 */
export function decodeEthernet(buf: Buffer, offset: number, end: number, out: PacketInfo): number {
  if (end - offset < ETHERNET_HEADER_LENGTH) return Status.TruncatedEthernet;
  out.etherType = (buf[offset + 12] << 8) | buf[offset + 13];
  return skipVlanTags(buf, offset + ETHERNET_HEADER_LENGTH, end, out);
}

/**
 * Walk 802.1Q / 802.1ad / old-QinQ tags starting at `offset` (just after the EtherType in
 * out.etherType). Shared by Ethernet and Linux cooked captures: libpcap re-inserts the tag the
 * kernel stripped into the data of both. Sets out.vlanId to the innermost id.
 */
export function skipVlanTags(buf: Buffer, offset: number, end: number, out: PacketInfo): number {
  let tags = 0;
  let type = out.etherType;
  while (type === EtherType.VLAN || type === EtherType.QINQ || type === EtherType.QINQ_OLD) {
    if (tags === MAX_VLAN_TAGS) return Status.TooManyVlan;
    if (end - offset < VLAN_TAG_LENGTH) return Status.TruncatedVlan;
    out.vlanId = ((buf[offset] << 8) | buf[offset + 1]) & 0x0fff; // TCI: PCP 3 bits, DEI 1, VID 12
    type = (buf[offset + 2] << 8) | buf[offset + 3];
    offset += VLAN_TAG_LENGTH;
    tags++;
  }
  out.etherType = type;
  return offset;
}
