/**
 * Rules compiled for matching, and the grants each connection gets from them. A certificate name
 * is matched as text; function patterns are matched against the name's bytes (one char per byte,
 * as the job server holds function names), so a pattern written in UTF-8 means the same bytes on
 * the wire.
 */
import { Buffer } from 'node:buffer';
import type { Logger } from '../../../util/log.ts';
import { type Matcher, compileGlob } from './glob.ts';
import { type CompiledRule, ConnectionGrants } from './grants.ts';
import { ANONYMOUS, type AccessRules } from './rules.ts';

export class AccessPolicy {
  private readonly compiled: readonly CompiledRule[];

  constructor(
    readonly rules: AccessRules,
    private readonly logger: Logger,
  ) {
    this.compiled = rules.rules.map((rule) => ({
      cn: rule.cn,
      matchesCn: compileGlob(rule.cn),
      register: rule.register.map(bytePattern),
      submit: rule.submit.map(bytePattern),
      admin: rule.admin,
    }));
  }

  /** What a connection may do; `certName` is the CN of its verified certificate, undefined without one. */
  grantsFor(certName: string | undefined, label: string): ConnectionGrants {
    const applies =
      certName === undefined ? this.compiled.filter((rule) => rule.cn === ANONYMOUS) : this.compiled.filter((rule) => rule.matchesCn(certName));
    const who = certName === undefined ? ANONYMOUS : `CN=${certName.replace(/[\0-\x1f\x7f]/g, '?')}`;
    return new ConnectionGrants(who, label, applies, this.logger);
  }
}

function bytePattern(pattern: string): Matcher {
  return compileGlob(Buffer.from(pattern, 'utf8').toString('latin1'));
}
