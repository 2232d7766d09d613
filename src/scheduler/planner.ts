import type { Action, BuildWhy, DeleteWhy, Plan, Wait, WaitWhy } from './actions.ts';
import type { PlanConfig } from './plan-config.ts';
import type { BackoffRecord, BuildRecord, SchedulerState, UploadRecord, UploadState } from './state.ts';
import type { ListedImage, World } from './world.ts';

/**
 * The scheduler's decisions: a pure function of the state, the config, what was observed and the
 * time. Same inputs, same plan; and once its decisions are recorded, planning again decides
 * nothing new (a build or upload recorded as running is never started twice).
 *
 * The rules (issue 14 §2 and §4; DESIGN §10):
 * - build a diskimage with no ready build, whose newest build is missing or older than its
 *   rebuild-age, or that an operator asked for; never while one of its builds runs;
 * - upload the newest ready build to every provider that lists the diskimage, unless a newer
 *   one is there already;
 * - keep the newest keep-uploads ready uploads per (diskimage, provider) and keep-builds builds
 *   per diskimage; a build goes only once no upload of it is left; the newest ready upload of
 *   a configured (diskimage, provider) is never deleted;
 * - what the config no longer asks for is deleted; pauses stop new work and deletions alike;
 * - failures wait out their (diskimage, provider)'s backoff, and only theirs;
 * - an image tagged by this system that the state does not account for is deleted once seen in
 *   leak-passes sweeps in a row; an active image of an upload recorded uploading is adopted;
 * - a ready build gone from every job server past the grace is missing; a deleting one gone
 *   from every job server is gone at once.
 */
export function plan(state: SchedulerState, config: PlanConfig, world: World, now: number): Plan {
  return new Planner(state, config, world, now).run();
}

/** Uploads that hold a build: it must stay on its builder while they exist. */
const LIVE_UPLOAD: ReadonlySet<UploadState> = new Set(['uploading', 'ready', 'deleting']);
/** Uploads that stand for the build in the cloud (or will). */
const CURRENT_UPLOAD: ReadonlySet<UploadState> = new Set(['uploading', 'ready']);
/** Glance statuses of an image already on its way out. */
const GOING: ReadonlySet<string> = new Set(['deleted', 'pending_delete']);

const key = (diskimage: string, provider: string | undefined): string => `${diskimage}\0${provider ?? ''}`;

function push<K, V>(map: Map<K, V[]>, k: K, value: V): void {
  const list = map.get(k);
  if (list) list.push(value);
  else map.set(k, [value]);
}

/** Newest first: by the time it became ready, then by creation, then by id (so ties are stable). */
function newerBuild(a: BuildRecord, b: BuildRecord): number {
  return (b.readyAt ?? -1) - (a.readyAt ?? -1) || b.createdAt - a.createdAt || (a.id < b.id ? 1 : a.id > b.id ? -1 : 0);
}

class Planner {
  private readonly actions: Action[] = [];
  private readonly waits: Wait[] = [];
  private readonly buildsById = new Map<string, BuildRecord>();
  private readonly buildsByDiskimage = new Map<string, BuildRecord[]>();
  private readonly uploadsByBuild = new Map<string, UploadRecord[]>();
  /** By key(diskimage, provider). */
  private readonly uploadsByPair = new Map<string, UploadRecord[]>();
  private readonly uploadsById = new Map<string, UploadRecord>();
  /** By provider, then by the cloud's image id. */
  private readonly uploadsByExternalId = new Map<string, Map<string, UploadRecord>>();
  /** Each listed provider's images, by image id and by upload tag. */
  private readonly listings = new Map<string, { byId: Map<string, ListedImage>; byTag: Map<string, ListedImage> }>();
  private readonly pauses = new Set<string>();
  private readonly backoffs = new Map<string, BackoffRecord>();
  private readonly requests = new Set<string>();
  private readonly configured = new Map<string, PlanConfig['diskimages'][number]>();
  /** Configured (diskimage, provider) pairs, with the pair's config pause. */
  private readonly pairs = new Map<string, { diskimage: string; provider: string; pause: boolean }>();
  /** Rank of each ready or missing build among its diskimage's (0 = newest). */
  private readonly rank = new Map<string, number>();
  private readonly rankedByDiskimage = new Map<string, BuildRecord[]>();

