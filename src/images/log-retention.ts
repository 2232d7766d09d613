import { readdir, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import type { ImageRepository } from './repository.ts';

/**
 * Keeps the build logs of every image still in the repository and of every build still in
 * progress, plus the newest `keep` logs of images that are gone (failed builds, deleted
 * images); removes the rest.
 */
export async function pruneBuildLogs(logDir: string, imageName: string, keep: number, repository: ImageRepository): Promise<string[]> {
  const dir = join(logDir, imageName);
  const names = await readdir(dir).catch(() => [] as string[]);
  const orphans: { path: string; mtime: number }[] = [];
  for (const name of names) {
    if (!name.endsWith('.log')) continue;
    const id = name.slice(0, -'.log'.length);
    if (repository.get(id) || repository.isBuilding(id)) continue;
    const path = join(dir, name);
    const info = await stat(path).catch(() => undefined);
    if (info) orphans.push({ path, mtime: info.mtimeMs });
  }
  orphans.sort((a, b) => b.mtime - a.mtime);
  const removed = orphans.slice(keep).map((o) => o.path);
  await Promise.all(removed.map((path) => rm(path, { force: true })));
  return removed;
}
