// java @argfiles (JDK 9+, the launcher's args.c): more options in a file, expanded in place
// before the main class. Tokens split on whitespace; ' or " quote, with backslash escapes inside
// quotes only; '#' at the start of a token comments out the rest of the line. Argfiles are not
// nested, expansion stops at the main class, -jar / -m, or --disable-@files.
import path from 'node:path';
import { JAVA_WITH_ARG } from './interpreters.js';
import { identifySoftware, interpreterFamily, programOf, resolvePath, type ProcessCommand, type SoftwareIdentity } from './identify.js';

/** An argfile's bound: the launcher itself has none, but ours reads files of processes we watch. */
export const MAX_ARGFILE_BYTES = 1 << 20;

const ESCAPES: Record<string, string> = { n: '\n', t: '\t', r: '\r', f: '\f' };

export function parseJavaArgFile(text: string): string[] {
  const out: string[] = [];
  let token: string | undefined;
  let quote: string | undefined;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (quote) {
      if (c === quote) quote = undefined;
      else if (c === '\\' && i + 1 < text.length) {
        i++;
        token += ESCAPES[text[i]] ?? text[i];
      } else token += c;
    } else if (c === '"' || c === "'") {
      quote = c;
      token ??= '';
    } else if (/\s/.test(c)) {
      if (token !== undefined) out.push(token);
      token = undefined;
    } else if (c === '#' && token === undefined) {
      const nl = text.indexOf('\n', i);
      i = nl < 0 ? text.length : nl;
    } else {
      token = (token ?? '') + c;
    }
  }
  if (token !== undefined) out.push(token);
  return out;
}

/**
 * java's arguments (argv without argv[0]) with each @argfile before the main replaced by its
 * tokens. read gets the path as written (relative to the process's cwd); an unreadable file stays
 * as "@path", so javaMain can still name it.
 */
export async function expandJavaArgFiles(args: string[], read: (file: string) => Promise<string | undefined>): Promise<string[]> {
  const out: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const arg = args[i];
    const stop = arg === '--disable-@files' || arg === '-jar' || arg === '-m' || arg === '--module' || !/^[-@]/.test(arg);
    if (stop) return out.concat(args.slice(i));
    if (JAVA_WITH_ARG.has(arg)) {
      out.push(arg, ...args.slice(i + 1, i + 2));
      i++;
      continue;
    }
    const text = arg.startsWith('@') && !arg.startsWith('@@') ? await read(arg.slice(1)) : undefined;
    if (text === undefined) out.push(arg);
    else out.push(...parseJavaArgFile(text));
  }
  return out;
}

/**
 * identifySoftware, with java's @argfiles read first so the main class or JAR inside them is
 * found. read gets an absolute path (relative argfiles are resolved against the process's cwd;
 * without one they stay unread and the identity is the argfile itself).
 */
export async function identifySoftwareReading(p: ProcessCommand, read?: (file: string) => Promise<string | undefined>): Promise<SoftwareIdentity> {
  const isJava = interpreterFamily(programOf(p)) === 'java';
  if (!read || !isJava || !p.argv.some((a) => a.startsWith('@'))) return identifySoftware(p);
  const cwd = p.cwd?.replace(/ \(deleted\)$/, '');
  const reader = (file: string): Promise<string | undefined> => {
    const abs = resolvePath(file, cwd);
    return path.posix.isAbsolute(abs) ? read(abs) : Promise.resolve(undefined);
  };
  const args = await expandJavaArgFiles(p.argv.slice(1), reader);
  return identifySoftware({ ...p, argv: [p.argv[0], ...args] });
}
