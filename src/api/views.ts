import type { BuilderConfig } from '../config/schema.ts';
import { parseFailureText } from '../errors/job-failure.ts';
import type { Wait } from '../scheduler/actions.ts';
import type { BackoffRecord, BuildRecord, SchedulerState, UploadRecord } from '../scheduler/state.ts';
import type { ListedUpload } from '../scheduler/state-store.ts';
import { printable } from '../util/printable.ts';
import { age, textTable } from './text-table.ts';

/**
 * What the read endpoints return: JSON rows (kebab-case keys, scripts rely on them) or the same
 * as a text table. Only the one asked for is made: image-list can hold tens of thousands of rows.
 */
export interface View {
  json(): unknown;
  text(): string;
  /** JSON.stringify(json()), when the view can make it faster itself. */
  jsonText?(): string;
}

const iso = (ms: number): string => new Date(ms).toISOString();
const ageSeconds = (now: number, at: number): number => Math.max(0, Math.floor((now - at) / 1000));

/** Records that are gone are history; the listings show what exists or is on its way. */
const shown = (record: { readonly state: string }): boolean => record.state !== 'gone';

export interface ImageListRow {
  readonly 'build-id': string;
  readonly 'upload-id': string;
  readonly provider: string;
  readonly image: string;
  readonly 'external-name': string | null;
  readonly 'external-id': string | null;
  readonly state: string;
  readonly 'state-time': string;
  readonly 'age-seconds': number;
  readonly reason: string | null;
}

const IMAGE_LIST_HEADERS = ['Build ID', 'Upload ID', 'Provider', 'Image', 'Provider Image Name', 'Provider Image ID', 'State', 'Age'];

/** One image-list row rendered but for its age: the JSON before and after "age-seconds", and its printable text cells but Age. */
interface RenderedRow {
  readonly upload: ListedUpload;
  readonly jsonBefore: string;
  readonly jsonAfter: string;
  readonly cells: readonly string[];
}

/** Whether a row rendered for `a` shows `b` the same (ids, names, state and its time, reason). */
function sameRow(a: ListedUpload, b: ListedUpload): boolean {
  return (
    a.id === b.id &&
    a.stateAt === b.stateAt &&
    a.state === b.state &&
    a.buildId === b.buildId &&
    a.provider === b.provider &&
    a.diskimage === b.diskimage &&
    a.externalName === b.externalName &&
    a.externalId === b.externalId &&
    a.reason === b.reason
  );
}

/** An image-list row's fields before its age and reason, in the order scripts see them. */
function rowFields(u: ListedUpload) {
  return {
    'build-id': u.buildId,
    'upload-id': u.id,
    provider: u.provider,
    image: u.diskimage,
    'external-name': u.externalName ?? null,
    'external-id': u.externalId ?? null,
    state: u.state,
    'state-time': iso(u.stateAt),
  };
}

function renderRow(u: ListedUpload): RenderedRow {
  const head = JSON.stringify(rowFields(u));
  return {
    upload: u,
    jsonBefore: `${head.slice(0, -1)},"age-seconds":`,
    jsonAfter: `,"reason":${JSON.stringify(u.reason ?? null)}}`,
    cells: [u.buildId, u.id, u.provider, u.diskimage, u.externalName ?? '', u.externalId ?? '', u.state].map(printable),
  };
}

/**
 * image-list is polled, and rendering 40,000 rows was most of its time. Everything in a row but
 * its age changes only when the record does, so rows are kept rendered by upload id and reused
 * while they show the same (a commit re-reads the listing, but changes few rows); the store
 * hands out the same listing array until the state file changes, so a listing's rows (and its
 * text lines, whose padding depends on every row) are kept per array as well.
 */
let renderedRows = new Map<string, RenderedRow>();
const renderedLists = new WeakMap<readonly ListedUpload[], { rows: readonly RenderedRow[]; text?: { header: string; lines: readonly string[] } }>();

function rendered(uploads: readonly ListedUpload[]): { rows: readonly RenderedRow[]; text?: { header: string; lines: readonly string[] } } {
  let listing = renderedLists.get(uploads);
  if (listing) return listing;
  const next = new Map<string, RenderedRow>();
  const rows = uploads.map((u) => {
    const known = renderedRows.get(u.id);
    const row = known && sameRow(known.upload, u) ? known : renderRow(u);
    next.set(u.id, row);
    return row;
  });
  renderedRows = next;
  listing = { rows };
  renderedLists.set(uploads, listing);
  return listing;
}

