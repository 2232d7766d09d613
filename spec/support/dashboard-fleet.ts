/**
 * A fleet with something to show on the dashboard (its browser tests and
 * scripts/screenshot-dashboard.ts): "tiny" uploads at once, "big" (a qcow2 of 24 MiB of data)
 * uploads slowly to p2, whose Glance sits behind a throttling fault proxy (the stand-in for a
 * slow link, which a real Glance cannot be on demand), and "broken" fails after 70 log lines,
 * one with markup and two with secrets.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type FaultProxy, startFaultProxy } from './fault-proxy.ts';
import { type Fleet, type FleetOptions, startFleet } from './scheduler-fleet.ts';

/** Request bodies to p2 go this fast: a 24 MiB upload takes several seconds, past the loopback buffers. */
export const SLOW_LINK_BYTES_PER_SECOND = 3 * 1024 * 1024;
export const BROKEN_SECRET = 'tok-abcdef-123456';

export interface DashboardFleet {
  readonly fleet: Fleet;
  close(): Promise<void>;
}

export async function startDashboardFleet(options: FleetOptions = {}): Promise<DashboardFleet> {
  const scripts = mkdtempSync(join(tmpdir(), 'dashboard-fleet-'));
  writeFileSync(join(scripts, 'big.sh'), 'set -e\nhead -c 24M /dev/urandom > "$OUTPUT_DIR/raw"\nqemu-img convert -f raw -O qcow2 "$OUTPUT_DIR/raw" "$OUTPUT_DIR/$IMAGE_NAME.qcow2"\nrm "$OUTPUT_DIR/raw"\n');
  writeFileSync(
    join(scripts, 'broken.sh'),
    'for i in $(seq 1 70); do echo "step $i of the broken build"; done\necho \'<script>window.pwned = 1</script><img src=x onerror="window.pwned = 2"><b>bold</b>\'\necho "token from env: $SECRET_TOKEN"\necho "password=s3cr3t-value"\nexit 3\n',
  );
  let proxy: FaultProxy | undefined;
  try {
    const fleet = await startFleet({
      builders: 1,
      providers: ['p1', 'p2'],
      images: ['tiny', 'big', 'broken'],
      glanceEndpoint: async (provider, url) => {
        if (provider !== 'p2') return url;
        proxy = await startFaultProxy(url);
        proxy.throttle(SLOW_LINK_BYTES_PER_SECOND);
        return proxy.url;
      },
      builderImages: {
        big: { command: `["sh", "${join(scripts, 'big.sh')}"]` },
        broken: { command: `["sh", "${join(scripts, 'broken.sh')}"]`, extra: `env-vars = { SECRET_TOKEN = "${BROKEN_SECRET}" }` },
      },
      ...options,
    });
    return {
      fleet,
      async close() {
        await fleet.close();
        await proxy?.close();
        rmSync(scripts, { recursive: true, force: true });
      },
    };
  } catch (err) {
    await proxy?.close();
    rmSync(scripts, { recursive: true, force: true });
    throw err;
  }
}
