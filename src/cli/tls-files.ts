import { readFileSync } from 'node:fs';
import { createSecureContext } from 'node:tls';
import { errorCode, toError } from '../errors/thrown.ts';
import { UsageError } from './cli-error.ts';

/** Reads a PEM file named by a flag; a failure names the flag and the file. */
export function readPem(flag: string, path: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch (err) {
    throw new UsageError(`${flag} ${path}: ${toError(err).message}`, { cause: err });
  }
}

/**
 * Checks that a certificate and a key belong together (and that each is PEM OpenSSL reads) before
 * anything listens or connects; otherwise the error is a bare KEY_VALUES_MISMATCH naming no file.
 */
export function checkKeyPair(cert: { flag: string; path: string; pem: string }, key: { flag: string; path: string; pem: string }): void {
  try {
    createSecureContext({ cert: cert.pem, key: key.pem });
  } catch (err) {
    const code = errorCode(err);
    throw new UsageError(
      `${cert.flag} ${cert.path} and ${key.flag} ${key.path} are not a certificate and its key${code ? ` (${code})` : ''}: ${toError(err).message}`,
      { cause: err },
    );
  }
}

/** Checks that a CA bundle holds PEM certificates that OpenSSL reads. */
export function checkCa(flag: string, path: string, pem: string): void {
  if (!pem.includes('-----BEGIN CERTIFICATE-----')) throw new UsageError(`${flag} ${path} holds no PEM certificate`);
  try {
    createSecureContext({ ca: pem });
  } catch (err) {
    throw new UsageError(`${flag} ${path} is not a CA bundle OpenSSL reads: ${toError(err).message}`, { cause: err });
  }
}