  constructor(
    private readonly state: SchedulerState,
    private readonly config: PlanConfig,
    private readonly world: World,
    private readonly now: number,
  ) {
    for (const build of state.builds) {
      this.buildsById.set(build.id, build);
      push(this.buildsByDiskimage, build.diskimage, build);
    }
    for (const upload of state.uploads) {
      this.uploadsById.set(upload.id, upload);
      if (upload.externalId !== undefined) {
        let byId = this.uploadsByExternalId.get(upload.provider);
        if (!byId) this.uploadsByExternalId.set(upload.provider, (byId = new Map()));
        byId.set(upload.externalId, upload);
      }
      push(this.uploadsByBuild, upload.buildId, upload);
      const build = this.buildsById.get(upload.buildId);
      if (build) push(this.uploadsByPair, key(build.diskimage, upload.provider), upload);
    }
    for (const pause of state.pauses) this.pauses.add(key(pause.diskimage, pause.provider));
    for (const backoff of state.backoffs) this.backoffs.set(key(backoff.diskimage, backoff.provider), backoff);
    for (const request of state.buildRequests) this.requests.add(request.diskimage);
    for (const diskimage of config.diskimages) this.configured.set(diskimage.name, diskimage);
    for (const provider of config.providers) {
      for (const entry of provider.diskimages) {
        if (this.configured.has(entry.name)) this.pairs.set(key(entry.name, provider.name), { diskimage: entry.name, provider: provider.name, pause: entry.pause });
      }
    }
  }

  run(): Plan {
    for (const build of this.state.builds) this.followBuild(build);
    this.adoptUnknownBuilds();
    for (const diskimage of this.buildsByDiskimage.keys()) this.rankBuilds(diskimage);
    for (const diskimage of this.config.diskimages) this.decideBuild(diskimage.name);
    for (const diskimage of this.buildsByDiskimage.keys()) this.keepBuilds(diskimage);
    const pairs = new Set([...this.pairs.keys(), ...this.uploadsByPair.keys()]);
    for (const pair of pairs) this.followPair(pair);
    for (const [provider, view] of this.world.providers) {
      if (view.images) this.sweep(provider, view.images, view.builders.length > 0);
    }
    return { actions: this.actions, waits: this.waits };
  }

  // ---- builds ----

  /** What the job servers show about one recorded build. */
  private followBuild(build: BuildRecord): void {
    const observed = this.world.builds.get(build.id);
    const idle = !this.world.inFlight.has(build.id);
    const adopt = (): void => {
      this.actions.push({ kind: 'adopt-build', buildId: build.id, diskimage: build.diskimage, builder: observed?.builders[0], formats: observed?.formats ?? [] });
    };
    switch (build.state) {
      case 'building':
        if (!idle) return; // its job's result will say
        if (observed) adopt();
        else if (this.builders(build.diskimage)) this.actions.push({ kind: 'resume-build', buildId: build.id, diskimage: build.diskimage });
        else this.wait(build.diskimage, undefined, 'no-builder');
        return;
      case 'failed':
      case 'missing':
        if (observed && idle) adopt();
        return;
      case 'ready':
        if (!observed && this.absentPastGrace(build.id) !== undefined) {
          this.actions.push({ kind: 'mark-build-missing', buildId: build.id, diskimage: build.diskimage, absentSince: this.absentPastGrace(build.id)! });
        }
        return;
      case 'deleting':
        if (!idle) return;
        if (observed) this.actions.push({ kind: 'delete-build', buildId: build.id, diskimage: build.diskimage, why: 'resumed' });
        // Absent from every job server: its delete ended (a builder takes image-upload:<id> away
        // first), or its host is away. No grace: that protects a ready build from a rebuild when
        // a builder flaps; a deleting one that comes back is deleted as a stray.
        else if (this.world.absentSince.has(build.id)) this.actions.push({ kind: 'forget-build', buildId: build.id, diskimage: build.diskimage, why: 'delete-ended-unseen' });
        return;
      case 'gone':
        if (observed && idle) this.actions.push({ kind: 'delete-stray-build', buildId: build.id });
        return;
    }
  }

