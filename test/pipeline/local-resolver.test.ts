// A local resolver answers over lo: on named interfaces without lo the agent says it cannot see those answers.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { readResolvConf, uncapturedLocalResolvers } from '../../lib/pipeline/local-resolver.js';

describe('pipeline: a local resolver the capture does not see', () => {
  const STUB = '# This is /run/systemd/resolve/stub-resolv.conf managed by man:systemd-resolved(8).\nnameserver 127.0.0.53\noptions edns0 trust-ad\nsearch .\n';

  it('names the loopback nameservers when the interfaces take in neither any nor lo', () => {
    assert.deepEqual(uncapturedLocalResolvers(['eth0'], STUB), ['127.0.0.53']);
    assert.deepEqual(uncapturedLocalResolvers(['eth0', 'eth1'], 'nameserver 127.0.0.1\nnameserver ::1\nnameserver 10.0.0.2\n  nameserver 127.0.0.1\n'), ['127.0.0.1', '::1']);
  });

  it('says nothing on any or with lo, for a resolver elsewhere, or without a resolv.conf', () => {
    assert.deepEqual(uncapturedLocalResolvers(['any'], STUB), []);
    assert.deepEqual(uncapturedLocalResolvers(['eth0', 'lo'], STUB), []);
    assert.deepEqual(uncapturedLocalResolvers(['eth0'], 'nameserver 10.255.255.53\nnameserver 2001:db8::53\n# nameserver 127.0.0.1\n'), []);
    assert.deepEqual(uncapturedLocalResolvers(['eth0'], undefined), []);
  });

  it('reads resolv.conf under the host root', () => {
    const root = fs.mkdtempSync(path.join(os.tmpdir(), 'ew-resolv-'));
    try {
      assert.equal(readResolvConf(root), undefined);
      fs.mkdirSync(path.join(root, 'etc'));
      fs.writeFileSync(path.join(root, 'etc/resolv.conf'), STUB);
      assert.equal(readResolvConf(root), STUB);
    } finally {
      fs.rmSync(root, { recursive: true, force: true });
    }
  });
});
