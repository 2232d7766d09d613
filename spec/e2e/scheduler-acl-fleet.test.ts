/**
 * Issue 16's whole lifecycle with rules loaded: `nodepool-builder scheduler` embeds the job
 * server with TLS (geard-tls-*) and the README's fleet rules (geard-acl); two builders are
 * separate `run` processes, each with its own client certificate; Glance is real (no-auth).
 * The scheduler builds, uploads, rebuilds and deletes the superseded upload as it does without
 * rules, while the scheduler's own certificate tries to take an upload (CAN_DO image-upload:<id>)
 * and is refused, and a bad rules file on SIGHUP leaves the rules in force.
 *
 * Builds are the generic command builder's (`qemu-img create` of a tiny qcow2), not DIB: what
 * is under test is who may do what on the job server, not the image.
 */
import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import { writeFileSync } from 'node:fs';
import { FLEET_RULES } from '../support/fleet-rules.ts';
import { eventually } from '../support/run.ts';
import { type Fleet, startFleet } from '../support/scheduler-fleet.ts';
import { type ClientCert, makeClientCert, makeHostCert, makeTestPki } from '../support/tls.ts';
import { RawPeer, Type } from '../protocol/server/raw-peer.ts';

// The README's fleet rules, plus the test's own admin view (an operator, as the README has it).
const RULES = `${FLEET_RULES}
[[rule]]
cn = "operator-*"
admin = ["read"]
`;

const PAUSED_UPLOADS = '[{ name = "tiny", pause = true }]';

