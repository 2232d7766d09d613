/**
 * The job wire contract, compatible with nodepool 0.3's scheduler (nodepool/jobs.py):
 *   image-build:<name>   {"image-id": "<id>"}                          → {"image-id": "<id>", ...}
 *   image-upload:<id>    {"provider": "<p>", "image-name": "<name>"}   → {"external-id": "<uuid>", ...}
 *                        optional: "upload-id", "system-id" (tags), "external-id" (the Glance id to create)
 *   image-delete:<id>    empty, {} or "" (what nodepool 0.3 sends)     → {}
 * The scheduler's cloud operations, registered per provider whose cloud credentials resolve:
 *   provider-image-list:<p>    empty, {} or {"system-id": "<id>"}  → {"images": [{"external-id", "name", "status",
 *                              "upload-id", "build-id", "system-id", "created-at", ...}]}
 *   provider-image-delete:<p>  {"external-id": "<uuid>"}           → {} or {"already-gone": true}
 * The builder's own repository, one function per builder (for the scheduler to adopt builds it never started):
 *   builder-image-list:<client-id>  empty or {}  → {"builder": "<client-id>", "images": [{"image-id", "diskimage",
 *                                                   "formats": ["qcow2", ...], "built-at": "<ISO-8601>"}]}
 * image-build's result names the builder and the diskimage: {"image-id", "diskimage", "builder", "formats": {...}}.
 * Extra result keys are welcome; the keys above keep their meaning. An upload's WORK_STATUS
 * counts KiB (see uploadProgress).
 */
import { JobFailure } from '../errors/job-failure.ts';
import { utf8 } from '../protocol/codec/text.ts';
import { isImageId } from '../images/image-id.ts';

export const BUILD_PREFIX = 'image-build:';
export const UPLOAD_PREFIX = 'image-upload:';
export const DELETE_PREFIX = 'image-delete:';
export const PROVIDER_LIST_PREFIX = 'provider-image-list:';
export const PROVIDER_DELETE_PREFIX = 'provider-image-delete:';
export const BUILDER_LIST_PREFIX = 'builder-image-list:';

/** Job data larger than this is refused before it is parsed. */
export const MAX_JOB_DATA = 64 * 1024;

/** Glance's limit on an image name, in characters (code points, as Glance counts: not UTF-16 units). */
export const MAX_IMAGE_NAME = 255;
/** A provider is a name from the config: anything longer is junk, refused before it reaches a log. */
export const MAX_PROVIDER_NAME = 255;

/** Code points, not UTF-16 units: an emoji is one character. */
function characters(text: string): number {
  let n = 0;
  for (const _ of text) n++;
  return n;
}

export interface BuildRequest {
  readonly imageId: string;
  /** Stream the build output to the submitter as WORK_DATA (never by default). */
  readonly follow: boolean;
}

export interface UploadRequest {
  readonly provider: string;
  readonly imageName: string | undefined;
  /** The scheduler's record of this upload: tagged on the image (nodepool_upload_id). */
  readonly uploadId?: string;
  /** The scheduler's system id: tagged on the image (nodepool_system_id). */
  readonly systemId?: string;
  /** The Glance image id to create (a UUID, lower case); a random one when absent. */
  readonly externalId?: string;
}

/** A tag ends up as a Glance property value: Glance refuses values longer than 255 characters. */
export const MAX_TAG = 255;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
/** Tags are compared, logged and shown in tables: no control characters, no surrounding space. */
const TAG = /^[^\p{Cc}\s](?:[^\p{Cc}]*[^\p{Cc}\s])?$/u;

function badRequest(message: string): JobFailure {
  return new JobFailure('BAD_REQUEST', message);
}