  /** A build on a builder that the state never knew (a direct image-build): ours if its diskimage is. */
  private adoptUnknownBuilds(): void {
    for (const [id, observed] of this.world.builds) {
      if (this.buildsById.has(id) || observed.diskimage === undefined || !this.configured.has(observed.diskimage)) continue;
      const builtAt = observed.builtAt === undefined ? undefined : Math.min(observed.builtAt, this.now);
      this.actions.push({ kind: 'adopt-build', buildId: id, diskimage: observed.diskimage, builder: observed.builders[0], formats: observed.formats, ...(builtAt === undefined ? {} : { builtAt }) });
      // Counted from this pass on, as the record adopt-build commits: no second build of its diskimage, and it is kept or deleted by the keep rules.
      const adopted: BuildRecord = { id, diskimage: observed.diskimage, state: 'ready', builder: observed.builders[0], formats: observed.formats, createdAt: this.now, stateAt: this.now, readyAt: builtAt ?? this.now, reason: undefined };
      this.buildsById.set(id, adopted);
      push(this.buildsByDiskimage, observed.diskimage, adopted);
    }
  }

  private rankBuilds(diskimage: string): void {
    this.ranked(diskimage).forEach((build, i) => this.rank.set(build.id, i));
  }

  /** The diskimage's ready and missing builds, newest first. */
  private ranked(diskimage: string): BuildRecord[] {
    let ranked = this.rankedByDiskimage.get(diskimage);
    if (!ranked) {
      ranked = (this.buildsByDiskimage.get(diskimage) ?? []).filter((b) => b.state === 'ready' || b.state === 'missing').sort(newerBuild);
      this.rankedByDiskimage.set(diskimage, ranked);
    }
    return ranked;
  }

  private newestReady(diskimage: string): BuildRecord | undefined {
    return this.ranked(diskimage).find((b) => b.state === 'ready');
  }

  private decideBuild(name: string): void {
    const diskimage = this.configured.get(name)!;
    const builds = this.buildsByDiskimage.get(name) ?? [];
    if (builds.some((b) => b.state === 'building')) return;
    const newest = this.ranked(name)[0];
    let why: BuildWhy | undefined;
    if (this.requests.has(name)) why = 'requested';
    else if (!newest) why = 'no-ready-build';
    else if (newest.state === 'missing') why = 'missing';
    else if (this.now - (newest.readyAt ?? newest.createdAt) >= diskimage.rebuildAgeMs) why = 'too-old';
    if (!why) return;
    if (diskimage.pause || this.pauses.has(key(name, undefined))) return this.wait(name, undefined, 'paused');
    const backoff = this.backoffs.get(key(name, undefined));
    if (backoff && this.now < backoff.retryAt && why !== 'requested') return this.wait(name, undefined, 'backoff', backoff.retryAt);
    if (!this.builders(name)) return this.wait(name, undefined, 'no-builder');
    this.actions.push({ kind: 'start-build', diskimage: name, why });
  }

  /**
   * Beyond keep-builds (ready and missing builds counted, newest first), or of a diskimage gone
   * from the file: a build goes once no upload of it is left. A ready one is deleted on its
   * builder; a missing one, whose builder is gone, is only recorded gone.
   */
  private keepBuilds(diskimage: string): void {
    const configured = this.configured.has(diskimage);
    if (configured && (this.configured.get(diskimage)!.pause || this.pauses.has(key(diskimage, undefined)))) return;
    const why: DeleteWhy = configured ? 'superseded' : 'diskimage-removed';
    const doomed = configured ? this.ranked(diskimage).slice(this.config.keepBuilds) : this.ranked(diskimage);
    for (const build of doomed) {
      if ((this.uploadsByBuild.get(build.id) ?? []).some((u) => LIVE_UPLOAD.has(u.state))) continue;
      if (build.state === 'missing') {
        this.actions.push({ kind: 'forget-build', buildId: build.id, diskimage, why: 'missing-unused' });
      } else if (this.world.builds.has(build.id) && !this.world.inFlight.has(build.id)) {
        this.actions.push({ kind: 'delete-build', buildId: build.id, diskimage, why });
      }
    }
  }

