// collections: the small bounded structures the stages share (orders with O(1) eviction, memos,
// a Bloom filter).
export { RecencyList, OrderedMap } from './order.js';
export type { Linked } from './order.js';
export { GenerationMemo } from './generations.js';
export { BloomFilter } from './bloom.js';
