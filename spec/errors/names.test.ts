import { describe, expect, test } from 'bun:test';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ApiError } from '../../src/api/api-error.ts';
import { ApiClientError } from '../../src/cli/api-client-error.ts';
import { CommandFailed, NoWorkerError, UsageError } from '../../src/cli/cli-error.ts';
import { ConfigError } from '../../src/config/table-reader.ts';
import { AbortReason } from '../../src/errors/abort-reason.ts';
import { CodedError } from '../../src/errors/coded-error.ts';
import { JobFailure, JobStateError } from '../../src/errors/job-failure.ts';
import { ThrownValue, errorCode, oneLine, toError } from '../../src/errors/thrown.ts';
import { DiskImageError } from '../../src/images/disk-image-inspection.ts';
import { AccessDeniedError, ClientError, JobExceptionError, JobFailedError, ServerError } from '../../src/protocol/client/client-errors.ts';
import { AdminError, AdminParseError } from '../../src/protocol/codec/admin-errors.ts';
import { ProtocolError } from '../../src/protocol/codec/errors.ts';
import { AclError } from '../../src/protocol/server/acl/errors.ts';
import { ServerStateError } from '../../src/protocol/server/errors.ts';
import { RunnerError } from '../../src/scheduler/runner-errors.ts';
import { StateError } from '../../src/scheduler/state-errors.ts';
import { ConnectionError } from '../../src/protocol/transport/connection-error.ts';
import { CloudAuthError, CloudConfigError, HttpConnectionError, HttpStatusError, HttpTlsError } from '../../src/uploaders/openstack/errors.ts';
import { CreateNeverSentError } from '../../src/uploaders/glance/images-api.ts';

const SRC = join(import.meta.dir, '../../src');

/** One instance of every error class in src/, by the name it must report, with the code it carries. */
const EXAMPLES: Record<string, { readonly error: CodedError; readonly code: string }> = {
  JobFailure: { error: new JobFailure('BAD_REQUEST', 'bad'), code: 'BAD_REQUEST' },
  JobStateError: { error: new JobStateError('late'), code: 'JOB_ALREADY_FINISHED' },
  DiskImageError: { error: new DiskImageError('UNSAFE_IMAGE', 'backed'), code: 'UNSAFE_IMAGE' },
  CloudConfigError: { error: new CloudConfigError('no cloud'), code: 'CLOUD_CONFIG' },
  CloudAuthError: { error: new CloudAuthError('AUTH_FAILED', 'refused'), code: 'AUTH_FAILED' },
  HttpStatusError: { error: new HttpStatusError(503, 'GET', 'http://cloud/', 'busy'), code: 'HTTP_503' },
  HttpConnectionError: { error: new HttpConnectionError('GET', 'http://cloud/', new TypeError('refused')), code: 'HTTP_CONNECTION' },
  CreateNeverSentError: { error: new CreateNeverSentError(new HttpConnectionError('POST', 'http://cloud/v2/images', new TypeError('refused'))), code: 'HTTP_CONNECTION' },
  HttpTlsError: { error: new HttpTlsError('GET', 'https://cloud/', new TypeError('self-signed')), code: 'TLS' },
  ProtocolError: { error: new ProtocolError('BAD_MAGIC', 'bad magic'), code: 'BAD_MAGIC' },
  AdminError: { error: new AdminError('UNKNOWN_JOB'), code: 'UNKNOWN_JOB' },
  AdminParseError: { error: new AdminParseError('MALFORMED_LINE', 'bad line', 'x'), code: 'MALFORMED_LINE' },
  ServerStateError: { error: new ServerStateError('CLOSED', 'closed'), code: 'CLOSED' },
  ClientError: { error: new ClientError('TIMEOUT', 'timed out'), code: 'TIMEOUT' },
  JobFailedError: { error: new JobFailedError({}, 'why'), code: 'WORK_FAIL' },
  JobExceptionError: { error: new JobExceptionError('boom', {}), code: 'WORK_EXCEPTION' },
  ServerError: { error: new ServerError('ERR', 'text', {}), code: 'SERVER_ERROR' },
  AccessDeniedError: { error: new AccessDeniedError('submit image-delete:1: not granted to CN=builder-1', {}), code: 'ACCESS_DENIED' },
  AclError: { error: new AclError('ACL_INVALID', 'acl.toml', 'rule[0].cn', 'missing'), code: 'ACL_INVALID' },
  ConfigError: { error: new ConfigError('builder.toml', 'x', 'a number'), code: 'CONFIG_INVALID' },
  UsageError: { error: new UsageError('bad flag'), code: 'USAGE' },
  CommandFailed: { error: new CommandFailed('UPLOADS_FAILED', '1 of 2 uploads failed'), code: 'UPLOADS_FAILED' },
  NoWorkerError: { error: new NoWorkerError('no worker registers image-build:x'), code: 'NO_WORKER' },
  AbortReason: { error: new AbortReason('BUILDER_STOPPING', 'the builder is stopping'), code: 'BUILDER_STOPPING' },
  ThrownValue: { error: new ThrownValue(42), code: 'NOT_AN_ERROR' },
  ConnectionError: { error: new ConnectionError('CONNECT_TIMEOUT', 'connect timed out'), code: 'CONNECT_TIMEOUT' },
  RunnerError: { error: new RunnerError('JOB_RESULT_INVALID', 'no external-id'), code: 'JOB_RESULT_INVALID' },
  StateError: { error: new StateError('STATE_CONFLICT', 'ready → uploading'), code: 'STATE_CONFLICT' },
  ApiClientError: { error: new ApiClientError('API_UNREACHABLE', 'refused'), code: 'API_UNREACHABLE' },
  ApiError: { error: new ApiError('API_BAD_ID', 'not an id'), code: 'API_BAD_ID' },
};

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return sourceFiles(path);
    return entry.name.endsWith('.ts') ? [path] : [];
  });
}

