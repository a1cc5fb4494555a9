import { loadBinding } from './binding.js';

/** Interface names libpcap can capture on (pcap_findalldevs), `any` included. */
export function interfaceNames(): string[] {
  return loadBinding().findalldevs().map((d) => d.name);
}

/** libpcap's version string, for the startup log. */
export function libpcapVersion(): string {
  return loadBinding().lib_version();
}
