import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort, type RunningProcess, startProcess } from '@evsrc/test-servers';
import { Redis } from 'ioredis';
import { sleep } from './helpers.js';

/** A private Redis Cluster of a few masters on loopback ports. */
export interface TestCluster {
  readonly nodes: ReadonlyArray<{ host: string; port: number }>;
  stop(): Promise<void>;
}

const SLOTS = 16_384;

/** Ports nobody listens on, all distinct (each node needs a client port and a cluster bus port). */
async function distinctPorts(count: number): Promise<number[]> {
  const ports = new Set<number>();
  while (ports.size < count) ports.add(await freePort());
  return [...ports];
}

/**
 * Starts `masters` memory-only redis-server nodes in cluster mode, gives each an equal share
 * of the 16384 hash slots, introduces them to each other and waits until every node reports
 * the cluster healthy.
 */
export async function startCluster(masters = 3): Promise<TestCluster> {
  const dir = await mkdtemp(join(tmpdir(), 'evsrc-redis-cluster-'));
  const ports = await distinctPorts(masters * 2);
  const processes: RunningProcess[] = [];
  const admins: Redis[] = [];
  const stop = async () => {
    for (const admin of admins) admin.disconnect();
    await Promise.all(processes.map((p) => p.stop()));
    await rm(dir, { recursive: true, force: true });
  };
  try {
    for (let i = 0; i < masters; i++) {
      const [port, bus] = [ports[2 * i] as number, ports[2 * i + 1] as number];
      const args = [
        '--bind',
        '127.0.0.1',
        '--port',
        String(port),
        '--daemonize',
        'no',
        '--save',
        '',
        '--appendonly',
        'no',
      ];
      args.push(
        '--cluster-enabled',
        'yes',
        '--cluster-port',
        String(bus),
        '--cluster-config-file',
        `nodes-${port}.conf`,
      );
      args.push('--dir', dir);
      processes.push((await startProcess('redis-server', args, { ready: /Ready to accept connections/ })).process);
      const admin = new Redis({ host: '127.0.0.1', port });
      admins.push(admin);
      const first = Math.floor((SLOTS * i) / masters);
      const last = Math.floor((SLOTS * (i + 1)) / masters) - 1;
      await admin.call('CLUSTER', 'ADDSLOTSRANGE', first, last);
    }
    for (let i = 1; i < masters; i++) {
      await admins[0]?.call('CLUSTER', 'MEET', '127.0.0.1', ports[2 * i] as number, ports[2 * i + 1] as number);
    }
    await waitUntilHealthy(admins, masters);
    return { nodes: ports.filter((_, i) => i % 2 === 0).map((port) => ({ host: '127.0.0.1', port })), stop };
  } catch (error) {
    await stop();
    throw error;
  }
}

async function waitUntilHealthy(admins: Redis[], masters: number): Promise<void> {
  for (let attempt = 0; attempt < 400; attempt++) {
    const infos = await Promise.all(admins.map((a) => a.call('CLUSTER', 'INFO') as Promise<string>));
    if (infos.every((info) => info.includes('cluster_state:ok') && info.includes(`cluster_known_nodes:${masters}`))) {
      return;
    }
    await sleep(50);
  }
  throw new Error('the test cluster did not become healthy');
}
