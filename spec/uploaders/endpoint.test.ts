import { describe, expect, test } from 'bun:test';
import { JobFailure } from '../../src/errors/job-failure.ts';
import { isVersioned, joinVersionPath, parseCatalog, pickVersionLink, selectEndpoint } from '../../src/uploaders/openstack/catalog.ts';

const catalog = parseCatalog([
  { type: 'identity', endpoints: [{ interface: 'public', region_id: 'R1', url: 'http://ks/v3' }] },
  {
    type: 'image',
    name: 'glance',
    endpoints: [
      { interface: 'public', region_id: 'R1', url: 'https://img-r1' },
      { interface: 'internal', region_id: 'R1', url: 'http://img-r1.internal' },
      { interface: 'public', region: 'R2', url: 'https://img-r2' },
    ],
  },
  { type: 'compute', endpoints: 'junk' },
]);

describe('the image endpoint from the catalog', () => {
  test('picks by interface and region (region_id or the older region)', () => {
    expect(selectEndpoint(catalog, { cloud: 'c', type: 'image', interface: 'internal', region: 'R1' })).toBe('http://img-r1.internal');
    expect(selectEndpoint(catalog, { cloud: 'c', type: 'image', interface: 'public', region: 'R2' })).toBe('https://img-r2');
    expect(selectEndpoint(catalog, { cloud: 'c', type: 'image', interface: 'public', region: undefined })).toBe('https://img-r1');
  });

  test('names what exists when nothing matches', () => {
    const error = (query: { interface: string; region: string | undefined; type?: string }) => {
      try {
        selectEndpoint(catalog, { cloud: 'c', type: 'image', ...query });
      } catch (err) {
        expect(err).toBeInstanceOf(JobFailure);
        return (err as Error).message;
      }
      throw new Error('no error');
    };
    expect(error({ interface: 'admin', region: 'R1' })).toBe(
      'cloud "c" has no image endpoint for interface "admin" in region "R1"; regions: R1, R2; interfaces: public, internal ' +
        '(endpoints: public in R1, internal in R1, public in R2)',
    );
    expect(error({ interface: 'internal', region: 'R2' })).toContain('regions: R1, R2');
    expect(error({ type: 'object-store', interface: 'public', region: undefined })).toBe(
      'the catalog of cloud "c" has no "object-store" service (it has: compute, identity, image)',
    );
  });
});

describe('version discovery', () => {
  test('a URL that names its version is used as it is', () => {
    expect(isVersioned('http://g:9292/v2', 2)).toBe(true);
    expect(isVersioned('http://g:9292/image/v2.1/', 2)).toBe(true);
    expect(isVersioned('http://g:9292/', 2)).toBe(false);
    expect(isVersioned('http://ks:5000/v3', 3)).toBe(true);
  });

  test("Glance's list and Keystone's values: the current or highest supported version's self link", () => {
    const glance = {
      versions: [
        { id: 'v2.9', status: 'SUPPORTED', links: [{ rel: 'self', href: 'http://g/v2/' }] },
        { id: 'v2.15', status: 'CURRENT', links: [{ rel: 'self', href: 'http://g/v2.15/' }] },
        { id: 'v1.1', status: 'DEPRECATED', links: [{ rel: 'self', href: 'http://g/v1/' }] },
      ],
    };
    expect(pickVersionLink(glance, 2)).toBe('http://g/v2.15/');
    expect(pickVersionLink(glance, 1)).toBeUndefined();
    const keystone = { versions: { values: [{ id: 'v3.14', status: 'stable', links: [{ rel: 'self', href: 'http://ks/v3/' }] }] } };
    expect(pickVersionLink(keystone, 3)).toBe('http://ks/v3/');
    expect(pickVersionLink({ version: { id: 'v3.14', status: 'stable', links: [{ rel: 'self', href: 'http://ks/v3/' }] } }, 3)).toBe('http://ks/v3/');
    expect(pickVersionLink('<html>', 2)).toBeUndefined();
  });

  test("keeps the catalog's scheme, host and path prefix; takes only the version path from the document", () => {
    expect(joinVersionPath('https://cloud.example.com:13292', 'http://10.0.0.5:9292/v2/')).toBe('https://cloud.example.com:13292/v2');
    expect(joinVersionPath('https://cloud.example.com/image/', 'http://10.0.0.5:9292/v2/')).toBe('https://cloud.example.com/image/v2');
    expect(joinVersionPath('https://cloud.example.com/image', 'https://cloud.example.com/image/v2/')).toBe('https://cloud.example.com/image/v2');
    expect(joinVersionPath('http://g:9292', '/v2/')).toBe('http://g:9292/v2');
  });
});
