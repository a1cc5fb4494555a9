// Runtimes whose command lines are subcommand grammars rather than getopt clusters: dotnet,
// PowerShell, Deno, Bun and uWSGI. Each returns the main program or undefined (the runtime
// itself is the software: a REPL, an SDK command, a config from elsewhere).
import type { MainKind } from './options.js';

export type LauncherKind = MainKind | 'script' | 'dotnet-assembly' | 'config' | 'package-script';
export interface LauncherMain { kind: LauncherKind; value: string; file?: boolean }

/** Splits off "--opt=value"; a name in withArg takes the next argument when no '=' is given. */
function skipOption(args: string[], i: number, withArg: Set<string>): number {
  const arg = args[i];
  if (arg.includes('=')) return i;
  return withArg.has(arg) ? i + 1 : i;
}

// dotnet [host-options] app.dll | dotnet exec [host-options] app.dll. Anything else (run, build,
// test, a tool name) is the SDK or a tool: the dotnet executable is the best name we have.
const DOTNET_HOST_WITH_ARG = new Set(['--additionalprobingpath', '--additional-deps', '--depsfile', '--runtimeconfig',
  '--fx-version', '--roll-forward', '--roll-forward-on-no-candidate-fx']);

export function dotnetMain(args: string[]): LauncherMain | undefined {
  let i = args[0] === 'exec' ? 1 : 0;
  for (; i < args.length; i++) {
    const arg = args[i];
    if (arg.startsWith('-')) { i = skipOption(args, i, DOTNET_HOST_WITH_ARG); continue; }
    return /\.(dll|exe)$/i.test(arg) ? { kind: 'dotnet-assembly', value: arg, file: true } : undefined;
  }
  return undefined;
}

// pwsh parameters are case-insensitive and may be shortened to any unambiguous prefix; these
// are the ones whose value is the next argument (from `pwsh -?`, PowerShell 7.4).
const PWSH_WITH_ARG = ['executionpolicy', 'workingdirectory', 'configurationname', 'configurationfile', 'custompipename',
  'outputformat', 'inputformat', 'windowstyle', 'settingsfile', 'encodedarguments'];
const PWSH_WITH_ARG_SHORT = new Set(['ex', 'ep', 'wd', 'o', 'of', 'if', 'in', 'w']);

export function pwshMain(args: string[]): LauncherMain | undefined {
  for (let i = 0; i < args.length; i++) {
    const arg = args[i];
    // On Linux pwsh takes '-' parameters only: a leading '/' is a path.
    if (!arg.startsWith('-') || arg === '-') {
      // The first positional argument is a script file (as if after -File), per pwsh's help.
      return arg === '-' ? { kind: 'inline', value: 'pwsh -c' } : { kind: 'script', value: arg, file: true };
    }
    const name = arg.slice(1).toLowerCase().replace(/^-/, '').split(':')[0];
    if (name === 'f' || (name.length >= 2 && 'file'.startsWith(name))) {
      return args[i + 1] === undefined || args[i + 1] === '-' ? { kind: 'inline', value: 'pwsh -c' } : { kind: 'script', value: args[i + 1], file: true };
    }
    if (name === 'c' || name === 'e' || name === 'ec' || (name.length >= 2 && ('command'.startsWith(name) || 'encodedcommand'.startsWith(name)))) {
      return { kind: 'inline', value: 'pwsh -c' };
    }
    if (PWSH_WITH_ARG_SHORT.has(name) || (name.length >= 2 && PWSH_WITH_ARG.some((p) => p.startsWith(name)))) i++;
  }
  return undefined;
}

// deno run|serve [flags] MAIN, or deno MAIN (Deno 2); deno eval CODE is inline. Most deno flags
// are "--flag=value"; these take a separate value.
const DENO_WITH_ARG = new Set(['-c', '--config', '--import-map', '--cert', '--location', '--seed', '--ext', '--port',
  '--host', '-L', '--log-level', '--watch-exclude', '--env-file', '--preload', '--conditions']);
const DENO_SUB = new Set(['run', 'serve']);

