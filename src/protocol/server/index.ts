export { GearmanServer, type BoundAddress, type CloseOptions, type ServerStats } from './server.ts';
export type { GearmanServerOptions, ListenOptions, TlsListenOptions } from './options.ts';
export { AclError, type AccessRules, loadAccessRules, parseAccessRules } from './acl/index.ts';
export { ServerStateError, type ServerStateErrorCode } from './errors.ts';
export { SERVER_VERSION } from './admin-commands.ts';
