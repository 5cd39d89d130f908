export { sandboxAdapter } from './sandboxAdapter.js';
export { openSandboxStore } from './sandboxStore.js';
export { hasColumn } from '../../platform/src/index.js';
export type { SandboxStoreOptions } from './sandboxStore.js';
export { loadWorldOptions } from './worldConfig.js';
export type { SandboxOptions, SandboxSubgraphOptions } from './worldConfig.js';
export { DEFAULT_WORLD_OPTIONS, buildWorld } from './world/world.js';
export type { World, WorldOptions } from './world/world.js';
