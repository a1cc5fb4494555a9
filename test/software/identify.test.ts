import assert from 'node:assert/strict';
import { identifySoftware, identifySoftwareReading, detectInterpreter, isPoolBootstrap, parseJavaArgFile, poolProgram, expandJavaArgFiles } from '../../lib/software/index.js';
import { CASES } from './cmdlines.js';

describe('software/identifySoftware on real command lines', () => {
  it(`has a real-world table of at least 35 command lines (${CASES.length})`, () => {
    assert.ok(CASES.length >= 35);
    assert.equal(new Set(CASES.map((c) => c.what)).size, CASES.length, 'names are unique');
  });

  for (const c of CASES) {
    it(`${c.what} → ${c.kind} ${c.id}`, () => {
      const got = identifySoftware({ exe: c.exe, argv: c.argv, cwd: c.cwd });
      assert.equal(got.id, c.id);
      assert.equal(got.kind, c.kind);
      if (c.interpreter !== undefined) assert.equal(got.interpreter, c.interpreter);
      assert.equal(got.launcher, c.launcher);
      // The interpreter is named exactly when the software is not the executable itself.
      const bare = got.kind === 'executable' || got.kind === 'unknown';
      assert.equal(got.interpreter === undefined, bare);
      if (!bare) assert.equal(got.interpreter, c.exe?.replace(/ \(deleted\)$/, '') ?? c.argv[0]);
    });
  }
});

describe('software/identifySoftware edge cases', () => {
  it('keeps a relative script relative when cwd is unknown or itself relative', () => {
    assert.deepEqual(identifySoftware({ exe: '/usr/bin/python3', argv: ['python3', 'w.py'] }), { id: 'w.py', kind: 'script', interpreter: '/usr/bin/python3' });
    assert.equal(identifySoftware({ exe: '/usr/bin/python3', argv: ['python3', 'w.py'], cwd: 'rel' }).id, 'w.py');
  });

  it('normalises ".." in script paths and a deleted cwd', () => {
    assert.equal(identifySoftware({ exe: '/usr/bin/node', argv: ['node', '../lib/x.js'], cwd: '/srv/app/bin (deleted)' }).id, '/srv/app/lib/x.js');
  });

  it('an option missing its value is the REPL, not a crash', () => {
    for (const argv of [['python3', '-m'], ['java', '-jar'], ['java', '-cp'], ['node', '-r'], ['perl', '-I'], ['php', '-f']]) {
      const got = identifySoftware({ exe: `/usr/bin/${argv[0]}`, argv });
      assert.equal(got.kind, 'executable', argv.join(' '));
    }
  });

  it('an interpreter whose command line reads empty (exited, not yet reaped) names no program', () => {
    assert.deepEqual(identifySoftware({ argv: [], exe: '/usr/bin/python3.11' }), { id: '', kind: 'unknown' });
    assert.deepEqual(identifySoftware({ argv: [], exe: '/usr/bin/curl' }), { id: '/usr/bin/curl', kind: 'executable' }, 'a plain executable is still itself');
  });

  it('stdin programs are inline', () => {
    assert.deepEqual(identifySoftware({ exe: '/usr/bin/python3.12', argv: ['python3', '-'] }), { id: 'python3 -', kind: 'inline', interpreter: '/usr/bin/python3.12' });
    assert.equal(identifySoftware({ exe: '/usr/bin/bash', argv: ['bash', '-s', 'arg1'], cwd: '/root' }).id, 'bash -s');
  });

  it('perl -S / ruby -S keep the PATH-searched name bare', () => {
    assert.equal(identifySoftware({ exe: '/usr/bin/ruby', argv: ['ruby', '-S', 'rake', 'db:migrate'], cwd: '/app' }).id, 'rake');
    assert.equal(identifySoftware({ exe: '/usr/bin/perl', argv: ['perl', '-S', 'cpanm', 'Moo'], cwd: '/root' }).id, 'cpanm');
  });

  it('node value options written with a space do not swallow the script', () => {
    const argv = ['node', '--experimental-default-type', 'module', '--env-file', '.env', 'srv.js'];
    assert.equal(identifySoftware({ exe: '/usr/bin/node', argv, cwd: '/srv' }).id, '/srv/srv.js');
  });

  it('detects interpreters tolerant of versions and nothing else', () => {
    const yes = ['python', 'python2', 'python3.11', 'pypy3', 'java', 'node', 'nodejs', 'ruby3.1', 'perl5.36', 'php8.2', 'bash', 'sh', 'dash', 'zsh', 'ksh', '-bash',
      'dotnet', 'pwsh', 'powershell', 'deno', 'bun', 'uwsgi', 'uwsgi-core', 'uwsgi_python3'];
    const no = ['php-fpm', 'php-fpm8.2', 'python3-config', 'javac', 'nodemon', 'rubocop', 'perldoc', 'shellcheck', 'gunicorn', 'bashbug',
      'bunx', 'dotnet-counters', 'uwsgitop', 'denoland'];
    for (const n of yes) assert.ok(detectInterpreter(n), n);
    for (const n of no) assert.equal(detectInterpreter(n), undefined, n);
    assert.equal(detectInterpreter('python3.11')?.name, 'python3');
    assert.equal(detectInterpreter('nodejs')?.name, 'node');
  });
});

