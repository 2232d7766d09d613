import type { Action, ActionKind } from '../../../src/scheduler/actions.ts';
import type { PlanConfig } from '../../../src/scheduler/plan-config.ts';
import type { BuildRecord, BuildState, SchedulerState, UploadRecord, UploadState } from '../../../src/scheduler/state.ts';
import type { ListedImage, ObservedBuild, ProviderView, World } from '../../../src/scheduler/world.ts';

export const MINUTE = 60_000;
export const HOUR = 60 * MINUTE;
export const DAY = 24 * HOUR;
/** "Now" in every planner test: a round day, so ages read easily. */
export const NOW = 100 * DAY;

/** debian and centos, both in providers p1 and p2; nodepool's defaults. */
export function planConfigWith(overrides: Partial<PlanConfig> = {}): PlanConfig {
  return {
    diskimages: [
      { name: 'debian', rebuildAgeMs: DAY, pause: false },
      { name: 'centos', rebuildAgeMs: DAY, pause: false },
    ],
    providers: [
      { name: 'p1', diskimages: [{ name: 'debian', pause: false }, { name: 'centos', pause: false }] },
      { name: 'p2', diskimages: [{ name: 'debian', pause: false }, { name: 'centos', pause: false }] },
    ],
    keepBuilds: 2,
    keepUploads: 2,
    leakPasses: 2,
    missingBuildGraceMs: 10 * MINUTE,
    ...overrides,
  };
}

export function build(id: string, diskimage: string, state: BuildState, readyAt: number | undefined): BuildRecord {
  const createdAt = (readyAt ?? NOW) - HOUR;
  return { id, diskimage, state, builder: 'builder-1', formats: ['qcow2'], createdAt, stateAt: readyAt ?? createdAt, readyAt, reason: undefined };
}

export const ready = (id: string, diskimage: string, readyAt: number): BuildRecord => build(id, diskimage, 'ready', readyAt);

export function upload(id: string, buildId: string, provider: string, state: UploadState, readyAt?: number): UploadRecord {
  const createdAt = (readyAt ?? NOW) - MINUTE;
  return {
    id,
    buildId,
    provider,
    state,
    externalId: `ext-${id}`,
    externalName: `name-${id}`,
    createdAt,
    stateAt: readyAt ?? createdAt,
    readyAt: state === 'uploading' || state === 'failed' ? undefined : readyAt,
    reason: undefined,
  };
}

export function stateOf(parts: Partial<SchedulerState>): SchedulerState {
  return { builds: [], uploads: [], pauses: [], backoffs: [], buildRequests: [], ...parts };
}

/** Builds whose image a builder keeps on disk (and registers image-upload:<id> for). */
const ON_DISK: ReadonlySet<BuildState> = new Set(['ready', 'deleting']);

/**
 * The world agreeing with the state: builder-1 builds every diskimage, holds every ready (and
 * deleting) build and the credentials of every provider, and each provider lists exactly the
 * images of the uploads recorded uploading, ready or deleting, seen in one sweep so far.
 */
export function agreeingWorld(state: SchedulerState, config: PlanConfig, change: Partial<World> = {}): World {
  const builds = new Map<string, ObservedBuild>();
  for (const b of state.builds) if (ON_DISK.has(b.state)) builds.set(b.id, { builders: ['builder-1'], diskimage: b.diskimage, formats: b.formats });
  const providers = new Map<string, ProviderView>();
  for (const p of config.providers) {
    const images: ListedImage[] = state.uploads
      .filter((u) => u.provider === p.name && u.externalId !== undefined && (u.state === 'uploading' || u.state === 'ready' || u.state === 'deleting'))
      .map((u) => ({ externalId: u.externalId!, uploadId: u.id, status: u.state === 'uploading' ? 'saving' : 'active', passes: 1 }));
    providers.set(p.name, { builders: ['builder-1'], images });
  }
  return {
    builds,
    absentSince: new Map(),
    buildersByDiskimage: new Map(config.diskimages.map((d) => [d.name, ['builder-1']])),
    providers,
    inFlight: new Set(),
    ...change,
  };
}

/** The actions of some kinds, for assertions that ignore the rest. */
export function only(actions: readonly Action[], ...kinds: ActionKind[]): Action[] {
  return actions.filter((a) => kinds.includes(a.kind));
}

/** A provider view with extra images listed (e.g. leaks), keeping what the world lists already. */
export function withImages(world: World, provider: string, extra: readonly ListedImage[]): World {
  const providers = new Map(world.providers);
  const view = providers.get(provider) ?? { builders: ['builder-1'], images: [] };
  providers.set(provider, { ...view, images: [...(view.images ?? []), ...extra] });
  return { ...world, providers };
}
