import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { controlProcess, missing, type ServerControl, startProcess } from './process.js';

/** Azurite's well-known development account (public, from Microsoft's Azurite documentation). */
export const AZURITE_ACCOUNT = 'devstoreaccount1';
const AZURITE_KEY = 'Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==';

/** A private Azurite blob server for tests, or why there is none. */
export type AzuriteServer =
  | {
      readonly connectionString: string;
      stop(): Promise<void>;
      /**
       * Stop, restart (same port) or freeze the server, for fault tests. Data survives a
       * restart only with {@link StartAzuriteOptions.location}, and only a clean stop
       * (`SIGTERM`): Azurite saves its metadata every 5 s and on shutdown.
       */
      readonly control: ServerControl;
    }
  | { readonly skip: string };

/** Options of {@link startAzurite}. */
export interface StartAzuriteOptions {
  /** Keep the data in this folder (`--location`) instead of in memory (the default). */
  readonly location?: string;
}

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
 * Starts Azurite's blob service (in memory, or on disk in `location`) on a free loopback
 * port (Azurite binds port 0 itself and prints it; a restart reuses that port). Without
 * Azurite installed: skips with a hint, or throws under CI.
 */
export async function startAzurite(options: StartAzuriteOptions = {}): Promise<AzuriteServer> {
  const bin = azuriteBin();
  if (!bin) return { skip: missing('Azurite', 'pnpm install (it is a dependency of the private @evsrc/test-servers)') };
  const persistence = options.location === undefined ? ['--inMemoryPersistence'] : ['--location', options.location];
  const start = (port: string) =>
    startProcess(
      globalThis.process.execPath,
      [
        bin,
        ...persistence,
        '--blobHost',
        '127.0.0.1',
        '--blobPort',
        port,
        '--skipApiVersionCheck',
        '--disableTelemetry',
        '--silent',
      ],
      { ready: /successfully listens on http:\/\/127\.0\.0\.1:(\d+)/ },
    );
  const { process, match } = await start('0');
  const port = match[1] as string;
  const { control, stop } = controlProcess(process, async () => (await start(port)).process);
  const endpoint = `http://127.0.0.1:${port}/${AZURITE_ACCOUNT}`;
  return {
    connectionString: `DefaultEndpointsProtocol=http;AccountName=${AZURITE_ACCOUNT};AccountKey=${AZURITE_KEY};BlobEndpoint=${endpoint};`,
    stop,
    control,
  };
}
