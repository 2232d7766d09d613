/**
 * What the dashboard shows, derived from the state store's records, the config and the runner's
 * work in progress. A request reads only the records of the diskimages it shows (1,000
 * diskimages × 20 providers × keeps is 40,000 uploads: a whole snapshot takes about 100 ms).
 */
import type { BuilderConfig, DiskImageConfig } from '../config/schema.ts';
import type { BackoffRecord, BuildRecord, SchedulerState, UploadRecord } from '../scheduler/state.ts';
import type { ListedUpload } from '../scheduler/state-store.ts';

/** Diskimages per page of the matrix: keeps the page well under 200 KB with 20 providers. */
export const PAGE_SIZE = 30;
/** Failures listed on the front page, newest first. */
export const FAILURES_SHOWN = 30;

export type Freshness = 'fresh' | 'ageing' | 'stale' | 'none';
export type PausedBy = 'config' | 'operator' | null;

export interface Cell {
  readonly provider: string;
  /** The config sends this diskimage to this provider (else only records remain there). */
  readonly configured: boolean;
  readonly newest: UploadRecord | undefined;
  readonly newestReady: UploadRecord | undefined;
  /** Uploads ready in the provider. */
  readonly kept: number;
  /** Since the newest ready upload's build became ready: what rebuild-age is measured against. */
  readonly ageMs: number | undefined;
  readonly freshness: Freshness;
  readonly pausedBy: PausedBy;
}

export interface Row {
  readonly image: string;
  readonly config: DiskImageConfig | undefined;
  readonly pausedBy: PausedBy;
  readonly newestBuild: BuildRecord | undefined;
  readonly cells: readonly Cell[];
}

export interface Failure {
  readonly image: string;
  /** undefined: a build failed. */
  readonly provider: string | undefined;
  readonly id: string;
  readonly at: number;
  readonly reason: string;
  /** Failures in a row (the backoff), when still failing. */
  readonly inARow: number | undefined;
}

/** One line of a diskimage's history: a build or an upload as it stands, newest first. */
export interface HistoryEntry {
  readonly kind: 'build' | 'upload';
  readonly record: BuildRecord | UploadRecord;
  readonly provider: string | undefined;
}

const pairKey = (diskimage: string, provider: string | undefined): string => `${diskimage}\0${provider ?? ''}`;
const newestFirst = (a: { createdAt: number; id: string }, b: { createdAt: number; id: string }): number => b.createdAt - a.createdAt || (a.id < b.id ? 1 : a.id > b.id ? -1 : 0);

/** The store's records, grouped for the dashboard. */
export class StateIndex {
  readonly builds = new Map<string, BuildRecord>();
  readonly uploads = new Map<string, UploadRecord>();
  /** Per diskimage, newest first. */
  readonly buildsOf = new Map<string, BuildRecord[]>();
  /** Per diskimage and provider, newest first. */
  readonly uploadsOf = new Map<string, UploadRecord[]>();
  readonly uploadsOfImage = new Map<string, UploadRecord[]>();
  readonly pauses: ReadonlySet<string>;
  readonly backoffs: ReadonlyMap<string, BackoffRecord>;
  /** The last failure of each diskimage's builds and of each of its uploads' providers, newest first. */
  readonly failures: readonly Failure[];

  /** `failed`: the newest failed records of every diskimage (the front page); else those of `state`'s. */
  constructor(state: SchedulerState, failed?: { readonly builds: readonly BuildRecord[]; readonly uploads: readonly ListedUpload[] }) {
    for (const b of state.builds) {
      this.builds.set(b.id, b);
      push(this.buildsOf, b.diskimage, b);
    }
    for (const u of state.uploads) {
      this.uploads.set(u.id, u);
      const image = this.builds.get(u.buildId)?.diskimage ?? '';
      push(this.uploadsOf, pairKey(image, u.provider), u);
      push(this.uploadsOfImage, image, u);
    }
    for (const list of [...this.buildsOf.values(), ...this.uploadsOf.values(), ...this.uploadsOfImage.values()]) list.sort(newestFirst);
    this.pauses = new Set(state.pauses.map((p) => pairKey(p.diskimage, p.provider)));
    this.backoffs = new Map(state.backoffs.map((b) => [pairKey(b.diskimage, b.provider), b]));
    const builds = failed?.builds ?? state.builds.filter((b) => b.state === 'failed');
    const uploads = failed?.uploads ?? state.uploads.filter((u) => u.state === 'failed').map((u) => ({ ...u, diskimage: this.diskimageOf(u) }));
    // The newest of each diskimage's builds and of each diskimage and provider's uploads.
    const last = new Map<string, Failure>();
    for (const b of builds) this.keepNewest(last, this.failure(b.diskimage, undefined, b));
    for (const u of uploads) this.keepNewest(last, this.failure(u.diskimage, u.provider, u));
    this.failures = [...last.values()].sort((a, b) => b.at - a.at);
  }

