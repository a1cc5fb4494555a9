// End to end, as root, live, against NEAR servers: the test internet's servers answer at once
// (the other end-to-end tests make them wait 300 ms, a far server's round trip). A client then
// connects, gets its answer, closes and exits within a millisecond or two of its SYN: before the
// agent has read the SYN from the capture, its socket and often the process are gone from /proc.
// Measured before the connect tracer and the exec watcher: 1 of 5 such clients attributed. Each
// must be now: its pid, its user, its software (curl's executable, a python script's path, a
// python one-liner, wget, a perl one-liner refused at once), over TCP by name, through a CNAME,
// and over UDP fire-and-forget. And children forked without exec (a python worker, a bash
// subshell's /dev/tcp), gone before their parent is: each is named with its own pid, its parent
// and the program it ran (before the exec watcher copied forks too: not attributed at all). And
// scripts that exec another program after connecting (cat on the socket, true), or that connect
// and then become curl: each connection is named by the program that made it.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { liveSuite } from './world.js';
import { AgentProcess } from './agent.js';
import { get, readAlerts, summarize, waitForAlerts, type Alert } from './alerts.js';
import { findCommand, runClient } from './clients.js';
import type { RunResult } from './proc.js';

const SCRIPT = `import socket
s = socket.create_connection(('www.example.net', 80), 5)
s.sendall(b'GET / HTTP/1.0\\r\\nHost: www.example.net\\r\\n\\r\\n')
print(len(s.recv(100000)))
`;
/** Forks a worker that fetches a page and exits; the parent reaps it, then prints its pid. */
const FORKER = `import os, socket
pid = os.fork()
if pid == 0:
    s = socket.create_connection(('api.example.com', 80), 5)
    s.sendall(b'GET / HTTP/1.0\\r\\nHost: api.example.com\\r\\n\\r\\n')
    s.recv(100000)
    os._exit(0)
os.waitpid(pid, 0)
print(pid)
`;
/** A subshell (bash forks it, no exec) talks over /dev/tcp and prints its own pid. */
const SUBSHELL = `#!/bin/bash
( exec 3<>/dev/tcp/www.example.net/80; printf 'GET / HTTP/1.0\\r\\nHost: www.example.net\\r\\n\\r\\n' >&3; read -r line <&3; echo $BASHPID )
`;
/** A script connects, then execs another program on the socket (cat): it prints its pid first. */
const EXEC_AFTER = `#!/bin/bash
exec 3<>/dev/tcp/api.example.com/80
printf 'GET / HTTP/1.0\\r\\nHost: api.example.com\\r\\n\\r\\n' >&3
echo $$
exec cat <&3 >/dev/null
`;
/** The same in a subshell (forked, no exec) that then execs cat: it prints the subshell's pid. */
const SUBSHELL_EXEC_AFTER = `#!/bin/bash
( exec 3<>/dev/tcp/www.example.net/80; printf 'GET / HTTP/1.0\\r\\nHost: www.example.net\\r\\n\\r\\n' >&3; echo $BASHPID; exec cat <&3 >/dev/null )
`;
/** A script connects, then execs a program that exits at once (its exec is seldom copied in time): it prints its pid first. */
const EXEC_AFTER_GONE = `#!/bin/bash
exec 3<>/dev/tcp/files.example.org/8080
echo $$
exec true
`;
/** A script connects itself, then becomes curl (exec, the same pid), which connects elsewhere: it prints its pid first. */
const THEN_CURL = `#!/bin/bash
exec 3<>/dev/tcp/api.example.com/80
printf 'GET / HTTP/1.0\\r\\nHost: api.example.com\\r\\n\\r\\n' >&3
read -r line <&3
echo $$
exec curl -s -o /dev/null http://www.example.net/
`;
const UDP_ONE_SHOT = "import socket; s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.sendto(b'ping', ('files.example.org', 9999)); s.settimeout(5); print(len(s.recv(100)))";

