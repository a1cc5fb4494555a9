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
  if (type === EtherType.PPPOE_SESSION) return skipPppoe(buf, offset, end, out);
  return offset;
}

/** PPPoE session header (RFC 2516 §4): version/type, code, session id, length; then the PPP protocol (2). */
const PPPOE_HEADER_LENGTH = 8;
const PPP_IPV4 = 0x0021;
const PPP_IPV6 = 0x0057;

/**
 * A PPPoE session frame (an uplink to a DSL or fibre provider, captured on its Ethernet
 * device): IPv4 and IPv6 inside PPP go on as if the EtherType had said so; other PPP
 * protocols (LCP, IPCP, ...) come back as non-IP. The PPPoE length bounds nothing here: the
 * IP header's own length does, as for Ethernet padding.
 */
function skipPppoe(buf: Buffer, offset: number, end: number, out: PacketInfo): number {
  if (end - offset < PPPOE_HEADER_LENGTH) return Status.TruncatedPppoe;
  // Version 1, type 1, code 0 (session data).
  if (buf[offset] !== 0x11 || buf[offset + 1] !== 0) {
    out.etherType = 0;
    return offset;
  }
  const protocol = (buf[offset + 6] << 8) | buf[offset + 7];
  out.etherType = protocol === PPP_IPV4 ? EtherType.IPV4 : protocol === PPP_IPV6 ? EtherType.IPV6 : 0;
  return offset + PPPOE_HEADER_LENGTH;
}
