// The live capture's filter, for the agent and for `egresswatch doctor` alike: what the
// pipeline needs (capture/filter.ts), less loopback traffic off the DNS and configured proxy
// ports (unless --external-cidr makes loopback external), and less the traffic between two
// internal addresses off the DNS and proxy ports.
import { buildBpfFilter } from '../capture/filter.js';
import { externalCoversLoopback, internalPairRanges } from '../classify/index.js';
import { PROXY_PORTS } from '../flows/index.js';

export interface CaptureFilterSettings {
  dnsPorts: readonly number[];
  internalCidrs: readonly string[];
  externalCidrs: readonly string[];
  /** --proxy endpoints: their ports are kept between internal addresses (an internal proxy carries the requests). */
  proxies: readonly { port: number }[];
}

export function agentCaptureFilter(s: CaptureFilterSettings): string {
  return buildBpfFilter([...s.dnsPorts], {
    keepLoopback: externalCoversLoopback(s.externalCidrs),
    // A proxy on loopback (ssh -D, a local privoxy) carries the requests that name its clients' destinations.
    loopbackKeepPorts: s.proxies.map((p) => p.port),
    internalPairs: {
      ranges: internalPairRanges(s.internalCidrs, s.externalCidrs),
      // The unconfigured-proxy hint (FlowTable.onProxyPortPayload) reads internal connections on these.
      keepPorts: [...PROXY_PORTS, ...s.proxies.map((p) => p.port)],
    },
  });
}
