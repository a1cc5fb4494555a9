// toOcsf: a full alert built by the real alert model, mapped to an OCSF Detection Finding and
// checked field by field; and a bare, unattributed alert that must not invent anything.
import assert from 'node:assert/strict';
import { Flow } from '../../lib/flows/index.js';
import { buildAlert, RULE_ID, RULE_NAME, type ConnectionFacts } from '../../lib/alerts/index.js';
import { OCSF_VERSION, toOcsf } from '../../lib/outputs/index.js';

const START = Date.UTC(2026, 11, 4, 12, 0, 0);
const NOW = START + 10_000;
const DAY = 86_400_000;
const SHA = 'ab'.repeat(32);
const ctx = { hostName: 'web-1', hostId: 'host-uid-1', agentVersion: '0.3.0', baselineWindowDays: 90, now: NOW };

function flow(ended: boolean): Flow {
  const f = new Flow('tcp', 4, '10.0.0.5', 40000, '203.0.113.10', 443, START, true);
  f.clientBytes = 600;
  f.serverBytes = 12_000;
  f.clientPackets = 6;
  f.serverPackets = 10;
  if (ended) {
    f.ended = true;
    f.lastTime = START + 4000;
  }
  return f;
}

function fullFacts(): ConnectionFacts {
  return {
    flow: flow(true),
    domain: 'api.example.com',
    cnameChain: ['edge.cdn.example.net'],
    alternatives: [],
    answerAgeMs: 15,
    nameSource: 'dns',
    resolvedByProcess: true,
    registeredDomain: 'example.com',
    domainGroup: 'example.com',
    attribution: 'procfs-socket',
    confidence: 'high',
    process: {
      pid: 42, ppid: 7, name: 'python3', exe: '/usr/bin/python3.11', argv: ['python3', '/opt/app/worker.py'],
      commandLine: 'python3 /opt/app/worker.py', cwd: '/opt/app', uid: 1001, userName: 'app',
      startTime: new Date(START - 3600_000).toISOString(),
      parent: { pid: 7, name: 'bash', exe: '/usr/bin/bash', commandLine: 'bash -c run' },
      parents: [
        { pid: 7, name: 'bash', exe: '/usr/bin/bash', commandLine: 'bash -c run' },
        { pid: 1, name: 'systemd', exe: '/usr/lib/systemd/systemd', commandLine: '/sbin/init' },
      ],
    },
    software: { id: '/opt/app/worker.py', kind: 'script', interpreter: '/usr/bin/python3.11' },
    softwareKey: '/opt/app/worker.py',
    mainFile: { path: '/opt/app/worker.py', sha256: SHA, size: 1234, mtime: new Date(START - 2 * DAY).toISOString(), changed: false },
    container: {
      id: 'c'.repeat(64), runtime: 'containerd', name: 'worker',
      image: { name: 'registry.example.com/app/worker', tag: '1.4', digest: 'sha256:' + 'd'.repeat(64) },
      pod: { name: 'worker-6d9f', namespace: 'jobs', uid: '0f0e0d0c-0000-4000-8000-000000000001' },
    },
    novelFor: ['host', 'software'],
    hostFirstSeen: START - 200 * DAY,
    softwareFirstSeen: START - 150 * DAY,
  };
}

