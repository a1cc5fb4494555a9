// classify: is an address external, which domain group does a name belong to (operator
// grouping rules first, then AWS by service, then eTLD+1), and is a connection suppressed.
export { AddressClassifier, ClassifyConfigError, DEFAULT_ADDRESS_CACHE_SIZE, cidrTest, externalCoversLoopback, internalPairRanges, isLoopbackAt, MAX_PAIR_RANGES } from './address.js';
export type { AddressClassifierOptions } from './address.js';
export { registeredDomain, domainGroup, normalizeName, isIp } from './domain.js';
export { awsServiceGroup, AWS_SERVICE_RULES } from './aws.js';
export { BUILTIN_IPV4, BUILTIN_IPV6 } from './ranges.js';
export type { BuiltinRange } from './ranges.js';
export { DomainGrouper, DEFAULT_GROUPER_MEMO_SIZE, parseGroupingRule } from './grouping.js';
export type { GroupingRule } from './grouping.js';
export { Suppressions, parseSuppressionRule } from './suppress.js';
export type { SuppressionRule, SuppressionCandidate, SuppressionStats } from './suppress.js';
export { RuleError, parseExpiry, editDistance } from './patterns.js';
