import { createHash, timingSafeEqual } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { ApiError } from './api-error.ts';

/**
 * Checks a write's `Authorization: Bearer <token>` against the token file, read at each write
 * (a rotated token takes effect without a restart). No file, an unreadable or empty one: every
 * write is refused. The comparison is of SHA-256 digests in constant time, so neither the
 * token's bytes nor its length leak through timing.
 */
export function authorizeWrite(tokenFile: string | undefined, header: string | undefined): void {
  if (tokenFile === undefined) throw new ApiError('API_WRITES_DISABLED', 'writes are disabled: the scheduler has no [scheduler] api-token-file');
  let expected: string;
  try {
    expected = readFileSync(tokenFile, 'utf8').trim();
  } catch {
    throw new ApiError('API_WRITES_DISABLED', 'writes are disabled: the scheduler cannot read its api-token-file');
  }
  if (expected === '') throw new ApiError('API_WRITES_DISABLED', 'writes are disabled: the api-token-file is empty');
  const given = /^Bearer[ \t]+(\S+)[ \t]*$/i.exec(header ?? '')?.[1];
  if (given === undefined) throw new ApiError('API_UNAUTHORIZED', 'this write needs "Authorization: Bearer <token>"');
  const digest = (text: string): Buffer => createHash('sha256').update(text).digest();
  if (!timingSafeEqual(digest(given), digest(expected))) throw new ApiError('API_UNAUTHORIZED', 'the bearer token is not the one in the api-token-file');
}
