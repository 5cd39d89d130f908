/**
 * Serves the gateway's supergraph from a file and reloads it when the file changes, without a restart. The
 * gateway swaps schema and query planner atomically; requests already executing finish on the plan they
 * started with. A file that fails to load is reported and the previous supergraph stays in service.
 */
import { type FSWatcher, watch } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { basename, dirname } from 'node:path';
import type { SupergraphSdlHook } from '@apollo/gateway';
import { LogCode } from '../../subgraphs/platform/src/logging/logCodes.js';
import type { Logger } from '../../subgraphs/platform/src/logging/logger.js';

export interface SupergraphFileStatus {
  /** When the supergraph in service was loaded. */
  loadedAt: Date | null;
  /** Why the newest file content was rejected, if it was. */
  lastError: string | null;
  reloads: number;
}

export interface SupergraphFileOptions {
  readonly path: string;
  readonly log: Logger;
  /** Debounce for editors and `mv` that emit several events per change. @default 100 */
  readonly debounceMs?: number;
}

export function supergraphFromFile(options: SupergraphFileOptions): { hook: SupergraphSdlHook; status: SupergraphFileStatus } {
  const status: SupergraphFileStatus = { loadedAt: null, lastError: null, reloads: 0 };
  const hook: SupergraphSdlHook = async ({ update }) => {
    let current = await readFile(options.path, 'utf8');
    status.loadedAt = new Date();
    let timer: NodeJS.Timeout | undefined;
    let reloading = Promise.resolve();
    const reload = async () => {
      let next: string;
      try {
        next = await readFile(options.path, 'utf8');
      } catch (error) {
        // Mid-replace (file briefly absent): the rename event that follows triggers another reload.
        status.lastError = `cannot read ${options.path}: ${(error as Error).message}`;
        return;
      }
      if (next === current) return;
      try {
        update(next);
        current = next;
        status.loadedAt = new Date();
        status.lastError = null;
        status.reloads++;
        options.log.info({ path: options.path }, `supergraph reloaded from ${options.path}`);
      } catch (error) {
        status.lastError = (error as Error).message;
        options.log.error(
          { code: LogCode.SUPERGRAPH_RELOAD_FAILED, path: options.path },
          `supergraph in ${options.path} rejected, keeping the previous one: ${(error as Error).message}`,
        );
      }
    };
    // Watch the folder, not the file: an atomic replace (write elsewhere, rename over) swaps the file's inode.
    const watcher: FSWatcher = watch(dirname(options.path), (_event, filename) => {
      if (filename !== null && filename !== basename(options.path)) return;
      clearTimeout(timer);
      timer = setTimeout(() => {
        reloading = reloading.then(reload);
      }, options.debounceMs ?? 100);
    });
    return {
      supergraphSdl: current,
      cleanup: async () => {
        clearTimeout(timer);
        watcher.close();
        await reloading;
      },
    };
  };
  return { hook, status };
}
