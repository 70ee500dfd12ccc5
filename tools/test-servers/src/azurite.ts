import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { missing, startProcess } from './process.js';

/** Azurite's well-known development account (public, from Microsoft's Azurite documentation). */
export const AZURITE_ACCOUNT = 'devstoreaccount1';
const AZURITE_KEY = 'Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==';

/** A private Azurite blob server for tests, or why there is none. */
export type AzuriteServer = { readonly connectionString: string; stop(): Promise<void> } | { readonly skip: string };

function azuriteBin(): string | undefined {
  try {
    const pkg = createRequire(import.meta.url).resolve('azurite/package.json');
    const bin = join(dirname(pkg), 'dist', 'src', 'blob', 'main.js');
    return existsSync(bin) ? bin : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Starts Azurite's blob service in memory on a free loopback port (Azurite binds port 0
 * itself and prints it). Without Azurite installed: skips with a hint, or throws under CI.
 */
export async function startAzurite(): Promise<AzuriteServer> {
  const bin = azuriteBin();
  if (!bin) return { skip: missing('Azurite', 'pnpm install (it is a dependency of the private @evsrc/test-servers)') };
  const { process, match } = await startProcess(
    globalThis.process.execPath,
    [
      bin,
      '--inMemoryPersistence',
      '--blobHost',
      '127.0.0.1',
      '--blobPort',
      '0',
      '--skipApiVersionCheck',
      '--disableTelemetry',
      '--silent',
    ],
    { ready: /successfully listens on http:\/\/127\.0\.0\.1:(\d+)/ },
  );
  const endpoint = `http://127.0.0.1:${match[1]}/${AZURITE_ACCOUNT}`;
  return {
    connectionString: `DefaultEndpointsProtocol=http;AccountName=${AZURITE_ACCOUNT};AccountKey=${AZURITE_KEY};BlobEndpoint=${endpoint};`,
    stop: () => process.stop(),
  };
}
