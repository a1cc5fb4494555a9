import assert from 'node:assert/strict';
import { Flow } from '../../lib/flows/index.js';
import { buildAlert, alertId, alertLine, escapeControl, AlertHold, MAX_COMMAND_LINE, NO_ANSWER_MS, RULE_NAME, type ConnectionFacts } from '../../lib/alerts/index.js';

function flow(start = Date.UTC(2026, 11, 4, 12, 0, 0)): Flow {
  const f = new Flow('tcp', 4, '10.0.0.5', 40000, '203.0.113.10', 443, start, true);
  f.clientBytes = 600;
  f.serverBytes = 12_000;
  f.clientPackets = 6;
  f.serverPackets = 10;
  return f;
}

const ctx = { hostName: 'web-1', hostId: 'abc', agentVersion: '0.1.0', baselineWindowDays: 90, now: Date.UTC(2026, 11, 4, 12, 0, 10) };

function facts(over: Partial<ConnectionFacts> = {}): ConnectionFacts {
  return {
    flow: flow(),
    domain: 'api.example.com',
    cnameChain: ['edge.cdn.example.net'],
    alternatives: ['other.example.org'],
    answerAgeMs: 15,
    nameSource: 'dns',
    registeredDomain: 'example.com',
    domainGroup: 'example.com',
    attribution: 'procfs-socket',
    process: {
      pid: 42, ppid: 1, name: 'python3', exe: '/usr/bin/python3.11', argv: ['python3', '/opt/app/worker.py'],
      commandLine: 'python3 /opt/app/worker.py', cwd: '/opt/app', uid: 1001, userName: 'app',
      parent: { pid: 1, name: 'systemd', exe: '/usr/lib/systemd/systemd', commandLine: '/sbin/init' },
      parents: [{ pid: 1, name: 'systemd', exe: '/usr/lib/systemd/systemd', commandLine: '/sbin/init' }],
    },
    software: { id: '/opt/app/worker.py', kind: 'script', interpreter: '/usr/bin/python3.11' },
    novelFor: ['host', 'software'],
    ...over,
  };
}

