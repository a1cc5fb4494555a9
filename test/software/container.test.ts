import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ContainerCatalog, parseImageRef, qualifyImageName } from '../../lib/software/index.js';
import { FIXTURES_DIR } from '../helpers/env.js';

const HOSTROOT = path.join(FIXTURES_DIR, 'software', 'hostroot');
const DIGEST = 'sha256:0d17b565c37bcbd895e9d92315a05c1c3c9a29f762b011a10c54a66cd53c9b31';
const ID = {
  k8s: '3f4e1a2b9c8d7e6f5a4b3c2d1e0f9a8b7c6d5e4f3a2b1c0d9e8f7a6b5c4d3e2f',
  pause: '0c1d2e3f4a5b6c7d8e9f0a1b2c3d4e5f6a7b8c9d0e1f2a3b4c5d6e7f8a9b0c1d',
  k3s: 'b7c6d5e4f3a2b1c0d9e8f7a6b5c4d3e2f3f4e1a2b9c8d7e6f5a4b3c2d1e0f9a8',
  docker: 'a1b2c3d4e5f60718293a4b5c6d7e8f90a1b2c3d4e5f60718293a4b5c6d7e8f90',
  dockershim: 'd4e5f60718293a4b5c6d7e8f90a1b2c3d4e5f60718293a4b5c6d7e8f90a1b2c3',
  crio: 'e8f90a1b2c3d4e5f60718293a4b5c6d7e8f90a1b2c3d4e5f60718293a4b5c6d7',
  podman: '5c6d7e8f90a1b2c3d4e5f60718293a4b5c6d7e8f90a1b2c3d4e5f60718293a4b',
  broken: 'f'.repeat(64),
};

describe('software/parseImageRef', () => {
  const rows: [string, ReturnType<typeof parseImageRef>][] = [
    ['nginx', { name: 'nginx' }],
    ['nginx:1.25', { name: 'nginx', tag: '1.25' }],
    ['docker.io/library/nginx:1.25', { name: 'docker.io/library/nginx', tag: '1.25' }],
    ['registry:5000/team/app', { name: 'registry:5000/team/app' }],
    ['registry:5000/team/app:v2', { name: 'registry:5000/team/app', tag: 'v2' }],
    [`app@${DIGEST}`, { name: 'app', digest: DIGEST }],
    [`app:1.2@${DIGEST}`, { name: 'app', tag: '1.2', digest: DIGEST }],
    [`localhost:5000/app:1.2@${DIGEST}`, { name: 'localhost:5000/app', tag: '1.2', digest: DIGEST }],
    [DIGEST, { digest: DIGEST }],
    ['0d17b565c37bcbd895e9d92315a05c1c3c9a29f762b011a10c54a66cd53c9b31', { digest: DIGEST }],
    ['', undefined],
  ];
  for (const [ref, want] of rows) it(`${ref || '(empty)'}`, () => assert.deepEqual(parseImageRef(ref), want));

  it('qualifyImageName makes Docker Hub short names whole and leaves registries alone', () => {
    assert.equal(qualifyImageName('nginx'), 'docker.io/library/nginx');
    assert.equal(qualifyImageName('bitnami/redis'), 'docker.io/bitnami/redis');
    assert.equal(qualifyImageName('docker.io/nginx'), 'docker.io/library/nginx');
    assert.equal(qualifyImageName('index.docker.io/library/nginx'), 'docker.io/library/nginx');
    assert.equal(qualifyImageName('docker.io/library/nginx'), 'docker.io/library/nginx');
    assert.equal(qualifyImageName('registry:5000/team/app'), 'registry:5000/team/app');
    assert.equal(qualifyImageName('localhost/app'), 'localhost/app');
    assert.equal(qualifyImageName('quay.io/prometheus/node-exporter'), 'quay.io/prometheus/node-exporter');
  });
});

