import assert from 'node:assert/strict';
import dnsPacket from 'dns-packet';
import { DnsStats, MAX_CNAME_CHAIN, parseDnsResponse, textNameHash } from '../../lib/dns/index.js';
import { a, aaaa, cname, embed, question, response } from './build.js';

function parse(msg: Buffer, stats = new DnsStats()) {
  return parseDnsResponse(msg, 0, msg.length, stats);
}

describe('dns/parseDnsResponse', () => {
  it('reads an A answer, honouring offset and length inside a larger buffer', () => {
    const msg = response([question('www.Example.COM')], [a('www.example.com', '192.0.2.1', 120)]);
    const stats = new DnsStats();
    const info = parseDnsResponse(embed(msg, 42), 42, msg.length, stats);
    assert.deepEqual(info, {
      id: 0x1234, queryName: 'www.example.com', queryType: 1, queryHash: textNameHash('www.example.com'), rcode: 0, cnames: 0,
      answers: [{ ip: '192.0.2.1', ttl: 120, chain: ['www.example.com'] }],
    });
    assert.equal(stats.responses, 1);
    assert.equal(stats.answers, 1);
  });

  it('formats AAAA per RFC 5952 (longest zero run compressed, lower-case)', () => {
    const msg = response([question('v6.example.com', 'AAAA')], [
      aaaa('v6.example.com', '2001:DB8:0:0:1:0:0:0'),
      aaaa('v6.example.com', '2001:db8::1'),
      aaaa('v6.example.com', '::ffff:192.0.2.7'),
    ]);
    const info = parse(msg);
    assert.equal(info?.queryType, 28);
    assert.deepEqual(info?.answers.map((x) => x.ip), ['2001:db8:0:0:1::', '2001:db8::1', '::ffff:192.0.2.7']);
  });

  it('follows a 3-deep CNAME chain given out of order', () => {
    const msg = response([question('www.example.com')], [
      a('edge.cdn.example.net', '198.51.100.7', 20),
      cname('alias.example.org', 'edge.cdn.example.net'),
      a('edge.cdn.example.net', '198.51.100.8', 20),
      cname('www.example.com', 'alias.example.org'),
    ]);
    const stats = new DnsStats();
    const info = parse(msg, stats);
    const chain = ['www.example.com', 'alias.example.org', 'edge.cdn.example.net'];
    assert.deepEqual(info?.answers, [
      { ip: '198.51.100.7', ttl: 20, chain },
      { ip: '198.51.100.8', ttl: 20, chain },
    ]);
    assert.equal(info?.cnames, 2);
    assert.equal(stats.offChainAddresses, 0);
  });

  it('gives a 2-deep chain to an address owned by the middle name', () => {
    const msg = response([question('a.example.com')], [cname('a.example.com', 'b.example.com'), a('b.example.com', '192.0.2.9')]);
    assert.deepEqual(parse(msg)?.answers[0].chain, ['a.example.com', 'b.example.com']);
  });

  it('stops at a CNAME loop and counts it', () => {
    const msg = response([question('x.example.com')], [
      cname('x.example.com', 'y.example.com'),
      cname('y.example.com', 'x.example.com'),
      a('y.example.com', '192.0.2.3'),
    ]);
    const stats = new DnsStats();
    const info = parse(msg, stats);
    assert.equal(stats.cnameLoops, 1);
    assert.deepEqual(info?.answers, [{ ip: '192.0.2.3', ttl: 300, chain: ['x.example.com', 'y.example.com'] }]);
  });

  it('cuts a chain longer than the bound', () => {
    const answers = [];
    for (let i = 0; i < MAX_CNAME_CHAIN + 5; i++) answers.push(cname(`n${i}.example.com`, `n${i + 1}.example.com`));
    answers.push(a(`n${MAX_CNAME_CHAIN + 5}.example.com`, '192.0.2.4'));
    const stats = new DnsStats();
    const info = parse(response([question('n0.example.com')], answers), stats);
    assert.equal(stats.cnameTooLong, 1);
    assert.equal(info?.answers.length, 0);
    assert.equal(stats.offChainAddresses, 1);
  });

  it('ignores and counts A records for names off the chain (answer and additional sections)', () => {
    const msg = response([question('www.example.com')], [a('www.example.com', '192.0.2.1'), a('evil.example.net', '203.0.113.66')], {
      authorities: [{ name: 'example.com', type: 'NS', class: 'IN', ttl: 60, data: 'ns1.example.com' }],
      additionals: [a('ns1.example.com', '192.0.2.53'), aaaa('ns1.example.com', '2001:db8::53')],
    });
    const stats = new DnsStats();
    const info = parse(msg, stats);
    assert.deepEqual(info?.answers.map((x) => x.ip), ['192.0.2.1']);
    assert.equal(stats.offChainAddresses, 3);
  });

  it('returns NXDOMAIN responses with their rcode and no answers', () => {
    const msg = response([question('nope.example.com')], [], {
      flags: 3,
      authorities: [{ name: 'example.com', type: 'SOA', class: 'IN', ttl: 60, data: { mname: 'ns.example.com', rname: 'h.example.com', serial: 1, refresh: 1, retry: 1, expire: 1, minimum: 60 } }],
    });
    const info = parse(msg);
    assert.equal(info?.rcode, 3);
    assert.deepEqual(info?.answers, []);
  });

  it('ignores queries and counts them', () => {
    const msg = dnsPacket.encode({ type: 'query', id: 7, flags: dnsPacket.RECURSION_DESIRED, questions: [question('www.example.com')] });
    const stats = new DnsStats();
    assert.equal(parse(msg, stats), null);
    assert.equal(stats.queries, 1);
    assert.equal(stats.notResponse, 1);
    assert.equal(stats.responses, 0);
  });

  it('counts every truncation; a cut in the answers keeps the whole records before it', () => {
    const msg = response([question('www.example.com')], [cname('www.example.com', 'x.example.net'), a('x.example.net', '192.0.2.1')]);
    const questionEnd = 12 + 17 + 4; // header, 3www7example3com0, QTYPE + QCLASS
    const stats = new DnsStats();
    for (let len = 0; len < msg.length; len++) {
      const info = parseDnsResponse(msg, 0, len, stats);
      if (len < questionEnd) assert.equal(info, null, `length ${len}`);
      else assert.deepEqual(info?.answers, [], `length ${len}`); // the A record is last
    }
    assert.equal(stats.malformedTotal(), msg.length);
    assert.equal(stats.malformed['short-header'], 12);
    assert.equal(stats.malformed.truncated, questionEnd - 12);
    assert.equal(stats.responses, msg.length - questionEnd);
    assert.deepEqual(parse(msg)?.answers.map((x) => x.ip), ['192.0.2.1']);
    const twoA = response([question('www.example.com')], [a('www.example.com', '192.0.2.1'), a('www.example.com', '192.0.2.2')]);
    assert.deepEqual(parse(twoA.subarray(0, twoA.length - 1))?.answers.map((x) => x.ip), ['192.0.2.1']);
  });

  it('keeps the answers when only the additional section is corrupt', () => {
    const good = response([question('www.example.com')], [a('www.example.com', '192.0.2.1')], { additionals: [a('ns.example.com', '192.0.2.2')] });
    const msg = good.subarray(0, good.length - 3);
    const stats = new DnsStats();
    assert.deepEqual(parse(msg, stats)?.answers.map((x) => x.ip), ['192.0.2.1']);
    assert.equal(stats.malformed['trailing-truncated'], 1);
  });

  it('skips an A record whose RDLENGTH is not 4 and reads the next one in step', () => {
    const msg = response([question('www.example.com')], [
      { name: 'www.example.com', type: 'A', class: 'IN', ttl: 1, data: '192.0.2.1' },
      a('www.example.com', '192.0.2.2'),
    ]);
    // Grow the first A's RDATA to 8 bytes: RDLENGTH 4 → 8 and 4 extra bytes after it.
    const firstRd = msg.indexOf(Buffer.from([192, 0, 2, 1]));
    const bad = Buffer.concat([msg.subarray(0, firstRd), Buffer.from([192, 0, 2, 1, 1, 1, 1, 1]), msg.subarray(firstRd + 4)]);
    bad.writeUInt16BE(8, firstRd - 2);
    const stats = new DnsStats();
    assert.deepEqual(parse(bad, stats)?.answers.map((x) => x.ip), ['192.0.2.2']);
    assert.equal(stats.malformed['bad-rdlength'], 1);
  });

  it('follows a backward compression pointer and counts a forward one', () => {
    const msg = response([question('www.example.com')], [a('www.example.com', '192.0.2.1')]);
    // dns-packet does not compress: the answer's owner (17 bytes at 12 + 17 + 4 = 33)
    // is replaced by a pointer, first to the question name (offset 12), then forward.
    const withPointer = (to: number) => Buffer.concat([msg.subarray(0, 33), Buffer.from([0xc0, to]), msg.subarray(33 + 17)]);
    const stats = new DnsStats();
    assert.deepEqual(parse(withPointer(12), stats)?.answers.map((x) => x.ip), ['192.0.2.1']);
    assert.deepEqual(parse(withPointer(40), stats)?.answers, []);
    assert.deepEqual(parse(withPointer(33), stats)?.answers, []);
    assert.equal(stats.malformed['answers-name-bad-pointer'], 2);
    // In the question, the same pointer drops the message.
    const q = Buffer.from(msg);
    q[12] = 0xc0;
    q[13] = 20;
    assert.equal(parse(q, stats), null);
    assert.equal(stats.malformed['name-bad-pointer'], 1);
  });

  it('keeps names with control characters as decoded and lower-cases them', () => {
    const msg = response([question('a\tB\u0001.example.com')], [a('a\tb\u0001.example.com', '192.0.2.1')]);
    assert.deepEqual(parse(msg)?.answers[0].chain, ['a\tb\u0001.example.com']);
  });

  it('treats a TTL with the top bit set as 0 (RFC 2181 §8)', () => {
    const msg = response([question('t.example.com')], [a('t.example.com', '192.0.2.1', 0x80000000)]);
    assert.equal(parse(msg)?.answers[0].ttl, 0);
  });

  it('starts the chain at the first answer when there is no question', () => {
    const stats = new DnsStats();
    const info = parse(response([], [a('solo.example.com', '192.0.2.5')]), stats);
    assert.equal(stats.noQuestion, 1);
    assert.deepEqual(info?.answers[0].chain, ['solo.example.com']);
  });

  it('survives random corruption: every null is counted, every address is well-formed', () => {
    const msg = response([question('www.example.com')], [cname('www.example.com', 'x.example.net'), a('x.example.net', '192.0.2.1'), aaaa('x.example.net', '2001:db8::1')]);
    const stats = new DnsStats();
    let seed = 12345;
    const rnd = () => (seed = (seed * 1103515245 + 12345) & 0x7fffffff);
    let nulls = 0;
    let infos = 0;
    for (let i = 0; i < 5000; i++) {
      const m = Buffer.from(msg);
      for (let k = 0; k < 3; k++) m[rnd() % m.length] = rnd() & 0xff;
      const info = parseDnsResponse(m, 0, rnd() % (m.length + 1), stats);
      if (info === null) {
        nulls++;
        continue;
      }
      infos++;
      for (const x of info.answers) assert.match(x.ip, /^(\d{1,3}(\.\d{1,3}){3}|[0-9a-f:.]+)$/);
    }
    assert.equal(infos, stats.responses);
    assert.equal(nulls, stats.notResponse + fatalMalformed(stats));
  });
});

/** Malformed kinds that drop the whole message (not the ones that only skip a record). */
function fatalMalformed(stats: DnsStats): number {
  let n = 0;
  for (const [k, v] of Object.entries(stats.malformed)) if (!k.startsWith('trailing-') && !k.startsWith('answers-') && k !== 'bad-rdlength') n += v;
  return n;
}
