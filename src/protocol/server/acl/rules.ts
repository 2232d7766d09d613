/** What a rules file says, once read: who (a certificate name or glob) may do what. */

/** The admin commands a rule may grant, by the words operators type. */
export const ADMIN_READS = ['status', 'workers', 'version', 'show jobs'] as const;
export const ADMIN_WRITES = ['cancel job', 'maxqueue', 'shutdown', 'create function', 'drop function'] as const;
export type AdminRight = (typeof ADMIN_READS)[number] | (typeof ADMIN_WRITES)[number];

/** Shorthands accepted in `admin = [...]`. */
export const ADMIN_GROUPS: ReadonlyMap<string, readonly AdminRight[]> = new Map<string, readonly AdminRight[]>([
  ['read', ADMIN_READS],
  ['write', ADMIN_WRITES],
  ['all', [...ADMIN_READS, ...ADMIN_WRITES]],
]);

/** The name a connection without a verified client certificate goes by; only a rule with exactly this `cn` applies to it. */
export const ANONYMOUS = 'anonymous';

export interface AccessRule {
  /** Certificate common name, exact or a glob (see glob.ts). */
  readonly cn: string;
  /** Function patterns it may CAN_DO / CAN_DO_TIMEOUT. */
  readonly register: readonly string[];
  /** Function patterns it may SUBMIT_JOB* and ask GET_STATUS* about. */
  readonly submit: readonly string[];
  readonly admin: ReadonlySet<AdminRight>;
}

export interface AccessRules {
  /** Where they were read from, for logs. */
  readonly source: string;
  readonly rules: readonly AccessRule[];
}
