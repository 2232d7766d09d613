import type { Database } from 'bun:sqlite';

/** How many records one prune removed. */
export interface Pruned {
  readonly builds: number;
  readonly uploads: number;
}

/**
 * Records that are history only, last changed before `cutoff`: gone uploads; failed uploads a
 * later upload of the same (diskimage, provider) superseded by becoming ready, or whose build
 * is gone or failed; gone builds; failed builds a later build of the diskimage superseded by
 * becoming ready. A build goes only with no upload left naming it. The newest failure of
 * anything that never succeeded after it stays, with its reason, however old.
 *
 * Runs inside the caller's transaction.
 */
export function pruneHistory(db: Database, cutoff: number): Pruned {
  const uploads = db
    .query(
      `DELETE FROM uploads WHERE state_at < ?1 AND (
         state = 'gone'
         OR (state = 'failed' AND (
           EXISTS (SELECT 1 FROM builds b WHERE b.id = uploads.build_id AND b.state IN ('gone', 'failed'))
           OR EXISTS (
             SELECT 1 FROM builds mine
             JOIN builds other ON other.diskimage = mine.diskimage
             JOIN uploads later ON later.build_id = other.id
             WHERE mine.id = uploads.build_id AND later.provider = uploads.provider
               AND later.ready_at IS NOT NULL AND later.created_at > uploads.created_at))))`,
    )
    .run(cutoff).changes;
  const builds = db
    .query(
      `DELETE FROM builds WHERE state_at < ?1
         AND (state = 'gone'
           OR (state = 'failed' AND EXISTS (
             SELECT 1 FROM builds later WHERE later.diskimage = builds.diskimage AND later.ready_at IS NOT NULL AND later.created_at > builds.created_at)))
         AND NOT EXISTS (SELECT 1 FROM uploads u WHERE u.build_id = builds.id)`,
    )
    .run(cutoff).changes;
  return { builds, uploads };
}
