/**
 * Real storage servers for evsrc's tests, each on a free loopback port: a private
 * redis-server, Azurite, and Ceph radosgw. A missing server skips its tests with an
 * install hint, except under CI, where it fails. And a TCP proxy that adds a fixed
 * latency in front of any of them (`startLatencyProxy`).
 *
 * @packageDocumentation
 */
export { AZURITE_ACCOUNT, type AzuriteServer, type StartAzuriteOptions, startAzurite } from './azurite.js';
export { type LatencyProxy, type LatencyProxyOptions, startLatencyProxy } from './latency-proxy.js';
export {
  controlProcess,
  freePort,
  hasCommand,
  inCI,
  missing,
  type RunningProcess,
  type ServerControl,
  type StartProcessOptions,
  startProcess,
} from './process.js';
export {
  missingRadosgwCommands,
  RADOSGW_COMMANDS,
  type RadosGateway,
  type StartRadosgwOptions,
  startRadosgw,
} from './radosgw.js';
export { type RedisServer, type StartRedisOptions, startRedis } from './redis.js';
export { type S3Connection, type S3Server, s3ClientConfig, startS3 } from './s3-gateway.js';
