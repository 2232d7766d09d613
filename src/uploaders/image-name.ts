import { type ImageNameFields, expandImageNameFormat, parseImageNameFormat } from '../config/image-name-format.ts';
import { JobFailure } from '../errors/job-failure.ts';

export type { ImageNameFields };

/** Expands a provider's image-name-format: {image_name}, {image_id}, {provider} and {timestamp} (Unix seconds). */
export function formatImageName(format: string, fields: ImageNameFields): string {
  const name = expandImageNameFormat(format, fields);
  if (name !== undefined) return name;
  // The config check refuses such a format; this guards configs made without it.
  const parsed = parseImageNameFormat(format);
  throw new JobFailure('CONFIG', `image-name-format "${format}": ${'problem' in parsed ? parsed.problem : 'does not parse'}`);
}