  diskimageOf(upload: UploadRecord): string {
    return this.builds.get(upload.buildId)?.diskimage ?? '';
  }

  private keepNewest(last: Map<string, Failure>, f: Failure): void {
    const key = pairKey(f.image, f.provider);
    const kept = last.get(key);
    if (!kept || f.at > kept.at) last.set(key, f);
  }

  private failure(image: string, provider: string | undefined, record: BuildRecord | UploadRecord): Failure {
    return { image, provider, id: record.id, at: record.stateAt, reason: record.reason ?? '(no reason recorded)', inARow: this.backoffs.get(pairKey(image, provider))?.failures };
  }
}

function push<T>(map: Map<string, T[]>, key: string, value: T): void {
  const list = map.get(key);
  if (list) list.push(value);
  else map.set(key, [value]);
}

/** fresh: younger than rebuild-age; ageing: a rebuild is due (up to twice rebuild-age); stale: older, or nothing ready. */
export function freshness(ageMs: number | undefined, rebuildAgeMs: number | undefined): Freshness {
  if (ageMs === undefined) return 'none';
  if (rebuildAgeMs === undefined || ageMs <= rebuildAgeMs) return 'fresh';
  return ageMs <= 2 * rebuildAgeMs ? 'ageing' : 'stale';
}

/** The diskimages the dashboard knows: the config's and any the records still name, sorted. */
export function diskimageNames(config: BuilderConfig, recorded: readonly string[]): string[] {
  return [...new Set([...config.diskimages.map((d) => d.name), ...recorded])].sort();
}

/** The names one page of the matrix shows, and how many match the filter. */
export function pageOf(names: readonly string[], filter: string, page: number, pageSize: number): { shown: string[]; matching: number } {
  const needle = filter.toLowerCase();
  const matching = needle ? names.filter((n) => n.toLowerCase().includes(needle)) : names;
  return { shown: matching.slice((page - 1) * pageSize, page * pageSize), matching: matching.length };
}

export function row(index: StateIndex, config: BuilderConfig, image: string, now: number): Row {
  const diskimage = config.diskimages.find((d) => d.name === image);
  const pausedBy = (byConfig: boolean, key: string): PausedBy => (byConfig ? 'config' : index.pauses.has(key) ? 'operator' : null);
  const cells = config.providers.map((provider): Cell => {
    const entry = provider.diskimages === undefined ? { pause: false } : provider.diskimages.find((d) => d.name === image);
    const key = pairKey(image, provider.name);
    const uploads = (index.uploadsOf.get(key) ?? []).filter((u) => u.state !== 'gone');
    const ready = uploads.filter((u) => u.state === 'ready');
    // The newest image ready there: by its build's age (rebuild-age's measure), then by the upload's.
    const since = (u: UploadRecord): number => index.builds.get(u.buildId)?.readyAt ?? u.readyAt ?? 0;
    const newestReady = ready.reduce<UploadRecord | undefined>((best, u) => (!best || since(u) > since(best) || (since(u) === since(best) && (u.readyAt ?? 0) > (best.readyAt ?? 0)) ? u : best), undefined);
    const readySince = newestReady ? since(newestReady) : undefined;
    const ageMs = readySince === undefined ? undefined : Math.max(0, now - readySince);
    return {
      provider: provider.name,
      configured: diskimage !== undefined && entry !== undefined,
      newest: uploads[0],
      newestReady,
      kept: ready.length,
      ageMs,
      freshness: freshness(ageMs, diskimage?.rebuildAgeMs),
      pausedBy: pausedBy(entry?.pause ?? false, key),
    };
  });
  return { image, config: diskimage, pausedBy: pausedBy(diskimage?.pause ?? false, pairKey(image, undefined)), newestBuild: index.buildsOf.get(image)?.find((b) => b.state !== 'gone'), cells };
}

/** Builds and uploads of one diskimage, newest first (gone ones too: deletions are history). */
export function history(index: StateIndex, image: string): HistoryEntry[] {
  const entries: HistoryEntry[] = [
    ...(index.buildsOf.get(image) ?? []).map((record): HistoryEntry => ({ kind: 'build', record, provider: undefined })),
    ...(index.uploadsOfImage.get(image) ?? []).map((record): HistoryEntry => ({ kind: 'upload', record, provider: record.provider })),
  ];
  return entries.sort((a, b) => Math.max(b.record.stateAt, b.record.createdAt) - Math.max(a.record.stateAt, a.record.createdAt) || newestFirst(a.record, b.record));
}
