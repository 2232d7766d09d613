/**
 * What one connection may do: the grants of every rule whose `cn` matched it, merged, with the
 * decisions remembered (a worker registers the same few names again and again).
 */
import type { Logger } from '../../../util/log.ts';
import type { Matcher } from './glob.ts';
import type { AdminRight } from './rules.ts';

/** A rule ready for matching (see policy.ts). */
export interface CompiledRule {
  readonly cn: string;
  readonly matchesCn: Matcher;
  readonly register: readonly Matcher[];
  readonly submit: readonly Matcher[];
  readonly admin: ReadonlySet<AdminRight>;
}

/** Decisions remembered per connection; a peer sending endless new names only ever refills this. */
const MAX_CACHED_DECISIONS = 1024;
/** Refusals logged per connection; past it one line says the rest are not. */
const MAX_LOGGED_REFUSALS = 20;

export type Action = 'register' | 'submit';

export class ConnectionGrants {
  private readonly register: readonly Matcher[];
  private readonly submit: readonly Matcher[];
  private readonly admin: ReadonlySet<AdminRight>;
  private readonly decisions: Record<Action, Map<string, boolean>> = { register: new Map(), submit: new Map() };
  private refusalsLogged = 0;

  constructor(
    /** "CN=<name>" or "anonymous", as logs and refusals name the connection. */
    readonly who: string,
    private readonly label: string,
    rules: readonly CompiledRule[],
    private readonly logger: Logger,
  ) {
    this.register = rules.flatMap((rule) => rule.register);
    this.submit = rules.flatMap((rule) => rule.submit);
    this.admin = new Set(rules.flatMap((rule) => [...rule.admin]));
  }

  /** Whether the connection may `action` the function (its name one char per byte). */
  may(action: Action, functionName: string): boolean {
    const cache = this.decisions[action];
    let allowed = cache.get(functionName);
    if (allowed === undefined) {
      allowed = (action === 'register' ? this.register : this.submit).some((matches) => matches(functionName));
      if (cache.size >= MAX_CACHED_DECISIONS) cache.clear();
      cache.set(functionName, allowed);
    }
    return allowed;
  }

  /** Whether any submit is granted at all (GET_STATUS of an unknown job is answered only then). */
  get submitsAnything(): boolean {
    return this.submit.length > 0;
  }

  mayAdmin(right: AdminRight): boolean {
    return this.admin.has(right);
  }

  /** Logs the refusal (the first few per connection) and returns the reason sent to the peer. */
  refused(what: string): string {
    const reason = `${what}: not granted to ${this.who}`;
    if (this.refusalsLogged < MAX_LOGGED_REFUSALS) this.logger.warn(`${this.label} ${this.who}: refused ${printable(what)}`);
    else if (this.refusalsLogged === MAX_LOGGED_REFUSALS) this.logger.warn(`${this.label} ${this.who}: further refusals are not logged`);
    this.refusalsLogged++;
    return reason;
  }
}

/** Names are peer bytes: a log line shows them escaped and bounded. */
function printable(text: string): string {
  const short = text.length > 200 ? `${text.slice(0, 200)}…` : text;
  return JSON.stringify(short);
}
