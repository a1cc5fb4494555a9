// flows: connection starts (TCP SYN, first UDP packet), bytes and packets both ways, ends.
export { ANSWERED, Flow, NOT_ANSWERED, REFUSED, type Answer, type Transport } from './flow.js';
export { FlowTable, FlowTableStats, PROXY_PORTS, flowKey, type FlowHooks, type FlowTableOptions, type FlowEndReason } from './table.js';
