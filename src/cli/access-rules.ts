import { type AccessRules, AclError, loadAccessRules } from '../protocol/server/index.ts';
import { UsageError } from './cli-error.ts';

/** Reads a rules file for a command; a bad one is a usage error (exit 2) led by the flag or key that named it. */
export function readAccessRules(file: string, namedBy: string): AccessRules {
  try {
    return loadAccessRules(file);
  } catch (err) {
    if (err instanceof AclError) throw new UsageError(`${namedBy}: ${err.message}`, { cause: err });
    throw err;
  }
}
