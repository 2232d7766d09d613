import type { Digests, HashAlgorithm } from '../hashing-file.ts';
import type { GlanceImage } from './images-api.ts';

/** What the build's record says about the file: every copy of it must have this size and these digests. */
export interface RecordedFile {
  readonly size: number;
  readonly md5: string;
  readonly sha256: string;
}

/** Digests of the bytes this host read, and what to call those bytes in a message. */
export interface ReadDigests {
  readonly digests: Digests;
  /** e.g. "the file sent": completes "md5 of … is X, not Y". */
  readonly label: string;
}

export interface Verification {
  /** What disagrees, one phrase each; empty when everything compared agrees. */
  readonly problems: readonly string[];
  /** Glance reported a digest of what it stored that was compared with the record. */
  readonly cloudCompared: boolean;
  /** A digest of the bytes read here was compared with the record. */
  readonly readCompared: boolean;
}

const isHashAlgorithm = (value: string): value is HashAlgorithm => value === 'md5' || value === 'sha256' || value === 'sha512';

/**
 * Compares an uploaded image with the build's record: Glance's status and size, its `checksum`
 * (md5) and its `os_hash_value` whenever the record holds `os_hash_algo`, and the digests of
 * the bytes read here, if any were computed. An os_hash_value of an algorithm the record lacks
 * (Glance's default sha512) is compared with the bytes read when they were hashed with it.
 */
export function verifyAgainstRecord(image: GlanceImage, recorded: RecordedFile, read?: ReadDigests): Verification {
  const problems: string[] = [];
  const expect = (label: string, actual: unknown, wanted: unknown) => {
    if (actual !== wanted) problems.push(`${label} is ${String(actual)}, not ${String(wanted)}`);
  };
  const record: Digests = { md5: recorded.md5, sha256: recorded.sha256 };
  expect('status', image.status, 'active');
  expect('size', image.size, recorded.size);

  let readCompared = false;
  for (const algorithm of ['md5', 'sha256'] as const) {
    const digest = read?.digests[algorithm];
    if (read === undefined || digest === undefined) continue;
    expect(`${algorithm} of ${read.label}`, digest, record[algorithm]);
    readCompared = true;
  }

  let cloudCompared = false;
  if (image.checksum !== undefined) {
    expect('Glance checksum', image.checksum, record.md5);
    cloudCompared = true;
  }
  const algo = image.osHashAlgo;
  if (algo !== undefined && image.osHashValue !== undefined && isHashAlgorithm(algo)) {
    if (record[algo] !== undefined) {
      expect(`Glance os_hash_value (${algo})`, image.osHashValue, record[algo]);
      cloudCompared = true;
    } else if (read?.digests[algo] !== undefined) {
      expect(`Glance os_hash_value (${algo})`, image.osHashValue, read.digests[algo]);
    }
  }
  return { problems, cloudCompared, readCompared };
}
