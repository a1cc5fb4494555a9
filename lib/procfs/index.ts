// procfs stage: parsers of /proc text and the rooted reader; flow → socket inode → pid; process facts.
export { ProcFs } from './procfs.js';
export { parseProcNet, type SocketEntry, type ProcNetParseOptions, type ProcNetParseStats } from './netparse.js';
export { SocketResolver, type FlowEnds, type SocketOwner, type SocketResolverOptions } from './resolver.js';
export {
  readProcess, parseStat, parseStatus, parseCmdline, parseLoginUid, parseUidMap, insideUid,
  type ProcessInfo, type StatFields, type StatusFields, type ReadProcessOptions,
} from './process.js';
export { type ParentInfo } from './process.js';
export { HostsFiles, parseHosts, type HostsFilesOptions } from './hosts.js';
export { NameService, UserNames, parsePasswd, type NameServiceOptions, type UserNamesOptions } from './passwd.js';
export { normaliseIp, formatIPv6 } from './address.js';
export { NetnsIndex, parseNsLink, UNKNOWN_NETNS, type NetnsIndexOptions } from './netns.js';
export { localAddresses, parseFibTrieLocal, parseIfInet6 } from './netns-addr.js';
export { SnapshotProcFs, SNAPSHOT_FILES, SNAPSHOT_LINKS, type SnapshotOptions } from './snapshot.js';
export { SockDiag, type DiagSocket, type NetlinkAddon, type SockDiagOptions } from './netlink.js';
export { ExecWatch, type ExecCopy, type ExecWatchAddon, type ExecWatchOptions } from './execwatch.js';
export { ConnectTracer, sockOffsets, type ConnectTracerOptions, type SockOffsets, type TracedSocket, type TracerAddon } from './tracer.js';
export { HotPids, type HotPidsOptions } from './hotpids.js';
export { CopyProcFs, programBefore, type ProgramCopies } from './program-at.js';
