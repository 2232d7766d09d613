import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { JobFailure } from '../../src/errors/job-failure.ts';
import { type Env, loadCloudFiles } from '../../src/uploaders/openstack/cloud-files.ts';
import { type CloudConfig, type CloudRequest, resolveCloud } from '../../src/uploaders/openstack/clouds.ts';
import { type CapturedLine, captureLogs } from '../support/log-capture.ts';
import { type SdkAnswer, openstacksdkAnswer, openstacksdkInstalled } from '../support/openstack/openstacksdk.ts';

/** Each openstacksdk query is a Python process importing openstacksdk: seconds on a busy host. */
const SDK_TIMEOUT_MS = 120_000;

type OurAnswer = { readonly ok: true; readonly cloud: CloudConfig; readonly logs: CapturedLine[] } | { readonly ok: false; readonly message: string; readonly logs: CapturedLine[] };

/**
 * The same files and variables, read by us and by openstacksdk (Debian's python3-openstacksdk):
 * each case states what both answer. The builder's clouds-file has no openstacksdk twin; it is
 * given to openstacksdk as OS_CLIENT_CONFIG_FILE, which it comes before.
 */
describe.if(openstacksdkInstalled)('clouds files read by us and by openstacksdk', () => {
  let root: string;
  let n = 0;

  beforeAll(async () => {
    root = await mkdtemp(join(tmpdir(), 'clouds-sdk-'));
  });
  afterAll(() => rm(root, { recursive: true, force: true }));

  /** A fresh cwd and home for each case. */
  const place = async () => {
    const base = join(root, String(n++));
    const cwd = join(base, 'cwd');
    const home = join(base, 'home');
    const userDir = join(home, '.config', 'openstack');
    await mkdir(cwd, { recursive: true });
    await mkdir(userDir, { recursive: true });
    return { base, cwd, home, userDir };
  };
  const write = (path: string, text: string) => writeFile(path, text, { mode: 0o600 });

  const both = async (
    where: { cwd: string; home: string },
    env: Env,
    request: CloudRequest,
    cloudsFile?: string,
  ): Promise<{ ours: OurAnswer; sdk: SdkAnswer }> => {
    const logs = captureLogs();
    const ours: Promise<OurAnswer> = loadCloudFiles({ env, cwd: where.cwd, home: where.home, cloudsFile }, logs)
      .then((files) => ({ ok: true as const, cloud: resolveCloud(files, env, request), logs: logs.lines }))
      .catch((err: unknown) => {
        if (!(err instanceof JobFailure)) throw err;
        return { ok: false as const, message: err.message, logs: logs.lines };
      });
    const sdkEnv: Record<string, string> = { HOME: where.home };
    for (const [key, value] of Object.entries(env)) if (value !== undefined) sdkEnv[key] = value;
    if (cloudsFile) sdkEnv.OS_CLIENT_CONFIG_FILE = cloudsFile;
    const sdk = openstacksdkAnswer({ cwd: where.cwd, env: sdkEnv, ...(request.cloud ? { cloud: request.cloud } : {}), ...(request.region ? { region: request.region } : {}) });
    return { ours: await ours, sdk: await sdk };
  };

  const none = (name: string, endpoint: string) => `clouds:\n  ${name}:\n    auth_type: none\n    endpoint: ${endpoint}\n`;
  const unclosedQuote = 'clouds:\n  c:\n    auth_type: none\n    endpoint: "http://broken\n';

  test('H2: an OS_CLIENT_CONFIG_FILE with an unclosed quote stops both; the cloud "c" in ~/.config/openstack is not used', async () => {
    const where = await place();
    const broken = join(where.base, 'broken.yaml');
    await write(broken, unclosedQuote);
    await write(join(where.userDir, 'clouds.yaml'), none('c', 'http://other-cloud'));
    const { ours, sdk } = await both(where, { OS_CLIENT_CONFIG_FILE: broken }, { cloud: 'c' });
    expect(sdk).toMatchObject({ ok: false, error: 'ScannerError', message: expect.stringContaining(broken) });
    expect(ours).toMatchObject({ ok: false, message: expect.stringMatching(new RegExp(`^${broken} is not valid YAML .* at line \\d+, column \\d+$`)) });
  }, SDK_TIMEOUT_MS);

  test('H2: the builder\'s clouds-file that does not parse stops the load (openstacksdk given it as OS_CLIENT_CONFIG_FILE agrees)', async () => {
    const where = await place();
    const own = join(where.base, 'own.yaml');
    await write(own, unclosedQuote);
    await write(join(where.cwd, 'clouds.yaml'), none('c', 'http://other-cloud'));
    const { ours, sdk } = await both(where, {}, { cloud: 'c' }, own);
    expect(sdk).toMatchObject({ ok: false, error: 'ScannerError' });
    expect(ours).toMatchObject({ ok: false, message: expect.stringContaining(`${own} is not valid YAML`) });
  }, SDK_TIMEOUT_MS);

  test('H2: a broken clouds.yaml in the current directory, a broken secure.yaml, a broken clouds.json: both stop', async () => {
    const cases: Array<[string, (w: Awaited<ReturnType<typeof place>>) => Promise<string>]> = [
      ['cwd clouds.yaml', async (w) => {
        await write(join(w.cwd, 'clouds.yaml'), unclosedQuote);
        await write(join(w.userDir, 'clouds.yaml'), none('c', 'http://other-cloud'));
        return join(w.cwd, 'clouds.yaml');
      }],
      ['secure.yaml', async (w) => {
        await write(join(w.cwd, 'clouds.yaml'), none('c', 'http://cwd'));
        await write(join(w.cwd, 'secure.yaml'), 'clouds:\n  c:\n    auth: {password: "x}\n');
        await write(join(w.userDir, 'secure.yaml'), 'clouds: {}\n');
        return join(w.cwd, 'secure.yaml');
      }],
      ['clouds.json', async (w) => {
        await write(join(w.cwd, 'clouds.json'), '{"clouds": {"c": {"auth_type": "none",}}}');
        await write(join(w.userDir, 'clouds.yaml'), none('c', 'http://other-cloud'));
        return join(w.cwd, 'clouds.json');
      }],
    ];
    const answers = await Promise.all(
      cases.map(async ([what, setup]) => {
        const where = await place();
        const broken = await setup(where);
        return { what, broken, ...(await both(where, {}, { cloud: 'c' })) };
      }),
    );
    for (const { what, broken, ours, sdk } of answers) {
      expect({ what, ok: sdk.ok }).toEqual({ what, ok: false });
      expect({ what, ours }).toMatchObject({ what, ours: { ok: false, message: expect.stringContaining(`${broken} is not valid`) } });
    }
  }, SDK_TIMEOUT_MS);

  test('H3: an unquoted password in secure.json: the position openstacksdk reports, and never the password', async () => {
    const where = await place();
    const secure = join(where.cwd, 'secure.json');
    await write(join(where.cwd, 'clouds.yaml'), none('c', 'http://cwd'));
    await write(secure, '{\n  "clouds": {\n    "c": {\n      "auth": {"password": hunter2}\n    }\n  }\n}\n');
    const { ours, sdk } = await both(where, {}, { cloud: 'c' });
    expect(sdk).toMatchObject({ ok: false, error: 'JSONDecodeError', message: expect.stringContaining('line 4 column 28') });
    expect(ours).toMatchObject({ ok: false, message: `${secure} is not valid JSON: syntax error at line 4, column 28` });
    expect(JSON.stringify(ours)).not.toContain('hunter2');
  }, SDK_TIMEOUT_MS);

  test('H3: a YAML secure file whose bad line holds the password: position and rule only', async () => {
    const where = await place();
    const secure = join(where.cwd, 'secure.yaml');
    await write(join(where.cwd, 'clouds.yaml'), none('c', 'http://cwd'));
    await write(secure, 'clouds:\n  c:\n    auth:\n      password: "hunter3\n');
    const { ours, sdk } = await both(where, {}, { cloud: 'c' });
    expect(sdk.ok).toBe(false);
    expect(ours.ok).toBe(false);
    expect(JSON.stringify(ours)).not.toContain('hunter3');
  }, SDK_TIMEOUT_MS);

  const regionsCloud =
    'clouds:\n  c:\n    auth:\n      auth_url: http://ks.example/v3\n      username: u\n      password: p\n      project_name: p-one\n' +
    '      user_domain_name: Default\n      project_domain_name: Default\n    interface: public\n    regions:\n' +
    '      - name: RegionOne\n        values:\n          auth:\n            project_name: p-two\n' +
    '      - name: RegionTwo\n        values:\n          interface: internal\n';

  test('H4: region values: the project of RegionOne and the interface of RegionTwo are what openstacksdk resolves', async () => {
    const where = await place();
    await write(join(where.cwd, 'clouds.yaml'), regionsCloud);
    const [one, two] = await Promise.all([both(where, {}, { cloud: 'c' }), both(where, {}, { cloud: 'c', region: 'RegionTwo' })]);
    if (!one.sdk.ok || !two.sdk.ok || !one.ours.ok || !two.ours.ok) throw new Error(`a side failed: ${JSON.stringify([one, two])}`);
    const project = (cloud: CloudConfig) => (cloud.auth.type === 'password' && cloud.auth.scope.kind === 'project' ? cloud.auth.scope.project.name : undefined);
    const sdkProject = (answer: SdkAnswer): string | undefined => {
      const auth = answer.ok ? answer.config.auth : undefined;
      return typeof auth === 'object' && auth !== null && 'project_name' in auth ? String(auth.project_name) : undefined;
    };
    expect({ region: one.ours.cloud.region, project: project(one.ours.cloud), interface: one.ours.cloud.interface }).toEqual({
      region: one.sdk.region,
      project: sdkProject(one.sdk),
      interface: one.sdk.imageInterface,
    });
    expect(project(one.ours.cloud)).toBe('p-two');
    expect({ region: two.ours.cloud.region, project: project(two.ours.cloud), interface: two.ours.cloud.interface }).toEqual({
      region: two.sdk.region,
      project: sdkProject(two.sdk),
      interface: two.sdk.imageInterface,
    });
    expect(two.ours.cloud.interface).toBe('internal');
  }, SDK_TIMEOUT_MS);

  test('H5: a vendor profile changes what openstacksdk resolves (its auth_url); we refuse it rather than ignore it', async () => {
    const where = await place();
    await write(
      join(where.cwd, 'clouds.yaml'),
      'clouds:\n  c:\n    profile: dreamcompute\n    auth:\n      username: u\n      password: p\n      project_name: x\n      user_domain_name: Default\n      project_domain_name: Default\n',
    );
    const { ours, sdk } = await both(where, {}, { cloud: 'c' });
    expect(sdk).toMatchObject({ ok: true, config: { auth: { auth_url: 'https://iad2.dream.io:5000' } } });
    expect(ours).toMatchObject({ ok: false, message: expect.stringContaining('profile "dreamcompute": profile is not supported') });
  }, SDK_TIMEOUT_MS);
});
