import { type FakeServer, sendJson, startFakeServer } from './fake-server.ts';

export interface FakeKeystone {
  readonly server: FakeServer;
  /** The tokens issued so far, oldest first. */
  readonly issued: string[];
  /** Seconds a new token lives. */
  lifetimeSeconds: number;
  /** When false, every authentication gets 401. */
  accept: boolean;
}

/** Keystone v3's POST /auth/tokens, with a catalog holding one image endpoint per (interface, region). */
export async function startFakeKeystone(imageEndpoints: Array<{ interface: string; region: string; url: string }>, onIssue?: (token: string) => void): Promise<FakeKeystone> {
  const state = { issued: [] as string[], lifetimeSeconds: 3600, accept: true };
  const server = await startFakeServer((seen, res) => {
    if (seen.method === 'POST' && seen.path === '/v3/auth/tokens') {
      if (!state.accept) return sendJson(res, 401, { error: { code: 401, message: 'The request you have made requires authentication.', title: 'Unauthorized' } });
      const token = `token-${state.issued.length + 1}-${Math.random().toString(36).slice(2)}`;
      state.issued.push(token);
      onIssue?.(token);
      return sendJson(
        res,
        201,
        {
          token: {
            issued_at: new Date().toISOString(),
            expires_at: new Date(Date.now() + state.lifetimeSeconds * 1000).toISOString(),
            catalog: [
              { type: 'identity', name: 'keystone', endpoints: [{ interface: 'public', region_id: 'RegionOne', url: 'http://keystone.invalid/v3' }] },
              { type: 'image', name: 'glance', endpoints: imageEndpoints.map((e) => ({ ...e, region_id: e.region })) },
            ],
          },
        },
        { 'x-subject-token': token },
      );
    }
    sendJson(res, 404, { error: { message: 'not here' } });
  });
  return Object.assign(state, { server });
}
