// The kernel aids for clients gone before /proc can be read (--kernel-tracing): can the connect
// tracer attach and the exec watcher listen here? Both are started as the agent would start them,
// then stopped.
import { ConnectTracer, ExecWatch, SNAPSHOT_FILES, SNAPSHOT_LINKS } from '../procfs/index.js';
import { ok, warn, type CheckResult } from './types.js';

const NAME = 'kernel tracing';

export function checkKernelTracing(procRoot: string, enabled: boolean): CheckResult {
  if (!enabled) return ok(NAME, 'off (--kernel-tracing off): a client gone within a millisecond of connecting may go unattributed');
  const why: string[] = [];
  const tracer = ConnectTracer.open({ pidnsOf: procRoot, log: (m) => why.push(m) });
  const watch = ExecWatch.open(procRoot, SNAPSHOT_FILES, SNAPSHOT_LINKS, { log: (m) => why.push(m) });
  const parts = [
    tracer ? `connect tracer attached (TCP${tracer.ipv6 ? ' IPv4 and IPv6' : ' IPv4 only: no kernel BTF'}${tracer.udpVia ? `, UDP through ${tracer.udpVia}` : ', no UDP: no kernel BTF'})` : undefined,
    watch ? 'exec watcher listening' : undefined,
  ].filter((p): p is string => p !== undefined);
  tracer?.close();
  watch?.close();
  if (tracer && watch) return ok(NAME, parts.join('; '));
  return warn(NAME, [...parts, ...why].join('; '),
    'run as root, or grant CAP_BPF and CAP_PERFMON (the tracer) and CAP_NET_ADMIN in the host pid namespace (the exec watcher); or accept it with --kernel-tracing off');
}
