/**
 * Starts a private Ceph radosgw (the real S3 gateway, from Debian's `radosgw` package) for
 * the tests: a one-node cluster — one monitor, one memstore OSD, one radosgw — built in a
 * temporary folder on free loopback ports, with no authentication between the daemons and
 * one S3 user with known keys. Nothing outside the folder is used or left behind (no
 * systemd, no /etc/ceph, no /var/run/ceph): every run dir, admin socket, log, pid file,
 * keyring and data folder lives in it, and {@link RadosGateway.stop} removes it.
 */
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { controlProcess, freePort, hasCommand, type ServerControl } from './process.js';

const run = promisify(execFile);

/** The binaries the cluster needs (packages `radosgw`, `ceph-mon`, `ceph-osd`, `ceph-common`). */
export const RADOSGW_COMMANDS = [
  'ceph-authtool',
  'monmaptool',
  'ceph-mon',
  'ceph-osd',
  'ceph',
  'radosgw',
  'radosgw-admin',
] as const;

/** The binaries of {@link RADOSGW_COMMANDS} that are not on the PATH. */
export function missingRadosgwCommands(): string[] {
  return RADOSGW_COMMANDS.filter((c) => !hasCommand(c));
}

/** A running radosgw and how to reach it. */
export interface RadosGateway {
  /** `http://127.0.0.1:PORT` */
  readonly endpoint: string;
  readonly accessKeyId: string;
  readonly secretAccessKey: string;
  /** The temporary folder that holds the cluster (removed by `stop`). */
  readonly folder: string;
  /**
   * Stop, restart or freeze the gateway daemon alone, for fault tests: the monitor and the
   * OSD keep running, and so keep the data.
   */
  readonly control: ServerControl;
  /** Stops every daemon it started and removes the temporary folder. */
  stop(): Promise<void>;
}

/** Options of {@link startRadosgw}. */
export interface StartRadosgwOptions {
  /** Give up when the gateway does not answer after this many ms (default 60,000). */
  timeoutMs?: number;
  /** Keep the temporary folder after `stop` (for debugging). */
  keepFolder?: boolean;
}

interface Daemon {
  readonly name: string;
  readonly child: ChildProcess;
  readonly exited: Promise<void>;
  output: string;
}

