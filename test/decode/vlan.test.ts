import assert from 'node:assert/strict';
import { LinkType, MAX_VLAN_TAGS } from '../../lib/decode/index.js';
import { ETHERTYPE_IPV4, ETHERTYPE_IPV6, ethernet, hex, ipv4, ipv6, sll, tcp, udp, TCP_SYN } from '../helpers/packets.js';
import { decodeOne, onlyCounter } from './util.js';

const UDP_V4 = ipv4({ src: '192.0.2.1', dst: '192.0.2.53', protocol: 17 }, udp({ srcPort: 40000, dstPort: 53 }, Buffer.from('q')));

describe('decode: VLAN tags', () => {
  it('802.1Q single tag', () => {
    const frame = hex(`
      02 00 00 00 00 02  02 00 00 00 00 01   # destination, source MAC
      81 00                                 # TPID 802.1Q
      a0 64                                 # TCI: PCP 5, DEI 0, VID 100
      08 00                                 # EtherType IPv4
    `);
    const { ok, out } = decodeOne(LinkType.ETHERNET, Buffer.concat([frame, UDP_V4]));
    assert.equal(ok, true);
    assert.equal(out.vlanId, 100);
    assert.equal(out.dstPort, 53);
  });

  it('802.1ad QinQ: service tag 0x88a8 then customer tag; vlanId is the inner one', () => {
    const frame = hex(`
      02 00 00 00 00 02  02 00 00 00 00 01   # MACs
      88 a8  00 0a                          # S-tag, VID 10
      81 00  00 14                          # C-tag, VID 20
      86 dd                                 # IPv6
    `);
    const v6 = ipv6({ src: '2001:db8::1', dst: '2001:db8::2', nextHeader: 6 }, tcp({ srcPort: 5, dstPort: 80, flags: TCP_SYN }));
    const { ok, out } = decodeOne(LinkType.ETHERNET, Buffer.concat([frame, v6]));
    assert.equal(ok, true);
    assert.equal(out.vlanId, 20);
    assert.equal(out.ipVersion, 6);
    assert.equal(out.tcpFlags, TCP_SYN);
  });

  it('pre-standard 0x9100 and triple tagging (QinQinQ)', () => {
    const frame = ethernet({ type: ETHERTYPE_IPV4, vlans: [{ tpid: 0x9100, id: 1 }, { tpid: 0x8100, id: 2 }, { tpid: 0x8100, id: 4095 }] }, UDP_V4);
    const { ok, out } = decodeOne(LinkType.ETHERNET, frame);
    assert.equal(ok, true);
    assert.equal(out.vlanId, 4095);
  });

  it(`more than ${MAX_VLAN_TAGS} tags is counted as too-many-vlan`, () => {
    const tags = Array.from({ length: MAX_VLAN_TAGS + 1 }, (_, i) => ({ id: i + 1 }));
    const r = decodeOne(LinkType.ETHERNET, ethernet({ type: ETHERTYPE_IPV4, vlans: tags }, UDP_V4));
    assert.equal(r.ok, false);
    assert.equal(onlyCounter(r.stats), 'errors.too-many-vlan');
    const max = decodeOne(LinkType.ETHERNET, ethernet({ type: ETHERTYPE_IPV4, vlans: tags.slice(0, MAX_VLAN_TAGS) }, UDP_V4));
    assert.equal(max.ok, true);
  });

  it('a tag cut off by the capture is truncated-vlan', () => {
    const frame = hex('02 00 00 00 00 02  02 00 00 00 00 01  81 00  00 64 # TPID, TCI, no inner EtherType');
    assert.equal(onlyCounter(decodeOne(LinkType.ETHERNET, frame).stats), 'errors.truncated-vlan');
  });

  it('a tag libpcap re-inserted after a cooked header is walked too', () => {
    const inner = Buffer.concat([hex('00 07 # TCI VID 7'), hex('08 00 # IPv4'), UDP_V4]);
    const { ok, out } = decodeOne(LinkType.LINUX_SLL, sll({ protocol: 0x8100 }, inner));
    assert.equal(ok, true);
    assert.equal(out.vlanId, 7);
  });

  it('VLAN-tagged non-IP is skipped as non-ip', () => {
    const r = decodeOne(LinkType.ETHERNET, ethernet({ type: 0x0806, vlans: [{ id: 3 }] }, Buffer.alloc(28)));
    assert.equal(onlyCounter(r.stats), 'skipped.non-ip');
    assert.equal(ETHERTYPE_IPV6, 0x86dd);
  });
});
