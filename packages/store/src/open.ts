import {
  ConfigurationError,
  type FileSystem,
  InMemoryFileSystem,
  isEvsrcError,
  Repository,
  type RepositoryOptions,
} from '@evsrc/core';
import { isSecretParam } from './redact.js';
import { type BackendName, type ParseOptions, parseStoreUrl, type StoreUrl } from './store-url.js';

/** The adapter package that serves each backend. */
export const ADAPTER_PACKAGES: Readonly<Record<Exclude<BackendName, 'memory'>, string>> = {
  file: '@evsrc/fs-local',
  s3: '@evsrc/fs-s3',
  azure: '@evsrc/fs-azure',
  redis: '@evsrc/fs-redis',
};

/** What an adapter package exports for opening by URL. */
export interface AdapterModule {
  fromUrl(url: URL, options: { env?: NodeJS.ProcessEnv }): FileSystem | Promise<FileSystem>;
}

/**
 * Imports an adapter package by name.
 * @throws {ConfigurationError} naming the package to install when it is missing.
 */
export async function loadAdapter(packageName: string, forStore = 'this store'): Promise<AdapterModule> {
  let module: Partial<AdapterModule>;
  try {
    module = (await import(packageName)) as Partial<AdapterModule>;
  } catch (error) {
    const code = (error as { code?: string })?.code;
    if ((code === 'ERR_MODULE_NOT_FOUND' || code === 'MODULE_NOT_FOUND') && String(error).includes(packageName)) {
      throw new ConfigurationError(`${forStore} needs the package ${packageName}: npm install ${packageName}`);
    }
    throw error;
  }
  if (typeof module.fromUrl !== 'function') {
    throw new ConfigurationError(
      `${packageName} does not export fromUrl(); is it an evsrc adapter of a matching version?`,
    );
  }
  return module as AdapterModule;
}

/**
 * Opens the `FileSystem` a store URL names (or `EVSRC_STORE`, or the default local folder),
 * importing its adapter package only now, so an application installs only the one it uses.
 *
 * @throws {ConfigurationError} for a bad URL or a missing adapter package; messages never hold secrets.
 */
export async function openFileSystem(store?: string | URL | StoreUrl, options: ParseOptions = {}): Promise<FileSystem> {
  const parsed = isStoreUrl(store) ? store : parseStoreUrl(store, options);
  if (parsed.backend === 'memory') return new InMemoryFileSystem();
  const adapter = await loadAdapter(ADAPTER_PACKAGES[parsed.backend], `The store ${parsed.display}`);
  try {
    return await adapter.fromUrl(new URL(parsed.url), { env: options.env ?? process.env });
  } catch (error) {
    if (isEvsrcError(error)) throw error;
    const message = scrub((error as Error)?.message ?? String(error), parsed.url, options.env ?? process.env);
    throw new ConfigurationError(`Cannot open the store ${parsed.display}: ${message}`);
  }
}

/** Options of {@link openRepository}: the repository's, with the store as a URL. */
export interface OpenRepositoryOptions extends Omit<RepositoryOptions, 'fileSystem' | 'format'>, ParseOptions {
  /**
   * The store URL (default: `EVSRC_STORE`, else the local folder `./.evsrc-data`). Its
   * `?format=` picks the format and `?compression=` the compression of new files
   * (encryption keys are secrets: pass them in `codec`, never in a URL).
   */
  readonly store?: string | URL;
}

/**
 * Opens a {@link Repository} on the store a URL names. Application code stays the same
 * whichever backend the URL (or `EVSRC_STORE`) points at.
 *
 * @example
 * ```ts
 * const repository = await openRepository({ aggregates: [bankAccounts] }); // reads EVSRC_STORE
 * ```
 */
export async function openRepository(options: OpenRepositoryOptions): Promise<Repository> {
  const { store, env, cwd, ...repositoryOptions } = options;
  const parsed = parseStoreUrl(store, { ...(env ? { env } : {}), ...(cwd ? { cwd } : {}) });
  const fileSystem = await openFileSystem(parsed, { ...(env ? { env } : {}) });
  const codec = parsed.compression
    ? { ...repositoryOptions.codec, compression: parsed.compression }
    : repositoryOptions.codec;
  return new Repository({ ...repositoryOptions, ...(codec ? { codec } : {}), fileSystem, format: parsed.format });
}

function isStoreUrl(value: unknown): value is StoreUrl {
  return typeof value === 'object' && value !== null && 'backend' in value && 'display' in value;
}

/** Removes every secret the URL or the environment could have put into a third-party message. */
function scrub(message: string, url: URL, env: NodeJS.ProcessEnv): string {
  const secrets = [url.password, decodeURIComponent(url.password)];
  for (const [name, value] of url.searchParams) if (isSecretParam(name)) secrets.push(value);
  for (const [name, value] of Object.entries(env)) {
    if (value && /CONNECTION_STRING|SECRET|PASSWORD|TOKEN|KEY/i.test(name)) secrets.push(value);
  }
  let out = message;
  for (const s of secrets) if (s && s.length >= 4) out = out.split(s).join('***');
  return out;
}
