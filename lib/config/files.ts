// Inputs named on the command line (replay capture files) are checked before anything
// starts, so a typo is one clear line instead of an error from deep inside libpcap.
import fs from 'node:fs';
import path from 'node:path';
import { ConfigError } from './error.js';
import { errnoText } from './load.js';

/** The name a capture read from standard input is given (`egresswatch replay -`, as tcpdump -r -). */
export const STDIN_FILE = '/dev/stdin';

/**
 * Resolves each file against `cwd` and checks it is a readable regular file, or a pipe
 * (`tcpdump -w - | egresswatch replay -`, a FIFO).
 */
export function checkInputFiles(files: readonly string[], what: string, cwd = process.cwd()): string[] {
  if (files.length === 0) throw new ConfigError(`no ${what} given`, what, `name at least one ${what}`);
  return files.map((f) => {
    // libpcap reads standard input itself for '-' (a pipe or a socket; opening /dev/stdin fails for a socket).
    if (f === STDIN_FILE || f === '-') return '-';
    const abs = path.resolve(cwd, f);
    const fix = `check the path of the ${what}`;
    try {
      fs.accessSync(abs, fs.constants.R_OK);
      const st = fs.statSync(abs);
      if (!st.isFile() && !st.isFIFO()) throw new ConfigError(`cannot read ${what} ${abs}: not a regular file or a pipe (fix: ${fix})`, what, fix);
    } catch (err) {
      if (err instanceof ConfigError) throw err;
      throw new ConfigError(`cannot read ${what} ${abs}: ${errnoText(err as NodeJS.ErrnoException)} (fix: ${fix})`, what, fix);
    }
    return abs;
  });
}
