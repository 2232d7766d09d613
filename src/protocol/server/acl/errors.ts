import { CodedError } from '../../../errors/coded-error.ts';

/**
 * A rules file that cannot be used: unreadable (ACL_UNREADABLE), not TOML (ACL_SYNTAX), or TOML
 * that does not describe rules (ACL_INVALID). The message names the file, the rule and the key.
 */
export type AclErrorCode = 'ACL_UNREADABLE' | 'ACL_SYNTAX' | 'ACL_INVALID';

export class AclError extends CodedError<AclErrorCode> {
  override readonly name = 'AclError';

  constructor(
    code: AclErrorCode,
    readonly file: string,
    /** Where in the file: "rule[2].admin", "line 3, column 7", or "" for the whole file. */
    readonly where: string,
    readonly problem: string,
    options?: { cause?: unknown },
  ) {
    super(code, `${file}${where ? `: ${where}` : ''}: ${problem}`, options);
  }
}
