import { JobFailure } from '../../errors/job-failure.ts';
import type { Logger } from '../../util/log.ts';
import type { ImageService } from '../openstack/cloud-session.ts';
import { HttpConnectionError, HttpStatusError } from '../openstack/errors.ts';
import type { HttpRequest, HttpResponse } from '../openstack/http.ts';
import { DEFAULT_RETRY, type RetryPolicy, withRetries } from '../openstack/retry.ts';

/** Every try of a create was refused at connect (Glance is down): no image with its id can exist. */
export class CreateNeverSentError extends HttpConnectionError {
  override readonly name = 'CreateNeverSentError';

  constructor(last: HttpConnectionError) {
    super(last.method, last.url, last.cause);
  }
}

/** The fields of a Glance v2 image this uploader reads. */
export interface GlanceImage {
  readonly id: string;
  readonly name: string | undefined;
  readonly status: string;
  readonly size: number | undefined;
  readonly checksum: string | undefined;
  readonly osHashAlgo: string | undefined;
  readonly osHashValue: string | undefined;
  /** Every field as Glance sent it, properties included. */
  readonly fields: Readonly<Record<string, unknown>>;
}

export interface CreatedImage {
  readonly image: GlanceImage;
  /** From the OpenStack-image-import-methods header; undefined when Glance did not say. */
  readonly importMethods: readonly string[] | undefined;
}

export interface UploadData {
  readonly length: number;
  readonly stream: () => AsyncIterable<Uint8Array>;
}

const str = (value: unknown): string | undefined => (typeof value === 'string' && value !== '' ? value : undefined);

export function toGlanceImage(body: unknown): GlanceImage {
  const fields = (typeof body === 'object' && body !== null ? body : {}) as Record<string, unknown>;
  if (typeof fields.id !== 'string' || typeof fields.status !== 'string') {
    // JSON.stringify(undefined) is undefined: an empty answer must not become a TypeError.
    const shown = body === undefined ? '(an empty body)' : String(JSON.stringify(body) ?? body).slice(0, 200);
    throw new JobFailure('CLOUD_BAD_ANSWER', `Glance answered with something that is not an image: ${shown}`);
  }
  return {
    id: fields.id,
    name: str(fields.name),
    status: fields.status,
    size: typeof fields.size === 'number' ? fields.size : undefined,
    checksum: str(fields.checksum),
    osHashAlgo: str(fields.os_hash_algo),
    osHashValue: str(fields.os_hash_value),
    fields,
  };
}

type RequestShape = Omit<HttpRequest, 'url' | 'headers' | 'signal'> & { readonly path: string; readonly headers?: Record<string, string> };

/**
 * The Glance v2 images API over one cloud's session. Small JSON calls retry transient
 * failures; data uploads make one attempt (the uploader decides whether to try again). Any
 * call that meets a 401 gets a new token and tries once more.
 */
export class GlanceClient {
  constructor(
    private readonly service: ImageService,
    private readonly logger: Logger,
    private readonly retry: RetryPolicy = DEFAULT_RETRY,
  ) {}

  get cloudName(): string {
    return this.service.cloud.name;
  }

  /** POST /v2/images with a client-chosen id, so a lost answer never leaves an image we cannot name. */
  async create(fields: Readonly<Record<string, unknown>>, signal: AbortSignal): Promise<CreatedImage> {
    const id = String(fields.id);
    let mayExist = false;
    try {
      return await withRetries(`creating image ${id}`, this.retry, signal, this.logger, async (attempt) => {
        try {
          const response = await this.call({ method: 'POST', path: '/images', body: { json: fields } }, signal);
          const methods = response.headers['openstack-image-import-methods'];
          return { image: toGlanceImage(response.body), importMethods: methods === undefined ? undefined : methods.split(',').map((m) => m.trim()) };
        } catch (err) {
          // Our earlier try did create it; only its answer was lost.
          if (attempt > 1 && err instanceof HttpStatusError && err.status === 409) return { image: await this.get(id, signal), importMethods: undefined };
          if (!(err instanceof HttpConnectionError && err.systemCode === 'ECONNREFUSED')) mayExist = true;
          throw err;
        }
      });
    } catch (err) {
      // Every try was refused at connect: no request reached Glance, so there is no image to clean up.
      if (!mayExist && err instanceof HttpConnectionError) throw new CreateNeverSentError(err);
      throw err;
    }
  }

