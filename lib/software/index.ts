// software stage: who the software behind a process is (executable, or an interpreter's main
// program), which container and pod it runs in, its main file's facts, and its baseline key.
export { identifySoftware, type SoftwareIdentity, type SoftwareKind, type ProcessCommand } from './identify.js';
export { detectInterpreter, type Interpreter, type Family } from './interpreters.js';
export { containerFromCgroup, type CgroupContainer, type ContainerRuntime } from './container-cgroup.js';
export { parseImageRef, qualifyImageName, type ImageRef } from './container-image.js';
export {
  fromContainerdBundle, fromCrioConfig, fromDockerConfig, fromStorageEntry,
  type ContainerInfo, type ContainerFacts, type PodInfo,
} from './container-sources.js';
export { ContainerCatalog, ContainerCatalogStats, type ContainerCatalogOptions } from './container-catalog.js';