  // ---- uploads ----

  private followPair(pair: string): void {
    const uploads = this.uploadsByPair.get(pair) ?? [];
    const [diskimage, provider] = pair.split('\0') as [string, string];
    const configured = this.pairs.get(pair);
    const paused = configured !== undefined && (configured.pause || this.pauses.has(pair));
    for (const upload of uploads) this.followUpload(upload, diskimage, configured !== undefined);
    if (configured && !paused) this.decideUpload(diskimage, provider, uploads);
    else if (configured) {
      const newest = this.newestReady(diskimage);
      if (newest && !uploads.some((u) => u.buildId === newest.id && CURRENT_UPLOAD.has(u.state))) this.wait(diskimage, provider, 'paused');
    }
    if (paused) return;
    const ready = uploads.filter((u) => u.state === 'ready').sort((a, b) => this.newerUpload(a, b));
    const why: DeleteWhy = configured ? 'superseded' : this.configured.has(diskimage) ? 'unconfigured' : 'diskimage-removed';
    // Invariant 1: with a configured pair, the newest ready upload is never among these (keep-uploads ≥ 1).
    for (const upload of configured ? ready.slice(this.config.keepUploads) : ready) this.deleteUpload(upload, diskimage, why);
  }

  /** Uploads recorded as running or deleting, with no job running here (or one that cannot end). */
  private followUpload(upload: UploadRecord, diskimage: string, configured: boolean): void {
    if (upload.state !== 'uploading' && upload.state !== 'deleting') return;
    const build = this.buildsById.get(upload.buildId);
    const observed = this.world.builds.get(upload.buildId);
    const abandon = (why: 'build-unavailable' | 'image-killed' | 'unconfigured'): void => {
      this.actions.push({ kind: 'abandon-upload', uploadId: upload.id, provider: upload.provider, why });
    };
    if (this.world.inFlight.has(upload.id)) {
      // Its job waits in a job server's queue for a builder that is gone (D2): nothing would end
      // it before upload-timeout. Given up now, its unfinished image is a leak like any other.
      if (upload.state === 'uploading' && build?.state === 'missing' && !observed) abandon('build-unavailable');
      return;
    }
    const view = this.world.providers.get(upload.provider);
    const listed = view?.images ? this.listed(upload) : undefined;
    if (upload.state === 'uploading') {
      if (listed?.status === 'active') return; // the sweep adopts it
      if (!observed && build?.state !== 'ready') abandon('build-unavailable');
      else if (listed?.status === 'killed') abandon('image-killed');
      else if (!configured) abandon('unconfigured');
      else if (!view?.images) this.wait(diskimage, upload.provider, 'not-listed-yet');
      else if (!observed) this.wait(diskimage, upload.provider, 'build-offline');
      else this.actions.push({ kind: 'resume-upload', uploadId: upload.id, buildId: upload.buildId, diskimage, provider: upload.provider });
    } else if (upload.state === 'deleting') {
      if (view?.images && (!listed || GOING.has(listed.status))) this.actions.push({ kind: 'forget-upload', uploadId: upload.id, provider: upload.provider });
      else this.deleteUpload(upload, diskimage, 'resumed');
    }
  }

  private decideUpload(diskimage: string, provider: string, uploads: readonly UploadRecord[]): void {
    const build = this.newestReady(diskimage);
    if (!build) return;
    const rank = this.rank.get(build.id)!;
    // Already there (or on its way), or a newer build's upload is (its build went missing since).
    if (uploads.some((u) => CURRENT_UPLOAD.has(u.state) && (this.rank.get(u.buildId) ?? Infinity) <= rank)) return;
    const backoff = this.backoffs.get(key(diskimage, provider));
    if (backoff && this.now < backoff.retryAt) return this.wait(diskimage, provider, 'backoff', backoff.retryAt);
    const holders = this.world.builds.get(build.id)?.builders;
    if (!holders) return this.wait(diskimage, provider, 'build-offline');
    const cloud = this.world.providers.get(provider)?.builders ?? [];
    if (!holders.some((builder) => cloud.includes(builder))) return this.wait(diskimage, provider, 'no-cloud-worker');
    this.actions.push({ kind: 'start-upload', buildId: build.id, diskimage, provider });
  }