function parseObject(payload: Uint8Array, what: string): Record<string, unknown> {
  if (payload.length > MAX_JOB_DATA) throw badRequest(`${what} data is ${payload.length} bytes; the limit is ${MAX_JOB_DATA}`);
  let value: unknown;
  try {
    value = JSON.parse(utf8(payload));
  } catch {
    throw badRequest(`${what} data is not JSON`);
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw badRequest(`${what} data is not a JSON object`);
  return value as Record<string, unknown>;
}

export function parseBuildRequest(payload: Uint8Array): BuildRequest {
  const data = parseObject(payload, 'image-build');
  const id = data['image-id'];
  if (!isImageId(id)) {
    throw badRequest(`"image-id" must match [A-Za-z0-9][A-Za-z0-9._-]{0,127}, got ${JSON.stringify(id)?.slice(0, 80)}`);
  }
  if (data.follow !== undefined && typeof data.follow !== 'boolean') throw badRequest('"follow" must be true or false');
  return { imageId: id, follow: data.follow === true };
}

export function parseUploadRequest(payload: Uint8Array): UploadRequest {
  const data = parseObject(payload, 'image-upload');
  const provider = data.provider;
  if (typeof provider !== 'string' || provider === '' || characters(provider) > MAX_PROVIDER_NAME) {
    throw badRequest(`"provider" must be a provider name of at most ${MAX_PROVIDER_NAME} characters`);
  }
  const imageName = data['image-name'];
  if (imageName !== undefined && (typeof imageName !== 'string' || imageName === '' || characters(imageName) > MAX_IMAGE_NAME)) {
    throw badRequest(`"image-name" must be a non-empty string of at most ${MAX_IMAGE_NAME} characters`);
  }
  const uploadId = optionalTag(data, 'upload-id');
  const systemId = optionalTag(data, 'system-id');
  const externalId = optionalUuid(data, 'external-id');
  return {
    provider,
    imageName: imageName as string | undefined,
    ...(uploadId !== undefined ? { uploadId } : {}),
    ...(systemId !== undefined ? { systemId } : {}),
    ...(externalId !== undefined ? { externalId } : {}),
  };
}

function optionalTag(data: Record<string, unknown>, key: string): string | undefined {
  const value = data[key];
  if (value === undefined) return undefined;
  if (typeof value !== 'string' || characters(value) > MAX_TAG || !TAG.test(value)) {
    throw badRequest(`"${key}" must be a non-empty string of at most ${MAX_TAG} characters, without control characters or surrounding space`);
  }
  return value;
}

function optionalUuid(data: Record<string, unknown>, key: string): string | undefined {
  const value = data[key];
  if (value === undefined) return undefined;
  if (typeof value !== 'string' || !UUID.test(value)) {
    throw badRequest(`"${key}" must be a UUID (8-4-4-4-12 hex digits), got ${JSON.stringify(value)?.slice(0, 80)}`);
  }
  // Glance answers ids in lower case: the result and the listing must name the same image.
  return value.toLowerCase();
}

export interface ProviderListRequest {
  /** Only the images tagged with this system id. */
  readonly systemId?: string;
}

export interface ProviderDeleteRequest {
  readonly externalId: string;
}

function isEmptyData(payload: Uint8Array): boolean {
  const text = utf8(payload).trim();
  return text === '' || text === '""' || text === 'null';
}

function onlyKeys(data: Record<string, unknown>, what: string, allowed: readonly string[]): void {
  const extra = Object.keys(data).find((key) => !allowed.includes(key));
  if (extra !== undefined) throw badRequest(`${what} takes ${allowed.map((k) => `"${k}"`).join(', ')} only, not ${JSON.stringify(extra).slice(0, 80)}`);
}

export function parseProviderListRequest(payload: Uint8Array): ProviderListRequest {
  if (payload.length <= MAX_JOB_DATA && isEmptyData(payload)) return {};
  const data = parseObject(payload, 'provider-image-list');
  onlyKeys(data, 'provider-image-list', ['system-id']);
  const systemId = optionalTag(data, 'system-id');
  return systemId === undefined ? {} : { systemId };
}

export function parseProviderDeleteRequest(payload: Uint8Array): ProviderDeleteRequest {
  const data = parseObject(payload, 'provider-image-delete');
  onlyKeys(data, 'provider-image-delete', ['external-id']);
  const externalId = optionalUuid(data, 'external-id');
  if (externalId === undefined) throw badRequest('"external-id" (the Glance image id to delete) is required');
  return { externalId };
}

/** builder-image-list takes no arguments: empty, {}, "" or null. */
export function checkBuilderListRequest(payload: Uint8Array): void {
  if (payload.length <= MAX_JOB_DATA && isEmptyData(payload)) return;
  const extra = Object.keys(parseObject(payload, 'builder-image-list'))[0];
  if (extra !== undefined) throw badRequest(`builder-image-list takes no data (empty or {}), not ${JSON.stringify(extra).slice(0, 80)}`);
}

/** image-delete takes no arguments; it accepts what schedulers really send. */
export function checkDeleteRequest(payload: Uint8Array): void {
  const text = utf8(payload).trim();
  if (text === '' || text === '{}' || text === '""' || text === 'null') return;
  throw badRequest('image-delete takes no data (empty, {} or "")');
}

export function jsonResult(value: Readonly<Record<string, unknown>>): string {
  return JSON.stringify(value);
}

/** WORK_STATUS numbers must fit 32 bits: gearmand keeps them (and the gearman CLI divides them) as uint32. */
const MAX_STATUS = 0xffffffff;
/** The unit of an upload's WORK_STATUS: KiB, so images up to 4 TiB fit 32 bits. */
export const PROGRESS_UNIT = 1024;

/**
 * An upload's progress as WORK_STATUS numbers: KiB sent and KiB in all (rounded up, at least
 * 1), so 0 ≤ sent ≤ total and total > 0 always; only a finished upload shows sent = total.
 * Beyond 4 TiB both are scaled down together to fit 32 bits, keeping the fraction.
 */
export function uploadProgress(sentBytes: number, totalBytes: number): readonly [number, number] {
  const total = Math.max(1, Math.ceil(totalBytes / PROGRESS_UNIT));
  const sent = sentBytes >= totalBytes ? total : Math.min(total - 1, Math.floor(Math.max(0, sentBytes) / PROGRESS_UNIT));
  if (total <= MAX_STATUS) return [sent, total];
  return [sent === total ? MAX_STATUS : Math.min(MAX_STATUS - 1, Math.floor((sent / total) * MAX_STATUS)), MAX_STATUS];
}
