import { spawnSync } from 'node:child_process';
import { copyFile, mkdir, rename } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const CACHE = join(tmpdir(), 'nodepool-openstack-templates');

function packageVersion(pkg: string): string {
  const result = spawnSync('dpkg-query', ['-W', '-f', '${Version}', pkg], { encoding: 'utf8' });
  return result.status === 0 ? result.stdout.trim().replace(/[^\w.+~-]/g, '_') : 'unknown';
}

/**
 * Gives `target` a freshly migrated sqlite database. db_sync costs a Python start and every
 * migration (about 10 s on a busy 2-core machine), so its result is kept as a template per
 * package version and copied on later calls; a template is published by an atomic rename.
 */
export async function migratedDatabase(pkg: string, target: string, migrate: () => Promise<void>): Promise<void> {
  const template = join(CACHE, `${pkg}-${packageVersion(pkg)}.sqlite`);
  try {
    await copyFile(template, target);
    return;
  } catch {
    // no template yet
  }
  await migrate();
  await mkdir(CACHE, { recursive: true });
  const partial = `${template}.${process.pid}.${Date.now()}`;
  await copyFile(target, partial);
  await rename(partial, template);
}
