/**
 * The reconciler's bookkeeping between passes, as plain functions and small clocks: what the
 * job servers' `workers` listings say about the fleet, since when a build has been absent, and
 * how many sweeps in a row have listed each cloud image. The daemon feeds them; the planner
 * reads what they produce (world.ts).
 */
import type { ListedImage } from './world.ts';

/** One row of a job server's `workers` listing. */
export interface RegisteredWorker {
  readonly clientId: string;
  readonly functions: readonly string[];
}

export interface FunctionsSeen {
  /** image-upload:<id>: who holds each build. */
  readonly builds: ReadonlyMap<string, readonly string[]>;
  /** image-build:<name>: who builds each diskimage. */
  readonly buildersByDiskimage: ReadonlyMap<string, readonly string[]>;
  /** provider-image-list:<p> and provider-image-delete:<p>, both: who holds each provider's credentials. */
  readonly cloudBuilders: ReadonlyMap<string, readonly string[]>;
  /** Builders that answer builder-image-list:<client-id> (what their repository holds). */
  readonly listingBuilders: ReadonlySet<string>;
}

/** A builder's connections are "<client-id>/build", "/upload" and "/cloud" (provider-image-*); the builder is <client-id>. */
export function builderOf(clientId: string): string {
  return clientId.replace(/\/(build|upload|cloud)$/, '');
}

function add(map: Map<string, Set<string>>, key: string, builder: string): void {
  let set = map.get(key);
  if (!set) map.set(key, (set = new Set()));
  set.add(builder);
}

const sorted = (map: Map<string, Set<string>>): Map<string, string[]> => new Map([...map].map(([k, v]) => [k, [...v].sort()]));

/** Merges the `workers` listings of every job server (a builder registers with each). */
export function observeFunctions(listings: readonly (readonly RegisteredWorker[])[]): FunctionsSeen {
  const builds = new Map<string, Set<string>>();
  const buildersByDiskimage = new Map<string, Set<string>>();
  const lists = new Map<string, Set<string>>();
  const deletes = new Map<string, Set<string>>();
  const listingBuilders = new Set<string>();
  const prefixes: [string, Map<string, Set<string>>][] = [
    ['image-upload:', builds],
    ['image-build:', buildersByDiskimage],
    ['provider-image-list:', lists],
    ['provider-image-delete:', deletes],
  ];
  for (const workers of listings) {
    for (const worker of workers) {
      const builder = builderOf(worker.clientId);
      for (const fn of worker.functions) {
        if (fn === `builder-image-list:${builder}`) listingBuilders.add(builder);
        for (const [prefix, map] of prefixes) {
          if (fn.startsWith(prefix) && fn.length > prefix.length) add(map, fn.slice(prefix.length), builder);
        }
      }
    }
  }
  const cloudBuilders = new Map<string, Set<string>>();
  for (const [provider, listers] of lists) {
    const both = [...listers].filter((b) => deletes.get(provider)?.has(b));
    if (both.length > 0) cloudBuilders.set(provider, new Set(both));
  }
  return { builds: sorted(builds), buildersByDiskimage: sorted(buildersByDiskimage), cloudBuilders: sorted(cloudBuilders), listingBuilders };
}

/**
 * Since when each build of the state has been absent from every job server, without a break.
 * Never dated before the clock started: after a scheduler restart every build gets the whole
 * missing-build-grace again, whatever it did while nobody watched.
 */
export class AbsenceClock {
  private readonly since = new Map<string, number>();

  constructor(private readonly startedAt: number) {}

  /** Records one observation; returns the absences as world.absentSince wants them. */
  observe(watched: Iterable<string>, present: ReadonlyMap<string, unknown>, now: number): ReadonlyMap<string, number> {
    const next = new Map<string, number>();
    for (const id of watched) {
      if (present.has(id)) continue;
      next.set(id, this.since.get(id) ?? Math.max(now, this.startedAt));
    }
    this.since.clear();
    for (const [id, at] of next) this.since.set(id, at);
    return next;
  }
}

/** A cloud image as a provider listing returns it, before passes are counted. */
export type SweptImage = Omit<ListedImage, 'passes'>;

/**
 * Sweeps in a row that listed each image, per provider. A sweep that failed breaks the row: an
 * image is a leak only after leak-passes complete listings one after the other showed it.
 */
export class PassCounter {
  private readonly passes = new Map<string, Map<string, number>>();

  /** Counts one sweep of a provider; `images` undefined when the listing failed. */
  sweep(provider: string, images: readonly SweptImage[] | undefined): readonly ListedImage[] | undefined {
    if (images === undefined) {
      this.passes.delete(provider);
      return undefined;
    }
    const before = this.passes.get(provider) ?? new Map<string, number>();
    const after = new Map<string, number>();
    const listed = images.map((image) => {
      const passes = (before.get(image.externalId) ?? 0) + 1;
      after.set(image.externalId, passes);
      return { ...image, passes };
    });
    this.passes.set(provider, after);
    return listed;
  }
}