describe('end to end, live: clients of near servers, gone within a millisecond, are attributed', function () {
  this.timeout(90_000);
  const w = liveSuite('near-server', { holdMs: 0, needs: () => (findCommand('wget') ? [] : ['wget']) });
  let agent: AgentProcess | undefined;

  w.cleanup(async () => {
    if (agent?.running) await agent.stop(5000);
  });

  /**
   * Runs the clients (argv each), one after the other, under a fresh agent (state dir `name`),
   * which is stopped after `alerts` alerts have come; returns the runs, the alerts and a diagnosis.
   */
  async function underAgent(name: string, argvs: string[][], alerts: number): Promise<{ runs: RunResult[]; alerts: Alert[]; diag: string }> {
    if (agent?.running) await agent.stop(5000); // an earlier test's, stopped halfway
    const state = path.join(w.tmp, name);
    fs.mkdirSync(state);
    const alertsFile = path.join(state, 'alerts.json');
    agent = await AgentProcess.start({ stateDir: state, alertsFile, learningPeriod: '0', hostName: name });
    const runs: RunResult[] = [];
    for (const argv of argvs) {
      const r = await runClient(w.kit, argv);
      assert.equal(r.code, 0, `${argv.join(' ')}: ${r.stderr}`);
      runs.push(r);
    }
    const got = await waitForAlerts(alertsFile, (a) => a.length >= alerts, 20_000);
    assert.equal((await agent.stop()).code, 0, agent.describe());
    return { runs, alerts: got, diag: `alerts:\n${readAlerts(alertsFile).map(summarize).join('\n')}\n${agent.describe()}` };
  }

  /** The one alert of a domain group. */
  function theAlert(alerts: Alert[], group: string, diag: string): Alert {
    const mine = alerts.filter((a) => get(a, 'egresswatch.domain_group') === group);
    assert.equal(mine.length, 1, `one alert for ${group}: ${diag}`);
    return mine[0];
  }

  /** Each client under one fresh agent: its group's one alert, with its run. */
  async function oneAlertEach<C extends { group: string; argv: string[] }>(name: string, clients: C[]): Promise<{ c: C; run: RunResult; alert: Alert; diag: string }[]> {
    const { runs, alerts, diag } = await underAgent(name, clients.map((c) => c.argv), clients.length);
    return clients.map((c, i) => ({ c, run: runs[i], alert: theAlert(alerts, c.group, diag), diag }));
  }

  it('curl, a python script, a python one-liner over UDP, wget and a refused perl: each alert names its pid, user and software', async () => {
    const script = path.join(w.kit.dir, 'near_client.py');
    fs.writeFileSync(script, SCRIPT, { mode: 0o755 });
    const curl = fs.realpathSync(findCommand('curl')!);
    const wget = fs.realpathSync(findCommand('wget')!);
    const clients: { group: string; software: string; method?: string; argv: string[] }[] = [
      { group: 'example.com', software: curl, argv: ['curl', '-s', '-o', '/dev/null', 'http://api.example.com/'] },
      { group: 'example.net', software: script, argv: ['python3', script] },
      { group: 'example.org', software: 'python3 -c', argv: ['python3', '-c', UDP_ONE_SHOT] },
      { group: 'cdn-example.org', software: wget, argv: ['wget', '-q', '-O', '/dev/null', 'http://edge.cdn-example.org/'] },
      // Refused (nothing listens on port 81 there): the socket is closed by the RST, microseconds
      // after the SYN, and its port released before its next state: named by the connect tracer
      // (tcp_receive_reset), not only by the DNS answer its process was given.
      { group: 's3.amazonaws.com', software: 'perl -e', method: 'ebpf-connect', argv: ['perl', '-MIO::Socket::INET', '-e', "IO::Socket::INET->new(PeerAddr => 'mybucket.s3.us-west-2.amazonaws.com:81') and die 'connected'"] },
    ];
    for (const { c, run, alert: a, diag } of await oneAlertEach('near-host', clients)) {
      assert.equal(get(a, 'egresswatch.attribution.attributed'), true, `${c.argv[0]} attributed: ${diag}`);
      assert.equal(get(a, 'process.pid'), run.pid, `${c.argv[0]}'s own pid: ${diag}`);
      assert.equal(get(a, 'user.name'), w.user.name, `${c.argv[0]}'s user: ${diag}`);
      assert.equal(get(a, 'egresswatch.software.id'), c.software, `${c.argv[0]}'s software: ${diag}`);
      if (c.method !== undefined) assert.equal(get(a, 'egresswatch.attribution.method'), c.method, `${c.argv[0]}'s method: ${diag}`);
      assert.ok(Number(get(a, 'destination.bytes')) > 0, `bytes back (a refusal's RST too): ${diag}`);
    }
  });

  it('children forked without exec (a python worker, a bash subshell), gone before the agent reads them: their own pid, parent and program', async () => {
    const forker = path.join(w.kit.dir, 'near_forker.py');
    const subshell = path.join(w.kit.dir, 'near_subshell.sh');
    fs.writeFileSync(forker, FORKER, { mode: 0o755 });
    fs.writeFileSync(subshell, SUBSHELL, { mode: 0o755 });
    const clients = [
      { group: 'example.com', software: forker, argv: ['python3', forker] },
      { group: 'example.net', software: subshell, argv: ['bash', subshell] },
    ];
    for (const { c, run, alert: a, diag } of await oneAlertEach('near-forks', clients)) {
      const child = Number(run.stdout.trim());
      assert.ok(Number.isInteger(child) && child > 0 && child !== run.pid, `the child's pid: ${run.stdout}`);
      assert.equal(get(a, 'egresswatch.attribution.attributed'), true, `${c.argv[0]}'s child attributed: ${diag}`);
      assert.equal(get(a, 'process.pid'), child, `the child's own pid: ${diag}`);
      assert.equal(get(a, 'process.parent.pid'), run.pid, `its parent: ${diag}`);
      assert.equal(get(a, 'egresswatch.software.id'), c.software, `the program it ran: ${diag}`);
      assert.equal(get(a, 'user.name'), w.user.name, `its user: ${diag}`);
    }
  });

  it('a script that connects and then execs another program on the socket (cat): the script is named, not cat', async () => {
    const direct = path.join(w.kit.dir, 'near_exec_after.sh');
    const sub = path.join(w.kit.dir, 'near_subshell_exec_after.sh');
    const gone = path.join(w.kit.dir, 'near_exec_after_gone.sh');
    fs.writeFileSync(direct, EXEC_AFTER, { mode: 0o755 });
    fs.writeFileSync(sub, SUBSHELL_EXEC_AFTER, { mode: 0o755 });
    fs.writeFileSync(gone, EXEC_AFTER_GONE, { mode: 0o755 });
    const bash = fs.realpathSync(findCommand('bash')!);
    const clients = [
      { group: 'example.com', software: direct, argv: ['bash', direct] },
      { group: 'example.net', software: sub, argv: ['bash', sub] },
      { group: 'example.org', software: gone, argv: ['bash', gone] },
    ];
    for (const { c, run, alert: a, diag } of await oneAlertEach('near-exec-after', clients)) {
      const pid = Number(run.stdout.trim());
      assert.ok(Number.isInteger(pid) && pid > 0, `the connecting shell's pid: ${run.stdout}`);
      assert.equal(get(a, 'egresswatch.attribution.attributed'), true, `${c.software} attributed: ${diag}`);
      assert.equal(get(a, 'process.pid'), pid, `the shell that connected: ${diag}`);
      assert.equal(get(a, 'egresswatch.software.id'), c.software, `the script, not what it exec'd: ${diag}`);
      assert.equal(get(a, 'process.executable'), bash, `bash, not what it exec'd: ${diag}`);
      assert.equal(get(a, 'user.name'), w.user.name, `its user: ${diag}`);
    }
  });

  it('a script that connects and then execs curl (the same pid): each connection is named by the program that made it', async () => {
    const script = path.join(w.kit.dir, 'near_then_curl.sh');
    fs.writeFileSync(script, THEN_CURL, { mode: 0o755 });
    const curl = fs.realpathSync(findCommand('curl')!);
    const { runs, alerts, diag } = await underAgent('near-then-curl', [['bash', script]], 2);
    const pid = Number(runs[0].stdout.trim());
    assert.ok(Number.isInteger(pid) && pid > 0, `the script's pid: ${runs[0].stdout}`);
    for (const [group, software] of [['example.com', script], ['example.net', curl]]) {
      const a = theAlert(alerts, group, diag);
      assert.equal(get(a, 'process.pid'), pid, `one pid for both: ${diag}`);
      assert.equal(get(a, 'egresswatch.software.id'), software, `${group}: the program that made it: ${diag}`);
    }
  });
});
