import { isImageId } from '../images/image-id.ts';
import {
  BUILD_STATES,
  type BackoffRecord,
  type BuildRecord,
  type BuildRequestRecord,
  type PauseRecord,
  type SchedulerState,
  UPLOAD_STATES,
  type UploadRecord,
} from './state.ts';
import { StateError } from './state-errors.ts';

/**
 * export-state / import-state: the whole state as one JSON document (kebab-case keys, as the
 * job wire contract writes them; times in milliseconds since the epoch, so nothing is rounded).
 */
export const STATE_FORMAT = 'nodepool-builder-state';
export const STATE_DOCUMENT_VERSION = 1;

export interface StateDocument extends SchedulerState {
  readonly systemId: string | undefined;
}

type Json = Record<string, unknown>;
const orNull = <T>(value: T | undefined): T | null => (value === undefined ? null : value);

export function documentToJson(document: StateDocument, exportedAt: number): Json {
  return {
    format: STATE_FORMAT,
    version: STATE_DOCUMENT_VERSION,
    'exported-at': new Date(exportedAt).toISOString(),
    'system-id': orNull(document.systemId),
    builds: document.builds.map((b) => ({
      id: b.id,
      diskimage: b.diskimage,
      state: b.state,
      builder: orNull(b.builder),
      formats: [...b.formats],
      'created-at': b.createdAt,
      'state-at': b.stateAt,
      'ready-at': orNull(b.readyAt),
      reason: orNull(b.reason),
    })),
    uploads: document.uploads.map((u) => ({
      id: u.id,
      'build-id': u.buildId,
      provider: u.provider,
      state: u.state,
      'external-id': orNull(u.externalId),
      'external-name': orNull(u.externalName),
      'created-at': u.createdAt,
      'state-at': u.stateAt,
      'ready-at': orNull(u.readyAt),
      reason: orNull(u.reason),
    })),
    pauses: document.pauses.map((p) => ({ diskimage: p.diskimage, provider: orNull(p.provider), 'paused-at': p.pausedAt })),
    backoffs: document.backoffs.map((b) => ({
      diskimage: b.diskimage,
      provider: orNull(b.provider),
      failures: b.failures,
      'failed-at': b.failedAt,
      'retry-at': b.retryAt,
      reason: b.reason,
    })),
    'build-requests': document.buildRequests.map((r) => ({ diskimage: r.diskimage, 'requested-at': r.requestedAt })),
  };
}

/** Reads one field after another, so a refusal names the path of the value (e.g. uploads[3].state). */
class Fields {
  constructor(
    private readonly value: Json,
    private readonly path: string,
  ) {}

  static of(value: unknown, path: string): Fields {
    if (typeof value !== 'object' || value === null || Array.isArray(value)) throw invalid(path, 'an object', value);
    return new Fields(value as Json, path);
  }

  string(key: string, pattern?: RegExp): string {
    const value = this.value[key];
    if (typeof value !== 'string' || value === '' || (pattern && !pattern.test(value))) throw invalid(this.at(key), 'a non-empty string', value);
    return value;
  }

  id(key: string): string {
    const value = this.value[key];
    if (!isImageId(value)) throw invalid(this.at(key), 'an id of letters, digits, ".", "_" and "-" (at most 128)', value);
    return value;
  }

  optionalString(key: string): string | undefined {
    const value = this.value[key];
    return value === null || value === undefined ? undefined : this.string(key);
  }

