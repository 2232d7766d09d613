export interface ImageNameFields {
  readonly imageName: string;
  readonly imageId: string;
  readonly provider: string;
  readonly timestamp: number;
}

/** Expands a provider's image-name-format: {image_name}, {image_id}, {provider} and {timestamp} (Unix seconds). */
export function formatImageName(format: string, fields: ImageNameFields): string {
  const values: Readonly<Record<string, string>> = {
    image_name: fields.imageName,
    image_id: fields.imageId,
    provider: fields.provider,
    timestamp: String(Math.floor(fields.timestamp / 1000)),
  };
  return format.replace(/\{(\w+)\}/g, (whole, key: string) => values[key] ?? whole);
}
