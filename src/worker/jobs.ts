/**
 * The job wire contract, compatible with nodepool 0.3's scheduler (nodepool/jobs.py):
 *   image-build:<name>   {"image-id": "<id>"}                          → {"image-id": "<id>", ...}
 *   image-upload:<id>    {"provider": "<p>", "image-name": "<name>"}   → {"external-id": "<uuid>", ...}
 *   image-delete:<id>    empty, {} or "" (what nodepool 0.3 sends)     → {}
 * Extra result keys are welcome; the keys above keep their meaning.
 */
import { JobFailure } from '../errors/job-failure.ts';
import { utf8 } from '../protocol/codec/text.ts';
import { isImageId } from '../images/image-id.ts';

export const BUILD_PREFIX = 'image-build:';
export const UPLOAD_PREFIX = 'image-upload:';
export const DELETE_PREFIX = 'image-delete:';

/** Job data larger than this is refused before it is parsed. */
export const MAX_JOB_DATA = 64 * 1024;

export interface BuildRequest {
  readonly imageId: string;
  /** Stream the build output to the submitter as WORK_DATA (never by default). */
  readonly follow: boolean;
}

export interface UploadRequest {
  readonly provider: string;
  readonly imageName: string | undefined;
}

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
  if (typeof provider !== 'string' || provider === '') throw badRequest('"provider" must be a provider name');
  const imageName = data['image-name'];
  if (imageName !== undefined && (typeof imageName !== 'string' || imageName === '' || imageName.length > 255)) {
    throw badRequest('"image-name" must be a non-empty string of at most 255 characters');
  }
  return { provider, imageName: imageName as string | undefined };
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
