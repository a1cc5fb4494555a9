// outputs: the alerts file, metrics and health.
export { AlertFile, AlertFileError, writeErrorFix } from './alert-file.js';
export { createRegistry, MetricsServer, MetricsListenError, type Snapshot } from './metrics.js';
export { type AlertFileOptions } from './alert-file.js';
export { DEFAULT_MAX_BYTES, DEFAULT_MAX_FILES, RotationConfigError, rotatedName, type RotationOptions } from './rotation.js';
export { Spool, type SpoolOptions, type SpoolEntry, type SpoolStats } from './spool.js';
export { HttpForwarder, type HttpForwarderOptions, type ForwarderStats, type ForwarderLogger } from './http-forwarder.js';
export { ConfigFileError } from './http-forwarder-post.js';
export { Backoff, parseRetryAfter, type BackoffOptions } from './backoff.js';
export { toOcsf, OCSF_VERSION, OCSF_CLASS_UID, OCSF_CATEGORY_UID, OCSF_FINDING_TYPE } from './ocsf.js';
export { SyslogForwarder, type SyslogForwarderOptions, type SyslogStats, type SpoolLike, type SpoolRecord, type SyslogLogger } from './syslog.js';
export { formatRfc5424, frameOctetCounted, escapeSdParam, SyslogFormatError, FACILITY, type Rfc5424Options } from './syslog-format.js';
export { SyslogConfigError, parseSyslogUrl } from './syslog-conn.js';
