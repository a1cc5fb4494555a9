// Encrypted Client Hello: a client that uses ECH sends the provider's public name as its server
// name (`cloudflare-ech.com` for every site behind Cloudflare), the site's name only encrypted.
// Named by that server name, every such site would be one domain group, and a new one would
// never alert. The DNS answer the client looked up names the site: it is kept when the
// ClientHello offers ECH and DNS never gave the address the server name. Chrome sends a GREASE
// ECH extension on connections without ECH, alike on the wire: there the server name is a name
// DNS gave the address, and it names the connection as always.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import dnsPacket from 'dns-packet';
import { helloOffersEch, recordsOfferEch, clientHelloFromRecords } from '../../lib/sniff/index.js';
import { ethernet, ipv4, tcp, udp, ETHERTYPE_IPV4, TCP_ACK, TCP_FIN, TCP_PSH, TCP_SYN, type PcapFrame } from '../helpers/packets.js';
import { clientHello, extension, records, serverNameExt } from '../sniff/build.js';
import { corpusFile } from '../helpers/env.js';
import { replayFrames } from '../helpers/replay-frames.js';
import { replayFile } from '../../lib/capture/index.js';

const T0 = Date.UTC(2026, 11, 5, 10, 0, 0);
const CLIENT = '10.0.0.5';
const RESOLVER = '10.0.0.53';
const PUBLIC_NAME = 'cloudflare-ech.com';
/** An ECH extension as a client sends it outside (type 0 = outer, a cipher suite, a config id, an encapsulated key, a payload). */
const ECH = extension(0xfe0d, Buffer.concat([Buffer.from([0, 0, 1, 0, 1, 0x2a, 0, 32]), Buffer.alloc(32, 7), Buffer.from([0, 64]), Buffer.alloc(64, 9)]));

interface Alert {
  destination: { ip: string; domain?: string };
  tls?: { client: { server_name?: string; ja3: string } };
  egresswatch: { name_source: string; domain_group: string; dns: { alternatives: string[] }; tls?: { ech?: boolean } };
}

function hello(name: string, ech: boolean): Buffer {
  return records(clientHello({ extensions: [...(ech ? [ECH] : []), serverNameExt([[0, name]]), extension(0x0010, Buffer.from('0003026832', 'hex'))] }));
}

/** A lookup of `names` in turn, each answered with `server`. */
function lookups(t: number, server: string, names: string[]): PcapFrame[] {
  return names.flatMap((name, i) => {
    const id = 100 + i;
    const q = dnsPacket.encode({ type: 'query', id, flags: dnsPacket.RECURSION_DESIRED, questions: [{ type: 'A', name }] });
    const r = dnsPacket.encode({ type: 'response', id, flags: dnsPacket.RECURSION_DESIRED | dnsPacket.RECURSION_AVAILABLE, questions: [{ type: 'A', name }], answers: [{ type: 'A', name, ttl: 300, data: server }] });
    return [
      { ts: t + 2 * i, data: ethernet({ type: ETHERTYPE_IPV4 }, ipv4({ src: CLIENT, dst: RESOLVER, protocol: 17 }, udp({ srcPort: 40000 + i, dstPort: 53 }, q))) },
      { ts: t + 2 * i + 1, data: ethernet({ type: ETHERTYPE_IPV4 }, ipv4({ src: RESOLVER, dst: CLIENT, protocol: 17 }, udp({ srcPort: 53, dstPort: 40000 + i }, r))) },
    ];
  });
}

/** A TLS connection to server:443 whose client sends `first` after the handshake. */
function connection(t: number, server: string, port: number, first: Buffer): PcapFrame[] {
  const out = (flags: number, seq: number, data: Buffer = Buffer.alloc(0)): Buffer => ethernet({ type: ETHERTYPE_IPV4 }, ipv4({ src: CLIENT, dst: server, protocol: 6 }, tcp({ srcPort: port, dstPort: 443, seq, flags }, data)));
  const back = (flags: number): Buffer => ethernet({ type: ETHERTYPE_IPV4 }, ipv4({ src: server, dst: CLIENT, protocol: 6 }, tcp({ srcPort: 443, dstPort: port, seq: 9000, flags })));
  return [out(TCP_SYN, 1000), back(TCP_SYN | TCP_ACK), out(TCP_ACK, 1001), out(TCP_ACK | TCP_PSH, 1001, first), out(TCP_FIN | TCP_ACK, 1001 + first.length), back(TCP_FIN | TCP_ACK)]
    .map((data, i) => ({ ts: t + 10 + i, data }));
}