  time(key: string): number {
    const value = this.value[key];
    if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 0) throw invalid(this.at(key), 'a time in milliseconds since the epoch', value);
    return value;
  }

  optionalTime(key: string): number | undefined {
    const value = this.value[key];
    return value === null || value === undefined ? undefined : this.time(key);
  }

  count(key: string): number {
    const value = this.value[key];
    if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 1) throw invalid(this.at(key), 'a positive integer', value);
    return value;
  }

  oneOf<T extends string>(key: string, choices: readonly T[]): T {
    const value = this.value[key];
    if (typeof value !== 'string' || !(choices as readonly string[]).includes(value)) throw invalid(this.at(key), `one of ${choices.join(', ')}`, value);
    return value as T;
  }

  strings(key: string): string[] {
    const value = this.value[key];
    if (!Array.isArray(value) || value.some((item) => typeof item !== 'string')) throw invalid(this.at(key), 'an array of strings', value);
    return value as string[];
  }

  list<T>(key: string, read: (item: Fields) => T): T[] {
    const value = this.value[key];
    if (!Array.isArray(value)) throw invalid(this.at(key), 'an array', value);
    return value.map((item, i) => read(Fields.of(item, `${this.at(key)}[${i}]`)));
  }

  at(key: string): string {
    return this.path ? `${this.path}.${key}` : key;
  }
}

function invalid(path: string, expected: string, got: unknown): StateError {
  const shown = JSON.stringify(got) ?? String(got);
  return new StateError('STATE_IMPORT_INVALID', `${path}: expected ${expected}, got ${shown.length > 80 ? `${shown.slice(0, 80)}…` : shown}`);
}

/** Checks an export-state document through and through; a refusal names the first bad value's path. */
export function documentFromJson(json: unknown): StateDocument {
  const root = Fields.of(json, '');
  if (root.string('format') !== STATE_FORMAT) throw invalid('format', `"${STATE_FORMAT}"`, (json as Json).format);
  const version = root.count('version');
  if (version !== STATE_DOCUMENT_VERSION) throw invalid('version', `${STATE_DOCUMENT_VERSION} (this program's format)`, version);
  const builds: BuildRecord[] = root.list('builds', (f) => ({
    id: f.id('id'),
    diskimage: f.id('diskimage'),
    state: f.oneOf('state', BUILD_STATES),
    builder: f.optionalString('builder'),
    formats: f.strings('formats'),
    createdAt: f.time('created-at'),
    stateAt: f.time('state-at'),
    readyAt: f.optionalTime('ready-at'),
    reason: f.optionalString('reason'),
  }));
  const uploads: UploadRecord[] = root.list('uploads', (f) => ({
    id: f.id('id'),
    buildId: f.id('build-id'),
    provider: f.id('provider'),
    state: f.oneOf('state', UPLOAD_STATES),
    externalId: f.optionalString('external-id'),
    externalName: f.optionalString('external-name'),
    createdAt: f.time('created-at'),
    stateAt: f.time('state-at'),
    readyAt: f.optionalTime('ready-at'),
    reason: f.optionalString('reason'),
  }));
  const pauses: PauseRecord[] = root.list('pauses', (f) => ({
    diskimage: f.id('diskimage'),
    provider: f.optionalString('provider'),
    pausedAt: f.time('paused-at'),
  }));
  const backoffs: BackoffRecord[] = root.list('backoffs', (f) => ({
    diskimage: f.id('diskimage'),
    provider: f.optionalString('provider'),
    failures: f.count('failures'),
    failedAt: f.time('failed-at'),
    retryAt: f.time('retry-at'),
    reason: f.string('reason'),
  }));
  const buildRequests: BuildRequestRecord[] = root.list('build-requests', (f) => ({
    diskimage: f.id('diskimage'),
    requestedAt: f.time('requested-at'),
  }));
  const systemId = root.optionalString('system-id');
  const buildIds = new Set<string>();
  builds.forEach((b, i) => {
    if (buildIds.has(b.id)) throw invalid(`builds[${i}].id`, 'an id not used by another build', b.id);
    buildIds.add(b.id);
  });
  const uploadIds = new Set<string>();
  uploads.forEach((u, i) => {
    if (!buildIds.has(u.buildId)) throw invalid(`uploads[${i}].build-id`, 'the id of a build in this document', u.buildId);
    if (uploadIds.has(u.id)) throw invalid(`uploads[${i}].id`, 'an id not used by another upload', u.id);
    uploadIds.add(u.id);
  });
  return { systemId, builds, uploads, pauses, backoffs, buildRequests };
}
