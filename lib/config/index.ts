// Configuration: defaults in one place, YAML file ← environment ← flags, validated once and
// frozen; the logger factory and the CLI's failure reporting live here too, so the entry
// points in agent/ stay free of logic.
export type { AgentConfig, ConfigSources, ListenAddress, LogLevel, GroupingRule, SuppressionRule } from './types.js';
export { LOG_LEVELS } from './types.js';
export { ConfigError } from './error.js';
export { DEFAULTS, DEFAULT_MACHINE_ID_FILE } from './defaults.js';
export { parseDuration, parseSize, formatDuration, formatSize } from './units.js';
export { parseListen } from './values.js';
export { loadConfig, readConfigFile, CONFIG_ENV } from './load.js';
export { SETTINGS, findSetting, type SettingSpec, type Command, type Kind } from './settings.js';
export { STDIN_FILE, checkInputFiles } from './files.js';
export { createLogger, logStreamFor, logTextFor, LogFile, type LoggerOptions } from './logger.js';
export { describeFailure, debugRequested, surviveRejections, EXIT_CONFIG, EXIT_RUNTIME, type Failure } from './fatal.js';
export { flagOptions, defaultText, CONFIG_FLAG } from './flags.js';
