/**
 * What "the system converged" means after a crash, as checks that name what is wrong (an empty
 * list: all is well). They compare what the clouds hold with what the scheduler's image-list
 * says, and the scheduler's state at the crash with its state after.
 */
import type { SchedulerState, UploadRecord } from '../../src/scheduler/state.ts';
import type { DibImageListRow, ImageListRow, TaggedImage } from './scheduler-fleet.ts';

/** image-list states of an upload whose image may be in the cloud: done, or on its way in or out. */
const ACCOUNTED = new Set(['ready', 'uploading', 'deleting']);

/**
 * Every image tagged by the system in each provider's cloud is in image-list as ready or in
 * progress, for that provider; every upload image-list has as ready is active in its cloud. The
 * clouds are looked at before and after the listing: an image counts only if both looks show it
 * (it existed while the listing was taken), and a ready upload's image must be active in one.
 */
export async function tagsAccountedFor(
  providers: readonly string[],
  tagged: (provider: string) => Promise<TaggedImage[]>,
  listing: () => Promise<readonly ImageListRow[]>,
): Promise<string[]> {
  const look = async (): Promise<Map<string, TaggedImage>> =>
    new Map((await Promise.all(providers.map((p) => tagged(p).then((images) => images.map((i): [string, TaggedImage] => [`${p}/${i.id}`, i]))))).flat());
  const before = await look();
  const rows = await listing();
  const after = await look();
  const problems: string[] = [];
  const byImage = new Map(rows.filter((r) => r['external-id'] !== null).map((r): [string, ImageListRow] => [`${r.provider}/${r['external-id']}`, r]));
  for (const [key, image] of before) {
    if (!after.has(key)) continue;
    const row = byImage.get(key);
    if (!row || !ACCOUNTED.has(row.state)) problems.push(`${key} (${image.status}, upload ${image.uploadId}) is in the cloud but image-list has it ${row ? `as ${row.state}` : 'not at all'}`);
  }
  for (const row of rows) {
    const key = `${row.provider}/${row['external-id']}`;
    if (row.state === 'ready' && before.get(key)?.status !== 'active' && after.get(key)?.status !== 'active') {
      problems.push(`upload ${row['upload-id']} is ready in image-list but its image ${key} is ${after.get(key)?.status ?? 'not'} in the cloud`);
    }
  }
  return problems;
}

/** Builds and uploads that were in progress (building, uploading, deleting) at the crash and still are. */
export function stillInProgress(atCrash: SchedulerState, uploads: readonly ImageListRow[], builds: readonly DibImageListRow[]): string[] {
  const uploadState = new Map(uploads.map((r) => [r['upload-id'], r.state]));
  const buildState = new Map(builds.map((r) => [r.id, r.state]));
  const problems: string[] = [];
  for (const u of atCrash.uploads) {
    if ((u.state === 'uploading' || u.state === 'deleting') && uploadState.get(u.id) === u.state) problems.push(`upload ${u.id} to ${u.provider} is still ${u.state}`);
  }
  for (const b of atCrash.builds) {
    if ((b.state === 'building' || b.state === 'deleting') && buildState.get(b.id) === b.state) problems.push(`build ${b.id} is still ${b.state}`);
  }
  return problems;
}

/**
 * Uploads that were ready before and are lost now: anything but still ready, unless the rules
 * deleted them (deleting, gone or pruned, with at least keep-uploads uploads of newer builds to the same
 * provider that became ready).
 */
export function lostUploads(readyBefore: readonly UploadRecord[], now: SchedulerState, keepUploads: number): string[] {
  const readyAt = new Map(now.builds.map((b) => [b.id, b.readyAt ?? -1]));
  const current = new Map(now.uploads.map((u) => [u.id, u]));
  const problems: string[] = [];
  for (const before of readyBefore) {
    const upload = current.get(before.id);
    if (upload?.state === 'ready') continue;
    const newer = now.uploads.filter((u) => u.provider === before.provider && u.readyAt !== undefined && (readyAt.get(u.buildId) ?? -1) > (readyAt.get(before.buildId) ?? -1));
    // Not in the state any more: a gone record pruned from its history.
    if ((upload === undefined || upload.state === 'deleting' || upload.state === 'gone') && newer.length >= keepUploads) continue;
    problems.push(`upload ${before.id} to ${before.provider} was ready and is now ${upload?.state ?? 'not in the state'}, with ${newer.length} newer upload(s) that became ready`);
  }
  return problems;
}
