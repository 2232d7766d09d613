/**
 * Our job server alone in its own process, as the benchmark runs it:
 *   bun bench/server/server-main.ts <port> [acl]
 * With "acl", access rules are loaded (a fleet's shape; the bench's plain connections are anonymous).
 * Prints "READY <port>" once it listens.
 */
import { GearmanServer, parseAccessRules } from '../../src/protocol/server/index.ts';

const RULES = `
[[rule]]
cn = "builder-*"
register = ["image-*", "provider-image-*"]
[[rule]]
cn = "anonymous"
register = ["image-*", "provider-image-*", "bench-echo-*"]
submit = ["image-*", "provider-image-*", "bench-echo-*"]
`;
const acl = process.argv[3] === 'acl' ? { acl: parseAccessRules(RULES, 'bench') } : {};
const server = new GearmanServer({ host: '127.0.0.1', port: Number(process.argv[2] ?? 0), ...acl });
const { port } = await server.listen();
process.stdout.write(`READY ${port}\n`);
process.once('SIGTERM', () => void server.close().then(() => process.exit(0)));
