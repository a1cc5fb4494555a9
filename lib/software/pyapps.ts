// Python console scripts that only host the real application: gunicorn serves a WSGI module,
// celery runs a task app. Two Django sites under one gunicorn are different software, so the
// application module is the identity (the launcher script is kept beside it).

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

/** setproctitle'd gunicorn: "gunicorn: master [pkg.app:application]" / "gunicorn: worker [...]". */
export function gunicornTitle(title: string): string | undefined {
  const m = /^gunicorn: (?:master|worker) \[(.+)\]$/.exec(title);
  return m ? moduleOf(m[1]) : undefined;
}

function moduleOf(spec: string): string | undefined {
  const mod = spec.split(':')[0].trim();
  return /^[A-Za-z_][\w.]*$/.test(mod) ? mod : undefined;
}
