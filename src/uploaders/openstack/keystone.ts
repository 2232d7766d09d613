import type { Logger } from '../../util/log.ts';
import { abortable } from './abortable.ts';
import type { CloudAuth } from './clouds.ts';
import { type CatalogService, discoverVersion, isVersioned, parseCatalog, trimSlash } from './catalog.ts';
import { CloudAuthError, CloudConfigError, HttpConnectionError, HttpStatusError } from './errors.ts';
import type { HttpClient } from './http.ts';
import { authRequestBody, describeCredentials } from './keystone-auth.ts';
import { DEFAULT_RETRY, type RetryPolicy, withRetries } from './retry.ts';
import { Secret } from './secret.ts';

export type KeystoneAuth = Exclude<CloudAuth, { type: 'none' }>;

/** A token is renewed once less than 1/LIFETIME_FRACTION of its lifetime is left (unless the margin is shorter). */
const LIFETIME_FRACTION = 4;

export interface Token {
  readonly value: Secret;
  /** Epoch milliseconds. */
  readonly expiresAt: number;
  /** From issued_at to expires_at (both Keystone's clock, so no skew between hosts). */
  readonly lifetimeMs: number;
  readonly catalog: readonly CatalogService[];
}

export interface KeystoneOptions {
  /**
   * A cached token with less than this left is replaced (default 120 s), or with less than a
   * quarter of its lifetime left when that is shorter: a margin longer than the token's life
   * would mean a new login before every call.
   */
  readonly refreshMarginMs?: number;
  readonly retry?: RetryPolicy;
  /** Bounds one authentication, whoever waits for it (default 60 s). */
  readonly timeoutMs?: number;
  readonly now?: () => number;
}

/**
 * Keystone v3 tokens for one cloud: cached, replaced when fewer than `refreshMarginMs`
 * remain, and shared by concurrent callers (one POST /v3/auth/tokens at a time).
 */
export class KeystoneSession {
  private current: Token | undefined;
  private pending: Promise<Token> | undefined;
  private identityUrl: string | undefined;
  private readonly refreshMarginMs: number;
  private readonly now: () => number;

  constructor(
    private readonly http: HttpClient,
    private readonly auth: KeystoneAuth,
    private readonly cloud: string,
    private readonly logger: Logger,
    private readonly options: KeystoneOptions = {},
  ) {
    this.refreshMarginMs = options.refreshMarginMs ?? 120_000;
    this.now = options.now ?? Date.now;
  }

  /** A token good for at least the refresh margin; `fresh` asks for a new one (before a long upload). */
  token(signal: AbortSignal, fresh = false): Promise<Token> {
    const current = this.current;
    if (!fresh && current && current.expiresAt - this.now() > this.marginFor(current)) return Promise.resolve(current);
    if (!this.pending) {
      this.pending = this.authenticate().finally(() => {
        this.pending = undefined;
      });
    }
    return abortable(this.pending, signal);
  }

  private marginFor(token: Token): number {
    return Math.min(this.refreshMarginMs, token.lifetimeMs / LIFETIME_FRACTION);
  }

  /** Forgets the cached token (after a 401 from a service). */
  invalidate(): void {
    this.current = undefined;
  }

  private async authenticate(): Promise<Token> {
    const timeoutMs = this.options.timeoutMs ?? 60_000;
    const signal = AbortSignal.timeout(timeoutMs);
    try {
      return await this.requestToken(signal);
    } catch (err) {
      // Retried already: say plainly that Keystone is the part that is missing.
      if (err instanceof HttpConnectionError || (err instanceof HttpStatusError && err.transient)) {
        throw new CloudAuthError('KEYSTONE_UNREACHABLE', `cannot reach Keystone at ${this.auth.authUrl} for cloud "${this.cloud}" (${err.message})`, {
          cause: err,
        });
      }
      if (signal.aborted && err === signal.reason) {
        throw new CloudAuthError('KEYSTONE_UNREACHABLE', `Keystone at ${this.auth.authUrl} did not answer within ${Math.round(timeoutMs / 1000)} s for cloud "${this.cloud}"`);
      }
      throw err;
    }
  }

  private async requestToken(signal: AbortSignal): Promise<Token> {
    this.identityUrl ??= await this.identityRoot(signal);
    const url = `${this.identityUrl}/auth/tokens`;
    const response = await withRetries(`authenticating to cloud "${this.cloud}"`, this.policy, signal, this.logger, () =>
      this.http.send({ method: 'POST', url, body: { json: authRequestBody(this.auth) }, signal }),
    ).catch((err: unknown) => {
      if (err instanceof HttpStatusError && err.status === 404) {
        throw new CloudConfigError(`${url} does not exist (404): auth_url ${this.auth.authUrl} of cloud "${this.cloud}" is not a Keystone v3 URL`);
      }
      if (err instanceof HttpStatusError && !err.transient) {
        throw new CloudAuthError(
          'AUTH_FAILED',
          `Keystone at ${url} refused ${describeCredentials(this.auth)} for cloud "${this.cloud}" (${err.status}${err.detail ? `: ${err.detail}` : ''})`,
        );
      }
      throw err;
    });
    const value = response.headers['x-subject-token'];
    const body = response.body as { token?: { expires_at?: unknown; issued_at?: unknown; catalog?: unknown } } | undefined;
    const expiresAt = Date.parse(String(body?.token?.expires_at));
    const issuedAt = Date.parse(String(body?.token?.issued_at));
    if (!value || Number.isNaN(expiresAt)) {
      throw new CloudAuthError('AUTH_FAILED', `Keystone at ${url} answered ${response.status} without a token for cloud "${this.cloud}"`);
    }
    const lifetimeMs = Math.max(0, expiresAt - (Number.isNaN(issuedAt) ? this.now() : issuedAt));
    const token: Token = { value: new Secret(value), expiresAt, lifetimeMs, catalog: parseCatalog(body?.token?.catalog) };
    this.current = token;
    this.logger.debug(`authenticated to cloud "${this.cloud}" with ${describeCredentials(this.auth)}; token valid until ${new Date(expiresAt).toISOString()}`);
    return token;
  }

  /**
   * The Keystone v3 root: auth_url itself when it names v3, else what its version discovery
   * lists. Never a guess: a password posted to a guessed URL goes wherever that URL leads.
   */
  private async identityRoot(signal: AbortSignal): Promise<string> {
    const { authUrl } = this.auth;
    if (isVersioned(authUrl, 3)) return trimSlash(authUrl);
    const wrong = (why: string) =>
      new CloudConfigError(
        `auth_url ${authUrl} of cloud "${this.cloud}" is not Keystone's root or v3 URL: ${why}; the credentials were not sent (set auth_url to the URL that lists the identity versions, or to its /v3)`,
      );
    const found = await withRetries(`version discovery of ${authUrl}`, this.policy, signal, this.logger, () =>
      discoverVersion(this.http, authUrl, 3, signal),
    ).catch((err: unknown) => {
      if (err instanceof HttpStatusError && !err.transient) throw wrong(`its version discovery answered ${err.status}`);
      throw err;
    });
    if (!found) throw wrong('its version discovery lists no identity v3 API');
    return found;
  }

  private get policy(): RetryPolicy {
    return this.options.retry ?? DEFAULT_RETRY;
  }
}