describe('alerts/model', () => {
  it('writes the ECS fields a security team reads', () => {
    const a = buildAlert(facts(), ctx) as Record<string, any>;
    assert.equal(a['@timestamp'], '2026-12-04T12:00:00.000Z');
    assert.equal(a.event.kind, 'alert');
    assert.equal(a.rule.name, RULE_NAME);
    assert.equal(a.host.name, 'web-1');
    assert.equal(a.process.pid, 42);
    assert.equal(a.process.executable, '/usr/bin/python3.11');
    assert.equal(a.process.parent.executable, '/usr/lib/systemd/systemd');
    assert.deepEqual(a.user, { id: '1001', name: 'app' });
    assert.deepEqual(a.source, { ip: '10.0.0.5', port: 40000, bytes: 600, packets: 6 });
    assert.equal(a.destination.domain, 'api.example.com');
    assert.equal(a.destination.registered_domain, 'example.com');
    assert.equal(a.destination.bytes, 12_000);
    assert.equal(a.network.direction, 'egress');
    assert.equal(a.network.type, 'ipv4');
    assert.equal(a.egresswatch.software.id, '/opt/app/worker.py');
    assert.equal(a.egresswatch.software.kind, 'script');
    assert.deepEqual(a.egresswatch.novel_for, ['host', 'software']);
    assert.deepEqual(a.egresswatch.dns.alternatives, ['other.example.org']);
    assert.equal(a.egresswatch.attribution.method, 'procfs-socket');
    assert.equal(a.egresswatch.flow.open, true);
    assert.equal(a.event.end, undefined);
  });

  it('cuts command lines of hundreds of KB (a JVM classpath) to MAX_COMMAND_LINE and names what it cut', () => {
    const classpath = Array.from({ length: 4000 }, (_, i) => `/opt/spark/jars/lib-${i}-1.0.0.jar`).join(':'); // ~140,000 characters
    const argv = ['/usr/lib/jvm/java-17/bin/java', '-cp', classpath, 'org.apache.spark.deploy.SparkSubmit', '--class', 'Job'];
    const line = argv.join(' ');
    const parentLine = `/bin/bash /opt/spark/bin/spark-class ${line}`;
    const process = {
      ...facts().process!, argv, commandLine: line,
      parent: { pid: 7, name: 'bash', exe: '/usr/bin/bash', commandLine: parentLine },
      parents: [{ pid: 7, name: 'bash', exe: '/usr/bin/bash', commandLine: parentLine }, { pid: 1, name: 'systemd', commandLine: '/sbin/init' }],
    };
    const a = buildAlert(facts({ process }), ctx) as Record<string, any>;
    for (const text of [a.process.command_line, a.process.parent.command_line, a.egresswatch.process.ancestors[0].command_line]) {
      assert.equal(text.length, MAX_COMMAND_LINE);
      assert.ok(text.endsWith('…'));
    }
    assert.ok(line.startsWith(a.process.command_line.slice(0, -1)), 'a prefix of the real one');
    assert.equal(a.egresswatch.process.ancestors[1].command_line, '/sbin/init', 'a short one is whole');
    assert.deepEqual(a.process.args.slice(0, 2), ['/usr/lib/jvm/java-17/bin/java', '-cp']);
    assert.ok(a.process.args.join(' ').length <= MAX_COMMAND_LINE);
    assert.deepEqual(a.egresswatch.truncated, ['egresswatch.process.ancestors.0.command_line', 'process.command_line', 'process.args', 'process.parent.command_line']);
    assert.ok(JSON.stringify(a).length < 6 * MAX_COMMAND_LINE, `alert of ${JSON.stringify(a).length} characters`);
    // Nothing cut: no egresswatch.truncated, every field whole.
    const small = buildAlert(facts(), ctx) as Record<string, any>;
    assert.equal(small.egresswatch.truncated, undefined);
    assert.equal(small.process.command_line, 'python3 /opt/app/worker.py');
    assert.deepEqual(small.process.args, ['python3', '/opt/app/worker.py']);
  });

  it('adds the effective user when it differs, and the login user behind sudo', () => {
    const base = facts().process as NonNullable<ConnectionFacts['process']>;
    const a = buildAlert(facts({ process: { ...base, uid: 0, userName: 'root', euid: 1001, effectiveUserName: 'app', loginUid: 1000, loginUserName: 'alice' } }), ctx) as Record<string, any>;
    assert.deepEqual(a.user, { id: '0', name: 'root', effective: { id: '1001', name: 'app' } });
    assert.deepEqual(a.egresswatch.login_user, { id: '1000', name: 'alice' });
    const rootless = buildAlert(facts({ process: { ...base, uid: 100000, nsUid: 0, userName: 'root' } }), ctx) as Record<string, any>;
    assert.deepEqual(rootless.user, { id: '100000', name: 'root' });
    assert.deepEqual(rootless.egresswatch.user_namespace, { uid: '0' });
    assert.equal((buildAlert(facts(), ctx) as Record<string, any>).egresswatch.user_namespace, undefined);
    assert.match(a.message, /\(pid 42, user root, logged in as alice\)/);
    assert.match(alertLine(a), / pid=42 user=root login=alice -> /);
    const plain = buildAlert(facts(), ctx) as Record<string, any>;
    assert.equal(plain.egresswatch.login_user, undefined);
    assert.doesNotMatch(plain.message, /logged in/);
  });

  it('says whether the connection got through: event.outcome, answered, the TCP handshake, the message', () => {
    const at = (answer: 0 | 1 | 2, now: number, ended = false, transport: 'tcp' | 'udp' = 'tcp'): Record<string, any> => {
      const f = facts();
      const flow = new Flow(transport, 4, f.flow.clientIp, f.flow.clientPort, f.flow.serverIp, f.flow.serverPort, f.flow.startTime, true);
      flow.answer = answer;
      flow.ended = ended;
      return buildAlert({ ...f, flow }, { ...ctx, now: f.flow.startTime + now }) as Record<string, any>;
    };
    const done = at(1, 10_000);
    assert.equal(done.event.outcome, 'success');
    assert.deepEqual(done.egresswatch.flow, { open: true, answered: true, tcp_handshake: 'completed' });
    assert.match(done.message, / connected to api\.example\.com \(example\.com\), new/);
    const refused = at(2, 5);
    assert.equal(refused.event.outcome, 'failure');
    assert.equal(refused.egresswatch.flow.tcp_handshake, 'refused');
    assert.match(refused.message, / tried to connect to api\.example\.com \(example\.com; refused\), new/);
    assert.match(alertLine(refused), / -> api\.example\.com \[203\.0\.113\.10\]:443\/tcp FAILED\(refused\) bytes_out=/);
    assert.doesNotMatch(alertLine(done), /FAILED/);
    const pending = at(0, NO_ANSWER_MS - 1);
    assert.equal(pending.event.outcome, 'unknown');
    assert.equal(pending.egresswatch.flow.tcp_handshake, 'pending');
    const silent = at(0, NO_ANSWER_MS);
    assert.equal(silent.event.outcome, 'failure');
    assert.equal(silent.egresswatch.flow.tcp_handshake, 'no-answer');
    assert.match(silent.message, /\(example\.com; no answer\)/);
    assert.equal(at(0, 5, true).egresswatch.flow.tcp_handshake, 'no-answer', 'ended without an answer');
    const udp = at(1, 10_000, false, 'udp');
    assert.equal(udp.event.outcome, 'success');
    assert.equal(udp.egresswatch.flow.tcp_handshake, undefined);
    assert.equal(at(0, 10_000, false, 'udp').event.outcome, 'unknown', 'UDP may be one-way');
  });

  it('fills ECS related.* for pivots, and process.hash when the main file is the executable', () => {
    const base = facts().process as NonNullable<ConnectionFacts['process']>;
    const a = buildAlert(facts({
      process: { ...base, uid: 0, userName: 'root', loginUid: 1000, loginUserName: 'alice' },
      mainFile: { path: '/opt/app/worker.py', sha256: 'a'.repeat(64), changed: false },
    }), ctx) as Record<string, any>;
    assert.deepEqual(a.related, { ip: ['10.0.0.5', '203.0.113.10'], hosts: ['api.example.com', 'web-1'], user: ['root', 'alice'], hash: ['a'.repeat(64)] });
    assert.equal(a.process.hash, undefined, 'a script is not the executable');
    const exe = buildAlert(facts({ mainFile: { path: '/usr/bin/python3.11', sha256: 'b'.repeat(64), changed: false } }), ctx) as Record<string, any>;
    assert.deepEqual(exe.process.hash, { sha256: 'b'.repeat(64) });
    const bare = buildAlert({ ...facts(), process: undefined, domain: undefined }, ctx) as Record<string, any>;
    assert.deepEqual(bare.related, { ip: ['10.0.0.5', '203.0.113.10'], hosts: ['web-1'] });
  });

  it('names the server that hosts an application module (egresswatch.software.launcher), and no launcher otherwise', () => {
    const hosted = buildAlert(facts({ software: { id: 'shop.main', kind: 'python-module', interpreter: '/usr/bin/python3.12', launcher: '/srv/venv/bin/uvicorn' } }), ctx) as Record<string, any>;
    assert.deepEqual(hosted.egresswatch.software, { id: 'shop.main', kind: 'python-module', interpreter: '/usr/bin/python3.12', launcher: '/srv/venv/bin/uvicorn' });
    const plain = buildAlert(facts(), ctx) as Record<string, any>;
    assert.equal('launcher' in plain.egresswatch.software, false);
  });

  it('names the systemd unit the process runs in', () => {
    const a = buildAlert(facts({ systemdUnit: 'session-4.scope' }), ctx) as Record<string, any>;
    assert.equal(a.egresswatch.process.systemd_unit, 'session-4.scope');
    assert.equal(a.egresswatch.process.ancestors, undefined, 'one parent: no ancestors list');
    assert.equal((buildAlert(facts(), ctx) as Record<string, any>).egresswatch.process, undefined);
  });

  it('leaves process and user out of an unattributed alert and says so', () => {
    const a = buildAlert(facts({ attribution: 'none', process: undefined, software: undefined, novelFor: ['host'] }), ctx) as Record<string, any>;
    assert.equal(a.process, undefined);
    assert.equal(a.user, undefined);
    assert.equal(a.egresswatch.attribution.attributed, false);
    assert.equal(a.egresswatch.software, undefined);
    assert.match(a.message, /unattributed/);
  });

  it('an unattributed connection whose process the kernel named, gone since: its pid, name and user, still unattributed', () => {
    const f = facts({ attribution: 'none', process: undefined, software: undefined, novelFor: ['host'], goneProcess: { pid: 4711, uid: 1001, name: 'curl', userName: 'app' } });
    const a = buildAlert(f, ctx) as Record<string, any>;
    assert.deepEqual(a.process, { pid: 4711, name: 'curl' });
    assert.deepEqual(a.user, { id: '1001', name: 'app' });
    assert.equal(a.egresswatch.attribution.attributed, false);
    assert.equal(a.egresswatch.software, undefined);
    assert.deepEqual(a.related.user, ['app']);
    assert.match(a.message, /an unattributed process \(pid 4711, curl, user app; gone before it could be described\)/);
    assert.match(alertLine(a), / unattributed pid=4711 user=app -> /);
    const bare = buildAlert(facts({ attribution: 'none', process: undefined, software: undefined, novelFor: ['host'], goneProcess: { pid: 4712, uid: 1002 } }), ctx) as Record<string, any>;
    assert.deepEqual(bare.process, { pid: 4712 });
    assert.deepEqual(bare.user, { id: '1002' });
    assert.match(bare.message, /\(pid 4712, user 1002; gone/);
  });

  it('gives the same connection the same event.id, and another connection another', () => {
    const id1 = alertId('abc', flow());
    assert.equal(id1, alertId('abc', flow()));
    assert.notEqual(id1, alertId('abc', flow(Date.UTC(2026, 11, 4, 12, 0, 1))));
    assert.notEqual(id1, alertId('other-host', flow()));
    assert.match(id1, /^[0-9a-f]{8}-[0-9a-f]{4}-5[0-9a-f]{3}-[0-9a-f]{4}-[0-9a-f]{12}$/);
  });

  it('says when an unattributed connection was forwarded by this host (another machine, VM or container), and only then', () => {
    const routed = flow();
    routed.forwarded = true;
    const a = buildAlert(facts({ flow: routed, process: undefined, software: undefined, attribution: 'none' }), ctx) as Record<string, any>;
    assert.equal(a.egresswatch.flow.forwarded, true);
    assert.match(a.message, /^10\.0\.0\.5 \(forwarded by this host, no process of its own found\) on web-1 (connected|tried to connect) to /);
    assert.match(alertLine(a), / forwarded-for=10\.0\.0\.5 -> /);
    const own = buildAlert(facts({ process: undefined, software: undefined, attribution: 'none' }), ctx) as Record<string, any>;
    assert.equal(own.egresswatch.flow.forwarded, undefined);
    assert.match(own.message, /^an unattributed process on web-1 /);
    // A container's process found behind the forwarding: named as always, the flag kept.
    const container = buildAlert(facts({ flow: routed }), ctx) as Record<string, any>;
    assert.match(container.message, /^\/opt\/app\/worker\.py \(pid 42/);
    assert.equal(container.egresswatch.flow.forwarded, true);
  });

  it('escapes control characters in the readable line', () => {
    const a = buildAlert(facts({ domain: 'evil\u001b[31m.example.com', domainGroup: 'example.com' }), ctx);
    const line = alertLine(a);
    assert.ok(!/[\u0000-\u001f]/.test(line), line);
    assert.match(line, /evil\\x1b\[31m\.example\.com/);
    assert.equal(escapeControl('a\nb'), 'a\\x0ab');
  });
});

describe('alerts/model: containers and software context', () => {
  it('writes container, orchestrator, software key, main file and ancestors', () => {
    const base = facts();
    const a = buildAlert({
      ...base,
      attribution: 'cached-socket',
      confidence: 'medium',
      softwareKey: 'registry.example.com/team/billing',
      container: { id: 'a'.repeat(64), runtime: 'containerd', name: 'billing', image: { name: 'registry.example.com/team/billing', tag: '1.25' }, pod: { name: 'billing-7d9f', namespace: 'payments', uid: 'u-1' } },
      mainFile: { path: '/opt/app/worker.py', sha256: 'f'.repeat(64), size: 10, mtime: '2026-12-01T00:00:00.000Z', changed: true, package: { name: 'app', version: '1.0', manager: 'dpkg' } },
      process: { ...base.process!, parents: [{ pid: 7, name: 'sh' }, { pid: 1, name: 'systemd' }] },
    }, ctx) as Record<string, any>;
    assert.equal(a.container.id, 'a'.repeat(64));
    assert.equal(a.container.image.name, 'registry.example.com/team/billing');
    assert.equal(a.container.image.tag, '1.25');
    assert.equal(a.container.runtime, 'containerd');
    assert.deepEqual(a.orchestrator, { type: 'kubernetes', namespace: 'payments', resource: { type: 'pod', name: 'billing-7d9f', id: 'u-1' } });
    assert.equal(a.egresswatch.software.key, 'registry.example.com/team/billing');
    assert.equal(a.egresswatch.software.file.hash.sha256, 'f'.repeat(64));
    assert.equal(a.egresswatch.software.file.changed, true);
    assert.deepEqual(a.egresswatch.software.package, { name: 'app', version: '1.0', manager: 'dpkg' });
    assert.deepEqual(a.egresswatch.attribution, { method: 'cached-socket', attributed: true, confidence: 'medium' });
    assert.deepEqual(a.egresswatch.process.ancestors.map((x: any) => x.pid), [7, 1]);
  });

  it('has no orchestrator for a plain container, and no container on the host', () => {
    const plain = buildAlert({ ...facts(), container: { id: 'b'.repeat(64), runtime: 'docker' } }, ctx) as Record<string, any>;
    assert.equal(plain.container.runtime, 'docker');
    assert.equal(plain.orchestrator, undefined);
    const host = buildAlert(facts(), ctx) as Record<string, any>;
    assert.equal(host.container, undefined);
  });
});

describe('alerts/hold', () => {
  it('holds until due, releases at flow end, flushes the rest', () => {
    const out: string[] = [];
    const hold = new AlertHold<string>((s) => out.push(s));
    const k1 = {}, k2 = {}, k3 = {};
    hold.add(k1, 'a', 1000, 0);
    hold.add(k2, 'b', 2000, 0);
    hold.add(k3, 'c', 3000, 0);
    hold.add({}, 'now', 0, 0);
    assert.deepEqual(out, ['now']);
    hold.tick(999);
    assert.deepEqual(out, ['now']);
    hold.tick(1000);
    assert.deepEqual(out, ['now', 'a']);
    hold.release(k3);
    assert.deepEqual(out, ['now', 'a', 'c']);
    hold.release(k3);
    hold.flush();
    assert.deepEqual(out, ['now', 'a', 'c', 'b']);
    assert.equal(hold.size, 0);
  });

  it('past maxHeld, the flow held longest goes out first (all its alerts), counted', () => {
    const out: string[] = [];
    const hold = new AlertHold<string>((s) => out.push(s), 3);
    const k1 = {}, k2 = {}, k3 = {}, k4 = {};
    hold.add(k1, 'a1', 1000, 0);
    hold.add(k2, 'b', 2000, 0);
    hold.add(k1, 'a2', 3000, 0);
    hold.add(k3, 'c', 4000, 0);
    assert.deepEqual(out, ['a1', 'a2'], 'k1 was held longest: both its alerts');
    assert.equal(hold.size, 2);
    hold.add(k4, 'd', 5000, 0);
    assert.deepEqual(out, ['a1', 'a2']);
    hold.add({}, 'e', 6000, 0);
    assert.deepEqual(out, ['a1', 'a2', 'b']);
    assert.equal(hold.releasedEarly, 3);
    hold.add({}, 'due', 0, 0);
    assert.equal(hold.releasedEarly, 3, 'an alert already due is not held, so it lets nothing out');
    hold.flush();
    assert.deepEqual(out, ['a1', 'a2', 'b', 'due', 'c', 'd', 'e']);
  });

  it('keeps every alert of one flow (requests through a proxy): each due in its turn, all at the flow end', () => {
    const out: string[] = [];
    const hold = new AlertHold<string>((s) => out.push(s));
    const flow = {}, other = {};
    hold.add(flow, 'first', 1000, 0);
    hold.add(flow, 'second', 5000, 0);
    hold.add(flow, 'third', 6000, 0);
    hold.add(other, 'x', 9000, 0);
    assert.equal(hold.size, 4);
    hold.tick(1000);
    assert.deepEqual(out, ['first']);
    assert.equal(hold.size, 3);
    hold.release(flow);
    assert.deepEqual(out, ['first', 'second', 'third']);
    assert.equal(hold.size, 1);
    hold.flush();
    assert.deepEqual(out, ['first', 'second', 'third', 'x']);
  });
});

describe('alerts/model: names as people read them', () => {
  it('shows IDNs as Unicode and escapes control characters, keeping the group as the punycode key', () => {
    const a = buildAlert(facts({ domain: 'xn--mnchen-3ya.de', registeredDomain: 'xn--mnchen-3ya.de', domainGroup: 'xn--mnchen-3ya.de', alternatives: ['bad\u0007name.example'] }), ctx) as Record<string, any>;
    assert.equal(a.destination.domain, 'münchen.de');
    assert.equal(a.egresswatch.domain_group, 'xn--mnchen-3ya.de');
    assert.deepEqual(a.egresswatch.dns.alternatives, ['bad\\x07name.example']);
  });
});
