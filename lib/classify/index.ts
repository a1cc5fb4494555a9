// classify: is an address external, and which domain group does a name belong to.
export { AddressClassifier, ClassifyConfigError, DEFAULT_ADDRESS_CACHE_SIZE } from './address.js';
export type { AddressClassifierOptions } from './address.js';
export { registeredDomain, domainGroup, normalizeName } from './domain.js';
export { awsServiceGroup, AWS_SERVICE_RULES } from './aws.js';
export { BUILTIN_IPV4, BUILTIN_IPV6 } from './ranges.js';
export type { BuiltinRange } from './ranges.js';
