/**
 * The jobs the scheduler submits, in the README's wire contract: the request data it sends
 * and the WORK_COMPLETE data it reads back. A result that does not read is a RunnerError.
 */
import type { SweptImage } from './observe.ts';
import { RunnerError } from './runner-errors.ts';

export const buildFunction = (diskimage: string): string => `image-build:${diskimage}`;
export const uploadFunction = (buildId: string): string => `image-upload:${buildId}`;
export const deleteBuildFunction = (buildId: string): string => `image-delete:${buildId}`;
export const listFunction = (provider: string): string => `provider-image-list:${provider}`;
export const deleteImageFunction = (provider: string): string => `provider-image-delete:${provider}`;
export const builderListFunction = (builder: string): string => `builder-image-list:${builder}`;

export function buildRequest(buildId: string): string {
  return JSON.stringify({ 'image-id': buildId });
}

export interface UploadJob {
  readonly provider: string;
  readonly imageName: string | undefined;
  readonly uploadId: string;
  readonly systemId: string;
  readonly externalId: string | undefined;
}

export function uploadRequest(job: UploadJob): string {
  return JSON.stringify({
    provider: job.provider,
    ...(job.imageName === undefined ? {} : { 'image-name': job.imageName }),
    'upload-id': job.uploadId,
    'system-id': job.systemId,
    ...(job.externalId === undefined ? {} : { 'external-id': job.externalId }),
  });
}

export function listRequest(systemId: string): string {
  return JSON.stringify({ 'system-id': systemId });
}

export function deleteImageRequest(externalId: string): string {
  return JSON.stringify({ 'external-id': externalId });
}

function object(data: string, what: string): Record<string, unknown> {
  let value: unknown;
  try {
    value = JSON.parse(data);
  } catch (err) {
    throw new RunnerError('JOB_RESULT_INVALID', `${what}: the result is not JSON`, { cause: err });
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new RunnerError('JOB_RESULT_INVALID', `${what}: the result is not a JSON object`);
  return value as Record<string, unknown>;
}

const optionalString = (value: unknown): string | undefined => (typeof value === 'string' && value !== '' ? value : undefined);

export interface BuildResult {
  readonly formats: readonly string[];
  /** The builder's client id, when its result names it. */
  readonly builder: string | undefined;
}

/** image-build's result: {"image-id", "formats": {qcow2: {...}}, ...}; formats and builder are optional. */
export function parseBuildResult(data: string): BuildResult {
  const result = object(data, 'image-build');
  const formats = result.formats;
  return {
    formats: typeof formats === 'object' && formats !== null && !Array.isArray(formats) ? Object.keys(formats).sort() : [],
    builder: optionalString(result.builder),
  };
}

/** One image of a builder's repository, as builder-image-list:<client-id> answers. */
export interface BuilderImage {
  readonly id: string;
  readonly diskimage: string;
  readonly formats: readonly string[];
  /** When the builder finished it ("built-at"), if it says. */
  readonly builtAt: number | undefined;
}

/** builder-image-list's result: {"builder", "images": [{"image-id", "diskimage", "formats": [...], "built-at"}]}. */
export function parseBuilderListResult(data: string, builder: string): BuilderImage[] {
  const what = builderListFunction(builder);
  const images = object(data, what).images;
  if (!Array.isArray(images)) throw new RunnerError('JOB_RESULT_INVALID', `${what}: the result has no "images" list`);
  return images.map((entry: unknown, i) => {
    if (typeof entry !== 'object' || entry === null) throw new RunnerError('JOB_RESULT_INVALID', `${what}: images[${i}] is not an object`);
    const image = entry as Record<string, unknown>;
    const id = optionalString(image['image-id']);
    const diskimage = optionalString(image.diskimage);
    if (id === undefined || diskimage === undefined) throw new RunnerError('JOB_RESULT_INVALID', `${what}: images[${i}] needs "image-id" and "diskimage"`);
    const formats = Array.isArray(image.formats) ? image.formats.filter((f): f is string => typeof f === 'string').sort() : [];
    const builtAt = Date.parse(optionalString(image['built-at']) ?? '');
    return { id, diskimage, formats, builtAt: Number.isNaN(builtAt) ? undefined : builtAt };
  });
}

/**
 * The image ids a builder is building now: builder-image-list's additive "building" list
 * ([{"image-id", "diskimage", "started-at"}]); a builder without it (older) builds none we can see.
 */
export function parseBuilderBuilding(data: string, builder: string): string[] {
  const what = builderListFunction(builder);
  const building = object(data, what).building;
  if (building === undefined) return [];
  if (!Array.isArray(building)) throw new RunnerError('JOB_RESULT_INVALID', `${what}: "building" is not a list`);
  return building.flatMap((entry: unknown) => {
    const id = typeof entry === 'object' && entry !== null ? optionalString((entry as Record<string, unknown>)['image-id']) : undefined;
    return id === undefined ? [] : [id];
  });
}

/** image-upload's result: {"external-id": "<glance uuid>", ...}. */
export function parseUploadResult(data: string): string {
  const externalId = optionalString(object(data, 'image-upload')['external-id']);
  if (externalId === undefined) throw new RunnerError('JOB_RESULT_INVALID', 'image-upload: the result has no "external-id"');
  return externalId;
}

/** provider-image-list's result: {"images": [{"external-id", "status", "upload-id", ...}]}. */
export function parseListResult(data: string, provider: string): SweptImage[] {
  const what = listFunction(provider);
  const images = object(data, what).images;
  if (!Array.isArray(images)) throw new RunnerError('JOB_RESULT_INVALID', `${what}: the result has no "images" list`);
  return images.map((entry: unknown, i) => {
    if (typeof entry !== 'object' || entry === null) throw new RunnerError('JOB_RESULT_INVALID', `${what}: images[${i}] is not an object`);
    const image = entry as Record<string, unknown>;
    const externalId = optionalString(image['external-id']);
    const status = optionalString(image.status);
    if (externalId === undefined || status === undefined) throw new RunnerError('JOB_RESULT_INVALID', `${what}: images[${i}] needs "external-id" and "status"`);
    return { externalId, status, uploadId: optionalString(image['upload-id']) };
  });
}
