// Who the software behind a process is: its executable, except for interpreters, where it is the
// main program (script, JAR, main class, module). A python3 running a worker and a python3
// running pip are different software; two runs of the same script are the same one.
import path from 'node:path';
import { detectInterpreter, javaMain, OPTION_SPECS, type Interpreter, type ScannedFamily } from './interpreters.js';
import { bunCwd, bunMain, denoMain, dotnetMain, pwshMain, uwsgiMain, type LauncherMain } from './launchers.js';
import { gunicornTitle, hostedApp, launchedFile } from './pyapps.js';
import { scanOptions } from './options.js';

export type SoftwareKind = 'executable' | 'script' | 'jar' | 'java-class' | 'java-module' | 'java-argfile' | 'python-module'
  | 'dotnet-assembly' | 'config' | 'package-script' | 'inline' | 'process-title' | 'unknown';

export interface SoftwareIdentity {
  id: string;
  kind: SoftwareKind;
  /** The interpreter's executable path, set when kind != 'executable'. */
  interpreter?: string;
  /** The console script that hosts the application (gunicorn, celery) when id is the application's module. */
  launcher?: string;
}

export interface ProcessCommand { exe?: string; argv: string[]; cwd?: string }

type Main = { id: string; kind: SoftwareKind; launcher?: string };

// The kernel appends this to the exe / cwd link of a file replaced since exec (a package upgrade):
// still the same software, so the identity ignores it.
const DELETED = / \(deleted\)$/;

/** The program a process runs: its executable (without the " (deleted)" suffix), else argv[0]. */
export function programOf(p: ProcessCommand): string | undefined {
  return p.exe?.replace(DELETED, '') || p.argv[0];
}

/** The interpreter family a program is, if it is an interpreter. */
export function interpreterFamily(program: string | undefined): Interpreter['family'] | undefined {
  return program ? detectInterpreter(path.posix.basename(program))?.family : undefined;
}

export function identifySoftware(p: ProcessCommand): SoftwareIdentity {
  const program = programOf(p);
  if (!program) return { id: '', kind: 'unknown' };
  const interp = detectInterpreter(path.posix.basename(program));
  if (!interp) return { id: program, kind: 'executable' };
  // An interpreter whose command line could not be read (an exited process not yet reaped
  // reads empty): its program is unknown, not the interpreter itself.
  if (p.argv.length === 0) return { id: '', kind: 'unknown' };
  const cwd = p.cwd?.replace(DELETED, '');
  const main = mainProgram(interp, p.argv, cwd) ?? (p.argv.length === 1 ? retitled(interp, p.argv[0], cwd) : undefined);
  if (!main) return { id: program, kind: 'executable' };
  return { ...main, interpreter: program };
}

/**
 * Interpreters whose programs rename their process: Node's process.title, Python's
 * setproctitle, Ruby's and Perl's `$0 =`. The command line then holds one string, the title
 * ("puma 5.6.4 (tcp://0.0.0.0:3000) [app]", "sidekiq 6.5.1 app [0 of 10 busy]", "spamd
 * child", "my-api"), and no script can be read from it. (Shells cannot; a login shell's
 * "-bash" is not a title.)
 */
const RETITLING: ReadonlySet<string> = new Set(['python', 'node', 'ruby', 'perl', 'php']);

/**
 * The program of a renamed process: a title that is a whole command line again ("node
 * /srv/app/server.js", as some programs set it) is read as one; otherwise its first word
 * names the program: a path is its script (Perl daemons set `$0 = "$0 (master)"`), anything
 * else is the title (kind process-title), without the brackets and colons around it
 * ("[celeryd:" is "celeryd") and without the rest (counts, ports, states change while it runs).
 */
function retitled(interp: Interpreter, title: string, cwd: string | undefined): Main | undefined {
  if (!RETITLING.has(interp.family)) return undefined;
  const words = title.trim().split(/\s+/);
  const first = words[0] ?? '';
  if (first === '') return undefined;
  if (detectInterpreter(path.posix.basename(first))?.family === interp.family) {
    // The interpreter's own name first: a command line, if there is more than that.
    return words.length > 1 ? mainProgram(interp, words, cwd) : undefined;
  }
  if (first.startsWith('/')) return { id: first, kind: 'script' };
  const name = first.replace(/^\[+/, '').replace(/[:\],]+$/, '');
  return name === '' ? undefined : { id: name, kind: 'process-title' };
}

function mainProgram(interp: Interpreter, argv: string[], cwd: string | undefined): Main | undefined {
  const args = argv.slice(1);
  switch (interp.family) {
    case 'java': return javaProgram(args, cwd);
    case 'dotnet': return launched(dotnetMain(args), cwd);
    case 'pwsh': return launched(pwshMain(args), cwd);
    case 'deno': return launched(denoMain(args), cwd);
    case 'bun': {
      const dir = bunCwd(args);
      return launched(bunMain(args), dir ? resolvePath(dir, cwd) : cwd);
    }
    case 'uwsgi': {
      const m = uwsgiMain(args);
      return launched(m, m?.chdir ? resolvePath(m.chdir, cwd) : cwd);
    }
    case 'python': {
      const title = argv.length === 1 ? gunicornTitle(argv[0]) : undefined;
      if (title) return { id: title, kind: 'python-module', launcher: 'gunicorn' };
      return scannedProgram(interp, args, cwd);
    }
    default: return scannedProgram(interp, args, cwd);
  }
}

function javaProgram(args: string[], cwd: string | undefined): Main | undefined {
  const m = javaMain(args);
  if (!m) return undefined;
  const file = m.kind === 'jar' || m.kind === 'script' || m.kind === 'java-argfile';
  return { id: file ? resolvePath(m.value, cwd) : m.value, kind: m.kind };
}

