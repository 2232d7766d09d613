export { AclError, type AclErrorCode } from './errors.ts';
export { compileGlob, globMatches } from './glob.ts';
export { loadAccessRules } from './load.ts';
export { parseAccessRules } from './parse.ts';
export { AccessPolicy } from './policy.ts';
export { ConnectionGrants } from './grants.ts';
export { ADMIN_READS, ADMIN_WRITES, ANONYMOUS, type AccessRule, type AccessRules, type AdminRight } from './rules.ts';