export function denoMain(args: string[]): LauncherMain | undefined {
  let i = 0;
  for (; i < args.length && args[i].startsWith('-'); i++) i = skipOption(args, i, DENO_WITH_ARG);
  const sub = args[i];
  if (sub === undefined) return undefined;
  if (sub === 'eval') return { kind: 'inline', value: 'deno eval' };
  if (!DENO_SUB.has(sub)) return /\.[cm]?[jt]sx?$/.test(sub) || sub.includes('/') ? moduleOrFile(sub) : undefined;
  for (i++; i < args.length; i++) {
    if (args[i] === '--') continue;
    if (args[i].startsWith('-')) { i = skipOption(args, i, DENO_WITH_ARG); continue; }
    return moduleOrFile(args[i]);
  }
  return undefined;
}

/** A URL or a jsr: / npm: specifier is an id as written; a path is resolved against cwd by the caller. */
function moduleOrFile(spec: string): LauncherMain {
  return /^(?:[a-z][a-z0-9+.-]*:\/\/|jsr:|npm:)/i.test(spec) ? { kind: 'script', value: spec } : { kind: 'script', value: spec, file: true };
}

// bun [flags] FILE | bun run [flags] FILE|SCRIPT | bun x PKG | bun -e CODE.
const BUN_WITH_ARG = new Set(['-r', '--preload', '--cwd', '--env-file', '-c', '--config', '--tsconfig-override', '-d',
  '--define', '-l', '--loader', '--main-fields', '--conditions', '--port', '--elide-lines', '--filter', '-F']);
const BUN_SUBCOMMANDS = new Set(['install', 'i', 'add', 'a', 'remove', 'rm', 'update', 'link', 'unlink', 'pm', 'build',
  'init', 'create', 'c', 'upgrade', 'test', 'outdated', 'publish', 'patch', 'repl', 'exec', 'completions', 'discord', 'help']);

export function bunMain(args: string[]): LauncherMain | undefined {
  let i = 0;
  for (; i < args.length; i++) {
    const arg = args[i];
    if (arg === '-e' || arg === '--eval' || arg === '-p' || arg === '--print') return { kind: 'inline', value: 'bun -e' };
    if (arg === 'run') continue;
    if (!arg.startsWith('-')) break;
    i = skipOption(args, i, BUN_WITH_ARG);
  }
  const main = args[i];
  if (main === undefined || BUN_SUBCOMMANDS.has(main)) return undefined;
  if (main === 'x') return args[i + 1] === undefined ? undefined : { kind: 'package-script', value: `bunx ${args[i + 1]}` };
  // A path or a name with a script extension is a file; a bare word is a package.json script.
  if (main.includes('/') || /\.[cm]?[jt]sx?$/.test(main)) return { kind: 'script', value: main, file: true };
  return { kind: 'package-script', value: `bun run ${main}` };
}

/** bun --cwd DIR changes the directory files are resolved against. */
export function bunCwd(args: string[]): string | undefined {
  const at = args.findIndex((a) => a === '--cwd' || a.startsWith('--cwd='));
  if (at < 0) return undefined;
  return args[at].includes('=') ? args[at].slice(6) : args[at + 1];
}

// uWSGI: the application is --module/-w/--wsgi (a Python module), else --wsgi-file/--file (a
// script), else the last --ini/--yaml/--json/--xml (or a bare config file argument), which is
// what Debian's init passes (the app's own file comes after the defaults, so the last one).
export function uwsgiMain(args: string[]): LauncherMain & { chdir?: string } | undefined {
  const found: Record<string, string> = {};
  let config: string | undefined;
  for (let i = 0; i < args.length; i++) {
    const arg = args[i];
    if (!arg.startsWith('-')) {
      if (/\.(ini|ya?ml|json|xml)$/.test(arg)) config = arg;
      continue;
    }
    const eq = arg.indexOf('=');
    const name = (eq < 0 ? arg : arg.slice(0, eq)).replace(/^--?/, '');
    const value = eq < 0 ? args[i + 1] : arg.slice(eq + 1);
    if (eq < 0 && value !== undefined && !value.startsWith('-')) i++;
    if (value === undefined) continue;
    if (['module', 'w', 'wsgi'].includes(name)) found.module ??= value;
    else if (['wsgi-file', 'file'].includes(name)) found.file ??= value;
    else if (['ini', 'yaml', 'yml', 'json', 'xml'].includes(name)) config = value;
    else if (name === 'chdir') found.chdir = value;
  }
  const chdir = found.chdir;
  if (found.module) return { kind: 'python-module', value: found.module.split(':')[0], chdir };
  if (found.file) return { kind: 'script', value: found.file, file: true, chdir };
  return config === undefined ? undefined : { kind: 'config', value: config, file: true, chdir };
}
