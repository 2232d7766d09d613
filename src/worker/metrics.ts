import { type Socket, createSocket } from 'node:dgram';
import type { BuilderConfig, StatsdConfig } from '../config/schema.ts';

/** What the builder reports: to statsd, to Prometheus (src/metrics/), both, or nowhere. */
export interface Metrics {
  buildFinished(image: string, rc: number, durationMs: number, sizes: Readonly<Record<string, number>>): void;
  /** A successful upload of `bytes` (the file's size). */
  uploadFinished(image: string, provider: string, durationMs: number, bytes: number): void;
  /** An upload that failed; `image` is undefined when the image is not on this host. */
  uploadFailed(image: string | undefined, provider: string, durationMs: number): void;
  workerState(busy: Readonly<Record<string, number>>, reconnects: number): void;
  close(): void;
}

export const noMetrics: Metrics = {
  buildFinished() {},
  uploadFinished() {},
  uploadFailed() {},
  workerState() {},
  close() {},
};

/** statsd when the config has [statsd], else nothing. */
export function configuredStatsd(config: BuilderConfig): Metrics {
  return config.statsd ? statsdMetrics(config.statsd, config.clientId) : noMetrics;
}

/** Every report goes to each of the parts, in order. */
export function allMetrics(parts: readonly Metrics[]): Metrics {
  return {
    buildFinished: (...args) => parts.forEach((m) => m.buildFinished(...args)),
    uploadFinished: (...args) => parts.forEach((m) => m.uploadFinished(...args)),
    uploadFailed: (...args) => parts.forEach((m) => m.uploadFailed(...args)),
    workerState: (...args) => parts.forEach((m) => m.workerState(...args)),
    close: () => parts.forEach((m) => m.close()),
  };
}

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
    // nodepool has no key for a failed upload.
    uploadFailed() {},
    workerState(busy, reconnects) {
      send([...Object.entries(busy).map(([jobClass, n]) => `${builder}.busy.${part(jobClass)}:${n}|g`), `${builder}.reconnects:${reconnects}|g`]);
    },
    close() {
      socket.close();
    },
  };
}
