import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import { HttpClient } from '../../src/uploaders/openstack/http.ts';
import { authRequestBody } from '../../src/uploaders/openstack/keystone-auth.ts';
import { type KeystoneAuth, KeystoneSession } from '../../src/uploaders/openstack/keystone.ts';
import { Secret } from '../../src/uploaders/openstack/secret.ts';
import { captureLogs } from '../support/log-capture.ts';
import { type FakeKeystone, startFakeKeystone } from './fake-keystone.ts';

describe('Keystone v3 authentication requests', () => {
  test('password: user and project by name within domains, or by id', () => {
    const byName = authRequestBody({
      type: 'password',
      authUrl: 'x',
      user: { name: 'u', domain: { name: 'Default' } },
      password: new Secret('pw'),
      scope: { kind: 'project', project: { name: 'p', domain: { id: 'default' } } },
    });
    expect(byName).toEqual({
      auth: {
        identity: { methods: ['password'], password: { user: { name: 'u', domain: { name: 'Default' }, password: 'pw' } } },
        scope: { project: { name: 'p', domain: { id: 'default' } } },
      },
    });
    const byId = authRequestBody({ type: 'password', authUrl: 'x', user: { id: 'U' }, password: new Secret('pw'), scope: { kind: 'project', project: { id: 'P' } } });
    expect(byId).toMatchObject({ auth: { identity: { password: { user: { id: 'U', password: 'pw' } } }, scope: { project: { id: 'P' } } } });
    const domain = authRequestBody({ type: 'password', authUrl: 'x', user: { id: 'U' }, password: new Secret('pw'), scope: { kind: 'domain', domain: { name: 'D' } } });
    expect(domain).toMatchObject({ auth: { scope: { domain: { name: 'D' } } } });
  });

  test('application credential: by id, or by name with its user; never with a scope', () => {
    expect(authRequestBody({ type: 'v3applicationcredential', authUrl: 'x', credential: { id: 'AC' }, secret: new Secret('s') })).toEqual({
      auth: { identity: { methods: ['application_credential'], application_credential: { id: 'AC', secret: 's' } } },
    });
    const byName = authRequestBody({
      type: 'v3applicationcredential',
      authUrl: 'x',
      credential: { name: 'n', user: { name: 'u', domain: { id: 'default' } } },
      secret: new Secret('s'),
    });
    expect(byName).toEqual({
      auth: {
        identity: {
          methods: ['application_credential'],
          application_credential: { name: 'n', user: { name: 'u', domain: { id: 'default' } }, secret: 's' },
        },
      },
    });
  });
});

describe('the token cache', () => {
  let keystone: FakeKeystone;
  let http: HttpClient;
  let now = Date.now();
  const logs = captureLogs();
  const session = () => {
    const auth: KeystoneAuth = { type: 'v3applicationcredential', authUrl: `${keystone.server.url}/v3`, credential: { id: 'AC' }, secret: new Secret('s3') };
    return new KeystoneSession(http, auth, 'c', logs, { now: () => now });
  };
  const signal = () => AbortSignal.timeout(5_000);

  beforeAll(async () => {
    keystone = await startFakeKeystone([{ interface: 'public', region: 'R1', url: 'http://glance' }]);
    http = await HttpClient.create({ verify: true }, logs);
  });
  afterAll(async () => {
    await http.close();
    await keystone.server.close();
  });

  test('reuses a token until fewer than 120 s remain; `fresh` always gets a new one', async () => {
    const s = session();
    const before = keystone.issued.length;
    now = Date.now();
    const first = await s.token(signal());
    expect((await s.token(signal())).value.reveal()).toBe(first.value.reveal());
    now = first.expiresAt - 121_000;
    expect((await s.token(signal())).value.reveal()).toBe(first.value.reveal());
    now = first.expiresAt - 119_000;
    const second = await s.token(signal());
    expect(second.value.reveal()).not.toBe(first.value.reveal());
    now = Date.now();
    const third = await s.token(signal(), true);
    expect(third.value.reveal()).not.toBe(second.value.reveal());
    expect(keystone.issued.length - before).toBe(3);
    expect(third.catalog.find((c) => c.type === 'image')?.endpoints[0]?.url).toBe('http://glance');
  });

  test('H8: a token living less than the margin is reused for three quarters of its life, not renewed on every call', async () => {
    const s = session();
    const before = keystone.issued.length;
    keystone.lifetimeSeconds = 60;
    try {
      now = Date.now();
      const first = await s.token(signal());
      now = first.expiresAt - 16_000;
      expect((await s.token(signal())).value.reveal()).toBe(first.value.reveal());
      now = first.expiresAt - 14_000;
      expect((await s.token(signal())).value.reveal()).not.toBe(first.value.reveal());
      expect(keystone.issued.length - before).toBe(2);
    } finally {
      keystone.lifetimeSeconds = 3600;
    }
  });

  test('concurrent callers share one authentication', async () => {
    const s = session();
    const before = keystone.issued.length;
    now = Date.now();
    const tokens = await Promise.all([s.token(signal()), s.token(signal()), s.token(signal())]);
    expect(new Set(tokens.map((t) => t.value.reveal())).size).toBe(1);
    expect(keystone.issued.length - before).toBe(1);
  });

  test('a caller that gives up does not fail the others', async () => {
    const s = session();
    now = Date.now();
    const gone = new AbortController();
    const impatient = s.token(gone.signal);
    gone.abort(new Error('gave up'));
    const patient = s.token(signal());
    expect(await impatient.catch((e: Error) => e.message)).toBe('gave up');
    expect((await patient).value.reveal()).toStartWith('token-');
  });

  test('tokens and secrets stay out of the log', () => {
    for (const line of logs.lines) {
      expect(line.message).not.toContain('s3');
      for (const token of keystone.issued) expect(line.message).not.toContain(token);
    }
  });
});
