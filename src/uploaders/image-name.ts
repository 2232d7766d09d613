import { type ImageNameField, parseImageNameFormat } from '../config/image-name-format.ts';
import { JobFailure } from '../errors/job-failure.ts';

export interface ImageNameFields {
  readonly imageName: string;
  readonly imageId: string;
  readonly provider: string;
  readonly timestamp: number;
}

/** Expands a provider's image-name-format: {image_name}, {image_id}, {provider} and {timestamp} (Unix seconds). */
export function formatImageName(format: string, fields: ImageNameFields): string {
  const parsed = parseImageNameFormat(format);
  // The config check refuses such a format; this guards configs made without it.
  if ('problem' in parsed) throw new JobFailure('CONFIG', `image-name-format "${format}": ${parsed.problem}`);
  const values: Readonly<Record<ImageNameField, string>> = {
    image_name: fields.imageName,
    image_id: fields.imageId,
    provider: fields.provider,
    timestamp: String(Math.floor(fields.timestamp / 1000)),
  };
  return parsed.parts.map((part) => ('field' in part ? values[part.field] : part.literal)).join('');
}