  private deleteUpload(upload: UploadRecord, diskimage: string, why: DeleteWhy): void {
    if (this.world.inFlight.has(upload.id) || upload.externalId === undefined) return;
    if (!this.world.providers.get(upload.provider)?.builders.length) return this.wait(diskimage, upload.provider, 'no-cloud-worker');
    this.actions.push({ kind: 'delete-upload', uploadId: upload.id, diskimage, provider: upload.provider, externalId: upload.externalId, why });
  }

  /** Newest first: by its build's rank, then by when it became ready, then by id. */
  private newerUpload(a: UploadRecord, b: UploadRecord): number {
    const byBuild = (this.rank.get(a.buildId) ?? Infinity) - (this.rank.get(b.buildId) ?? Infinity);
    return (Number.isNaN(byBuild) ? 0 : byBuild) || (b.readyAt ?? -1) - (a.readyAt ?? -1) || (a.id < b.id ? 1 : a.id > b.id ? -1 : 0);
  }

  /** The listed image of an upload: by the external id the scheduler chose, else by its tag. */
  private listed(upload: UploadRecord): ListedImage | undefined {
    let listing = this.listings.get(upload.provider);
    if (!listing) {
      listing = { byId: new Map(), byTag: new Map() };
      for (const image of this.world.providers.get(upload.provider)?.images ?? []) {
        listing.byId.set(image.externalId, image);
        if (image.uploadId !== undefined) listing.byTag.set(image.uploadId, image);
      }
      this.listings.set(upload.provider, listing);
    }
    return upload.externalId !== undefined ? listing.byId.get(upload.externalId) : listing.byTag.get(upload.id);
  }

  // ---- the clouds ----

  private sweep(provider: string, images: readonly ListedImage[], canDelete: boolean): void {
    const byExternalId = this.uploadsByExternalId.get(provider);
    for (const image of images) {
      if (GOING.has(image.status)) continue;
      const upload = byExternalId?.get(image.externalId) ?? this.byTag(image, provider);
      if (upload && (upload.state === 'uploading' || upload.state === 'failed') && image.status === 'active' && !this.world.inFlight.has(upload.id)) {
        this.actions.push({ kind: 'adopt-upload', uploadId: upload.id, provider, externalId: image.externalId });
        continue;
      }
      if (upload && LIVE_UPLOAD.has(upload.state)) continue;
      // Invariant 2: unknown, failed or deleted uploads' images go, but only after leak-passes sweeps in a row.
      if (image.passes < this.config.leakPasses || this.world.inFlight.has(image.externalId) || !canDelete) continue;
      this.actions.push({ kind: 'delete-leak', provider, externalId: image.externalId, uploadId: image.uploadId, passes: image.passes });
    }
  }

  /** An upload found by the image's tag, when the scheduler did not choose the image's id. */
  private byTag(image: ListedImage, provider: string): UploadRecord | undefined {
    const upload = image.uploadId === undefined ? undefined : this.uploadsById.get(image.uploadId);
    return upload && upload.provider === provider && upload.externalId === undefined ? upload : undefined;
  }

  // ---- helpers ----

  private builders(diskimage: string): boolean {
    return (this.world.buildersByDiskimage.get(diskimage)?.length ?? 0) > 0;
  }

  /** Since when the build has been absent from every job server, if that is longer than the grace. */
  private absentPastGrace(buildId: string): number | undefined {
    const since = this.world.absentSince.get(buildId);
    return since !== undefined && this.now - since >= this.config.missingBuildGraceMs ? since : undefined;
  }

  private wait(diskimage: string, provider: string | undefined, why: WaitWhy, until?: number): void {
    this.waits.push({ diskimage, provider, why, until });
  }
}
