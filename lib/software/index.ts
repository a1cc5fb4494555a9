// software stage: who the software behind a process is (executable, or an interpreter's main
// program), which container and pod it runs in, its main file's facts, and its baseline key.
export { identifySoftware, isPoolBootstrap, poolProgram, type SoftwareIdentity, type SoftwareKind, type ProcessCommand } from './identify.js';
export { detectInterpreter, javaMain, type Interpreter, type Family, type ScannedFamily, type LauncherFamily } from './interpreters.js';
export { containerFromCgroup, systemdUnitFromCgroup, type CgroupContainer, type ContainerRuntime } from './container-cgroup.js';
export { parseImageRef, qualifyImageName, type ImageRef } from './container-image.js';
export {
  fromContainerdBundle, fromCrioConfig, fromDockerConfig, fromStorageEntry,
  type ContainerInfo, type ContainerFacts, type PodInfo,
} from './container-sources.js';
export { ContainerCatalog, ContainerCatalogStats, type ContainerCatalogOptions } from './container-catalog.js';
export { parseJavaArgFile, expandJavaArgFiles, identifySoftwareReading, MAX_ARGFILE_BYTES } from './javaargs.js';
export { dotnetMain, pwshMain, denoMain, bunMain, uwsgiMain, type LauncherMain, type LauncherKind } from './launchers.js';
export { gunicornApp, celeryApp, gunicornTitle } from './pyapps.js';
export { softwareKey, normalizeVersions, type SoftwareKeyOptions } from './key.js';
export { FileInspector, FileInspectorStats, type FileFacts, type FileInspectorOptions, type InspectHints } from './files.js';
export { DpkgIndex, parseDpkgStatus, type PackageOwner } from './files-dpkg.js';
export { RpmQuery, type RpmQueryOptions } from './files-rpm.js';
export { resolveInRoot } from '../procfs/root-path.js';
export { SoftwareContext, type SoftwareContextOptions, type Described } from './context.js';