describe('software/ContainerCatalog on a fixture host root', () => {
  const catalog = new ContainerCatalog({ hostRoot: HOSTROOT });

  it('containerd (CRI): name, image, pod from the task bundle annotations', async () => {
    const info = await catalog.lookup({ id: ID.k8s, runtime: 'containerd', podUid: '7d9c1c4a-5e2b-4f3a-9c1d-2e8f0b6a4d31' });
    assert.deepEqual(info, {
      id: ID.k8s, runtime: 'containerd', name: 'nginx',
      image: { name: 'docker.io/library/nginx', tag: '1.25.3' },
      pod: { name: 'web-7d4b9c8f6-x2x9k', namespace: 'shop', uid: '7d9c1c4a-5e2b-4f3a-9c1d-2e8f0b6a4d31' },
    });
  });

  it('containerd sandbox is marked and has no image', async () => {
    const info = await catalog.lookup({ id: ID.pause, runtime: 'containerd' });
    assert.equal(info?.sandbox, true);
    assert.equal(info?.image, undefined);
    assert.equal(info?.pod?.namespace, 'shop');
  });

  it('k3s keeps its bundles under run/k3s', async () => {
    const info = await catalog.lookup({ id: ID.k3s, runtime: 'containerd' });
    assert.equal(info?.name, 'coredns');
    assert.deepEqual(info?.image, { name: 'docker.io/rancher/mirrored-coredns-coredns', tag: '1.10.1' });
    assert.equal(info?.pod?.namespace, 'kube-system');
  });

  it('Docker: name without "/", image with registry port, tag and digest', async () => {
    const info = await catalog.lookup({ id: ID.docker, runtime: 'docker' });
    assert.deepEqual(info, {
      id: ID.docker, runtime: 'docker', name: 'billing-api-1',
      image: { name: 'registry.example.com:5000/team/billing', tag: '2.3.1', digest: DIGEST },
    });
  });

  it('a docker container found first through containerd\'s "moby" namespace is still docker, named from config.v2.json', async () => {
    const info = await new ContainerCatalog({ hostRoot: HOSTROOT }).lookup({ id: ID.docker, runtime: 'containerd' });
    assert.equal(info?.runtime, 'docker');
    assert.equal(info?.name, 'billing-api-1');
  });

  it('dockershim: pod and container name from the kubelet labels; image by id only', async () => {
    const info = await catalog.lookup({ id: ID.dockershim, runtime: 'containerd' });
    assert.equal(info?.runtime, 'docker');
    assert.equal(info?.name, 'worker');
    assert.deepEqual(info?.pod, { name: 'jobs-5f6b7c-abcde', namespace: 'batch', uid: '11111111-2222-4333-8444-555555555555' });
    assert.deepEqual(info?.image, { digest: 'sha256:1a2b3c4d5e6f708192a3b4c5d6e7f8091a2b3c4d5e6f708192a3b4c5d6e7f809' });
  });

  it('CRI-O: plain container name from the Labels annotation, image and pod', async () => {
    const info = await catalog.lookup({ id: ID.crio, runtime: 'cri-o' });
    assert.deepEqual(info, {
      id: ID.crio, runtime: 'cri-o', name: 'envoy',
      image: { name: 'docker.io/envoyproxy/envoy', tag: 'v1.28.0' },
      pod: { name: 'gateway-6c9d8-zt4wq', namespace: 'edge', uid: '99999999-8888-4777-a666-555555555555' },
    });
  });

  it('podman: name and image from containers.json', async () => {
    const info = await catalog.lookup({ id: ID.podman, runtime: 'podman' });
    assert.deepEqual(info, { id: ID.podman, runtime: 'podman', name: 'cache', image: { name: 'docker.io/library/redis', tag: '7.2-alpine' } });
  });

  it('unknown and malformed containers are undefined; malformed files are counted', async () => {
    const c = new ContainerCatalog({ hostRoot: HOSTROOT });
    assert.equal(await c.lookup({ id: '9'.repeat(64), runtime: 'docker' }), undefined);
    assert.equal(await c.lookup({ id: ID.broken, runtime: 'docker' }), undefined);
    assert.equal(c.stats.badFiles, 1);
  });

  it('caches per id: hits within the TTL, misses retried after missTtlMs, bounded', async () => {
    const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'ew-catalog-'));
    try {
      let now = 0;
      const c = new ContainerCatalog({ hostRoot: tmp, ttlMs: 60_000, missTtlMs: 1000, maxEntries: 2, now: () => now });
      const id = ID.docker;
      assert.equal(await c.lookup({ id, runtime: 'docker' }), undefined);
      const dir = path.join(tmp, 'var/lib/docker/containers', id);
      fs.mkdirSync(dir, { recursive: true });
      fs.copyFileSync(path.join(HOSTROOT, 'var/lib/docker/containers', id, 'config.v2.json'), path.join(dir, 'config.v2.json'));
      assert.equal(await c.lookup({ id, runtime: 'docker' }), undefined, 'miss cached');
      now = 1500;
      assert.equal((await c.lookup({ id, runtime: 'docker' }))?.name, 'billing-api-1', 'miss expired');
      fs.rmSync(dir, { recursive: true });
      now = 30_000;
      assert.equal((await c.lookup({ id, runtime: 'docker' }))?.name, 'billing-api-1', 'hit cached');
      await c.lookup({ id: ID.k8s, runtime: 'containerd' });
      await c.lookup({ id: ID.crio, runtime: 'cri-o' });
      assert.equal(c.stats.evictions, 1);
      assert.equal(c.stats.hits, 2);
    } finally {
      fs.rmSync(tmp, { recursive: true, force: true });
    }
  });
});