describe('sniff: does a ClientHello offer Encrypted Client Hello', () => {
  it('finds the extension wherever it sits among the others, and only in a whole message', () => {
    const withEch = records(clientHello({ extensions: [serverNameExt([[0, 'a.example']]), extension(0x000a, Buffer.from('0002001d', 'hex')), ECH] }));
    assert.equal(recordsOfferEch(withEch, 0, withEch.length), true);
    assert.equal(recordsOfferEch(withEch, 0, withEch.length - 1), false, 'cut short');
    const without = hello('b.example', false);
    assert.equal(recordsOfferEch(without, 0, without.length), false);
    // Split over two records: joined first.
    const hs = clientHello({ extensions: [ECH, serverNameExt([[0, 'c.example']])] });
    const split = records(hs, [60]);
    assert.equal(recordsOfferEch(split, 0, split.length), true);
    assert.equal(helloOffersEch(hs, 0, hs.length), true);
  });

  it('on real ClientHellos: Cloudflare ECH (zeek tls13-ech) yes, Chrome 34 no', () => {
    const offers = (file: string): boolean[] => {
      const out: boolean[] = [];
      replayFile(corpusFile(file), (buf, caplen, _w, _t, _lt, _h, at = 0) => {
        const frame = buf.subarray(at, at + caplen);
        // A ClientHello record (handshake, TLS 1.x, a ClientHello message) anywhere in the frame.
        for (let at = frame.indexOf(0x16); at >= 0 && at + 6 < frame.length; at = frame.indexOf(0x16, at + 1)) {
          if (frame[at + 1] !== 3 || frame[at + 5] !== 1) continue;
          const h = clientHelloFromRecords(frame, at, frame.length);
          if (h) {
            out.push(helloOffersEch(h, 0, h.length));
            break;
          }
        }
      });
      return out;
    };
    assert.deepEqual(offers('zeek/tls__tls13-ech.pcap'), [true, true]);
    const chrome = offers('zeek/tls__chrome-34-google.pcap');
    assert.ok(chrome.length > 0 && chrome.every((x) => !x), String(chrome));
  });
});

describe('pipeline: naming a connection whose ClientHello offers ECH', () => {
  let dir = '';
  before(() => { dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ew-ech-')); });
  after(() => fs.rmSync(dir, { recursive: true, force: true }));

  const replay = async (frames: PcapFrame[]): Promise<Alert[]> => (await replayFrames<Alert>(dir, frames, { 'external-cidr': ['203.0.113.0/24'] })).alerts;

  it('keeps the site DNS named, not the public name, for two sites behind one provider: two alerts', async () => {
    const frames = [
      ...lookups(T0, '203.0.113.10', ['shop.first-site.example']), ...connection(T0, '203.0.113.10', 50001, hello(PUBLIC_NAME, true)),
      ...lookups(T0 + 1000, '203.0.113.11', ['api.second-site.example']), ...connection(T0 + 1000, '203.0.113.11', 50002, hello(PUBLIC_NAME, true)),
    ];
    const alerts = await replay(frames);
    assert.deepEqual(alerts.map((a) => [a.destination.domain, a.egresswatch.name_source, a.egresswatch.domain_group]),
      [['shop.first-site.example', 'dns', 'first-site.example'], ['api.second-site.example', 'dns', 'second-site.example']], JSON.stringify(alerts));
    for (const a of alerts) {
      assert.equal(a.tls?.client.server_name, PUBLIC_NAME, 'the server name the client sent');
      assert.equal(a.egresswatch.tls?.ech, true);
      assert.ok(a.egresswatch.dns.alternatives.includes(PUBLIC_NAME));
    }
  });

  it("Chrome's GREASE ECH: a server name DNS gave the address names it, as without ECH, unflagged", async () => {
    // One address for two names (a CDN): the most recent answer is the other site's.
    const frames = [...lookups(T0, '203.0.113.20', ['www.wanted.example', 'www.other-tenant.example']), ...connection(T0, '203.0.113.20', 50003, hello('www.wanted.example', true))];
    const [a] = await replay(frames);
    assert.equal(a.destination.domain, 'www.wanted.example');
    assert.equal(a.egresswatch.name_source, 'sni');
    assert.equal(a.egresswatch.tls?.ech, undefined, 'the site\'s own name: nothing to warn of');
  });

  it('no DNS answer (DNS over HTTPS): the server name it is, marked as offered with ECH; without ECH, unmarked', async () => {
    const frames = [...connection(T0, '203.0.113.30', 50004, hello(PUBLIC_NAME, true)), ...connection(T0 + 5000, '203.0.113.31', 50005, hello('plain.example', false))];
    const alerts = await replay(frames);
    assert.deepEqual(alerts.map((a) => [a.destination.domain, a.egresswatch.name_source, a.egresswatch.tls?.ech]), [[PUBLIC_NAME, 'sni', true], ['plain.example', 'sni', undefined]]);
  });
});