/** textTable's layout: Age is the last column, so it pads nothing, and every line is "before" + age. */
function textLines(listing: { rows: readonly RenderedRow[]; text?: { header: string; lines: readonly string[] } }): { header: string; lines: readonly string[] } {
  if (listing.text) return listing.text;
  const headers = IMAGE_LIST_HEADERS.slice(0, -1);
  const widths = headers.map((header, i) => listing.rows.reduce((most, row) => Math.max(most, row.cells[i]!.length), header.length));
  const before = (cells: readonly string[]): string => {
    let text = '';
    for (let i = 0; i < cells.length; i++) text += cells[i]!.padEnd(widths[i]! + 2, ' ');
    return text;
  };
  listing.text = { header: `${before(headers)}Age\n`, lines: listing.rows.map((row) => before(row.cells)) };
  return listing.text;
}

/** GET /image-list: one row per upload that is not gone, nodepool's columns. */
export function imageList(uploads: readonly ListedUpload[], now: number): View {
  return {
    jsonText: (): string => {
      const { rows } = rendered(uploads);
      let text = '[';
      for (let i = 0; i < rows.length; i++) text += `${i === 0 ? '' : ','}${rows[i]!.jsonBefore}${ageSeconds(now, rows[i]!.upload.stateAt)}${rows[i]!.jsonAfter}`;
      return `${text}]`;
    },
    json: (): ImageListRow[] =>
      uploads.map((u) => ({ ...rowFields(u), 'age-seconds': ageSeconds(now, u.stateAt), reason: u.reason ?? null })),
    text: () => {
      const listing = rendered(uploads);
      const { header, lines } = textLines(listing);
      let text = header;
      for (let i = 0; i < lines.length; i++) text += `${lines[i]}${age(now - listing.rows[i]!.upload.stateAt)}\n`;
      return text;
    },
  };
}

/** GET /dib-image-list: one row per build that is not gone, nodepool's columns. */
export function dibImageList(builds: readonly BuildRecord[], now: number): View {
  return {
    json: () =>
      builds.map((b) => ({
        id: b.id,
        image: b.diskimage,
        builder: b.builder ?? null,
        formats: [...b.formats],
        state: b.state,
        'state-time': iso(b.stateAt),
        'age-seconds': ageSeconds(now, b.stateAt),
        reason: b.reason ?? null,
      })),
    text: () =>
      textTable(
        ['ID', 'Image', 'Builder', 'Formats', 'State', 'Age'],
        builds.map((b) => [b.id, b.diskimage, b.builder ?? '', b.formats.join(','), b.state, age(now - b.stateAt)]),
      ),
  };
}

interface RecordSummary {
  readonly id: string;
  readonly state: string;
  readonly 'state-time': string;
}

interface Failures {
  readonly count: number;
  readonly reason: string;
  readonly 'failed-at': string;
  readonly 'retry-at': string;
}

/** Why work that is due does not happen now (the planner's last word), and until when for a backoff. */
interface Waiting {
  readonly why: string;
  readonly until: string | null;
}

interface PairStatus {
  readonly provider: string;
  readonly configured: boolean;
  readonly paused: boolean;
  readonly 'paused-by': 'config' | 'operator' | null;
  readonly 'newest-upload': RecordSummary | null;
  readonly 'newest-ready-upload': RecordSummary | null;
  readonly failures: Failures | null;
  readonly waiting: Waiting | null;
}

interface DiskimageStatus {
  readonly image: string;
  readonly configured: boolean;
  readonly paused: boolean;
  readonly 'paused-by': 'config' | 'operator' | null;
  readonly 'build-requested': string | null;
  readonly 'newest-build': RecordSummary | null;
  readonly 'newest-ready-build': RecordSummary | null;
  readonly failures: Failures | null;
  readonly waiting: Waiting | null;
  readonly providers: readonly PairStatus[];
}

const summary = (record: BuildRecord | UploadRecord | undefined): RecordSummary | null =>
  record ? { id: record.id, state: record.state, 'state-time': iso(record.stateAt) } : null;

const failures = (backoff: BackoffRecord | undefined): Failures | null =>
  backoff ? { count: backoff.failures, reason: backoff.reason, 'failed-at': iso(backoff.failedAt), 'retry-at': iso(backoff.retryAt) } : null;

const newest = <T extends BuildRecord | UploadRecord>(records: readonly T[]): T | undefined =>
  records.reduce<T | undefined>((best, r) => (!best || r.createdAt > best.createdAt || (r.createdAt === best.createdAt && r.id > best.id) ? r : best), undefined);

const newestReady = <T extends BuildRecord | UploadRecord>(records: readonly T[]): T | undefined =>
  records.filter((r) => r.state === 'ready').reduce<T | undefined>((best, r) => (!best || (r.readyAt ?? 0) > (best.readyAt ?? 0) ? r : best), undefined);

function listFor<T>(map: Map<string, T[]>, key: string): T[] {
  let list = map.get(key);
  if (!list) map.set(key, (list = []));
  return list;
}

const pairKey = (diskimage: string, provider: string | undefined): string => `${diskimage}\0${provider ?? ''}`;

