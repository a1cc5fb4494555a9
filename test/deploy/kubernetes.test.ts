// deploy/kubernetes: every manifest parses, every object validates against the Kubernetes
// OpenAPI-derived JSON schemas (kubernetes-models: types, required fields, enums), and the
// DaemonSet holds the settings the agent depends on, checked as a table of paths and values
// (the schemas accept unknown keys and say nothing about what this agent needs). The config
// in the ConfigMap is loaded by the agent itself.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseAllDocuments } from 'yaml';
import { DaemonSet } from 'kubernetes-models/apps/v1/DaemonSet';
import { ConfigMap } from 'kubernetes-models/v1/ConfigMap';
import { Namespace } from 'kubernetes-models/v1/Namespace';
import { ServiceAccount } from 'kubernetes-models/v1/ServiceAccount';
import { REPO_ROOT, corpusFile, requirePrereq } from '../helpers/env.js';
import { describeResult, runSync } from './run.js';
import { at, type Obj } from './paths.js';

const DIR = path.join(REPO_ROOT, 'deploy', 'kubernetes');
const MODELS: Record<string, new (o: never) => { validate(): void }> = {
  'apps/v1/DaemonSet': DaemonSet, 'v1/ConfigMap': ConfigMap, 'v1/Namespace': Namespace, 'v1/ServiceAccount': ServiceAccount,
};

function loadYaml(file: string): Obj[] {
  const docs = parseAllDocuments(fs.readFileSync(file, 'utf8'));
  return docs.map((d) => {
    assert.deepEqual(d.errors.map((e) => e.message), [], `${file}: YAML errors`);
    return d.toJS() as Obj;
  }).filter((o) => o !== null);
}