describe('issue 16: the scheduler embedding the job server with TLS and the fleet rules, two builder processes with their own certificates, real Glance (command builder, not DIB)', () => {
  let fleet: Fleet;
  let schedulerCert: ClientCert;
  let caPem: string;
  let firstBuild: string;

  const context = (): string => fleet.logs();
  /** The id of a build in the state `state`, by the scheduler's API. */
  const buildIn = async (state: string, not: ReadonlySet<string> = new Set()): Promise<string | undefined> =>
    (await fleet.dibImageList()).find((row) => row.image === 'tiny' && row.state === state && !not.has(row.id))?.id;

  beforeAll(async () => {
    const pki = await makeTestPki();
    caPem = pki.ca;
    // One at a time: openssl shares the CA's serial file.
    schedulerCert = await makeHostCert(pki, 'scheduler');
    const builderCerts = [await makeClientCert(pki, 'builder-1'), await makeClientCert(pki, 'builder-2')];
    const adminCert = await makeClientCert(pki, 'operator-1');
    fleet = await startFleet({
      builders: 2,
      providers: ['p1'],
      images: ['tiny'],
      systemId: 'acl-fleet-e2e',
      access: { pki, schedulerCert, builderCerts, adminCert, rules: RULES },
      // Uploads paused at first: the hijack is tried on a build whose upload is still to come.
      scheduler: {
        images: [{ name: 'tiny', rebuildAge: '1h' }],
        providers: [{ name: 'p1', diskimages: PAUSED_UPLOADS }],
        schedulerExtra: 'keep-builds = 1\nkeep-uploads = 1',
      },
    });
  }, 240_000);

  afterAll(async () => {
    await fleet?.close();
  }, 60_000);

  test('build; a bad rules file on SIGHUP keeps the rules; the scheduler certificate\'s CAN_DO image-upload:<build> (hijack) is refused and the upload reaches a real builder', async () => {
    firstBuild = await eventually(() => buildIn('ready'), 120_000, 'a ready build of tiny').catch((err: unknown) => {
      throw new Error(`${String(err)}\n${context()}`);
    });
    // Each builder is known by its own certificate; the scheduler's own client by its.
    const log = fleet.schedulerLog();
    for (const cn of ['builder-1', 'builder-2', 'scheduler']) expect(log).toMatch(new RegExp(`connected as CN=${cn}\\b`));

    // A rules file that does not parse: refused on SIGHUP, the rules in force stay.
    writeFileSync(fleet.rulesFile!, '[[rule]]\ncn = "scheduler"\nregister = "image-*"\n');
    fleet.reload({});
    await eventually(() => fleet.schedulerLog().includes('reload: the access rules stay as they were'), 30_000, 'the bad rules to be refused');

    const hijacker = await RawPeer.openTls(fleet.jobServer.port, { ca: caPem, cert: schedulerCert.cert, key: schedulerCert.key });
    try {
      hijacker.send(Type.CAN_DO, [`image-upload:${firstBuild}`]);
      expect((await hijacker.next(Type.ERROR)).args).toEqual(['PERMISSION_DENIED', `register image-upload:${firstBuild}: not granted to CN=scheduler`]);
      hijacker.send(Type.PRE_SLEEP);

      // Good rules again, and uploads unpaused: the upload of that build goes to the builder that has it.
      writeFileSync(fleet.rulesFile!, RULES);
      fleet.reload({ providers: [{ name: 'p1' }] });
      const image = await eventually(
        async () => (await fleet.tagged('p1')).find((i) => i.buildId === firstBuild && i.status === 'active'),
        120_000,
        `the upload of ${firstBuild} in Glance`,
      ).catch((err: unknown) => {
        throw new Error(`${String(err)}\n${context()}`);
      });
      const row = await eventually(async () => (await fleet.imageList()).find((r) => r['build-id'] === firstBuild && r.state === 'ready'), 30_000, 'the upload ready');
      expect(row['external-id']).toBe(image.id);
      const holders = fleet.repositories().map((builds) => builds.some((b) => b.id === firstBuild));
      expect(holders.filter(Boolean)).toHaveLength(1);
      // The good file was put in force again by that SIGHUP (once at start, once now).
      expect(fleet.schedulerLog().split('\n').filter((line) => line.includes(`access rules from ${fleet.rulesFile} in force`))).toHaveLength(2);

      // Nothing was routed to the hijacker: no NOOP woke it, and a grab finds nothing.
      hijacker.send(Type.GRAB_JOB_UNIQ);
      await hijacker.next(Type.NO_JOB);
      expect(hijacker.pending()).toEqual([]);
    } finally {
      hijacker.close();
    }
  }, 300_000);

  test('rebuild: the superseded upload is deleted from Glance and exactly keep-uploads (1) stays, as without rules; only the hijack was refused', async () => {
    fleet.reload({ images: [{ name: 'tiny', rebuildAge: '3s' }] });
    const superseded = await eventually(
      async () => {
        const images = await fleet.tagged('p1');
        const rows = await fleet.imageList();
        const newer = rows.find((r) => r['build-id'] !== firstBuild && r.state === 'ready');
        return newer !== undefined && !images.some((i) => i.buildId === firstBuild) ? newer : undefined;
      },
      180_000,
      'a newer upload ready and the first one gone from Glance',
    ).catch((err: unknown) => {
      throw new Error(`${String(err)}\n${context()}`);
    });
    expect(superseded['external-id']).not.toBeNull();

    // No more rebuilds; once everything has settled, Glance holds exactly the ready upload.
    fleet.reload({ images: [{ name: 'tiny', rebuildAge: '1h' }] });
    const settled = await eventually(
      async () => {
        const rows = await fleet.imageList();
        if (rows.some((r) => r.state !== 'ready')) return undefined;
        const images = await fleet.tagged('p1');
        return rows.length === 1 && images.length === 1 && images[0]!.id === rows[0]!['external-id'] ? { rows, images } : undefined;
      },
      180_000,
      'one ready upload, the only tagged image',
    ).catch((err: unknown) => {
      throw new Error(`${String(err)}\n${context()}`);
    });
    expect(settled.images[0]!.status).toBe('active');
    expect(settled.rows[0]!['build-id']).not.toBe(firstBuild);

    // The rules refused the hijack and nothing the fleet is meant to do.
    const refusals = fleet.schedulerLog().split('\n').filter((line) => line.includes(': refused '));
    expect(refusals).toEqual([expect.stringContaining(`CN=scheduler: refused "register image-upload:${firstBuild}"`)]);
    for (const builder of fleet.builders) expect(builder.log()).not.toContain('refused to let this worker register');
  }, 400_000);
});
