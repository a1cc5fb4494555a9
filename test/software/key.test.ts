import assert from 'node:assert/strict';
import { softwareKey, type ContainerInfo, type SoftwareIdentity, type SoftwareKind } from '../../lib/software/index.js';

const sw = (id: string, kind: SoftwareKind = 'executable'): SoftwareIdentity => ({ id, kind });
const C = 'a'.repeat(64);
const inContainer = (image: ContainerInfo['image']): ContainerInfo => ({ id: C, runtime: 'containerd', image });

// [what, identity, container, normalised key, exact key]
const ROWS: [string, SoftwareIdentity, ContainerInfo | undefined, string, string][] = [
  ['jar with version', sw('/opt/app/billing-2.3.1.jar', 'jar'), undefined, '/opt/app/billing-*.jar', '/opt/app/billing-2.3.1.jar'],
  ['version directory', sw('/opt/tool/1.4.2/bin/tool'), undefined, '/opt/tool/*/bin/tool', '/opt/tool/1.4.2/bin/tool'],
  ['JDK directory without dots kept', sw('/usr/lib/jvm/java-17-openjdk-amd64/bin/java'), undefined, '/usr/lib/jvm/java-17-openjdk-amd64/bin/java', '/usr/lib/jvm/java-17-openjdk-amd64/bin/java'],
  ['JDK with build number', sw('/usr/lib/jvm/jdk-17.0.9+9/bin/java'), undefined, '/usr/lib/jvm/jdk-*/bin/java', '/usr/lib/jvm/jdk-17.0.9+9/bin/java'],
  ['python minor version', sw('/usr/bin/python3.11'), undefined, '/usr/bin/python3.*', '/usr/bin/python3.11'],
  ['python2 stays apart from python3', sw('/usr/bin/python2.7'), undefined, '/usr/bin/python2.*', '/usr/bin/python2.7'],
  ['curl untouched', sw('/usr/bin/curl'), undefined, '/usr/bin/curl', '/usr/bin/curl'],
  ['lib64 / x86_64 untouched', sw('/usr/lib/x86_64-linux-gnu/lib64/helper'), undefined, '/usr/lib/x86_64-linux-gnu/lib64/helper', '/usr/lib/x86_64-linux-gnu/lib64/helper'],
  ['aws-cli v2 kept, release replaced', sw('/usr/local/aws-cli/v2/2.15.0/dist/aws'), undefined, '/usr/local/aws-cli/v2/*/dist/aws', '/usr/local/aws-cli/v2/2.15.0/dist/aws'],
  ['nvm node', sw('/root/.nvm/versions/node/v20.11.0/bin/node'), undefined, '/root/.nvm/versions/node/*/bin/node', '/root/.nvm/versions/node/v20.11.0/bin/node'],
  ['node tarball dir', sw('/opt/node-v18.19.0-linux-x64/bin/node'), undefined, '/opt/node-*-linux-x64/bin/node', '/opt/node-v18.19.0-linux-x64/bin/node'],
  ['SNAPSHOT jar', sw('/srv/app/orders-1.0.0-SNAPSHOT.jar', 'jar'), undefined, '/srv/app/orders-*.jar', '/srv/app/orders-1.0.0-SNAPSHOT.jar'],
  ['RELEASE jar', sw('/opt/x/spring-boot-app-2.7.18.RELEASE.jar', 'jar'), undefined, '/opt/x/spring-boot-app-*.jar', '/opt/x/spring-boot-app-2.7.18.RELEASE.jar'],
  ['Final jar', sw('/opt/wildfly/jboss-modules-2.1.0.Final.jar', 'jar'), undefined, '/opt/wildfly/jboss-modules-*.jar', '/opt/wildfly/jboss-modules-2.1.0.Final.jar'],
  ['rc qualifier', sw('/opt/svc-3.0.0-rc2/bin/svc'), undefined, '/opt/svc-*/bin/svc', '/opt/svc-3.0.0-rc2/bin/svc'],
  ['kafka scala and kafka versions', sw('/opt/kafka_2.13-3.6.0/bin/connect', 'script'), undefined, '/opt/kafka_*-*/bin/connect', '/opt/kafka_2.13-3.6.0/bin/connect'],
  ['shared object version', sw('/usr/lib/libfoo.so.1.2.3'), undefined, '/usr/lib/libfoo.so.*', '/usr/lib/libfoo.so.1.2.3'],
  ['snap revision', sw('/snap/certbot/3566/bin/python3'), undefined, '/snap/certbot/*/bin/python3', '/snap/certbot/3566/bin/python3'],
  ['nix store hash and version', sw('/nix/store/0c4kjq2l3ymp8r9w7v6s5a4d3f2g1h0z-python3-3.11.6/bin/python3.11'), undefined, '/nix/store/*-python3-*/bin/python3.*', '/nix/store/0c4kjq2l3ymp8r9w7v6s5a4d3f2g1h0z-python3-3.11.6/bin/python3.11'],
  ['dotnet assembly in a versioned dir', sw('/opt/svc/releases/4.2.0/svc.dll', 'dotnet-assembly'), undefined, '/opt/svc/releases/*/svc.dll', '/opt/svc/releases/4.2.0/svc.dll'],
  ['deno URL with @version', sw('https://deno.land/std@0.200.0/http/file_server.ts', 'script'), undefined, 'https://deno.land/std@*/http/file_server.ts', 'https://deno.land/std@0.200.0/http/file_server.ts'],
  ['VS Code server commit', sw('/root/.vscode-server/bin/0ee08df0cf4527e40edc9aa28f4b5bd38bbff2b2/node'), undefined, '/root/.vscode-server/bin/*/node', '/root/.vscode-server/bin/0ee08df0cf4527e40edc9aa28f4b5bd38bbff2b2/node'],
  ['VS Code CLI server Stable-<commit>', sw('/home/dev/.vscode-server/cli/servers/Stable-f1a4fb101478ce6ec82fe9627c43efbf9e98c813/server/node'), undefined, '/home/dev/.vscode-server/cli/servers/Stable-*/server/node', '/home/dev/.vscode-server/cli/servers/Stable-f1a4fb101478ce6ec82fe9627c43efbf9e98c813/server/node'],
  ['Bazel output base (MD5)', sw('/root/.cache/bazel/_bazel_root/8f14e45fceea167a5a36dedd4bea2543/execroot/ws/bazel-out/k8-fastbuild/bin/tool'), undefined, '/root/.cache/bazel/_bazel_root/*/execroot/ws/bazel-out/k8-fastbuild/bin/tool', '/root/.cache/bazel/_bazel_root/8f14e45fceea167a5a36dedd4bea2543/execroot/ws/bazel-out/k8-fastbuild/bin/tool'],
  ['pod UUID directory', sw('/var/lib/kubelet/pods/1b2c3d4e-aaaa-4bbb-8ccc-0123456789ab/volumes/kubernetes.io~empty-dir/tools/agent'), undefined, '/var/lib/kubelet/pods/*/volumes/kubernetes.io~empty-dir/tools/agent', '/var/lib/kubelet/pods/1b2c3d4e-aaaa-4bbb-8ccc-0123456789ab/volumes/kubernetes.io~empty-dir/tools/agent'],
  ['AppImage mount point', sw('/tmp/.mount_nvim.aQx7Tz/usr/bin/nvim'), undefined, '/tmp/.mount_*/usr/bin/nvim', '/tmp/.mount_nvim.aQx7Tz/usr/bin/nvim'],
  ['go run build directory', sw('/tmp/go-build3126609841/b001/exe/fetch'), undefined, '/tmp/go-build*/b001/exe/fetch', '/tmp/go-build3126609841/b001/exe/fetch'],
  ['short hex names kept', sw('/opt/deadbeef/bin/cafe1234'), undefined, '/opt/deadbeef/bin/cafe1234', '/opt/deadbeef/bin/cafe1234'],
  ['bare integers kept', sw('/opt/releases/20240115/bin/app'), undefined, '/opt/releases/20240115/bin/app', '/opt/releases/20240115/bin/app'],
  ['java class untouched', sw('org.apache.zookeeper.server.quorum.QuorumPeerMain', 'java-class'), undefined, 'org.apache.zookeeper.server.quorum.QuorumPeerMain', 'org.apache.zookeeper.server.quorum.QuorumPeerMain'],
  ['python module with digits untouched', sw('app.v1.2.wsgi', 'python-module'), undefined, 'app.v1.2.wsgi', 'app.v1.2.wsgi'],
  ['inline untouched', sw('python3 -c', 'inline'), undefined, 'python3 -c', 'python3 -c'],
  ['container: qualified image, no tag', sw('/usr/sbin/nginx'), inContainer({ name: 'docker.io/library/nginx', tag: '1.25.3' }), 'docker.io/library/nginx', 'docker.io/library/nginx:1.25.3'],
  ['container: Docker short name qualified', sw('/usr/sbin/nginx'), inContainer({ name: 'nginx', tag: '1.25' }), 'docker.io/library/nginx', 'docker.io/library/nginx:1.25'],
  ['container: registry port and digest', sw('/opt/app/billing-2.3.1.jar', 'jar'), inContainer({ name: 'registry.example.com:5000/team/billing', tag: '2.3.1', digest: 'sha256:0d17' }), 'registry.example.com:5000/team/billing', 'registry.example.com:5000/team/billing:2.3.1'],
  ['container: digest only', sw('/app/server'), inContainer({ name: 'ghcr.io/acme/server', digest: 'sha256:0d17' }), 'ghcr.io/acme/server', 'ghcr.io/acme/server@sha256:0d17'],
  ['container with image id only: in-container id, normalised', sw('/app/worker-1.2.0.py', 'script'), inContainer({ digest: 'sha256:1a2b' }), '/app/worker-*.py', '/app/worker-1.2.0.py'],
];

describe('software/softwareKey', () => {
  it(`has at least 25 cases (${ROWS.length})`, () => assert.ok(ROWS.length >= 25));
  for (const [what, id, container, normalised, exact] of ROWS) {
    it(`${what}: ${normalised}`, () => {
      assert.equal(softwareKey(id, container), normalised);
      assert.equal(softwareKey(id, container, { normalize: false }), exact);
    });
  }
});
