import { expect, test } from 'bun:test';
import { statsdMetrics } from '../../src/worker/metrics.ts';
import { eventually } from '../support/run.ts';
import { startUdpListener } from '../support/udp-listener.ts';

test('statsd lines use nodepool\'s key names and reach a real UDP listener', async () => {
  const listener = await startUdpListener();
  const metrics = statsdMetrics({ host: '127.0.0.1', port: listener.port, prefix: 'nodepool' }, 'builder.01');
  metrics.buildFinished('debian-bookworm', 0, 1234.4, { qcow2: 313_000_000 });
  metrics.uploadFinished('debian-bookworm', 'cloud-a', 9000, 313_000_000);
  metrics.uploadFailed('debian-bookworm', 'cloud-b', 100);
  metrics.workerState({ build: 1, upload: 3 }, 2);
  await eventually(() => listener.lines.length >= 7);
  expect(listener.lines.sort()).toEqual(
    [
      'nodepool.dib_image_build.debian-bookworm.status.rc:0|g',
      'nodepool.dib_image_build.debian-bookworm.status.duration:1234|ms',
      'nodepool.dib_image_build.debian-bookworm.qcow2.size:313000000|g',
      'nodepool.image_update.debian-bookworm.cloud-a:9000|ms',
      'nodepool.builder.builder_01.busy.build:1|g',
      'nodepool.builder.builder_01.busy.upload:3|g',
      'nodepool.builder.builder_01.reconnects:2|g',
    ].sort(),
  );
  metrics.close();
  listener.close();
});