describe('outputs/ocsf', () => {
  const alert = buildAlert(fullFacts(), ctx);
  const o = toOcsf(alert) as Record<string, any>;
  const ecs = alert as Record<string, any>;

  it('is a Detection Finding: Create, with class, category, type, severity, status and times', () => {
    assert.equal(o.class_uid, 2004);
    assert.equal(o.class_name, 'Detection Finding');
    assert.equal(o.category_uid, 2);
    assert.equal(o.category_name, 'Findings');
    assert.equal(o.activity_id, 1);
    assert.equal(o.activity_name, 'Create');
    assert.equal(o.type_uid, 200401);
    assert.equal(o.severity_id, 3); // new for the whole host
    assert.equal(o.severity, 'Medium');
    assert.equal(o.confidence_id, 3);
    assert.equal(o.status_id, 1);
    assert.equal(o.is_alert, true);
    assert.equal(o.time, NOW); // event.created, ms
    assert.equal(o.start_time, START);
    assert.equal(o.end_time, START + 4000);
    assert.equal(o.message, ecs.message);
  });

  it('metadata: product, schema version, uid = event.id', () => {
    assert.deepEqual(o.metadata.product, { name: 'egresswatch', vendor_name: 'egresswatch', version: '0.3.0' });
    assert.equal(o.metadata.version, OCSF_VERSION);
    assert.match(o.metadata.version, /^1\.\d+\.\d+$/);
    assert.equal(o.metadata.uid, ecs.event.id);
    assert.equal(o.metadata.log_name, 'egresswatch.alert');
  });

  it('finding_info: uid, title = rule name, desc = message, types, first/last seen, analytic', () => {
    const fi = o.finding_info;
    assert.equal(fi.uid, ecs.event.id);
    assert.equal(fi.title, RULE_NAME);
    assert.equal(fi.desc, ecs.message);
    assert.deepEqual(fi.types, ['New External Host Server Connection']);
    assert.equal(fi.first_seen_time, START);
    assert.equal(fi.last_seen_time, START + 4000);
    assert.equal(fi.created_time, NOW);
    assert.deepEqual(fi.analytic, { uid: RULE_ID, name: RULE_NAME, category: 'egress', type_id: 2, type: 'Behavioral' });
  });

  it('device and endpoints', () => {
    assert.deepEqual(o.device, { hostname: 'web-1', name: 'web-1', uid: 'host-uid-1', type_id: 0, type: 'Unknown' });
    const ev = o.evidences[0];
    assert.equal(o.evidences.length, 1);
    assert.deepEqual(ev.src_endpoint, { ip: '10.0.0.5', port: 40000, hostname: 'web-1' });
    assert.deepEqual(ev.dst_endpoint, { ip: '203.0.113.10', port: 443, hostname: 'api.example.com', domain: 'example.com' });
    assert.deepEqual(ev.connection_info, {
      protocol_name: 'tcp', protocol_num: 6, protocol_ver_id: 4, protocol_ver: 'Internet Protocol version 4 (IPv4)', direction_id: 2, direction: 'Outbound',
    });
    assert.deepEqual(ev.query, { hostname: 'api.example.com' });
    assert.deepEqual(ev.device, o.device);
  });

  it('the live host\'s OS goes to device.os (Linux, type_id 200)', () => {
    const hostOs = { os: { type: 'linux', name: 'Ubuntu', version: '22.04', platform: 'ubuntu', kernel: '6.8.0-45-generic' }, architecture: 'x86_64' };
    const withOs = toOcsf(buildAlert(fullFacts(), { ...ctx, hostOs })) as Record<string, any>;
    assert.deepEqual(withOs.device.os, { name: 'Ubuntu', type_id: 200, type: 'Linux', version: '22.04', kernel_release: '6.8.0-45-generic' });
  });

  it('traffic from the host side: out = source bytes, in = destination bytes', () => {
    assert.deepEqual(o.evidences[0].data.traffic, { bytes_out: 600, packets_out: 6, bytes_in: 12_000, packets_in: 10, bytes: 12_600, packets: 16 });
  });

  it('process: pid, name, cmd_line, start, file, user, parent, lineage — as actor and evidence', () => {
    const p = o.actor.process;
    assert.equal(p.pid, 42);
    assert.equal(p.name, 'python3');
    assert.equal(p.cmd_line, 'python3 /opt/app/worker.py');
    assert.equal(p.created_time, START - 3600_000);
    assert.deepEqual(p.file, { name: 'python3.11', path: '/usr/bin/python3.11', type_id: 1, type: 'Regular File' });
    assert.deepEqual(p.user, { name: 'app', uid: '1001' });
    assert.deepEqual(p.parent_process, { pid: 7, name: 'bash', cmd_line: 'bash -c run', file: { name: 'bash', path: '/usr/bin/bash', type_id: 1, type: 'Regular File' } });
    assert.deepEqual(p.lineage, ['/usr/bin/bash', '/usr/lib/systemd/systemd']);
    assert.deepEqual(o.actor.user, { name: 'app', uid: '1001' });
    assert.deepEqual(o.evidences[0].process, p);
    assert.deepEqual(o.evidences[0].user, { name: 'app', uid: '1001' });
  });

  it('software main file with its SHA-256', () => {
    assert.deepEqual(o.evidences[0].file, {
      name: 'worker.py', path: '/opt/app/worker.py', type_id: 1, type: 'Regular File', size: 1234,
      modified_time: START - 2 * DAY, hashes: [{ algorithm_id: 3, algorithm: 'SHA-256', value: SHA }],
    });
  });

  it('container and pod', () => {
    assert.deepEqual(o.evidences[0].container, {
      uid: 'c'.repeat(64), name: 'worker', runtime: 'containerd',
      image: { name: 'registry.example.com/app/worker', tag: '1.4', uid: 'sha256:' + 'd'.repeat(64) },
      orchestrator: 'Kubernetes', pod_uuid: '0f0e0d0c-0000-4000-8000-000000000001',
    });
    assert.deepEqual(o.unmapped.orchestrator, ecs.orchestrator);
    assert.equal(o.unmapped.orchestrator.namespace, 'jobs');
  });

  it('observables: domain, IPs, port, process, user, hash, container', () => {
    const by = new Map<string, any>(o.observables.map((x: any) => [x.name, x]));
    const expect: [string, number, string][] = [
      ['evidences.dst_endpoint.hostname', 1, 'api.example.com'],
      ['evidences.dst_endpoint.domain', 1, 'example.com'],
      ['evidences.dst_endpoint.ip', 2, '203.0.113.10'],
      ['evidences.dst_endpoint.port', 11, '443'],
      ['evidences.src_endpoint.ip', 2, '10.0.0.5'],
      ['device.hostname', 1, 'web-1'],
      ['actor.process.name', 9, 'python3'],
      ['actor.process.pid', 15, '42'],
      ['actor.process.cmd_line', 13, 'python3 /opt/app/worker.py'],
      ['actor.process.file.name', 7, 'python3.11'],
      ['actor.user.name', 4, 'app'],
      ['evidences.file.hashes.value', 8, SHA],
      ['evidences.container.uid', 10, 'c'.repeat(64)],
    ];
    assert.equal(o.observables.length, expect.length);
    for (const [name, typeId, value] of expect) {
      assert.equal(by.get(name)?.type_id, typeId, name);
      assert.equal(by.get(name)?.value, value, name);
      assert.equal(typeof by.get(name)?.type, 'string', name);
    }
  });

  it('anomaly_analyses: one per baseline it is new for, with window and earlier first sighting', () => {
    const aa = o.anomaly_analyses;
    assert.equal(aa.length, 2);
    assert.deepEqual(aa[0].analysis_targets, [{ name: 'web-1', type: 'Host' }]);
    assert.deepEqual(aa[1].analysis_targets, [{ name: '/opt/app/worker.py', type: 'Software' }]);
    for (const [i, firstSeen] of [[0, START - 200 * DAY], [1, START - 150 * DAY]] as const) {
      const b = aa[i].baselines[0];
      assert.equal(b.observation_parameter, 'destination domain group');
      assert.equal(b.observed_pattern, 'UNSEEN');
      assert.deepEqual(b.observations[0], { value: 'example.com', count: 0, timespan: { start_time: NOW - 90 * DAY, end_time: NOW, duration_days: 90 } });
      assert.deepEqual(b.observations[1], { value: 'example.com', timespan: { start_time: firstSeen } });
      const an = aa[i].anomalies[0];
      assert.equal(an.observed_pattern, 'UNSEEN');
      assert.deepEqual(an.observations, [{ value: 'example.com', count: 1, timespan: { start_time: START } }]);
    }
  });

  it('keeps what OCSF has no field for under unmapped, and writes no undefined or null', () => {
    assert.deepEqual(o.unmapped.egresswatch, ecs.egresswatch);
    assert.deepEqual(o.unmapped.process, { working_directory: '/opt/app', args: ['python3', '/opt/app/worker.py'] });
    const walk = (v: unknown, at: string): void => {
      assert.ok(v !== undefined && v !== null, `${at} is ${v}`);
      if (typeof v === 'object') for (const [k, x] of Object.entries(v as object)) walk(x, `${at}.${k}`);
    };
    walk(JSON.parse(JSON.stringify(o)), 'o');
    assert.deepEqual(JSON.parse(JSON.stringify(o)), o);
  });

  it('an unattributed bare-IP alert invents no process, user, container or domain; new only for software is Low', () => {
    const bare = buildAlert({
      flow: flow(false), cnameChain: [], alternatives: [], nameSource: 'none', domainGroup: '203.0.113.10',
      attribution: 'none', novelFor: ['host'],
    }, ctx);
    const b = toOcsf(bare) as Record<string, any>;
    assert.equal(b.actor, undefined);
    assert.equal(b.end_time, undefined);
    assert.equal(b.finding_info.last_seen_time, undefined);
    assert.equal(b.confidence_id, 1);
    const ev = b.evidences[0];
    for (const k of ['process', 'user', 'file', 'container', 'query']) assert.equal(ev[k], undefined, k);
    assert.deepEqual(ev.dst_endpoint, { ip: '203.0.113.10', port: 443 });
    assert.deepEqual(b.observables.map((x: any) => x.name).sort(), ['device.hostname', 'evidences.dst_endpoint.ip', 'evidences.dst_endpoint.port', 'evidences.src_endpoint.ip']);
    assert.deepEqual(b.anomaly_analyses.map((a: any) => a.analysis_targets[0].type), ['Host']);
    const sw = toOcsf(buildAlert({ ...fullFacts(), novelFor: ['software'] }, ctx)) as Record<string, any>;
    assert.equal(sw.severity_id, 2);
    assert.deepEqual(sw.anomaly_analyses.map((a: any) => a.analysis_targets[0].type), ['Software']);
  });
});
