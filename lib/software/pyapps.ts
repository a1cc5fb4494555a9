// Python console scripts that only host the real application: gunicorn serves a WSGI module,
// uvicorn, hypercorn, daphne, granian and waitress-serve an ASGI / WSGI one, celery runs a task
// app. Two Django sites under one gunicorn, two FastAPI services under one uvicorn, are different
// software, so the application module is the identity (the launcher is kept beside it).

// gunicorn options whose value is the next argument (gunicorn 21 settings with a "-x VALUE" or
// "--x VALUE" form). Anything else starting with '-' is a flag or carries "=value".
const GUNICORN_WITH_ARG = new Set(['-c', '--config', '-b', '--bind', '-w', '--workers', '-k', '--worker-class', '--threads',
  '-t', '--timeout', '--graceful-timeout', '--keep-alive', '--chdir', '--pythonpath', '--log-level', '--access-logfile',
  '--access-logformat', '--error-logfile', '--log-file', '--log-config', '--log-syslog-to', '--log-syslog-prefix',
  '--log-syslog-facility', '-u', '--user', '-g', '--group', '-m', '--umask', '-e', '--env', '-n', '--name', '-p', '--pid',
  '--max-requests', '--max-requests-jitter', '--worker-connections', '--backlog', '--limit-request-line',
  '--limit-request-fields', '--limit-request-field_size', '--certfile', '--keyfile', '--ca-certs', '--ciphers',
  '--ssl-version', '--cert-reqs', '--forwarded-allow-ips', '--proxy-allow-from', '--proxy-protocol', '--worker-tmp-dir',
  '--paste', '--paste-global', '--statsd-host', '--statsd-prefix', '--dogstatsd-tags', '--reload-engine', '--reload-extra-file',
  '--initgroups', '--logger-class', '--sendfile', '--raw-env', '--header-map', '--capture-output-to']);

/** "pkg.app:application" → "pkg.app"; gunicorn's own options skipped; undefined when the app comes from a config file. */
export function gunicornApp(args: string[]): string | undefined {
  let app: string | undefined;
  for (let i = 0; i < args.length; i++) {
    const arg = args[i];
    if (arg.startsWith('-')) {
      if (!arg.includes('=') && GUNICORN_WITH_ARG.has(arg)) i++;
      continue;
    }
    app ??= arg;
  }
  return app === undefined ? undefined : moduleOf(app);
}

/** celery -A/--app MODULE[:attr] anywhere on the line (before or after the subcommand). */
export function celeryApp(args: string[]): string | undefined {
  for (let i = 0; i < args.length; i++) {
    const arg = args[i];
    if (arg === '-A' || arg === '--app') return args[i + 1] === undefined ? undefined : moduleOf(args[i + 1]);
    if (arg.startsWith('--app=')) return moduleOf(arg.slice(6));
    if (arg.startsWith('-A') && arg.length > 2) return moduleOf(arg.slice(2));
  }
  return undefined;
}

/**
 * The servers whose application is their first argument in `module:attribute` form (uvicorn
 * main:app, hypercorn app.asgi:application, daphne proj.asgi:application, granian --interface
 * asgi main:app, waitress-serve --port=8041 myapp:wsgifunc). Any of their options' values would
 * have to look like that to be taken for it: an address ("0.0.0.0:8000", "unix:/run/x.sock"),
 * a path or a number does not.
 */
const APP_SPEC = /^[A-Za-z_][\w.]*:[A-Za-z_][\w.]*(?:\(.*\))?$/;

/** "pkg.main:app" → "pkg.main", the first argument in that form. */
export function serverApp(args: string[]): string | undefined {
  const spec = args.find((a) => !a.startsWith('-') && APP_SPEC.test(a));
  return spec === undefined ? undefined : moduleOf(spec);
}

/**
 * The application a hosting server runs, by the server's name (its console script's base name,
 * or the module run with `python -m`); undefined for any other program, or when its application
 * cannot be read from the command line (a config file's).
 */
export function hostedApp(server: string, args: string[]): string | undefined {
  switch (server) {
    case 'gunicorn': return gunicornApp(args);
    case 'celery': return celeryApp(args);
    case 'uvicorn': case 'hypercorn': case 'daphne': case 'granian': case 'waitress-serve': case 'waitress': return serverApp(args);
    default: return undefined;
  }
}

/**
 * Launchers that run an application file: `fastapi run app/main.py` (also `dev`), `streamlit run
 * app.py`, `chainlit run app.py`. The file (relative to the working directory) is the software;
 * undefined for another launcher or subcommand.
 */
export function launchedFile(launcher: string, args: string[]): string | undefined {
  const subcommands: Record<string, readonly string[]> = { fastapi: ['run', 'dev'], streamlit: ['run'], chainlit: ['run'] };
  const sub = subcommands[launcher];
  if (sub === undefined || !sub.includes(args[0] ?? '')) return undefined;
  return args.slice(1).find((a) => !a.startsWith('-') && a.endsWith('.py'));
}

/** setproctitle'd gunicorn: "gunicorn: master [pkg.app:application]" / "gunicorn: worker [...]". */
export function gunicornTitle(title: string): string | undefined {
  const m = /^gunicorn: (?:master|worker) \[(.+)\]$/.exec(title);
  return m ? moduleOf(m[1]) : undefined;
}

function moduleOf(spec: string): string | undefined {
  const mod = spec.split(':')[0].trim();
  return /^[A-Za-z_][\w.]*$/.test(mod) ? mod : undefined;
}
