import { mkdtemp, rmdir, statfs } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { run } from './run.ts';

/** A tmpfs of a fixed size, so a test can fill a disk for real (needs root). */
export interface SmallFilesystem {
  readonly dir: string;
  readonly sizeBytes: number;
  /** What an unprivileged writer can still use (statfs bavail). */
  freeBytes(): Promise<number>;
  /** Unmounts (lazily if something still holds it) and removes the mount point; safe to call twice. */
  unmount(): Promise<void>;
}

export async function mountSmallFilesystem(sizeMiB: number): Promise<SmallFilesystem> {
  const dir = await mkdtemp(join(tmpdir(), 'nodepool-small-fs-'));
  const mounted = await run('mount', ['-t', 'tmpfs', '-o', `size=${sizeMiB}m,mode=0755`, 'tmpfs', dir]);
  if (mounted.code !== 0) {
    await rmdir(dir);
    throw new Error(`cannot mount a ${sizeMiB} MiB tmpfs on ${dir}: ${mounted.stderr.trim()}`);
  }
  let unmounted = false;
  return {
    dir,
    sizeBytes: sizeMiB * 1024 * 1024,
    async freeBytes() {
      const stats = await statfs(dir);
      return stats.bavail * stats.bsize;
    },
    async unmount() {
      if (unmounted) return;
      const result = await run('umount', [dir]);
      if (result.code !== 0) {
        const lazy = await run('umount', ['-l', dir]);
        if (lazy.code !== 0) throw new Error(`cannot unmount ${dir}: ${result.stderr.trim()} / ${lazy.stderr.trim()}`);
      }
      unmounted = true;
      await rmdir(dir);
    },
  };
}
