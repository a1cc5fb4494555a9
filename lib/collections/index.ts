// collections: the small bounded structures the stages share (orders with O(1) eviction, memos).
export { RecencyList, OrderedMap } from './order.js';
export type { Linked } from './order.js';
export { GenerationMemo } from './generations.js';