describe('deploy: kubernetes manifests', () => {
  const kustomization = loadYaml(path.join(DIR, 'kustomization.yaml'))[0];
  const resources = at(kustomization, 'resources') as string[];
  const objects = resources.flatMap((r) => loadYaml(path.join(DIR, r)));
  const find = (kind: string): Obj => {
    const o = objects.find((x) => x.kind === kind);
    assert.ok(o, `no ${kind} among ${resources.join(', ')}`);
    return o;
  };

  it('kustomization lists every manifest in the folder', () => {
    const files = fs.readdirSync(DIR).filter((f) => f.endsWith('.yaml') && f !== 'kustomization.yaml').sort();
    assert.deepEqual([...resources].sort(), files);
    assert.equal(kustomization.namespace, 'egresswatch');
  });

  it('every object validates against the Kubernetes schemas', () => {
    assert.deepEqual(objects.map((o) => o.kind).sort(), ['ConfigMap', 'DaemonSet', 'Namespace', 'ServiceAccount']);
    for (const o of objects) {
      const Model = MODELS[`${String(o.apiVersion)}/${String(o.kind)}`];
      assert.ok(Model, `no schema for ${String(o.apiVersion)} ${String(o.kind)}`);
      assert.doesNotThrow(() => new Model(o as never).validate(), `${String(o.kind)} invalid`);
      if (o.kind !== 'Namespace') assert.equal(at(o, 'metadata.namespace'), 'egresswatch', `${String(o.kind)} namespace`);
    }
  });

  it('the schema check is live: a broken DaemonSet is rejected', () => {
    const broken = structuredClone(find('DaemonSet'));
    (at(broken, 'spec.template.spec.containers.0.securityContext.capabilities') as Obj).add = 'NET_RAW';
    assert.throws(() => new DaemonSet(broken as never).validate(), /capabilities\/add/);
  });

  it('the DaemonSet holds what the agent needs', () => {
    const ds = find('DaemonSet');
    const table: [string, unknown][] = [
      ['spec.updateStrategy.type', 'RollingUpdate'],
      ['spec.template.spec.hostNetwork', true],
      ['spec.template.spec.hostPID', true],
      ['spec.template.spec.dnsPolicy', 'ClusterFirstWithHostNet'],
      ['spec.template.spec.automountServiceAccountToken', false],
      ['spec.template.spec.tolerations', [{ operator: 'Exists' }]],
      ['spec.template.spec.containers.0.args', ['run', '--proc-root', '/host/proc', '--host-root', '/host', '--metrics-listen', '0.0.0.0:9500']],
      ['spec.template.spec.containers.0.securityContext.runAsUser', 0],
      ['spec.template.spec.containers.0.securityContext.privileged', false],
      ['spec.template.spec.containers.0.securityContext.allowPrivilegeEscalation', false],
      ['spec.template.spec.containers.0.securityContext.readOnlyRootFilesystem', true],
      ['spec.template.spec.containers.0.securityContext.capabilities.drop', ['ALL']],
      ['spec.template.spec.containers.0.securityContext.capabilities.add', ['NET_RAW', 'NET_ADMIN', 'SYS_PTRACE', 'DAC_READ_SEARCH']],
      ['spec.template.spec.containers.0.livenessProbe.httpGet.path', '/healthz'],
      ['spec.template.spec.containers.0.readinessProbe.httpGet.path', '/readyz'],
      ['spec.template.spec.containers.0.ports.0.containerPort', 9500],
    ];
    for (const [p, want] of table) assert.deepEqual(at(ds, p), want, p);
    assert.ok(at(ds, 'spec.updateStrategy.rollingUpdate.maxUnavailable') !== undefined, 'maxUnavailable');
    for (const p of ['requests.cpu', 'requests.memory', 'limits.cpu', 'limits.memory']) {
      assert.ok(at(ds, `spec.template.spec.containers.0.resources.${p}`), `resources.${p}`);
    }
    const labels = at(ds, 'spec.template.metadata.labels') as Obj;
    for (const [k, v] of Object.entries(at(ds, 'spec.selector.matchLabels') as Obj)) assert.equal(labels[k], v, `selector ${k}`);
    const env = at(ds, 'spec.template.spec.containers.0.env') as Obj[];
    assert.deepEqual(env.find((e) => e.name === 'EGRESSWATCH_HOST_NAME')?.valueFrom, { fieldRef: { fieldPath: 'spec.nodeName' } });
  });

  it('mounts: host /proc and / read-only, state and logs on the node, config from the ConfigMap', () => {
    const ds = find('DaemonSet');
    const mounts = new Map((at(ds, 'spec.template.spec.containers.0.volumeMounts') as Obj[]).map((m) => [m.mountPath as string, m]));
    const volumes = new Map((at(ds, 'spec.template.spec.volumes') as Obj[]).map((v) => [v.name as string, v]));
    const volumeAt = (mountPath: string): Obj => {
      const m = mounts.get(mountPath);
      assert.ok(m, `nothing mounted at ${mountPath}`);
      const v = volumes.get(m.name as string);
      assert.ok(v, `volume ${String(m.name)} not declared`);
      return { ...v, mount: m };
    };
    const hostProc = volumeAt('/host/proc');
    assert.deepEqual([at(hostProc, 'hostPath.path'), at(hostProc, 'mount.readOnly')], ['/proc', true]);
    const hostRoot = volumeAt('/host');
    assert.deepEqual([at(hostRoot, 'hostPath.path'), at(hostRoot, 'mount.readOnly'), at(hostRoot, 'mount.mountPropagation')], ['/', true, 'HostToContainer']);
    for (const dir of ['/var/lib/egresswatch', '/var/log/egresswatch']) {
      const v = volumeAt(dir);
      assert.deepEqual([at(v, 'hostPath.path'), at(v, 'hostPath.type'), at(v, 'mount.readOnly')], [dir, 'DirectoryOrCreate', undefined], dir);
    }
    const conf = volumeAt('/etc/egresswatch');
    assert.equal(at(conf, 'configMap.name'), at(find('ConfigMap'), 'metadata.name'));
    assert.equal(at(ds, 'spec.template.spec.serviceAccountName'), at(find('ServiceAccount'), 'metadata.name'));
    // Every other mount is read-only: the root file system is, so writes go only to these.
    for (const [p, m] of mounts) if (!['/var/lib/egresswatch', '/var/log/egresswatch', '/tmp'].includes(p)) assert.equal(m.readOnly, true, `${p} writable`);
  });

  it('mounts every runtime metadata directory the container catalog reads, read-only, on its own', () => {
    const ds = find('DaemonSet');
    const mounts = at(ds, 'spec.template.spec.containers.0.volumeMounts') as Obj[];
    const volumes = new Map((at(ds, 'spec.template.spec.volumes') as Obj[]).map((v) => [v.name as string, v]));
    // The directories come from the catalog's source, so a runtime path added there without a
    // mount here fails this test.
    const source = fs.readFileSync(path.join(REPO_ROOT, 'lib', 'software', 'container-catalog.ts'), 'utf8');
    const dirs = [...new Set([...source.matchAll(/['`]((?:run|var\/lib)\/[^'`$]*?)\/?(?:\$\{[^'`]*)?['`]/g)].map((m) => m[1]))].sort();
    assert.ok(dirs.length >= 6, `catalog paths found: ${dirs.join(', ')}`);
    for (const dir of dirs) {
      const m = mounts.find((x) => x.mountPath === `/host/${dir}`);
      assert.ok(m, `/host/${dir} is not mounted on its own`);
      const v = volumes.get(m.name as string);
      assert.deepEqual([at(v as Obj, 'hostPath.path'), at(v as Obj, 'hostPath.type')], [`/${dir}`, 'DirectoryOrCreate'], dir);
      assert.deepEqual([m.readOnly, m.recursiveReadOnly, m.mountPropagation], [true, 'IfPossible', undefined], dir);
    }
    // Not the runtimes' sockets: no mount of /run or of a runtime's top directory.
    for (const m of mounts) assert.ok(!/^\/host\/run(\/containerd|\/k3s\/containerd|\/containers)?$/.test(m.mountPath as string), String(m.mountPath));
  });

  it('the agent accepts the ConfigMap\'s config file', function () {
    const pcap = corpusFile('tcpdump/dns_tcp.pcap');
    requirePrereq(this, fs.existsSync(pcap), `corpus capture ${pcap}`);
    const env = (at(find('DaemonSet'), 'spec.template.spec.containers.0.env') as Obj[]).find((e) => e.name === 'EGRESSWATCH_CONFIG');
    assert.equal(env?.value, '/etc/egresswatch/egresswatch.yaml');
    const text = (at(find('ConfigMap'), 'data') as Obj)['egresswatch.yaml'];
    assert.equal(typeof text, 'string', 'ConfigMap has no egresswatch.yaml key');
    const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'ew-k8s-'));
    try {
      const file = path.join(tmp, 'egresswatch.yaml');
      fs.writeFileSync(file, text as string);
      const r = runSync(process.execPath, [path.join(REPO_ROOT, 'dist', 'agent', 'cli.js'), 'replay', '--config', file,
        '--state-dir', path.join(tmp, 'state'), '--alerts-file', path.join(tmp, 'alerts.json'), '--stats-json', pcap], { timeoutMs: 30_000 });
      assert.equal(r.code, 0, describeResult(r));
    } finally {
      fs.rmSync(tmp, { recursive: true, force: true });
    }
  });
});
