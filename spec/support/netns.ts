import { type ChildProcess, type SpawnOptions, spawn } from 'node:child_process';
import { randomBytes, randomInt } from 'node:crypto';
import { type RunResult, run } from './run.ts';

/**
 * A private LAN of network namespaces for multi-host tests (needs root): a "switch" namespace
 * holds a bridge, every host namespace hangs off it by a veth pair and has its own address in a
 * random 10.231.N.0/24, and the root namespace gets one more port (.254) so the test process can
 * reach every host. Names carry the creating process id, so a sweep only removes what a dead
 * run left behind and parallel runs never collide.
 */

const PREFIX = 'npbmh';

export interface LanHost {
  readonly name: string;
  readonly namespace: string;
  readonly ip: string;
}

export interface Lan {
  readonly subnet: string;
  /** The root namespace's address on the LAN. */
  readonly rootIp: string;
  host(name: string): LanHost;
  /** Starts a command inside a host's namespace (`ip netns exec`, which execs it: the pid is the command's). */
  spawn(host: string, command: string, args: readonly string[], options?: SpawnOptions): ChildProcess;
  /** Runs a command to completion inside a host's namespace. */
  exec(host: string, command: string, args: readonly string[], input?: string, timeoutMs?: number): Promise<RunResult>;
  /** Takes the switch port of a host down: its packets vanish, nobody gets a RST or FIN. */
  unplug(host: string): Promise<void>;
  plug(host: string): Promise<void>;
  /** Deletes every namespace of the LAN (which removes its veths and bridge too). */
  destroy(): Promise<void>;
}

async function ip(args: readonly string[]): Promise<string> {
  const result = await run('ip', args, '', 20_000);
  if (result.code !== 0) throw new Error(`ip ${args.join(' ')} failed (${result.code}): ${result.stderr.trim()}`);
  return result.stdout;
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function signal(pids: readonly number[], name: NodeJS.Signals): void {
  for (const pid of pids) {
    try {
      process.kill(pid, name);
    } catch {
      // Already gone.
    }
  }
}

/**
 * SIGTERM to every process in the namespace (a builder then kills its DIB process groups and
 * removes their staging), SIGKILL to whatever is still there after 15 s.
 */
async function stopProcessesIn(namespace: string): Promise<void> {
  const pids = async () => (await ip(['netns', 'pids', namespace])).split('\n').filter(Boolean).map(Number);
  signal(await pids(), 'SIGTERM');
  const deadline = Date.now() + 15_000;
  while ((await pids()).length > 0 && Date.now() < deadline) await Bun.sleep(200);
  signal(await pids(), 'SIGKILL');
}

async function namespaces(): Promise<string[]> {
  // `ip netns list` prints "name" or "name (id: N)".
  return (await ip(['netns', 'list']))
    .split('\n')
    .map((line) => line.split(' ')[0]!)
    .filter(Boolean);
}

/**
 * Removes namespaces (and the processes inside them) that a run of this support module left
 * behind when its process died; returns their names.
 */
export async function sweepLeftoverNamespaces(): Promise<string[]> {
  const swept: string[] = [];
  for (const namespace of await namespaces()) {
    const match = new RegExp(`^${PREFIX}-(\\d+)-`).exec(namespace);
    if (!match || alive(Number(match[1]))) continue;
    await stopProcessesIn(namespace);
    await ip(['netns', 'delete', namespace]);
    swept.push(namespace);
  }
  return swept;
}

/** A 10.231.N.0/24 the root namespace has no route into (other runs' LANs included). */
async function freeSubnet(): Promise<number> {
  const routes = await ip(['-4', 'route', 'show', 'table', 'all']);
  for (let attempt = 0; attempt < 50; attempt++) {
    const n = randomInt(0, 256);
    if (!routes.includes(`10.231.${n}.`)) return n;
  }
  throw new Error('no free 10.231.N.0/24 subnet');
}

export async function createLan(hostNames: readonly string[]): Promise<Lan> {
  const tag = `${PREFIX}-${process.pid}-${randomBytes(3).toString('hex')}`;
  const rootPort = `${PREFIX}${randomBytes(4).toString('hex')}`.slice(0, 15);
  const n = await freeSubnet();
  const subnet = `10.231.${n}.0/24`;
  const rootIp = `10.231.${n}.254`;
  const switchNs = `${tag}-switch`;
  const hosts = new Map<string, LanHost & { readonly port: string }>();
  const created: string[] = [];

  const lan: Lan = {
    subnet,
    rootIp,
    host(name) {
      const host = hosts.get(name);
      if (!host) throw new Error(`no host ${name} on the LAN`);
      return host;
    },
    spawn(name, command, args, options = {}) {
      return spawn('ip', ['netns', 'exec', lan.host(name).namespace, command, ...args], options);
    },
    exec(name, command, args, input = '', timeoutMs = 20_000) {
      return run('ip', ['netns', 'exec', lan.host(name).namespace, command, ...args], input, timeoutMs);
    },
    async unplug(name) {
      await ip(['-n', switchNs, 'link', 'set', hosts.get(name)!.port, 'down']);
    },
    async plug(name) {
      await ip(['-n', switchNs, 'link', 'set', hosts.get(name)!.port, 'up']);
    },
    async destroy() {
      for (const namespace of created.reverse()) {
        await stopProcessesIn(namespace).catch(() => undefined);
        await ip(['netns', 'delete', namespace]).catch(() => undefined);
      }
      created.length = 0;
      // The root end of a veth goes with its peer's namespace; this is for a half-built LAN.
      await ip(['link', 'delete', rootPort]).catch(() => undefined);
    },
  };

  try {
    await ip(['netns', 'add', switchNs]);
    created.push(switchNs);
    await ip(['-n', switchNs, 'link', 'set', 'lo', 'up']);
    await ip(['-n', switchNs, 'link', 'add', 'br0', 'type', 'bridge']);
    await ip(['-n', switchNs, 'link', 'set', 'br0', 'up']);

    await ip(['link', 'add', rootPort, 'type', 'veth', 'peer', 'name', 'uplink', 'netns', switchNs]);
    await ip(['-n', switchNs, 'link', 'set', 'uplink', 'master', 'br0', 'up']);
    await ip(['addr', 'add', `${rootIp}/24`, 'dev', rootPort]);
    await ip(['link', 'set', rootPort, 'up']);

    for (const [index, name] of hostNames.entries()) {
      const namespace = `${tag}-${name}`;
      const port = `p${index}`;
      const host = { name, namespace, ip: `10.231.${n}.${10 + index}`, port };
      await ip(['netns', 'add', namespace]);
      created.push(namespace);
      await ip(['-n', namespace, 'link', 'set', 'lo', 'up']);
      await ip(['-n', switchNs, 'link', 'add', port, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', namespace]);
      await ip(['-n', switchNs, 'link', 'set', port, 'master', 'br0', 'up']);
      await ip(['-n', namespace, 'addr', 'add', `${host.ip}/24`, 'dev', 'eth0']);
      await ip(['-n', namespace, 'link', 'set', 'eth0', 'up']);
      hosts.set(name, host);
    }
  } catch (err) {
    await lan.destroy();
    throw err;
  }
  return lan;
}
