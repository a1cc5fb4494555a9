// What to tell about a savefile libpcap stopped reading before its end. The binding reports
// only that a read failed, not libpcap's message. (A pcapng file whose interfaces have
// different link types, which libpcap refuses, is read on by pcapng.ts and does not get here.)

/** The reason given for a file whose reading stopped after `packets` packets. */
export function readErrorReason(packets: number): string {
  return `reading stopped after ${packets} packet(s) at a record that could not be read: the file is cut short or corrupt `
    + '(the packets before it were replayed)';
}
