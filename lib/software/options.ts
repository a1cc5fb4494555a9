// A getopt-style scanner of interpreter command lines: short option clusters ("-uBm mod",
// "-lane code"), long options with "=value" or a separate value, "--" and "-" (stdin).
// Each interpreter describes its own options in an OptionSpec (interpreters.ts).

export type MainKind = 'script' | 'python-module' | 'inline';

export interface OptionSpec {
  /** Letters whose value is the rest of the cluster or, when the cluster ends there, the next argument. */
  takesArg?: string;
  /** Letters that swallow the rest of the cluster as an optional value and never the next argument. */
  restOnly?: string;
  /** Letters followed by optional digits only (perl -l[octal], -0[hex]): "-lane" is -l -a -n -e. */
  digitsAfter?: string;
  /** Letters (or long names) that end option parsing: their value is the main program. */
  stop?: Record<string, MainKind>;
  /** Long options whose value may be the next argument when written without "=". */
  longWithArg?: string[];
  /** Shells also take "+o opt" / "+x" style options. */
  plusOptions?: boolean;
}

export interface Scan {
  /** Options seen before the main program, in order (short letters without "-", long names with "--"). */
  options: { name: string; value?: string }[];
  /** Set when a stop option was met. */
  stopped?: { name: string; kind: MainKind; value?: string };
  /** Index of the first positional argument (args.length when none); after a stop option, of the argument after it and its value. */
  index: number;
  /** "-" met: the program comes from standard input. */
  stdin: boolean;
}

export function scanOptions(args: string[], spec: OptionSpec): Scan {
  const scan: Scan = { options: [], index: args.length, stdin: false };
  for (let i = 0; i < args.length; i++) {
    const arg = args[i];
    if (arg === '--') {
      scan.index = i + 1;
      return scan;
    }
    if (arg === '-') {
      scan.stdin = true;
      scan.index = i;
      return scan;
    }
    const isOpt = arg.startsWith('-') || (spec.plusOptions === true && arg.startsWith('+') && arg.length > 1);
    if (!isOpt) {
      scan.index = i;
      return scan;
    }
    const consumed = arg.startsWith('--') ? longOption(args, i, spec, scan) : shortCluster(args, i, spec, scan);
    if (scan.stopped) {
      scan.index = Math.min(i + consumed + 1, args.length);
      return scan;
    }
    i += consumed;
  }
  return scan;
}

/** Returns how many following arguments the option consumed. */
function longOption(args: string[], i: number, spec: OptionSpec, scan: Scan): number {
  const arg = args[i];
  const eq = arg.indexOf('=');
  const name = eq < 0 ? arg : arg.slice(0, eq);
  const attached = eq < 0 ? undefined : arg.slice(eq + 1);
  const stopKind = spec.stop?.[name];
  const wantsNext = attached === undefined && (stopKind !== undefined || (spec.longWithArg ?? []).includes(name));
  const value = wantsNext ? args[i + 1] : attached;
  if (stopKind) scan.stopped = { name, kind: stopKind, value };
  else scan.options.push({ name, value });
  return wantsNext ? 1 : 0;
}

function shortCluster(args: string[], i: number, spec: OptionSpec, scan: Scan): number {
  const arg = args[i];
  for (let j = 1; j < arg.length; j++) {
    const c = arg[j];
    const rest = arg.slice(j + 1);
    const stopKind = spec.stop?.[c];
    if (stopKind || (spec.takesArg ?? '').includes(c)) {
      const value = rest !== '' ? rest : args[i + 1];
      if (stopKind) scan.stopped = { name: c, kind: stopKind, value };
      else scan.options.push({ name: c, value });
      return rest !== '' ? 0 : 1;
    }
    if ((spec.restOnly ?? '').includes(c)) {
      scan.options.push({ name: c, value: rest });
      return 0;
    }
    if ((spec.digitsAfter ?? '').includes(c)) {
      // perl: -0 takes octal or x-prefixed hex, -l octal only, so "-lane" leaves "ane" alone.
      const digits = (c === '0' ? /^(?:[xX][0-9a-fA-F]*|[0-7]*)/ : /^[0-7]*/).exec(rest)?.[0] ?? '';
      scan.options.push({ name: c, value: digits });
      j += digits.length;
      continue;
    }
    scan.options.push({ name: c });
  }
  return 0;
}
