/**
 * Reads a rules file (TOML):
 *
 *   [[rule]]
 *   cn = "builder-*"                          # exact name or glob; "anonymous": no client certificate
 *   register = ["image-*", "provider-image-*"] # CAN_DO / CAN_DO_TIMEOUT
 *   submit = []                               # SUBMIT_JOB* and GET_STATUS*
 *   admin = ["status"]                        # admin commands, or "read" / "write" / "all"
 *
 * Anything unexpected is an AclError naming the file, the rule and the key: a typo must never
 * quietly grant less (or more) than the operator meant.
 */
import { Buffer } from 'node:buffer';
import { TomlError, parse } from 'smol-toml';
import { AclError } from './errors.ts';
import { ADMIN_GROUPS, ADMIN_READS, ADMIN_WRITES, type AccessRule, type AccessRules, type AdminRight } from './rules.ts';

/** gearmand's longest function name; a longer pattern could only match through `*`, and is a mistake. */
const MAX_PATTERN_BYTES = 512;
/** Longest `cn`: X.509 caps a common name at 64 characters (ub-common-name). */
const MAX_CN_LENGTH = 64;
const RULE_KEYS = new Set(['cn', 'register', 'submit', 'admin']);
const ADMIN_WORDS: ReadonlyMap<string, readonly AdminRight[]> = new Map<string, readonly AdminRight[]>([
  ...[...ADMIN_READS, ...ADMIN_WRITES].map((right): [string, readonly AdminRight[]] => [right, [right]]),
  ...ADMIN_GROUPS,
]);

export function parseAccessRules(text: string, file: string): AccessRules {
  let document: Record<string, unknown>;
  try {
    document = parse(text);
  } catch (err) {
    if (err instanceof TomlError) {
      throw new AclError('ACL_SYNTAX', file, `line ${err.line}, column ${err.column}`, `not valid TOML: ${err.message.split('\n')[0]}`, { cause: err });
    }
    throw new AclError('ACL_SYNTAX', file, '', `not valid TOML: ${String(err)}`, { cause: err });
  }
  for (const key of Object.keys(document)) {
    if (key !== 'rule') throw new AclError('ACL_INVALID', file, key, 'unknown key (a rules file holds only [[rule]] tables)');
  }
  const list = document.rule ?? [];
  if (!Array.isArray(list)) throw new AclError('ACL_INVALID', file, 'rule', 'expected [[rule]] tables, not a single value');
  return { source: file, rules: list.map((entry, index) => readRule(entry, `rule[${index}]`, file)) };
}

function readRule(entry: unknown, where: string, file: string): AccessRule {
  if (typeof entry !== 'object' || entry === null || Array.isArray(entry) || entry instanceof Date) {
    throw new AclError('ACL_INVALID', file, where, 'expected a table with cn, register, submit and admin');
  }
  const table = entry as Record<string, unknown>;
  for (const key of Object.keys(table)) {
    if (!RULE_KEYS.has(key)) throw new AclError('ACL_INVALID', file, `${where}.${key}`, 'unknown key (expected cn, register, submit or admin)');
  }
  const cn = table.cn;
  if (typeof cn !== 'string' || cn === '') throw new AclError('ACL_INVALID', file, `${where}.cn`, 'expected the certificate name (a non-empty string)');
  if (cn.length > MAX_CN_LENGTH) throw new AclError('ACL_INVALID', file, `${where}.cn`, `longer than ${MAX_CN_LENGTH} characters, which no certificate name can be`);
  if (/[\0-\x1f\x7f]/.test(cn)) throw new AclError('ACL_INVALID', file, `${where}.cn`, 'holds a control character');
  const named = `${where} (cn "${cn}")`;
  return {
    cn,
    register: patterns(table.register, `${named}.register`, file),
    submit: patterns(table.submit, `${named}.submit`, file),
    admin: adminRights(table.admin, `${named}.admin`, file),
  };
}

function strings(value: unknown, where: string, file: string, what: string): string[] {
  if (value === undefined) return [];
  if (!Array.isArray(value)) throw new AclError('ACL_INVALID', file, where, `expected a list of ${what}`);
  return value.map((item, i) => {
    if (typeof item !== 'string' || item === '') throw new AclError('ACL_INVALID', file, `${where}[${i}]`, `expected ${what.replace(/s$/, '')} (a non-empty string)`);
    return item;
  });
}

function patterns(value: unknown, where: string, file: string): string[] {
  return strings(value, where, file, 'function patterns').map((pattern, i) => {
    if (Buffer.byteLength(pattern) > MAX_PATTERN_BYTES) {
      throw new AclError('ACL_INVALID', file, `${where}[${i}]`, `longer than ${MAX_PATTERN_BYTES} bytes, the longest function name a server accepts`);
    }
    return pattern;
  });
}

function adminRights(value: unknown, where: string, file: string): ReadonlySet<AdminRight> {
  const rights = new Set<AdminRight>();
  strings(value, where, file, 'admin commands').forEach((word, i) => {
    const granted = ADMIN_WORDS.get(word);
    if (granted === undefined) {
      throw new AclError('ACL_INVALID', file, `${where}[${i}]`, `unknown admin command "${word}" (expected one of ${[...ADMIN_WORDS.keys()].map((w) => `"${w}"`).join(', ')})`);
    }
    for (const right of granted) rights.add(right);
  });
  return rights;
}
