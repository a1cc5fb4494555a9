// software stage: who the software behind a process is (executable, or an interpreter's main program).
export { identifySoftware, type SoftwareIdentity, type SoftwareKind, type ProcessCommand } from './identify.js';
export { detectInterpreter, type Interpreter, type Family } from './interpreters.js';