describe('software/python pool workers (multiprocessing spawn, forkserver)', () => {
  // Command lines as Python 3.11 writes them (test/software/context.test.ts reads real ones).
  const SPAWN = ['/usr/bin/python3', '-B', '-c', 'from multiprocessing.spawn import spawn_main; spawn_main(tracker_fd=6, pipe_handle=13)', '--multiprocessing-fork'];
  const FORKSERVER = ['/usr/bin/python3', '-B', '-c', "from multiprocessing.forkserver import main; main(19, 20, ['__main__'], **{'sys_path': ['/srv/app']})"];
  const TRACKER = ['/usr/bin/python3', '-c', 'from multiprocessing.resource_tracker import main;main(5)'];
  const BILLIARD = ['/usr/bin/python3', '-c', 'from billiard.spawn import spawn_main; spawn_main(tracker_fd=5, pipe_handle=9)', '--billiard-fork'];
  const python = (argv: string[], cwd?: string) => ({ exe: '/usr/bin/python3.11', argv, cwd });
  const main = python(['python3', 'app/main.py', '--port', '8000'], '/srv');
  const uvicorn = python(['/srv/venv/bin/python3', '/srv/venv/bin/uvicorn', 'main:app', '--workers', '4'], '/srv');

  it('tells the bootstrap one-liners from other inline programs', () => {
    for (const argv of [SPAWN, FORKSERVER, TRACKER, BILLIARD]) assert.equal(isPoolBootstrap(python(argv)), true, argv.join(' '));
    for (const argv of [['python3', '-c', 'import socket'], ['python3', '-c', 'print("from multiprocessing.spawn import x")'], ['python3', 'spawn_main.py']]) {
      assert.equal(isPoolBootstrap(python(argv)), false, argv.join(' '));
    }
    assert.equal(isPoolBootstrap({ exe: '/usr/bin/bash', argv: ['bash', '-c', 'from multiprocessing.spawn import spawn_main'] }), false, 'not python');
    assert.equal(identifySoftware(python(SPAWN)).id, 'python3 -c', 'alone, it is a one-liner');
  });

  it('a worker is the program that made the pool: spawn (its parent), forkserver (its grandparent), uvicorn --workers', () => {
    assert.deepEqual(poolProgram(python(SPAWN), [main]), { id: '/srv/app/main.py', kind: 'script', interpreter: '/usr/bin/python3.11' });
    assert.equal(poolProgram(python(FORKSERVER), [python(FORKSERVER), main])?.id, '/srv/app/main.py');
    assert.deepEqual(poolProgram(python(SPAWN), [uvicorn]), { id: 'main', kind: 'python-module', launcher: '/srv/venv/bin/uvicorn', interpreter: '/usr/bin/python3.11' });
    assert.equal(poolProgram(python(TRACKER), [main])?.id, '/srv/app/main.py');
  });

  it('no maker to be found: undefined (a re-parented worker, a gone parent, a non-Python parent, not a worker)', () => {
    assert.equal(poolProgram(python(SPAWN), []), undefined);
    assert.equal(poolProgram(python(SPAWN), [{ argv: [] }, main]), undefined, 'the parent unreadable: not skipped over');
    assert.equal(poolProgram(python(SPAWN), [{ exe: '/usr/lib/systemd/systemd', argv: ['/sbin/init'] }]), undefined);
    assert.equal(poolProgram(python(['python3', 'worker.py']), [main]), undefined);
  });
});

describe('software/java @argfiles', () => {
  it('parseJavaArgFile: whitespace, quotes with escapes, comments', () => {
    const text = '# JVM options\n-Xmx1g  -Dapp.name="billing api"\n-cp \'/opt/app/lib/*\'\n  # another comment\n-Dq="a\\"b" com.acme.Main\n';
    assert.deepEqual(parseJavaArgFile(text), ['-Xmx1g', '-Dapp.name=billing api', '-cp', '/opt/app/lib/*', '-Dq=a"b', 'com.acme.Main']);
    assert.deepEqual(parseJavaArgFile(''), []);
  });

  it('expandJavaArgFiles expands before the main only; an unreadable file stays', async () => {
    const files: Record<string, string> = { a: '-cp lib/* com.acme.Main', b: '-Xss1m' };
    const read = async (f: string): Promise<string | undefined> => files[f];
    assert.deepEqual(await expandJavaArgFiles(['@b', '@a', 'x', '@b'], read), ['-Xss1m', '-cp', 'lib/*', 'com.acme.Main', 'x', '@b']);
    assert.deepEqual(await expandJavaArgFiles(['-jar', 'app.jar', '@a'], read), ['-jar', 'app.jar', '@a']);
    assert.deepEqual(await expandJavaArgFiles(['@missing', '-version'], read), ['@missing', '-version']);
    assert.deepEqual(await expandJavaArgFiles(['--disable-@files', '@a'], read), ['--disable-@files', '@a']);
  });

  it('identifySoftwareReading finds the main class inside a relative argfile via cwd', async () => {
    const seen: string[] = [];
    const read = async (f: string): Promise<string | undefined> => {
      seen.push(f);
      return f === '/opt/svc/conf/jvm.args' ? '-Xmx2g\n-cp /opt/svc/lib/*\norg.acme.svc.Main\n' : undefined;
    };
    const p = { exe: '/usr/lib/jvm/java-21-openjdk-amd64/bin/java', argv: ['java', '@conf/jvm.args', '--port', '8080'], cwd: '/opt/svc' };
    assert.deepEqual(await identifySoftwareReading(p, read), { id: 'org.acme.svc.Main', kind: 'java-class', interpreter: p.exe });
    assert.deepEqual(seen, ['/opt/svc/conf/jvm.args']);
    assert.equal((await identifySoftwareReading({ ...p, cwd: undefined }, read)).kind, 'java-argfile', 'relative and no cwd: not read');
    assert.equal((await identifySoftwareReading({ exe: '/usr/bin/python3', argv: ['python3', '@x'] }, read)).kind, 'script', 'only java reads argfiles');
  });
});
