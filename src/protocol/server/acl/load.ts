import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { AclError } from './errors.ts';
import { parseAccessRules } from './parse.ts';
import type { AccessRules } from './rules.ts';

/** Reads and checks a rules file; every problem is an AclError naming the file. */
export function loadAccessRules(path: string): AccessRules {
  const file = resolve(path);
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new AclError('ACL_UNREADABLE', file, '', `cannot read the rules file: ${err instanceof Error ? err.message : String(err)}`, { cause: err });
  }
  return parseAccessRules(text, file);
}
