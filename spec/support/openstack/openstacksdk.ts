import { existsSync } from 'node:fs';
import { run } from '../run.ts';

/** Debian's interpreter: the one python3-openstacksdk is installed for (a pyenv python3 may come first on PATH). */
const PYTHON = '/usr/bin/python3';

export const openstacksdkInstalled =
  existsSync(PYTHON) && Bun.spawnSync([PYTHON, '-c', 'import openstack.config']).exitCode === 0;

/** What openstacksdk resolves for one cloud: its config dict, or the exception it raised. */
export type SdkAnswer =
  | { readonly ok: true; readonly config: Record<string, unknown>; readonly region: string; readonly imageInterface: string }
  | { readonly ok: false; readonly error: string; readonly message: string };

export interface SdkQuery {
  readonly cwd: string;
  /** The whole environment of the Python process (HOME and XDG_CONFIG_HOME set where clouds.yaml is searched). */
  readonly env: Readonly<Record<string, string>>;
  readonly cloud?: string;
  readonly region?: string;
  /** Also authenticate (a token from Keystone), as any call to the cloud would. */
  readonly authorize?: boolean;
}

const SCRIPT = `
import json, sys
try:
    import openstack.config
    query = json.loads(sys.argv[1])
    kwargs = {}
    if query.get('region') is not None:
        kwargs['region_name'] = query['region']
    region = openstack.config.OpenStackConfig().get_one(cloud=query.get('cloud'), **kwargs)
    if query.get('authorize'):
        region.get_session().get_token()
    print(json.dumps({'ok': True, 'config': region.config, 'region': region.region_name,
                      'imageInterface': region.get_interface('image')}, default=str))
except Exception as e:
    print(json.dumps({'ok': False, 'error': type(e).__name__, 'message': str(e)}))
`;

/**
 * Asks openstacksdk (OpenStackConfig().get_one) what a set of files and variables mean: the
 * reference for how a clouds.yaml is read. One process per query, since openstacksdk fixes
 * its search path when it is imported.
 */
export async function openstacksdkAnswer(query: SdkQuery): Promise<SdkAnswer> {
  const args = ['-c', SCRIPT, JSON.stringify({ cloud: query.cloud, region: query.region, authorize: query.authorize === true })];
  const { code, stdout, stderr } = await run(PYTHON, args, '', 120_000, { cwd: query.cwd, env: { PATH: '/usr/bin:/bin', ...query.env } });
  try {
    return JSON.parse(stdout) as SdkAnswer;
  } catch {
    throw new Error(`openstacksdk query exited ${code}: ${stderr || stdout}`);
  }
}