function launched(m: LauncherMain | undefined, cwd: string | undefined): Main | undefined {
  if (!m || m.value === '') return undefined;
  return { id: m.file ? resolvePath(m.value, cwd) : m.value, kind: m.kind };
}

function scannedProgram(interp: Interpreter, args: string[], cwd: string | undefined): Main | undefined {
  const family = interp.family as ScannedFamily;
  const scan = scanOptions(args, OPTION_SPECS[family]);
  if (scan.stopped) {
    const { kind, name, value } = scan.stopped;
    if (kind === 'inline') return { id: `${interp.name} ${inlineFlag(name)}`, kind };
    if (value === undefined || value === '') return undefined;
    if (kind === 'script') return { id: resolvePath(value, cwd), kind };
    // python -m uvicorn main:app: the hosted application, as for the console script.
    const app = family === 'python' && kind === 'python-module' ? hostedApp(value, args.slice(scan.index)) : undefined;
    return app ? { id: app, kind, launcher: value } : { id: value, kind };
  }
  if (scan.stdin) return { id: `${interp.name} -`, kind: 'inline' };
  const seen = (name: string): boolean => scan.options.some((o) => o.name === name);
  // Shells: -c runs the first operand as a command, -s reads commands from stdin (operands are $1...).
  if (family === 'shell' && (seen('c') || seen('s'))) {
    return { id: `${interp.name} -${seen('c') ? 'c' : 's'}`, kind: 'inline' };
  }
  const script = args[scan.index];
  if (script === undefined || script === '') return undefined;
  // perl -S / ruby -S look the script up in PATH: a bare name is the best we know, not a cwd path.
  if ((family === 'perl' || family === 'ruby') && seen('S') && !script.includes('/')) {
    return { id: script, kind: 'script' };
  }
  // ruby -C DIR changes directory before it loads the script.
  const dir = scan.options.filter((o) => family === 'ruby' && o.name === 'C' && o.value).at(-1)?.value;
  const file = resolvePath(script, dir ? resolvePath(dir, cwd) : cwd);
  if (family === 'python') return pythonApp(file, args.slice(scan.index + 1), cwd) ?? { id: file, kind: 'script' };
  return { id: file, kind: 'script' };
}

/**
 * Hosting servers' console scripts (gunicorn, uvicorn, celery, ...): the application module they
 * load is the software; launchers of an application file (fastapi run, streamlit run): the file.
 */
function pythonApp(script: string, rest: string[], cwd: string | undefined): Main | undefined {
  const base = path.posix.basename(script);
  const app = hostedApp(base, rest);
  if (app) return { id: app, kind: 'python-module', launcher: script };
  const file = launchedFile(base, rest);
  return file ? { id: resolvePath(file, cwd), kind: 'script', launcher: script } : undefined;
}

const LONG_TO_SHORT: Record<string, string> = { '--eval': 'e', '--print': 'p', '--run': 'r' };

/** Inline ids use the short flag where one exists ("node -e" for --eval too); other long names stay whole. */
function inlineFlag(name: string): string {
  if (!name.startsWith('--')) return `-${name}`;
  return LONG_TO_SHORT[name] ? `-${LONG_TO_SHORT[name]}` : name;
}

/**
 * Python's multiprocessing (and celery's billiard) start a pool's workers through a bootstrap
 * one-liner. spawn: `python3 -c "from multiprocessing.spawn import spawn_main; ..."
 * --multiprocessing-fork`, a child of the program that made the pool; forkserver (the default on
 * Linux since Python 3.14): a server run as `python3 -c "from multiprocessing.forkserver import
 * main; ..."`, whose forks are the workers; the resource tracker alike. Uvicorn's `--workers`
 * are spawned so. Their software is the program that made the pool, not "python3 -c".
 */
const POOL_BOOTSTRAP = /^\s*from (?:multiprocessing|billiard)\.(?:spawn|forkserver|resource_tracker|semaphore_tracker) import /;

/** Whether the process is a pool's bootstrap one-liner (POOL_BOOTSTRAP). */
export function isPoolBootstrap(p: ProcessCommand): boolean {
  if (interpreterFamily(programOf(p)) !== 'python') return false;
  const c = p.argv.indexOf('-c', 1);
  return c > 0 && POOL_BOOTSTRAP.test(p.argv[c + 1] ?? '');
}

/**
 * The software of a pool's worker (isPoolBootstrap): that of its nearest ancestor, up the
 * chain given (parent first), that is a Python program and no bootstrap itself; undefined when
 * there is none (the maker exited and the worker was re-parented), or when `self` is no worker.
 */
export function poolProgram(self: ProcessCommand, ancestors: readonly ProcessCommand[]): SoftwareIdentity | undefined {
  if (!isPoolBootstrap(self)) return undefined;
  for (const a of ancestors) {
    if (a.argv.length === 0) return undefined; // gone, or unreadable: the chain is broken here
    if (isPoolBootstrap(a)) continue;
    const id = identifySoftware(a);
    return id.kind !== 'unknown' && id.kind !== 'executable' && interpreterFamily(id.interpreter) === 'python' ? id : undefined;
  }
  return undefined;
}

export function resolvePath(file: string, cwd: string | undefined): string {
  if (path.posix.isAbsolute(file)) return path.posix.normalize(file);
  // Without an absolute cwd the relative path is all we know; resolving against our own cwd would lie.
  if (!cwd || !path.posix.isAbsolute(cwd)) return file;
  return path.posix.resolve(cwd, file);
}
