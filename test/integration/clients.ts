// The four clients of the end-to-end test (curl, a python script, a node script, a JAR), each
// resolving its server by name through the test resolver and running as the non-root test user.
// The host's /etc/resolv.conf is never written: each client gets a private mount namespace in
// which our resolv.conf is bind-mounted over it.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { FIXTURES_DIR } from '../helpers/env.js';
import { run, runOk, type RunResult } from './proc.js';
import { NET } from './netns.js';
import { TEST_USER, type Endpoint } from './scenario.js';

const FIX = path.join(FIXTURES_DIR, 'integration');
/** Prefix of every temp dir the harness makes, so stale ones can be found (world.ts). */
export const TEMP_PREFIX = 'ewtest-';
/** The only environment a client gets: no proxy variables, a HOME the test user can read. */
const CLIENT_PATH = '/usr/local/bin:/usr/bin:/bin';

export interface ClientSpec {
  label: 'curl' | 'python' | 'node' | 'java';
  argv: string[];
  /** What the agent should report as egresswatch.software.id / .kind. */
  softwareId: string;
  softwareKind: 'executable' | 'script' | 'jar';
  /** process.executable as /proc/PID/exe shows it. */
  executable: string;
  /** The name asked, and what the agent should group it under. */
  domain: string;
  registeredDomain: string;
  domainGroup: string;
  /** Every connection this client makes (the node client also sends one UDP datagram). */
  connections: ReadonlyArray<Endpoint & { transport: 'tcp' | 'udp' }>;
  /** Lines the client prints when it got the right server's reply. */
  expectOutput: RegExp[];
}

export interface ClientKit {
  dir: string;
  resolvConf: string;
  python: string;
  clients: ClientSpec[];
}

export interface TestUser {
  name: string;
  uid: number;
  gid: number;
}

/** Creates the test user (a system account without home or shell) when it is missing. */
export async function ensureTestUser(name = TEST_USER): Promise<TestUser> {
  let r = await run('getent', ['passwd', name]);
  if (r.code !== 0) {
    await runOk('useradd', ['--system', '--user-group', '--no-create-home', '--shell', '/usr/sbin/nologin', name]);
    r = await runOk('getent', ['passwd', name]);
  }
  const f = r.stdout.trim().split(':');
  return { name, uid: Number(f[2]), gid: Number(f[3]) };
}

/** A python3 the test user can run (a per-user shim under /root would not do). */
export function findPython(): string | undefined {
  for (const p of ['/usr/bin/python3', '/usr/local/bin/python3']) {
    try {
      fs.accessSync(p, fs.constants.X_OK);
      if ((fs.statSync(p).mode & 0o001) !== 0) return p;
    } catch {
      // not there: try the next
    }
  }
  return undefined;
}

export function findCommand(cmd: string): string | undefined {
  for (const dir of [...CLIENT_PATH.split(':'), '/usr/sbin', '/sbin']) {
    const p = path.join(dir, cmd);
    if (fs.existsSync(p)) return p;
  }
  return undefined;
}

