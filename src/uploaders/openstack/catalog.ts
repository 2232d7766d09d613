import { oneLine } from '../../errors/thrown.ts';
import type { Logger } from '../../util/log.ts';
import { isMapping } from './cloud-files.ts';
import { CloudConfigError } from './errors.ts';
import type { HttpClient } from './http.ts';
import { isTransient } from './retry.ts';

export interface CatalogEndpoint {
  readonly interface: string;
  readonly region: string | undefined;
  readonly url: string;
}

export interface CatalogService {
  readonly type: string;
  readonly name: string | undefined;
  readonly endpoints: readonly CatalogEndpoint[];
}

const text = (value: unknown): string | undefined => (typeof value === 'string' ? value : undefined);

/** The catalog of a Keystone v3 token, keeping only well-formed entries. */
export function parseCatalog(value: unknown): CatalogService[] {
  if (!Array.isArray(value)) return [];
  return value.filter(isMapping).map((service) => ({
    type: text(service.type) ?? '',
    name: text(service.name),
    endpoints: (Array.isArray(service.endpoints) ? service.endpoints : [])
      .filter(isMapping)
      .map((e) => ({ interface: text(e.interface) ?? '', region: text(e.region_id) ?? text(e.region), url: text(e.url) ?? '' }))
      .filter((e) => e.url !== ''),
  }));
}

export interface EndpointQuery {
  readonly cloud: string;
  readonly type: string;
  readonly interface: string;
  readonly region: string | undefined;
}

/** The endpoint of `type` for the interface (and region, when one is set); errors name what exists. */
export function selectEndpoint(catalog: readonly CatalogService[], query: EndpointQuery): string {
  const services = catalog.filter((s) => s.type === query.type);
  if (services.length === 0) {
    const types = [...new Set(catalog.map((s) => s.type))].sort();
    throw new CloudConfigError(
      `the catalog of cloud "${query.cloud}" has no "${query.type}" service (it has: ${types.join(', ') || 'nothing'})`,
    );
  }
  const endpoints = services.flatMap((s) => s.endpoints);
  const match = endpoints.find((e) => e.interface === query.interface && (query.region === undefined || e.region === query.region));
  if (match) return match.url;
  const exists = endpoints.map((e) => `${e.interface} in ${e.region ?? 'no region'}`).join(', ');
  const regions = [...new Set(endpoints.map((e) => e.region ?? 'no region'))].join(', ');
  const interfaces = [...new Set(endpoints.map((e) => e.interface))].join(', ');
  throw new CloudConfigError(
    `cloud "${query.cloud}" has no ${query.type} endpoint for interface "${query.interface}"` +
      `${query.region === undefined ? '' : ` in region "${query.region}"`}; ` +
      `regions: ${regions}; interfaces: ${interfaces} (endpoints: ${exists})`,
  );
}

/** The URL (or path) without its trailing slashes. */
export const trimSlash = (path: string): string => path.replace(/\/+$/, '');

/** True when the URL's path already ends in the API version, e.g. /v2 or /v3/. */
export function isVersioned(url: string, major: number): boolean {
  return new RegExp(`/v${major}(\\.\\d+)?/?$`).test(new URL(url).pathname);
}

/**
 * Keeps the catalog URL's scheme, host and port (a proxy in front of the service may make the
 * service's own links wrong) and takes only the version path from the discovery document.
 */
export function joinVersionPath(catalogUrl: string, discoveredHref: string): string {
  const base = new URL(catalogUrl);
  const prefix = trimSlash(base.pathname);
  const versionPath = trimSlash(new URL(discoveredHref, catalogUrl).pathname);
  const path = prefix && !versionPath.startsWith(`${prefix}/`) ? `${prefix}${versionPath}` : versionPath;
  return `${base.origin}${path}`;
}

const RANK: Readonly<Record<string, number>> = { current: 3, stable: 3, supported: 2 };

/** The self link of the best major-`major` version in a discovery document (Glance's or Keystone's shape). */
export function pickVersionLink(document: unknown, major: number): string | undefined {
  if (!isMapping(document)) return undefined;
  const versions = Array.isArray(document.versions)
    ? document.versions
    : isMapping(document.versions) && Array.isArray(document.versions.values)
      ? document.versions.values
      : isMapping(document.version)
        ? [document.version]
        : [];
  const minor = (id: string) => Number(id.split('.')[1] ?? 0);
  const candidates = versions
    .filter(isMapping)
    .map((v) => ({ id: text(v.id) ?? '', rank: RANK[(text(v.status) ?? '').toLowerCase()] ?? 0, links: Array.isArray(v.links) ? v.links : [] }))
    .filter((v) => new RegExp(`^v${major}(\\.|$)`).test(v.id) && v.rank > 0)
    .sort((a, b) => b.rank - a.rank || minor(b.id) - minor(a.id));
  for (const candidate of candidates) {
    const self = candidate.links.filter(isMapping).find((l) => l.rel === 'self');
    if (self && typeof self.href === 'string') return self.href;
  }
  return undefined;
}

/** Version discovery at `url`: the root of its best major-`major` API, or undefined when it lists none. HTTP errors propagate. */
export async function discoverVersion(
  http: HttpClient,
  url: string,
  major: number,
  signal: AbortSignal,
  headers: Readonly<Record<string, string>> = {},
): Promise<string | undefined> {
  const response = await http.send({ method: 'GET', url, headers, signal });
  const href = pickVersionLink(response.body, major);
  return href ? joinVersionPath(url, href) : undefined;
}

/**
 * Turns a catalog (or configured) endpoint into the versioned API root: kept as is when it
 * names the version already, else found by version discovery, else `<url>/v<major>`. Only for
 * service endpoints: the identity URL is never guessed (a password would go to the guess).
 */
export async function versionedEndpoint(
  http: HttpClient,
  url: string,
  major: number,
  signal: AbortSignal,
  logger: Logger,
  headers: Readonly<Record<string, string>> = {},
): Promise<string> {
  if (isVersioned(url, major)) return trimSlash(url);
  try {
    const found = await discoverVersion(http, url, major, signal, headers);
    if (found) return found;
    logger.warn(`${url} lists no v${major} API; assuming ${trimSlash(url)}/v${major}`);
  } catch (err) {
    // An unreachable service is retried by the caller; only a service without discovery gets a guess.
    if (signal.aborted || isTransient(err)) throw err;
    logger.warn(`version discovery at ${url} failed (${oneLine(err)}); assuming ${trimSlash(url)}/v${major}`);
  }
  return `${trimSlash(url)}/v${major}`;
}
