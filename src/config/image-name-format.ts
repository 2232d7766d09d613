/** The values an image-name-format may name. */
export const IMAGE_NAME_FIELDS = ['image_name', 'image_id', 'provider', 'timestamp'] as const;
export type ImageNameField = (typeof IMAGE_NAME_FIELDS)[number];

export type ImageNamePart = { readonly literal: string } | { readonly field: ImageNameField };

const isField = (name: string): name is ImageNameField => (IMAGE_NAME_FIELDS as readonly string[]).includes(name);

/**
 * Reads an image-name-format with Python str.format's braces, as nodepool wrote it: `{field}`
 * for a value, `{{` and `}}` for a brace. Returns its parts, or why it is not such a format
 * (an unknown field, a `{` never closed, a lone `}`): anything else would be uploaded as text.
 */
export function parseImageNameFormat(format: string): { readonly parts: ImageNamePart[] } | { readonly problem: string } {
  if (format === '') return { problem: 'it is empty' };
  const parts: ImageNamePart[] = [];
  let literal = '';
  for (let at = 0; at < format.length; ) {
    const char = format[at]!;
    if ((char === '{' || char === '}') && format[at + 1] === char) {
      literal += char;
      at += 2;
      continue;
    }
    if (char === '}') return { problem: `a "}" at position ${at + 1} closes nothing (write "}}" for a brace)` };
    if (char !== '{') {
      literal += char;
      at++;
      continue;
    }
    const close = format.indexOf('}', at);
    const open = format.indexOf('{', at + 1);
    if (close === -1 || (open !== -1 && open < close)) return { problem: `the "{" at position ${at + 1} is never closed (write "{{" for a brace)` };
    const name = format.slice(at + 1, close);
    if (!isField(name)) return { problem: `{${name}} is not a known field (${IMAGE_NAME_FIELDS.map((f) => `{${f}}`).join(', ')})` };
    if (literal) parts.push({ literal });
    literal = '';
    parts.push({ field: name });
    at = close + 1;
  }
  if (literal) parts.push({ literal });
  return { parts };
}

export interface ImageNameFields {
  readonly imageName: string;
  readonly imageId: string;
  readonly provider: string;
  readonly timestamp: number;
}

/**
 * Expands an image-name-format ({timestamp} in Unix seconds); undefined when the format does
 * not parse (the config check refuses such a format before it gets here).
 */
export function expandImageNameFormat(format: string, fields: ImageNameFields): string | undefined {
  const parsed = parseImageNameFormat(format);
  if ('problem' in parsed) return undefined;
  const values: Readonly<Record<ImageNameField, string>> = {
    image_name: fields.imageName,
    image_id: fields.imageId,
    provider: fields.provider,
    timestamp: String(Math.floor(fields.timestamp / 1000)),
  };
  return parsed.parts.map((part) => ('field' in part ? values[part.field] : part.literal)).join('');
}