/**
 * GET /image-status: per diskimage (those of the config, and any the state still holds records
 * of) and per provider it goes to: paused or not and by whom, the newest build or upload and the
 * newest ready one, and failures in a row with the last reason and the time of the next try.
 */
export function imageStatus(state: SchedulerState, config: BuilderConfig, now: number, waits: readonly Wait[] = []): View {
  const waiting = new Map<string, Waiting>();
  for (const w of waits) if (!waiting.has(pairKey(w.diskimage, w.provider))) waiting.set(pairKey(w.diskimage, w.provider), { why: w.why, until: w.until === undefined ? null : iso(w.until) });
  const pauses = new Set(state.pauses.map((p) => pairKey(p.diskimage, p.provider)));
  const backoffs = new Map(state.backoffs.map((b) => [pairKey(b.diskimage, b.provider), b]));
  const requests = new Map(state.buildRequests.map((r) => [r.diskimage, r.requestedAt]));
  const buildsOf = new Map<string, BuildRecord[]>();
  for (const b of state.builds) listFor(buildsOf, b.diskimage).push(b);
  const diskimageOf = new Map(state.builds.map((b) => [b.id, b.diskimage]));
  const uploadsOf = new Map<string, UploadRecord[]>();
  const providersOf = new Map<string, Set<string>>();
  for (const u of state.uploads) {
    const diskimage = diskimageOf.get(u.buildId) ?? '';
    listFor(uploadsOf, pairKey(diskimage, u.provider)).push(u);
    let set = providersOf.get(diskimage);
    if (!set) providersOf.set(diskimage, (set = new Set()));
    set.add(u.provider);
  }
  const configured = new Map(config.diskimages.map((d) => [d.name, d]));
  const names = [...new Set([...configured.keys(), ...buildsOf.keys()])].sort();
  const statuses: DiskimageStatus[] = names.map((name) => {
    const diskimage = configured.get(name);
    const providerNames = new Set<string>();
    const pairPause = new Map<string, boolean>();
    for (const p of config.providers) {
      const entry = p.diskimages === undefined ? { pause: false } : p.diskimages.find((d) => d.name === name);
      if (diskimage && entry) {
        providerNames.add(p.name);
        pairPause.set(p.name, entry.pause);
      }
    }
    for (const provider of providersOf.get(name) ?? []) providerNames.add(provider);
    const pausedBy = (byConfig: boolean, key: string): 'config' | 'operator' | null => (byConfig ? 'config' : pauses.has(key) ? 'operator' : null);
    const buildPause = pausedBy(diskimage?.pause ?? false, pairKey(name, undefined));
    const builds = (buildsOf.get(name) ?? []).filter(shown);
    const requested = requests.get(name);
    return {
      image: name,
      configured: diskimage !== undefined,
      paused: buildPause !== null,
      'paused-by': buildPause,
      'build-requested': requested === undefined ? null : iso(requested),
      'newest-build': summary(newest(builds)),
      'newest-ready-build': summary(newestReady(builds)),
      failures: failures(backoffs.get(pairKey(name, undefined))),
      waiting: waiting.get(pairKey(name, undefined)) ?? null,
      providers: [...providerNames].sort().map((provider): PairStatus => {
        const key = pairKey(name, provider);
        const uploads = (uploadsOf.get(key) ?? []).filter(shown);
        const by = pausedBy(pairPause.get(provider) ?? false, key);
        return {
          provider,
          configured: pairPause.has(provider),
          paused: by !== null,
          'paused-by': by,
          'newest-upload': summary(newest(uploads)),
          'newest-ready-upload': summary(newestReady(uploads)),
          failures: failures(backoffs.get(key)),
          waiting: waiting.get(key) ?? null,
        };
      }),
    };
  });
  const text = (): string => {
  const rows: string[][] = [];
  const since = (record: RecordSummary | null): string => (record ? age(now - Date.parse(record['state-time'])) : '');
    // Without a build's log tail (the JSON has it all).
  const failed = (f: Failures | null): [string, string] => (f ? [String(f.count), parseFailureText(f.reason).reason] : ['', '']);
  for (const s of statuses) {
    const latest = s['newest-build'];
    rows.push([s.image, '', s.paused ? `yes (${s['paused-by']})` : 'no', latest?.id ?? '', latest?.state ?? '', since(latest), s.waiting?.why ?? '', ...failed(s.failures)]);
    for (const p of s.providers) {
      const upload = p['newest-upload'];
      rows.push([s.image, p.provider, p.paused ? `yes (${p['paused-by']})` : 'no', upload?.id ?? '', upload?.state ?? '', since(upload), p.waiting?.why ?? '', ...failed(p.failures)]);
    }
  }
  return textTable(['Image', 'Provider', 'Paused', 'Newest', 'State', 'Age', 'Waiting', 'Failures', 'Reason'], rows);
  };
  return { json: () => statuses, text };
}
