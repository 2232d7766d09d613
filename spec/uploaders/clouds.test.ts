import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { inspect } from 'node:util';
import { JobFailure } from '../../src/errors/job-failure.ts';
import { type CloudFileLocations, candidates, loadCloudFiles } from '../../src/uploaders/openstack/cloud-files.ts';
import { type CloudRequest, resolveCloud } from '../../src/uploaders/openstack/clouds.ts';
import type { Env } from '../../src/uploaders/openstack/cloud-files.ts';
import { captureLogs } from '../support/log-capture.ts';

describe('clouds.yaml, secure.yaml and OS_* the way openstacksdk reads them', () => {
  let root: string;
  let cwd: string;
  let home: string;
  let n = 0;

  beforeAll(async () => {
    root = await mkdtemp(join(tmpdir(), 'clouds-'));
  });
  afterAll(() => rm(root, { recursive: true, force: true }));

  /** A fresh cwd and home for each case. */
  const place = async () => {
    const base = join(root, String(n++));
    cwd = join(base, 'cwd');
    home = join(base, 'home');
    await mkdir(cwd, { recursive: true });
    await mkdir(join(home, '.config', 'openstack'), { recursive: true });
    return { cwd, home, userDir: join(home, '.config', 'openstack') };
  };
  const write = (path: string, text: string, mode = 0o600) => writeFile(path, text, { mode });
  const resolve = async (env: Env = {}, request: CloudRequest = {}, extra: Partial<CloudFileLocations> = {}) => {
    const logs = captureLogs();
    const files = await loadCloudFiles({ env, cwd, home, ...extra }, logs);
    return { cloud: resolveCloud(files, env, request), logs, files };
  };
  const failure = async (promise: Promise<unknown>) => {
    const err = await promise.catch((e: unknown) => e);
    expect(err).toBeInstanceOf(JobFailure);
    return (err as JobFailure).message;
  };
  const none = (name: string, endpoint: string) => `clouds:\n  ${name}:\n    auth_type: none\n    endpoint: ${endpoint}\n`;

  test('the search order: OS_CLIENT_CONFIG_FILE, the current directory, ~/.config/openstack, /etc/openstack', async () => {
    const { userDir } = await place();
    expect(candidates('clouds', { env: { OS_CLIENT_CONFIG_FILE: '/x/c.yaml' }, cwd, home })).toEqual([
      '/x/c.yaml',
      ...['.yaml', '.yml', '.json'].map((s) => join(cwd, `clouds${s}`)),
      ...['.yaml', '.yml', '.json'].map((s) => join(userDir, `clouds${s}`)),
      ...['.yaml', '.yml', '.json'].map((s) => `/etc/openstack/clouds${s}`),
    ]);
    await write(join(userDir, 'clouds.yaml'), none('c', 'http://home'));
    expect((await resolve()).cloud.auth).toEqual({ type: 'none', endpoint: 'http://home' });
    await write(join(cwd, 'clouds.yml'), none('c', 'http://cwd'));
    expect((await resolve()).cloud.auth).toEqual({ type: 'none', endpoint: 'http://cwd' });
    const override = join(root, `override-${n}.json`);
    await write(override, JSON.stringify({ clouds: { c: { auth_type: 'none', endpoint: 'http://override' } } }));
    expect((await resolve({ OS_CLIENT_CONFIG_FILE: override })).cloud.auth).toEqual({ type: 'none', endpoint: 'http://override' });
  });

  test('the first file found wins: clouds in later files are not merged in', async () => {
    const { userDir } = await place();
    await write(join(cwd, 'clouds.yaml'), none('a', 'http://a'));
    await write(join(userDir, 'clouds.yaml'), none('b', 'http://b'));
    expect(await failure(resolve({}, { cloud: 'b' }))).toContain('no cloud "b" in');
  });

  test('a clouds-file from the builder config comes first, and a missing one is an error', async () => {
    await place();
    await write(join(cwd, 'clouds.yaml'), none('c', 'http://cwd'));
    const own = join(root, `own-${n}.yaml`);
    await write(own, none('c', 'http://own'));
    expect((await resolve({}, {}, { cloudsFile: own })).cloud.auth).toEqual({ type: 'none', endpoint: 'http://own' });
    expect(await failure(resolve({}, {}, { cloudsFile: join(root, 'missing.yaml') }))).toContain('clouds-file');
  });

  test('secure.yaml is deep-merged over clouds.yaml, wherever each was found', async () => {
    const { userDir } = await place();
    await write(
      join(cwd, 'clouds.yaml'),
      'clouds:\n  c:\n    region_name: R1\n    auth:\n      auth_url: http://ks/v3\n      username: u\n      user_domain_name: D\n      project_name: p\n      project_domain_id: pd\n',
      0o644,
    );
    await write(join(userDir, 'secure.yaml'), 'clouds:\n  c:\n    auth:\n      password: s3cret\n');
    const { cloud, logs } = await resolve();
    expect(cloud.auth).toMatchObject({
      type: 'password',
      authUrl: 'http://ks/v3',
      user: { name: 'u', domain: { name: 'D' } },
      scope: { kind: 'project', project: { name: 'p', domain: { id: 'pd' } } },
    });
    expect(cloud.auth.type === 'password' && cloud.auth.password.reveal()).toBe('s3cret');
    expect(cloud.region).toBe('R1');
    // clouds.yaml is world-readable but holds no secret: no warning.
    expect(logs.at('warn')).toEqual([]);
  });

  test('a world-readable file holding credentials is warned about', async () => {
    await place();
    const path = join(cwd, 'clouds.yaml');
    await write(path, 'clouds:\n  c:\n    auth_type: v3applicationcredential\n    auth:\n      auth_url: http://ks\n      application_credential_id: i\n      application_credential_secret: s\n', 0o644);
    const { logs } = await resolve();
    expect(logs.at('warn')).toEqual([`${path} holds cloud credentials and is readable by other users (mode 644): chmod o-r it`]);
  });

  test('OS_CLOUD picks the cloud when none is named; the only cloud is the default', async () => {
    await place();
    await write(join(cwd, 'clouds.yaml'), `${none('a', 'http://a')}${none('b', 'http://b').replace('clouds:\n', '')}`);
    expect((await resolve({ OS_CLOUD: 'b' })).cloud.name).toBe('b');
    expect(await failure(resolve())).toContain('no cloud named and no OS_CLOUD set');
    expect(await failure(resolve({}, { cloud: 'zzz' }))).toMatch(/no cloud "zzz" in .*clouds: a, b/);
  });

  test('OS_* variables make a cloud of their own, "envvars", with auth keys moved under auth', async () => {
    await place();
    const { cloud } = await resolve({
      OS_AUTH_URL: 'http://ks:5000',
      OS_USER_ID: 'uid',
      OS_PASSWORD: 'pw',
      OS_TENANT_ID: 'tid',
      OS_REGION_NAME: 'R9',
      OS_INTERFACE: 'internalURL',
      OS_CACERT: '/ca.pem',
    });
    expect(cloud).toMatchObject({
      name: 'envvars',
      region: 'R9',
      interface: 'internal',
      tls: { verify: true, caFile: '/ca.pem' },
      auth: { type: 'password', authUrl: 'http://ks:5000', user: { id: 'uid' }, scope: { kind: 'project', project: { id: 'tid' } } },
    });
    expect(await failure(resolve({ OS_CLOUD: 'x' }))).toContain('no cloud "x"');
  });

  test('application credentials by id, or by name with the user; hyphenated keys work too', async () => {
    await place();
    await write(
      join(cwd, 'clouds.yaml'),
      'clouds:\n  byid:\n    auth_type: v3applicationcredential\n    auth:\n      auth-url: http://ks\n      application-credential-id: AC\n      application_credential_secret: S\n' +
        '  byname:\n    auth_type: v3applicationcredential\n    auth:\n      auth_url: http://ks\n      application_credential_name: nodepool\n      application_credential_secret: S\n      username: u\n      user_domain_id: default\n' +
        '  nosecret:\n    auth_type: v3applicationcredential\n    auth:\n      auth_url: http://ks\n      application_credential_id: AC\n',
    );
    expect((await resolve({}, { cloud: 'byid' })).cloud.auth).toMatchObject({ type: 'v3applicationcredential', credential: { id: 'AC' } });
    expect((await resolve({}, { cloud: 'byname' })).cloud.auth).toMatchObject({ credential: { name: 'nodepool', user: { name: 'u', domain: { id: 'default' } } } });
    expect(await failure(resolve({}, { cloud: 'nosecret' }))).toContain('no application credential secret');
  });

  test('names without a domain, and clouds without a project, are refused with the reason', async () => {
    await place();
    await write(
      join(cwd, 'clouds.yaml'),
      'clouds:\n  nodomain:\n    auth:\n      auth_url: http://ks\n      username: u\n      password: p\n      project_id: x\n' +
        '  unscoped:\n    auth:\n      auth_url: http://ks\n      user_id: u\n      password: p\n' +
        '  shared:\n    auth:\n      auth_url: http://ks\n      username: u\n      password: p\n      project_name: x\n      domain_name: D\n' +
        '  token:\n    auth_type: v3token\n    auth:\n      auth_url: http://ks\n',
    );
    expect(await failure(resolve({}, { cloud: 'nodomain' }))).toContain('username "u" needs user_domain_name or user_domain_id');
    expect(await failure(resolve({}, { cloud: 'unscoped' }))).toContain('no project_name or project_id');
    expect(await failure(resolve({}, { cloud: 'token' }))).toContain('auth_type "v3token" is not supported');
    // domain_name stands for both domains when the token is project-scoped.
    expect((await resolve({}, { cloud: 'shared' })).cloud.auth).toMatchObject({
      user: { domain: { name: 'D' } },
      scope: { project: { name: 'x', domain: { name: 'D' } } },
    });
  });

  test('region_name and regions: a provider region must be one of them', async () => {
    await place();
    await write(join(cwd, 'clouds.yaml'), 'clouds:\n  c:\n    auth_type: none\n    endpoint: http://g\n    regions:\n      - R1\n      - name: R2\n');
    expect((await resolve()).cloud.region).toBe('R1');
    expect((await resolve({}, { region: 'R2' })).cloud.region).toBe('R2');
    expect(await failure(resolve({}, { region: 'R3' }))).toContain('region "R3" is not one of its regions (R1, R2)');
  });

  test('H4: a region\'s values apply over the cloud: auth key by key, anything else replaced', async () => {
    await place();
    await write(
      join(cwd, 'clouds.yaml'),
      'clouds:\n  c:\n    auth:\n      auth_url: http://ks/v3\n      username: u\n      password: p\n      project_name: p-one\n      domain_name: D\n' +
        '    interface: public\n    regions:\n      - name: RegionOne\n        values:\n          auth:\n            project_name: p-two\n' +
        '      - name: RegionTwo\n        values:\n          interface: internal\n      - RegionThree\n',
    );
    const first = (await resolve()).cloud;
    expect([first.region, first.auth]).toEqual(['RegionOne', expect.objectContaining({ scope: { kind: 'project', project: { name: 'p-two', domain: { name: 'D' } } } })]);
    const second = (await resolve({}, { region: 'RegionTwo' })).cloud;
    expect([second.interface, second.auth]).toEqual(['internal', expect.objectContaining({ scope: { kind: 'project', project: { name: 'p-one', domain: { name: 'D' } } } })]);
    expect((await resolve({}, { region: 'RegionThree' })).cloud.interface).toBe('public');
  });

  test('H4: a region entry with keys other than name and values is refused, as openstacksdk does', async () => {
    await place();
    await write(join(cwd, 'clouds.yaml'), 'clouds:\n  c:\n    auth_type: none\n    endpoint: http://g\n    regions:\n      - name: R1\n        interface: internal\n');
    expect(await failure(resolve())).toContain('a region entry must be a name, or a mapping of "name" and "values" (got keys: name, interface)');
  });

  test('H5: profile (and the old cloud key) is refused: "profile is not supported"', async () => {
    await place();
    await write(
      join(cwd, 'clouds.yaml'),
      'clouds:\n  new:\n    profile: dreamcompute\n    auth: {username: u, password: p, project_id: x, user_domain_name: D}\n' +
        '  old:\n    cloud: dreamcompute\n    auth: {auth_url: http://ks/v3, username: u, password: p, project_id: x, user_domain_name: D}\n',
    );
    expect(await failure(resolve({}, { cloud: 'new' }))).toContain('profile "dreamcompute": profile is not supported');
    expect(await failure(resolve({}, { cloud: 'old' }))).toContain('cloud (the old name of profile) "dreamcompute": profile is not supported');
    // OS_CLOUD lands in the OS_* cloud as "cloud": a selector there, not a profile.
    const env = { OS_CLOUD: 'envvars', OS_AUTH_TYPE: 'none', OS_ENDPOINT: 'http://env' };
    expect((await resolve(env)).cloud.auth).toEqual({ type: 'none', endpoint: 'http://env' });
    expect((await resolve({ ...env, OS_CLOUD: 'new' }, { cloud: 'envvars' })).cloud.auth).toEqual({ type: 'none', endpoint: 'http://env' });
  });

  test('TLS: verify, insecure, cacert, cert and key; YAML 1.1 booleans as PyYAML reads them', async () => {
    await place();
    await write(
      join(cwd, 'clouds.yaml'),
      'clouds:\n  unverified:\n    auth_type: none\n    endpoint: https://g\n    verify: no\n    cacert: /ignored.pem\n' +
        '  insecure:\n    auth_type: none\n    endpoint: https://g\n    insecure: "true"\n' +
        '  mutual:\n    auth_type: none\n    endpoint: https://g\n    cacert: ~/ca.pem\n    cert: /c.pem\n    key: /k.pem\n' +
        '  override:\n    auth_type: none\n    endpoint: https://unused\n    image_endpoint_override: https://glance/v2\n',
    );
    expect((await resolve({}, { cloud: 'unverified' })).cloud.tls).toEqual({ verify: false });
    expect((await resolve({}, { cloud: 'insecure' })).cloud.tls).toEqual({ verify: false });
    const mutual = (await resolve({}, { cloud: 'mutual' })).cloud.tls;
    expect(mutual).toMatchObject({ verify: true, certFile: '/c.pem', keyFile: '/k.pem' });
    expect(mutual.caFile).toMatch(/\/ca\.pem$/);
    expect(mutual.caFile).not.toStartWith('~');
    expect((await resolve({}, { cloud: 'override' })).cloud.imageEndpointOverride).toBe('https://glance/v2');
  });

  test('H2: a file that does not parse stops the load with its name and position, and the next one is not read', async () => {
    const { userDir } = await place();
    // The parser's message quotes the bad line: here, a password.
    await write(join(cwd, 'clouds.yaml'), 'clouds:\n  c:\n    auth:\n      password: abc: hunter3\n');
    await write(join(userDir, 'clouds.yaml'), none('c', 'http://next'));
    const logs = captureLogs();
    const message = await failure(loadCloudFiles({ env: {}, cwd, home }, logs));
    expect(message).toBe(`${join(cwd, 'clouds.yaml')} is not valid YAML (BLOCK_AS_IMPLICIT_KEY) at line 4, column 17`);
    expect(logs.lines).toEqual([]);
  });

  test('H2: a file in a searched directory that cannot be read is skipped as openstacksdk does; a named one is an error', async () => {
    const { userDir } = await place();
    await mkdir(join(cwd, 'clouds.yaml')); // read fails with EISDIR, whoever runs the test
    await write(join(userDir, 'clouds.yaml'), none('c', 'http://next'));
    const { cloud, logs } = await resolve();
    expect(cloud.auth).toEqual({ type: 'none', endpoint: 'http://next' });
    expect(logs.at('warn')).toEqual([expect.stringContaining(`skipping ${join(cwd, 'clouds.yaml')}`)]);
    const named = { OS_CLIENT_CONFIG_FILE: join(cwd, 'clouds.yaml') };
    expect(await failure(resolve(named))).toContain(`cannot read ${join(cwd, 'clouds.yaml')}`);
    expect(await failure(resolve({}, {}, { cloudsFile: join(cwd, 'clouds.yaml') }))).toContain(`cannot read ${join(cwd, 'clouds.yaml')}`);
  });

  test('H3: a JSON file with a syntax error is reported by name and position, never with the parser\'s text', async () => {
    await place();
    const secure = join(cwd, 'secure.json');
    await write(join(cwd, 'clouds.yaml'), none('c', 'http://cwd'));
    await write(secure, '{\n  "clouds": {\n    "c": {\n      "auth": {"password": hunter2}\n    }\n  }\n}\n');
    const logs = captureLogs();
    const message = await failure(loadCloudFiles({ env: {}, cwd, home }, logs));
    expect(message).toBe(`${secure} is not valid JSON: syntax error at line 4, column 28`);
    expect(JSON.stringify(logs.lines)).not.toContain('hunter2');
  });

  test('the password never shows in JSON or inspect output of a cloud', async () => {
    await place();
    await write(join(cwd, 'clouds.yaml'), 'clouds:\n  c:\n    auth:\n      auth_url: http://ks\n      user_id: u\n      password: hunter2\n      project_id: p\n');
    const { cloud } = await resolve();
    expect(JSON.stringify(cloud)).not.toContain('hunter2');
    expect(inspect(cloud, { depth: 10 })).not.toContain('hunter2');
    expect(Bun.inspect(cloud)).not.toContain('hunter2');
    expect(`${cloud.auth.type === 'password' ? cloud.auth.password : ''}`).toBe('***');
  });
});
