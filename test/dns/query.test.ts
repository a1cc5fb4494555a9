import assert from 'node:assert/strict';
import dnsPacket from 'dns-packet';
import { DnsStats, parseDnsQuery, parseDnsResponse, readDnsQuery, textNameHash, type DnsQueryHead } from '../../lib/dns/index.js';
import { hex } from '../helpers/packets.js';
import { embed, question, response } from './build.js';

function query(id: number, name: string, type: 'A' | 'AAAA' | 'TXT' = 'A'): Buffer {
  return dnsPacket.encode({ type: 'query', id, flags: dnsPacket.RECURSION_DESIRED, questions: [question(name, type)] });
}

describe('dns/parseDnsQuery', () => {
  it('reads id, name (lower-cased, no trailing dot) and type from a hand-written query', () => {
    const msg = hex(`
      c2 2f             # id 0xc22f
      01 00             # flags: QR=0 opcode 0 RD
      00 01 00 00 00 00 00 00   # QDCOUNT 1
      03 57 77 57 07 45 78 61 6d 70 6c 65 03 63 6f 6d 00   # WwW.Example.com
      00 1c 00 01       # AAAA IN
    `);
    assert.deepEqual(parseDnsQuery(msg, 0, msg.length), { id: 0xc22f, name: 'www.example.com', type: 28, nameHash: textNameHash('www.example.com') });
  });

  it('honours offset and length inside a larger buffer', () => {
    const msg = query(0x99ab, 'client-cf.dropbox.com', 'TXT');
    assert.deepEqual(parseDnsQuery(embed(msg, 42), 42, msg.length), { id: 0x99ab, name: 'client-cf.dropbox.com', type: 16, nameHash: textNameHash('client-cf.dropbox.com') });
  });

  it('reads the root name as ""', () => {
    const msg = hex('0001 0000 0001 0000 0000 0000 00 0002 0001'); // ". NS IN"
    assert.deepEqual(parseDnsQuery(msg, 0, msg.length), { id: 1, name: '', type: 2, nameHash: 0 });
  });

  it('hashes the question name as its answer\'s question, whatever the case (0x20), as textNameHash does; readDnsQuery makes no text', () => {
    const msg = query(0x4242, 'WwW.eXample.ORG');
    const head: DnsQueryHead = { id: 0, type: 0, nameHash: 0 };
    assert.equal(readDnsQuery(msg, 0, msg.length, head), true);
    assert.deepEqual(head, { id: 0x4242, type: 1, nameHash: textNameHash('www.example.org') });
    const answer = response([question('www.example.ORG')], []);
    assert.equal(parseDnsResponse(answer, 0, answer.length, new DnsStats())?.queryHash, head.nameHash);
    assert.notEqual(textNameHash('www.example.org'), textNameHash('www.example.com'));
    assert.notEqual(textNameHash('a'), 0, 'only the root hashes to 0');
    const resp = response([question('example.com')], []);
    assert.equal(readDnsQuery(resp, 0, resp.length, head), false);
  });

  it('returns null for a response, another opcode, no question', () => {
    const resp = response([question('example.com')], []);
    assert.equal(parseDnsQuery(resp, 0, resp.length), null);
    const notify = query(7, 'example.com');
    notify[2] = 0x20; // opcode 4 (NOTIFY)
    assert.equal(parseDnsQuery(notify, 0, notify.length), null);
    const empty = hex('0001 0100 0000 0000 0000 0000');
    assert.equal(parseDnsQuery(empty, 0, empty.length), null);
  });

  it('never throws, returns null on every truncation and on bad names', () => {
    const msg = query(0x1234, 'www.example.com');
    for (let len = 0; len < msg.length; len++) assert.equal(parseDnsQuery(msg, 0, len), null, `length ${len}`);
    assert.notEqual(parseDnsQuery(msg, 0, msg.length), null);
    assert.equal(parseDnsQuery(msg, -1, msg.length), null);
    const pointerLoop = hex('0001 0100 0001 0000 0000 0000 c00c 0001 0001'); // points at itself
    assert.equal(parseDnsQuery(pointerLoop, 0, pointerLoop.length), null);
    const badLabel = hex('0001 0100 0001 0000 0000 0000 4161 00 0001 0001'); // label type 0x40
    assert.equal(parseDnsQuery(badLabel, 0, badLabel.length), null);
  });

  it('survives random bytes (fuzz, fixed seed)', () => {
    let seed = 12345;
    const rnd = (): number => (seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) >>> 24;
    const base = query(0x4242, 'a.b.example.org');
    let parsed = 0;
    for (let i = 0; i < 5000; i++) {
      const b = Buffer.from(base);
      for (let k = 0; k < 3; k++) b[rnd() % b.length] = rnd();
      const r = parseDnsQuery(b, 0, rnd() % (b.length + 1));
      if (r !== null) {
        parsed++;
        assert.ok(r.id >= 0 && r.id <= 0xffff && r.type >= 0 && r.type <= 0xffff);
        assert.equal(r.name, r.name.toLowerCase());
      }
    }
    assert.ok(parsed > 0, 'some mutated queries still parse');
  });
});
