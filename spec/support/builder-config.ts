import { join } from 'node:path';
import type { BuilderConfig } from '../../src/config/schema.ts';

/** A BuilderConfig for an in-process BuilderWorker under `root`: no images, providers or servers unless given. */
export function testBuilderConfig(root: string, overrides: Partial<BuilderConfig> = {}): BuilderConfig {
  return {
    file: join(root, 'builder.toml'),
    imagesDir: join(root, 'images'),
    logDir: join(root, 'logs'),
    buildLogRetention: 7,
    buildWorkers: 1,
    uploadWorkers: 2,
    minFreeSpace: 0,
    elementsPath: [],
    dibImageCache: undefined,
    clientId: 'test-builder',
    shutdownGraceMs: 5_000,
    cloudsFile: undefined,
    geardAcl: undefined,
    geardTls: undefined,
    gearmanServers: [],
    statsd: undefined,
    metrics: undefined,
    diskimages: [],
    providers: [],
    scheduler: undefined,
    ...overrides,
  };
}
