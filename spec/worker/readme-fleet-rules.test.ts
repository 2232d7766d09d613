/**
 * The README's fleet rules must let the fleet do everything the wire contract has it do: when
 * builders began to register builder-image-list:<client-id>, rules granting only `image-*` and
 * `provider-image-*` refused it on every TLS fleet, and the scheduler could not adopt builds.
 */
import { expect, test } from 'bun:test';
import { readFileSync } from 'node:fs';
import { AccessPolicy, parseAccessRules } from '../../src/protocol/server/acl/index.ts';
import { BUILDER_LIST_PREFIX, BUILD_PREFIX, DELETE_PREFIX, PROVIDER_DELETE_PREFIX, PROVIDER_LIST_PREFIX, UPLOAD_PREFIX } from '../../src/worker/jobs.ts';
import { FLEET_RULES } from '../support/fleet-rules.ts';

const WIRE_FUNCTIONS = [BUILD_PREFIX, UPLOAD_PREFIX, DELETE_PREFIX, PROVIDER_LIST_PREFIX, PROVIDER_DELETE_PREFIX, BUILDER_LIST_PREFIX].map((prefix) => `${prefix}x-1`);

/** The rules block of the README's "Access rules" section. */
function readmeRules(): string {
  const readme = readFileSync('README.md', 'utf8');
  const block = /```toml\n# \/etc\/nodepool-builder\/acl\.toml\n([\s\S]*?)```/.exec(readme);
  if (block === null) throw new Error('README.md has no acl.toml block');
  return block[1]!;
}

test.each([
  ['README.md', readmeRules()],
  ['spec/support/fleet-rules.ts', FLEET_RULES],
])('B16: %s: builders may register, and the scheduler submit, every function of the wire contract (builder-image-list:<client-id> was refused)', (source, text) => {
  const policy = new AccessPolicy(parseAccessRules(text, source), { debug() {}, info() {}, warn() {}, error() {} });
  const builder = policy.grantsFor('builder-1', 'test');
  const scheduler = policy.grantsFor('scheduler', 'test');
  for (const name of WIRE_FUNCTIONS) {
    expect({ name, register: builder.may('register', name), submit: builder.may('submit', name) }).toEqual({ name, register: true, submit: false });
    expect({ name, register: scheduler.may('register', name), submit: scheduler.may('submit', name) }).toEqual({ name, register: false, submit: true });
  }
  expect(scheduler.mayAdmin('workers') && scheduler.mayAdmin('status')).toBe(true);
});