/** Starts the cluster and resolves once radosgw answers HTTP and the S3 user exists. */
export async function startRadosgw(options: StartRadosgwOptions = {}): Promise<RadosGateway> {
  const deadline = Date.now() + (options.timeoutMs ?? 60_000);
  const folder = await mkdtemp(join(tmpdir(), 'evsrc-radosgw-'));
  const daemons: Daemon[] = [];
  const killAll = () => {
    for (const d of daemons) if (d.child.exitCode === null && d.child.signalCode === null) d.child.kill('SIGKILL');
  };
  // If the test runner exits without calling stop, do not leave daemons behind.
  process.once('exit', killAll);
  const stop = async () => {
    process.removeListener('exit', killAll);
    // Gateway first, then the OSD, then the monitor: the reverse of the start order.
    for (const d of [...daemons].reverse()) await stopDaemon(d);
    if (!options.keepFolder) await rm(folder, { recursive: true, force: true });
  };
  try {
    const cluster = await configure(folder);
    await createMonitor(cluster);
    daemons.push(startDaemon(cluster, 'ceph-mon', ['-i', 'a']));
    const osdId = (await ceph(cluster, ['osd', 'create'])).trim();
    await mkdir(join(folder, 'osd', `osd.${osdId}`), { recursive: true });
    await run('ceph-osd', ['-c', cluster.conf, '-i', osdId, '--mkfs'], { env: cluster.env });
    daemons.push(startDaemon(cluster, 'ceph-osd', ['-i', osdId]));
    await waitFor('the OSD to be up', deadline, daemons, async () => {
      const stat = JSON.parse(await ceph(cluster, ['osd', 'stat', '--format=json'])) as { num_up_osds?: number };
      return stat.num_up_osds === 1;
    });
    const endpoint = `http://127.0.0.1:${cluster.rgwPort}`;
    const startGateway = async (until: number) => {
      const gateway = startDaemon(cluster, 'radosgw', ['-n', 'client.rgw']);
      const at = daemons.findIndex((d) => d.name === gateway.name);
      if (at >= 0) daemons[at] = gateway;
      else daemons.push(gateway);
      await waitFor('radosgw to answer HTTP', until, daemons, () =>
        fetch(endpoint).then(
          (r) => r.status < 500,
          () => false,
        ),
      );
      return gateway;
    };
    const gateway = await startGateway(deadline);
    const accessKeyId = `EVSRC${randomUUID().replaceAll('-', '').slice(0, 15).toUpperCase()}`;
    const secretAccessKey = randomUUID().replaceAll('-', '');
    await run(
      'radosgw-admin',
      [
        ...['-c', cluster.conf, '-n', 'client.rgw-admin'],
        ...['user', 'create', '--uid=evsrc-test', '--display-name=evsrc tests'],
        ...[`--access-key=${accessKeyId}`, `--secret=${secretAccessKey}`],
      ],
      { env: cluster.env },
    );
    // The gateway can be frozen, killed and restarted; stopping stops the whole cluster.
    const { control, stop: stopAll } = controlProcess(
      gateway,
      () => startGateway(Date.now() + (options.timeoutMs ?? 60_000)),
      stop,
    );
    return { endpoint, accessKeyId, secretAccessKey, folder, control, stop: stopAll };
  } catch (error) {
    const logs = await logTails(folder, daemons);
    await stop().catch(() => undefined);
    throw new Error(`Could not start radosgw: ${error instanceof Error ? error.message : String(error)}\n${logs}`, {
      cause: error,
    });
  }
}

interface Cluster {
  readonly folder: string;
  readonly conf: string;
  readonly fsid: string;
  readonly monPort: number;
  readonly rgwPort: number;
  readonly env: NodeJS.ProcessEnv;
}

async function configure(folder: string): Promise<Cluster> {
  const monPort = await freePort();
  let rgwPort = await freePort();
  while (rgwPort === monPort) rgwPort = await freePort();
  const fsid = randomUUID();
  for (const sub of ['run', 'log', 'mon', 'osd', 'crash', 'rgw']) await mkdir(join(folder, sub));
  const conf = join(folder, 'ceph.conf');
  await writeFile(conf, cephConf(folder, fsid, monPort, rgwPort));
  // CEPH_CONF keeps every ceph tool away from /etc/ceph even where `-c` is not passed.
  const env = { ...process.env, CEPH_CONF: conf, CEPH_ARGS: '' };
  return { folder, conf, fsid, monPort, rgwPort, env };
}

/**
 * One monitor (msgr2 only), one memstore OSD, pools of size 1 with one placement group, no
 * authentication. Fast paxos proposals make each of the gateway's pool creations take
 * milliseconds instead of a second. `ms mon client mode = crc` is needed by every client
 * (radosgw hangs at start without it when auth is none).
 */
function cephConf(folder: string, fsid: string, monPort: number, rgwPort: number): string {
  return `[global]
fsid = ${fsid}
mon host = v2:127.0.0.1:${monPort}
mon initial members = a
public addr = 127.0.0.1
ms bind msgr1 = false
ms bind msgr2 = true
auth cluster required = none
auth service required = none
auth client required = none
auth allow insecure global id reclaim = true
paxos propose interval = 0.01
paxos min wait = 0.001
mon allow pool size one = true
mon allow pool delete = true
mon warn on pool no redundancy = false
osd pool default size = 1
osd pool default min size = 1
osd pool default pg num = 1
osd pool default pgp num = 1
osd pool default pg autoscale mode = off
osd crush chooseleaf type = 0
osd objectstore = memstore
memstore device bytes = 1073741824
run dir = ${folder}/run
admin socket = ${folder}/run/$cluster-$name.asok
pid file = ${folder}/run/$name.pid
log file = ${folder}/log/$name.log
keyring = ${folder}/keyring
mon data = ${folder}/mon/$name
osd data = ${folder}/osd/$name
crash dir = ${folder}/crash
mgr data = ${folder}/mgr/$name

[client]
ms mon client mode = crc
rgw data = ${folder}/rgw

[client.rgw]
rgw frontends = beast endpoint=127.0.0.1:${rgwPort} tcp_nodelay=1
rgw thread pool size = 64
`;
}

