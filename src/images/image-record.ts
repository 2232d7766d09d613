/** One file of an image in one format. */
export interface ImageFile {
  /** File name inside the image's directory. */
  readonly file: string;
  readonly size: number;
  readonly md5: string;
  readonly sha256: string;
  /** True for files made later by converting another format (e.g. qcow2 → vpc for a provider). */
  readonly converted?: boolean;
}

/** metadata.json of an image in the repository: everything known about one build. */
export interface ImageRecord {
  readonly id: string;
  /** The diskimage it was built from. */
  readonly name: string;
  readonly formats: Readonly<Record<string, ImageFile>>;
  readonly build: {
    readonly builder: string;
    readonly builderVersion: string | undefined;
    readonly host: string;
    readonly started: string;
    readonly finished: string;
    readonly log: string;
  };
}

const HEX = /^[0-9a-f]+$/;

function isFile(value: unknown): value is ImageFile {
  if (typeof value !== 'object' || value === null) return false;
  const f = value as Record<string, unknown>;
  return (
    typeof f.file === 'string' &&
    !f.file.includes('/') &&
    typeof f.size === 'number' &&
    typeof f.md5 === 'string' &&
    HEX.test(f.md5) &&
    typeof f.sha256 === 'string' &&
    HEX.test(f.sha256)
  );
}

/** Checks a parsed metadata.json; a record that does not check out is never served. */
export function isImageRecord(value: unknown, id: string): value is ImageRecord {
  if (typeof value !== 'object' || value === null) return false;
  const r = value as Record<string, unknown>;
  const build = r.build as Record<string, unknown> | undefined;
  return (
    r.id === id &&
    typeof r.name === 'string' &&
    typeof r.formats === 'object' &&
    r.formats !== null &&
    Object.values(r.formats).every(isFile) &&
    Object.keys(r.formats).length > 0 &&
    typeof build === 'object' &&
    build !== null &&
    typeof build.builder === 'string' &&
    typeof build.started === 'string' &&
    typeof build.finished === 'string'
  );
}
