import { type Socket, createSocket } from 'node:dgram';
import type { StatsdConfig } from '../config/schema.ts';

/** What the builder reports; a no-op when statsd is not configured. */
export interface Metrics {
  buildFinished(image: string, rc: number, durationMs: number, sizes: Readonly<Record<string, number>>): void;
  uploadFinished(image: string, provider: string, durationMs: number): void;
  workerState(busy: Readonly<Record<string, number>>, reconnects: number): void;
  close(): void;
}

export const noMetrics: Metrics = {
  buildFinished() {},
  uploadFinished() {},
  workerState() {},
  close() {},
};

/** Key parts may not contain the statsd separators. */
function part(text: string): string {
  return text.replace(/[.:|@\s]/g, '_');
}

/**
 * statsd over UDP with nodepool's key names:
 *   <prefix>.dib_image_build.<image>.status.rc        gauge, the build's exit status (0 ok)
 *   <prefix>.dib_image_build.<image>.status.duration  timer, ms
 *   <prefix>.dib_image_build.<image>.<format>.size    gauge, bytes
 *   <prefix>.image_update.<image>.<provider>          timer, ms per successful upload
 *   <prefix>.builder.<client-id>.busy.<class>         gauge, slots in use
 *   <prefix>.builder.<client-id>.reconnects           gauge, job server reconnects so far
 * Sends are fire-and-forget: metrics never slow down or fail a job.
 */
export function statsdMetrics(config: StatsdConfig, clientId: string): Metrics {
  const socket: Socket = createSocket(config.host.includes(':') ? 'udp6' : 'udp4');
  socket.on('error', () => {});
  socket.unref();
  const send = (lines: string[]) => {
    if (lines.length) socket.send(lines.join('\n'), config.port, config.host, () => {});
  };
  const prefix = config.prefix;
  const builder = `${prefix}.builder.${part(clientId)}`;
  return {
    buildFinished(image, rc, durationMs, sizes) {
      const key = `${prefix}.dib_image_build.${part(image)}`;
      send([
        `${key}.status.rc:${rc}|g`,
        `${key}.status.duration:${Math.round(durationMs)}|ms`,
        ...Object.entries(sizes).map(([format, size]) => `${key}.${part(format)}.size:${size}|g`),
      ]);
    },
    uploadFinished(image, provider, durationMs) {
      send([`${prefix}.image_update.${part(image)}.${part(provider)}:${Math.round(durationMs)}|ms`]);
    },
    workerState(busy, reconnects) {
      send([...Object.entries(busy).map(([jobClass, n]) => `${builder}.busy.${part(jobClass)}:${n}|g`), `${builder}.reconnects:${reconnects}|g`]);
    },
    close() {
      socket.close();
    },
  };
}
