// alerts: the alert model (ECS names) and the hold window that waits for bytes before emitting.
export { buildAlert, alertLine, alertId, escapeControl, MAX_COMMAND_LINE, RULE_NAME, RULE_ID, type ConnectionFacts, type AlertContext, type AttributionMethod, type Confidence, type ContainerFacts, type MainFileFacts } from './model.js';
export { AlertHold } from './hold.js';