/** Writes the scripts and resolv.conf to a fresh world-readable temp dir and builds the JAR. */
export async function prepareClients(python: string): Promise<ClientKit> {
  const dir = fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), TEMP_PREFIX)));
  fs.chmodSync(dir, 0o755);
  const put = (name: string, text: string) => {
    fs.writeFileSync(path.join(dir, name), text, { mode: 0o644 });
    return path.join(dir, name);
  };
  const resolvConf = put('resolv.conf', `nameserver ${NET.nsAddr}\noptions timeout:2 attempts:2\n`);
  const pyScript = put('fetch_worker.py', fs.readFileSync(path.join(FIX, 'fetch_worker.py'), 'utf8'));
  const nodeScript = put('client.js', fs.readFileSync(path.join(FIX, 'client.cjs'), 'utf8'));
  put('package.json', '{ "type": "commonjs" }\n');
  const jar = await buildJar(dir);
  const curl = findCommand('curl') ?? 'curl';
  const java = findCommand('java') ?? 'java';
  const node = process.execPath;
  const clients: ClientSpec[] = [
    {
      label: 'curl', argv: [curl, '-s', '--max-time', '5', 'http://api.example.com/'],
      softwareId: fs.realpathSync(curl), softwareKind: 'executable', executable: fs.realpathSync(curl),
      domain: 'api.example.com', registeredDomain: 'example.com', domainGroup: 'example.com',
      connections: [{ addr: '203.0.113.10', port: 80, transport: 'tcp' }],
      expectOutput: [/^ewtest-server 203\.0\.113\.10:80$/m],
    },
    {
      label: 'python', argv: [python, pyScript],
      softwareId: pyScript, softwareKind: 'script', executable: fs.realpathSync(python),
      domain: 'www.example.net', registeredDomain: 'example.net', domainGroup: 'example.net',
      connections: [{ addr: '203.0.113.20', port: 80, transport: 'tcp' }],
      expectOutput: [/^http 200 \d+ bytes: ewtest-server 203\.0\.113\.20:80$/m],
    },
    {
      label: 'node', argv: [node, nodeScript],
      softwareId: nodeScript, softwareKind: 'script', executable: fs.realpathSync(node),
      domain: 'files.example.org', registeredDomain: 'example.org', domainGroup: 'example.org',
      connections: [{ addr: '192.0.2.30', port: 8080, transport: 'tcp' }, { addr: '192.0.2.30', port: 9999, transport: 'udp' }],
      expectOutput: [/^http 200 \d+ bytes: ewtest-server 192\.0\.2\.30:8080$/m, /^udp \d+ bytes: ewtest-echo 192\.0\.2\.30:9999$/m],
    },
    {
      label: 'java', argv: [java, '-jar', jar],
      softwareId: jar, softwareKind: 'jar', executable: fs.realpathSync(java),
      domain: 'mybucket.s3.us-west-2.amazonaws.com', registeredDomain: 'amazonaws.com', domainGroup: 's3.amazonaws.com',
      connections: [{ addr: '192.0.2.40', port: 443, transport: 'tcp' }],
      expectOutput: [/^tcp \d+ bytes: ewtest-server 192\.0\.2\.40:443$/m],
    },
  ];
  return { dir, resolvConf, python, clients };
}

/** javac + jar with a Main-Class manifest, in the kit's dir; returns the JAR's path. */
async function buildJar(dir: string): Promise<string> {
  const src = path.join(dir, 'src');
  const classes = path.join(dir, 'classes');
  fs.mkdirSync(src);
  fs.mkdirSync(classes);
  fs.copyFileSync(path.join(FIX, 'EwClient.java'), path.join(src, 'EwClient.java'));
  fs.writeFileSync(path.join(src, 'manifest.txt'), 'Main-Class: EwClient\n');
  await runOk(findCommand('javac') ?? 'javac', ['-d', classes, path.join(src, 'EwClient.java')], { timeoutMs: 30_000 });
  const jar = path.join(dir, 'ewclient.jar');
  await runOk(findCommand('jar') ?? 'jar', ['cfm', jar, path.join(src, 'manifest.txt'), '-C', classes, '.'], { timeoutMs: 30_000 });
  fs.chmodSync(jar, 0o644);
  return jar;
}

/**
 * argv that runs `argv` as the test user with our resolv.conf (and `hostsFile` as its
 * /etc/hosts, when given): a private mount namespace (unshare makes its mounts private, so the
 * bind mounts never reach the host), then setpriv. unshare and sh exec, so the returned
 * process's pid is the client's own pid.
 */
export function wrapClient(resolvConf: string, argv: readonly string[], user = TEST_USER, hostsFile?: string): [string, string[]] {
  const hosts = hostsFile === undefined ? '' : 'mount --bind "$3" /etc/hosts && ';
  const script = `mount --bind "$1" /etc/resolv.conf && ${hosts}u="$2" && shift 3 && exec setpriv --reuid="$u" --regid="$u" --init-groups -- "$@"`;
  return ['unshare', ['--mount', 'sh', '-c', script, 'ewclient', resolvConf, user, hostsFile ?? '', ...argv]];
}

/** Runs a client to completion (bounded 15 s). result.pid is the client process's pid. */
export async function runClient(kit: ClientKit, argv: readonly string[]): Promise<RunResult> {
  const [cmd, args] = wrapClient(kit.resolvConf, argv);
  return run(cmd, args, { cwd: kit.dir, timeoutMs: 15_000, env: { PATH: CLIENT_PATH, HOME: kit.dir, LANG: 'C.UTF-8' } });
}

/** Checks a client's output; returns a problem description or undefined when it is right. */
export function checkClientOutput(spec: ClientSpec, r: RunResult): string | undefined {
  const missing = spec.expectOutput.filter((re) => !re.test(r.stdout));
  if (r.code === 0 && missing.length === 0) return undefined;
  return `${spec.label} (${spec.argv.join(' ')}): code ${r.code}${r.timedOut ? ' (timed out)' : ''}, missing ${missing.join(', ') || 'nothing'}\nstdout: ${r.stdout.slice(0, 2000)}\nstderr: ${r.stderr.slice(0, 2000)}`;
}