/** Every class declared in src/ whose chain of `extends` reaches Error, with the class it extends. */
function errorClassesInSource(): Map<string, string> {
  const parents = new Map<string, string>();
  for (const file of sourceFiles(SRC)) {
    for (const match of readFileSync(file, 'utf8').matchAll(/class (\w+)(?:<[^{]*?>)? extends (\w+)/g)) parents.set(match[1]!, match[2]!);
  }
  const isError = (name: string): boolean => name === 'Error' || (parents.has(name) && isError(parents.get(name)!));
  return new Map([...parents].filter(([name]) => isError(name)));
}

describe('one error model', () => {
  test('every error class in src/ extends CodedError, directly or through another', () => {
    const found = errorClassesInSource();
    expect([...found].filter(([, parent]) => parent === 'Error').map(([name]) => name)).toEqual(['CodedError']);
    found.delete('CodedError');
    expect([...found.keys()].sort()).toEqual(Object.keys(EXAMPLES).sort());
  });

  test('every error class reports its own name, and its code', () => {
    for (const [name, { error, code }] of Object.entries(EXAMPLES)) {
      expect({ name: error.name, code: error.code, coded: error instanceof CodedError }).toEqual({ name, code, coded: true });
      expect(String(error).startsWith(`${name}: `)).toBe(true);
    }
  });

  test('src/ builds no bare Error and casts no caught value to Error or to a shape with a code', () => {
    const comment = /^\s*(\*|\/\/)/;
    const offending = sourceFiles(SRC).flatMap((file) =>
      readFileSync(file, 'utf8')
        .split('\n')
        .map((line, index) => ({ where: `${file.slice(SRC.length + 1)}:${index + 1}`, line }))
        .filter(({ line }) => !comment.test(line))
        .filter(({ line }) => /new Error\(|as Error\b|as NodeJS\.ErrnoException|as \{ code\?/.test(line)),
    );
    expect(offending).toEqual([]);
  });

  test('toError keeps an Error as it is and wraps anything else, keeping the value', () => {
    const error = new TypeError('x');
    expect(toError(error)).toBe(error);
    const wrapped = toError('just a string');
    expect(wrapped).toBeInstanceOf(ThrownValue);
    expect({ message: wrapped.message, value: (wrapped as ThrownValue).value }).toEqual({ message: 'just a string', value: 'just a string' });
  });

  test('errorCode reads a string code from a system error or one of ours, and nothing from anything else', () => {
    expect(errorCode(Object.assign(new Error('gone'), { code: 'ENOENT' }))).toBe('ENOENT');
    expect(errorCode(new JobFailure('NO_SPACE', 'full'))).toBe('NO_SPACE');
    expect([errorCode(Object.assign(new Error('x'), { code: 7 })), errorCode('ENOENT'), errorCode(undefined)]).toEqual([undefined, undefined, undefined]);
  });

  test('oneLine gives the name (unless a plain Error) and the message on one line', () => {
    expect(oneLine(new JobFailure('BUILD_FAILED', 'dib exited\nwith 1'))).toBe('JobFailure: dib exited with 1');
    expect(oneLine(new RangeError('out of range'))).toBe('RangeError: out of range');
    expect(oneLine('thrown text')).toBe('thrown text');
  });
});