  async get(id: string, signal: AbortSignal): Promise<GlanceImage> {
    const response = await withRetries(`reading image ${id}`, this.retry, signal, this.logger, () =>
      this.call({ method: 'GET', path: `/images/${id}` }, signal),
    );
    return toGlanceImage(response.body);
  }

  /** DELETE /v2/images/{id}; false when it was not there (already gone). */
  async delete(id: string, signal: AbortSignal, retry: RetryPolicy = this.retry): Promise<boolean> {
    try {
      await withRetries(`deleting image ${id}`, retry, signal, this.logger, () => this.call({ method: 'DELETE', path: `/images/${id}` }, signal));
      return true;
    } catch (err) {
      if (err instanceof HttpStatusError && err.status === 404) return false;
      throw err;
    }
  }

  /**
   * One page of GET /v2/images with `query` (filters, limit, marker); `next` is the query
   * of the following page, taken from Glance's `next` link, or undefined on the last page.
   */
  async listPage(query: string, signal: AbortSignal): Promise<{ images: GlanceImage[]; next: string | undefined }> {
    const response = await withRetries('listing images', this.retry, signal, this.logger, () =>
      this.call({ method: 'GET', path: `/images?${query}` }, signal),
    );
    const body = (response.body ?? {}) as { images?: unknown; next?: unknown };
    const images = Array.isArray(body.images) ? body.images.map(toGlanceImage) : [];
    // The link may carry a path prefix the endpoint already has: only its query is kept.
    const next = typeof body.next === 'string' && body.next.includes('?') ? body.next.slice(body.next.indexOf('?') + 1) : undefined;
    return { images, next };
  }

  /** The import methods this Glance offers (GET /v2/info/import). */
  async importMethods(signal: AbortSignal): Promise<string[]> {
    const response = await withRetries('reading the import methods', this.retry, signal, this.logger, () =>
      this.call({ method: 'GET', path: '/info/import' }, signal),
    );
    const value = (response.body as { 'import-methods'?: { value?: unknown } } | undefined)?.['import-methods']?.value;
    return Array.isArray(value) ? value.filter((v): v is string => typeof v === 'string') : [];
  }

  /** PUT /v2/images/{id}/file (or /stage for an import): one attempt, streamed. */
  async putData(id: string, target: 'file' | 'stage', data: UploadData, signal: AbortSignal): Promise<void> {
    await this.call(
      { method: 'PUT', path: `/images/${id}/${target}`, body: { stream: data.stream, length: data.length }, headersTimeoutMs: 600_000 },
      signal,
      true,
    );
  }

  /** POST /v2/images/{id}/import: Glance answers 202 and imports in the background. */
  async startImport(id: string, method: string, signal: AbortSignal): Promise<void> {
    await withRetries(`starting the import of ${id}`, this.retry, signal, this.logger, async (attempt) => {
      try {
        await this.call({ method: 'POST', path: `/images/${id}/import`, body: { json: { method: { name: method } } } }, signal);
      } catch (err) {
        // A retry that finds the import under way: the first try got through.
        if (!(attempt > 1 && err instanceof HttpStatusError && err.status === 409)) throw err;
      }
    });
  }

  /** One request with authentication; a 401 renews the token and tries once more. */
  private async call(shape: RequestShape, signal: AbortSignal, freshToken = false): Promise<HttpResponse> {
    const base = await this.service.endpoint(signal);
    const send = async (fresh: boolean) => {
      const auth = await this.service.authHeaders(signal, fresh);
      const { path, headers, ...rest } = shape;
      return this.service.http.send({ ...rest, url: `${base}${path}`, headers: { ...headers, ...auth }, signal });
    };
    try {
      return await send(freshToken);
    } catch (err) {
      if (!(err instanceof HttpStatusError && err.status === 401 && this.service.invalidate())) throw err;
      this.logger.info(`${shape.method} ${base}${shape.path} answered 401: authenticating again`);
      return send(true);
    }
  }
}