async function createMonitor(c: Cluster): Promise<void> {
  const keyring = join(c.folder, 'keyring');
  await run('ceph-authtool', ['--create-keyring', keyring, '--gen-key', '-n', 'mon.', '--cap', 'mon', 'allow *'], {
    env: c.env,
  });
  const monmap = join(c.folder, 'monmap');
  await run('monmaptool', ['--create', '--fsid', c.fsid, '--addv', 'a', `[v2:127.0.0.1:${c.monPort}]`, monmap], {
    env: c.env,
  });
  await run('ceph-mon', ['-c', c.conf, '--mkfs', '-i', 'a', '--monmap', monmap, '--keyring', keyring], {
    env: c.env,
  });
}

async function ceph(c: Cluster, args: string[]): Promise<string> {
  const { stdout } = await run('ceph', ['-c', c.conf, '--connect-timeout', '10', ...args], { env: c.env });
  return stdout;
}

/** Runs a daemon in the foreground (`-f`), so that it stays our child and `stop` can end it. */
function startDaemon(c: Cluster, command: string, args: string[]): Daemon {
  const child = spawn(command, ['-f', '-c', c.conf, ...args], { env: c.env, stdio: ['ignore', 'pipe', 'pipe'] });
  const daemon: Daemon = {
    name: `${command} ${args.join(' ')}`,
    child,
    output: '',
    exited: new Promise<void>((resolve) => {
      child.once('exit', () => resolve());
      child.once('error', (error) => {
        daemon.output += `\nspawn failed: ${error.message}`;
        resolve();
      });
    }),
  };
  const keep = (chunk: Buffer) => {
    daemon.output = (daemon.output + chunk.toString()).slice(-20_000);
  };
  child.stdout?.on('data', keep);
  child.stderr?.on('data', keep);
  return daemon;
}

async function stopDaemon(d: Daemon, graceMs = 5_000): Promise<void> {
  if (d.child.exitCode !== null || d.child.signalCode !== null || d.child.pid === undefined) return;
  d.child.kill('SIGTERM');
  const timer = setTimeout(() => d.child.kill('SIGKILL'), graceMs);
  await d.exited;
  clearTimeout(timer);
}

async function waitFor(
  what: string,
  deadline: number,
  daemons: readonly Daemon[],
  check: () => Promise<boolean>,
): Promise<void> {
  for (;;) {
    const dead = daemons.find((d) => d.child.exitCode !== null || d.child.signalCode !== null);
    if (dead)
      throw new Error(
        `${dead.name} exited (${dead.child.exitCode ?? dead.child.signalCode}) while waiting for ${what}`,
      );
    if (await check().catch(() => false)) return;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** The last lines of every log file and of every daemon's own output, for error messages. */
async function logTails(folder: string, daemons: readonly Daemon[], lines = 25): Promise<string> {
  const tail = (text: string) => text.trimEnd().split('\n').slice(-lines).join('\n');
  const parts: string[] = [];
  for (const d of daemons) if (d.output.trim()) parts.push(`--- ${d.name} (output) ---\n${tail(d.output)}`);
  const logs = join(folder, 'log');
  const files = await readdir(logs).catch(() => [] as string[]);
  for (const f of files) {
    const text = await readFile(join(logs, f), 'utf8').catch(() => '');
    parts.push(`--- ${f} ---\n${tail(text)}`);
  }
  return parts.join('\n');
}
