// Which executables are interpreters, and how each one's command line names its main program.
import type { MainKind, OptionSpec } from './options.js';

/** Families whose options OPTION_SPECS describes (getopt-like command lines). */
export type ScannedFamily = 'python' | 'node' | 'ruby' | 'perl' | 'php' | 'shell';
/** Runtimes with a subcommand grammar of their own (launchers.ts). */
export type LauncherFamily = 'dotnet' | 'pwsh' | 'deno' | 'bun' | 'uwsgi';
export type Family = ScannedFamily | 'java' | LauncherFamily;

export interface Interpreter {
  family: Family;
  /** Version-normalised name for inline ids: python3.11 → python3, ruby3.1 → ruby, nodejs → node. */
  name: string;
}

/** Matches an executable's basename; versions tolerated (python3.11, pypy3, ruby3.1, perl5.36, php8.2). */
export function detectInterpreter(basename: string): Interpreter | undefined {
  const base = basename.replace(/^-/, ''); // login shells: argv[0] "-bash"
  let m = /^(python|pypy)(\d)?(?:\.\d+)*[dmu]*$/.exec(base);
  if (m) return { family: 'python', name: m[1] + (m[2] ?? '') };
  if (base === 'java') return { family: 'java', name: 'java' };
  if (/^(node|nodejs)\d*$/.test(base)) return { family: 'node', name: 'node' };
  m = /^(ruby|perl|php)\d*(?:\.\d+)*$/.exec(base);
  if (m) return { family: m[1] as Family, name: m[1] };
  if (/^(bash|sh|dash|zsh|ksh|ksh93|mksh|ash)$/.test(base)) return { family: 'shell', name: base };
  if (base === 'dotnet' || base === 'deno' || base === 'bun') return { family: base, name: base };
  if (/^(pwsh|pwsh-preview|powershell)$/.test(base)) return { family: 'pwsh', name: 'pwsh' };
  // uwsgi-core and the Debian plugin-bundled uwsgi_python3 are the same server.
  if (/^uwsgi(?:-core|_python\d*)?$/.test(base)) return { family: 'uwsgi', name: 'uwsgi' };
  return undefined;
}

const python: OptionSpec = {
  takesArg: 'WXQ', // -Q is Python 2 (division)
  stop: { m: 'python-module', c: 'inline' },
  longWithArg: ['--check-hash-based-pycs'],
};

const node: OptionSpec = {
  takesArg: 'rC',
  stop: { e: 'inline', p: 'inline', '--eval': 'inline', '--print': 'inline' },
  // Node string options accept "--opt value" as well as "--opt=value".
  longWithArg: [
    '--require', '--import', '--loader', '--experimental-loader', '--conditions', '--title', '--input-type',
    '--env-file', '--icu-data-dir', '--openssl-config', '--redirect-warnings', '--diagnostic-dir', '--report-dir',
    '--report-directory', '--report-filename', '--report-signal', '--heapsnapshot-signal', '--tls-cipher-list',
    '--dns-result-order', '--unhandled-rejections', '--watch-path', '--cpu-prof-dir', '--cpu-prof-name',
    '--heap-prof-dir', '--heap-prof-name', '--disable-warning', '--experimental-policy', '--policy-integrity',
    '--secure-heap', '--secure-heap-min', '--inspect-port', '--debug-port', '--stack-trace-limit', '--localstorage-file',
    '--experimental-default-type', '--env-file-if-exists', '--max-http-header-size', '--snapshot-blob',
    '--test-reporter', '--test-reporter-destination', '--test-name-pattern', '--trace-event-categories',
    '--trace-event-file-pattern', '--max-old-space-size', '--max-semi-space-size', '--stack-size',
  ],
};

const ruby: OptionSpec = {
  takesArg: 'IrCE',
  restOnly: 'xFWK0T',
  stop: { e: 'inline' },
  longWithArg: ['--encoding', '--external-encoding', '--internal-encoding', '--enable', '--disable', '--dump'],
};

const perl: OptionSpec = {
  takesArg: 'I',
  restOnly: 'MmxiFCdDV',
  digitsAfter: 'l0',
  stop: { e: 'inline', E: 'inline' },
};

const php: OptionSpec = {
  takesArg: 'dczSt',
  stop: { f: 'script', r: 'inline', B: 'inline', R: 'inline', F: 'inline', E: 'inline',
    '--file': 'script', '--run': 'inline', '--process-begin': 'inline', '--process-code': 'inline',
    '--process-file': 'inline', '--process-end': 'inline' },
  longWithArg: ['--php-ini', '--define', '--zend-extension', '--rf', '--rc', '--re', '--rz', '--ri'],
};

const shell: OptionSpec = {
  takesArg: 'oO',
  plusOptions: true,
  longWithArg: ['--rcfile', '--init-file'],
};

export const OPTION_SPECS: Record<ScannedFamily, OptionSpec> = { python, node, ruby, perl, php, shell };

/** A binary class name: dotted Java identifiers. */
const CLASS_NAME = /^[A-Za-z_$][\w$]*(?:\.[A-Za-z_$][\w$]*)*$/;

export type JavaMain = { kind: 'jar' | 'java-class' | 'java-module' | 'script' | 'java-argfile'; value: string };

/** java options whose value is the next argument (all others are one token: -Dk=v, -Xmx1g, --add-opens=a/b=c). */
export const JAVA_WITH_ARG = new Set([
  '-cp', '-classpath', '--class-path', '-p', '--module-path', '--upgrade-module-path', '--add-modules',
  '--limit-modules', '--add-exports', '--add-opens', '--add-reads', '--patch-module', '--enable-native-access',
  '--source', '-d', '--describe-module',
]);

/**
 * The java launcher's main: -jar FILE, -m/--module MOD[/CLASS], a .java source file (JEP 330), or
 * the first class name. With none of these but an "@argfile", the main is inside that file
 * (expandJavaArgFiles reads it when a reader is at hand): the argfile is the best name we have.
 */
export function javaMain(args: string[]): JavaMain | undefined {
  let argFile: string | undefined;
  for (let i = 0; i < args.length; i++) {
    const arg = args[i];
    if (arg === '-jar') return args[i + 1] === undefined ? undefined : { kind: 'jar', value: args[i + 1] };
    if (arg === '-m' || arg === '--module') return args[i + 1] === undefined ? undefined : { kind: 'java-module', value: args[i + 1] };
    if (arg.startsWith('--module=')) return { kind: 'java-module', value: arg.slice('--module='.length) };
    if (JAVA_WITH_ARG.has(arg)) { i++; continue; }
    // "@@x" is the launcher's escape for a literal "@x" option.
    if (arg.startsWith('@')) {
      if (!arg.startsWith('@@')) argFile ??= arg.slice(1);
      continue;
    }
    if (arg.startsWith('-')) continue;
    if (arg.endsWith('.java')) return { kind: 'script', value: arg };
    // After an unread argfile, a word that cannot be a class name is an application argument of
    // a main class inside the file ("java @app.args --port 8080").
    if (argFile && !CLASS_NAME.test(arg)) break;
    return { kind: 'java-class', value: arg };
  }
  return argFile ? { kind: 'java-argfile', value: argFile } : undefined;
}

export type { MainKind };
