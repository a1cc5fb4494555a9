// The only place that loads the `pcap` package, and only its native binding: the package's
// JavaScript layer decodes every packet into objects and emits an event per packet, which is
// what the decode stage exists to avoid.
import { createRequire } from 'node:module';

/** The native session (node_modules/pcap/pcap_session.cc). */
export interface NativeSession {
  /** Returns the link type name, or "Unknown linktype N". Throws with libpcap's error text. */
  open_live(device: string, filter: string, bufferSize: number, snapLength: number, outfile: string,
    packetReady: () => void, monitor: boolean, bufferTimeoutMs: number, warn: (msg: string) => void, promiscuous: boolean): string;
  open_offline(path: string, filter: string, bufferSize: number, snapLength: number, outfile: string,
    packetReady: () => void, monitor: boolean, bufferTimeoutMs: number, warn: (msg: string) => void, promiscuous: boolean): string;
  /**
   * Reads packets one pcap_dispatch(1) at a time until none is left; packetReady runs once per
   * packet with the frame copied into `buf` and the header into `header`. Returns the last
   * pcap_dispatch result: 0 nothing more now / end of file, -1 error, -2 the session was
   * broken out of (close() was called) and has been freed. Never call it again after -2:
   * the binding would hand libpcap a NULL handle.
   */
  dispatch(buf: Buffer, header: Buffer): number;
  start_polling(): void;
  /** pcap_breakloop only; the handle is freed by the next dispatch() that returns -2. */
  close(): void;
  stats(): { ps_recv: number; ps_drop: number; ps_ifdrop: number };
  read_callback?: () => void;
}

export interface NativeBinding {
  PcapSession: new () => NativeSession;
  findalldevs(): { name: string; description?: string; flags?: string }[];
  lib_version(): string;
}

/** Load the binding; separate so a missing build fails with a message that says what to do. */
export function loadBinding(): NativeBinding {
  const require = createRequire(import.meta.url);
  try {
    return require('pcap/build/Release/pcap_binding.node') as NativeBinding;
  } catch (err) {
    throw new Error(`cannot load the libpcap binding (pcap/build/Release/pcap_binding.node): ${(err as Error).message}; ` +
      'run `npm run setup` (libpcap-dev and a C++ toolchain are needed to build it)', { cause: err });
  }
}

/** Link type number from the binding's name for it. */
export function parseLinkType(name: string): number {
  switch (name) {
    case 'LINKTYPE_NULL': return 0;
    case 'LINKTYPE_ETHERNET': return 1;
    case 'LINKTYPE_RAW': return 12; // DLT_RAW on Linux
    case 'LINKTYPE_IEEE802_11_RADIO': return 127;
    case 'LINKTYPE_LINUX_SLL': return 113;
    default: {
      const m = /^Unknown linktype (-?\d+)$/.exec(name);
      return m ? Number(m[1]) : -1;
    }
  }
}

/** Packet header as the binding writes it: tv_sec, tv_usec, caplen, len, each u32 in host order. */
export const HEADER_LENGTH = 16;
