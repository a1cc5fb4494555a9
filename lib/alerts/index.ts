// alerts: the alert model (ECS names) and the hold window that waits for bytes before emitting.
export { buildAlert, alertLine, alertId, escapeControl, tcpHandshake, MAX_COMMAND_LINE, NO_ANSWER_MS, RULE_NAME, RULE_ID, type TcpHandshake, type ConnectionFacts, type AlertContext, type AttributionMethod, type Confidence, type ContainerFacts, type MainFileFacts } from './model.js';
export { AlertHold } from './hold.js';
export { isoTime } from './time.js';
