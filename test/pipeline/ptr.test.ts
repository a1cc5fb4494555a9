// Reverse lookups: cached (answers and failures), rate-limited, bounded by a timeout, and used
// by the pipeline only for addresses nothing else named.
import assert from 'node:assert/strict';
import { PtrResolver } from '../../lib/pipeline/ptr.js';
import { ethernet, ipv4, tcp, ETHERTYPE_IPV4, TCP_SYN } from '../helpers/packets.js';
import { testPipeline } from '../helpers/pipeline.js';

describe('pipeline/ptr', () => {
  it('caches answers and failures, rate-limits, and times out', async () => {
    let now = 0;
    const asked: string[] = [];
    const r = new PtrResolver({
      now: () => now, perSecond: 2, timeoutMs: 50,
      reverse: async (ip) => {
        asked.push(ip);
        if (ip === '192.0.2.9') return new Promise<string[]>(() => undefined); // never answers
        if (ip === '192.0.2.8') throw new Error('ENOTFOUND');
        return ['Host-1.Example.NET.'];
      },
    });
    assert.equal(await r.lookup('192.0.2.1'), 'host-1.example.net');
    assert.equal(await r.lookup('192.0.2.1'), 'host-1.example.net');
    assert.deepEqual(asked, ['192.0.2.1'], 'second lookup from the cache');
    assert.equal(await r.lookup('192.0.2.8'), undefined);
    assert.equal(await r.lookup('192.0.2.7'), undefined, 'third lookup in the same second is rate-limited');
    assert.equal(r.stats.rateLimited, 1);
    now = 1000;
    assert.equal(await r.lookup('192.0.2.9'), undefined, 'a resolver that never answers times out');
    assert.equal(r.stats.failed, 2);
    assert.equal(await r.lookup('192.0.2.8'), undefined);
    assert.equal(asked.filter((ip) => ip === '192.0.2.8').length, 1, 'failures are cached too');
  });

  it('names an otherwise unnamed connection by PTR, and leaves DNS-named ones alone', async () => {
    const alerts: any[] = [];
    const ptr = new PtrResolver({ reverse: async (ip) => [`ptr-${ip.split('.').join('-')}.example.org`] });
    const p = testPipeline((a) => alerts.push(a), { deps: { ptr } });
    const syn = ethernet({ type: ETHERTYPE_IPV4 }, ipv4({ src: '10.0.0.5', dst: '203.0.113.44', protocol: 6 }, tcp({ srcPort: 40000, dstPort: 22, flags: TCP_SYN, seq: 9 })));
    p.onPacket(syn, syn.length, syn.length, 1000, 1);
    await p.finish();
    assert.equal(alerts.length, 1);
    assert.equal(alerts[0].destination.domain, 'ptr-203-0-113-44.example.org');
    assert.equal(alerts[0].egresswatch.name_source, 'ptr');
    assert.equal(alerts[0].egresswatch.domain_group, 'example.org');
  });
});
