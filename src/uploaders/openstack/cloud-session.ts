import { toError } from '../../errors/thrown.ts';
import type { Logger } from '../../util/log.ts';
import type { CloudConfig } from './clouds.ts';
import { selectEndpoint, versionedEndpoint } from './catalog.ts';
import { CloudConfigError } from './errors.ts';
import { HttpClient } from './http.ts';
import { type KeystoneOptions, KeystoneSession } from './keystone.ts';
import { DEFAULT_RETRY, type RetryPolicy, withRetries } from './retry.ts';

/** What the Glance client needs from a cloud: where its image API is, and how to authenticate. */
export interface ImageService {
  readonly cloud: CloudConfig;
  readonly http: HttpClient;
  /** The versioned image API root, e.g. https://glance.example.com/v2 (no trailing slash). */
  endpoint(signal: AbortSignal): Promise<string>;
  /** Headers that authenticate a request; `fresh` gets a new token first. */
  authHeaders(signal: AbortSignal, fresh?: boolean): Promise<Record<string, string>>;
  /** Drops the cached token after a 401; false when there is nothing to renew (auth_type none). */
  invalidate(): boolean;
  close(): Promise<void>;
}

export interface CloudSessionOptions {
  readonly retry?: RetryPolicy;
  readonly keystone?: KeystoneOptions;
}

/** One cloud and region: its HTTP pool, its Keystone token (unless auth_type none) and its image endpoint. */
export class CloudSession implements ImageService {
  private resolved: string | undefined;

  private constructor(
    readonly cloud: CloudConfig,
    readonly http: HttpClient,
    private readonly keystone: KeystoneSession | undefined,
    private readonly logger: Logger,
    private readonly retry: RetryPolicy,
  ) {}

  static async open(cloud: CloudConfig, logger: Logger, options: CloudSessionOptions = {}): Promise<CloudSession> {
    const http = await HttpClient.create(cloud.tls, logger).catch((err: unknown) => {
      throw new CloudConfigError(`${cloud.source}: cannot read its TLS files (${toError(err).message})`, { cause: err });
    });
    const retry = options.retry ?? DEFAULT_RETRY;
    const keystone =
      cloud.auth.type === 'none' ? undefined : new KeystoneSession(http, cloud.auth, cloud.name, logger, { retry, ...options.keystone });
    return new CloudSession(cloud, http, keystone, logger, retry);
  }

  async authHeaders(signal: AbortSignal, fresh = false): Promise<Record<string, string>> {
    if (!this.keystone) return {};
    const token = await this.keystone.token(signal, fresh);
    return { 'x-auth-token': token.value.reveal() };
  }

  invalidate(): boolean {
    this.keystone?.invalidate();
    return this.keystone !== undefined;
  }

  async endpoint(signal: AbortSignal): Promise<string> {
    if (this.resolved) return this.resolved;
    const { cloud } = this;
    let url = cloud.imageEndpointOverride;
    if (!url && this.keystone) {
      const token = await this.keystone.token(signal);
      url = selectEndpoint(token.catalog, { cloud: cloud.name, type: 'image', interface: cloud.interface, region: cloud.region });
    }
    if (!url && cloud.auth.type === 'none') url = cloud.auth.endpoint;
    if (!url) throw new CloudConfigError(`${cloud.source}: auth_type none needs an endpoint (or image_endpoint_override)`);
    const from = url;
    const headers = await this.authHeaders(signal);
    this.resolved = await withRetries(`finding the image API at ${from}`, this.retry, signal, this.logger, () =>
      versionedEndpoint(this.http, from, 2, signal, this.logger, headers),
    );
    this.logger.debug(`cloud "${cloud.name}": image API at ${this.resolved}`);
    return this.resolved;
  }

  close(): Promise<void> {
    return this.http.close();
  }
}
