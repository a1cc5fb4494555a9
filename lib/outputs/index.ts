// outputs: the alerts file, metrics and health.
export { AlertFile, AlertFileError } from './alert-file.js';
export { createRegistry, MetricsServer, MetricsListenError, type Snapshot } from './metrics.js';
