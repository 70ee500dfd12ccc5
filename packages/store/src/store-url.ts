import { isAbsolute, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { ConfigurationError } from '@evsrc/core';
import { redactUrl } from './redact.js';

/** The environment variable read when no store URL is given. */
export const STORE_ENV = 'EVSRC_STORE';

/** The store used when neither a URL nor `EVSRC_STORE` is given: a folder under the working directory. */
export const DEFAULT_STORE = './.evsrc-data';

/** The backends a URL can name, by scheme. */
export type BackendName = 'memory' | 'file' | 's3' | 'azure' | 'redis';

/** The compressions `?compression=` can name (`zstd` needs a Node that has it). */
export type CompressionName = 'deflate' | 'brotli' | 'zstd';

const COMPRESSIONS: readonly string[] = ['deflate', 'brotli', 'zstd'];

/** The formats `?format=` can name. */
export type FormatName = 'json' | 'msgpack';

/** A parsed store URL. */
export interface StoreUrl {
  readonly backend: BackendName;
  /** The URL without the parameters that `@evsrc/store` itself takes (`format`, `compression`). */
  readonly url: URL;
  /** The format new files are written in (`?format=`, default `json`). */
  readonly format: FormatName;
  /** The compression new files are written with (`?compression=deflate|brotli|zstd`; absent: none). */
  readonly compression?: CompressionName;
  /** The URL with secrets replaced by `***`, for messages. */
  readonly display: string;
}

const SCHEMES: Record<string, BackendName> = {
  'memory:': 'memory',
  'file:': 'file',
  's3:': 's3',
  'azure:': 'azure',
  'redis:': 'redis',
  'rediss:': 'redis',
};

/** Options of {@link parseStoreUrl}. */
export interface ParseOptions {
  /** Where `EVSRC_STORE` is read from (default `process.env`). */
  readonly env?: NodeJS.ProcessEnv;
  /** What relative paths are relative to (default `process.cwd()`). */
  readonly cwd?: string;
}

/**
 * Parses a store URL: `memory:`, `file:///abs/path` or a plain path, `s3://bucket/prefix`,
 * `azure://container/prefix`, `redis://…` / `rediss://…`, each optionally with
 * `?format=json|msgpack` and `?compression=deflate|brotli|zstd`. Without `input`, reads `EVSRC_STORE`, else uses {@link DEFAULT_STORE}.
 *
 * @throws {ConfigurationError} naming what is wrong, never echoing a secret.
 */
export function parseStoreUrl(input?: string | URL, options: ParseOptions = {}): StoreUrl {
  const env = options.env ?? process.env;
  const raw = String(input ?? (env[STORE_ENV] || DEFAULT_STORE)).trim();
  if (raw === '') throw new ConfigurationError('The store URL is empty');
  const url = toUrl(raw, options.cwd ?? process.cwd());
  const backend = SCHEMES[url.protocol];
  if (!backend) {
    throw new ConfigurationError(
      `Unknown store URL scheme "${url.protocol}" in ${redactUrl(url)}: use memory:, file:, s3:, azure:, redis: or rediss:`,
    );
  }
  const format = url.searchParams.get('format') ?? 'json';
  if (format !== 'json' && format !== 'msgpack') {
    throw new ConfigurationError(`Unknown format "${format}" in ${redactUrl(url)}: use format=json or format=msgpack`);
  }
  url.searchParams.delete('format');
  const compression = url.searchParams.get('compression') ?? undefined;
  if (compression !== undefined && !COMPRESSIONS.includes(compression)) {
    throw new ConfigurationError(
      `Unknown compression "${compression}" in ${redactUrl(url)}: use compression=deflate, brotli or zstd`,
    );
  }
  url.searchParams.delete('compression');
  return {
    backend,
    url,
    format,
    ...(compression ? { compression: compression as CompressionName } : {}),
    display: redactUrl(url),
  };
}

/** A URL from a URL string or a local path (absolute, or relative to `cwd`). */
function toUrl(raw: string, cwd: string): URL {
  const looksLikeUrl = /^[a-z][a-z0-9+.-]*:/i.test(raw) && !/^[a-z]:[\\/]/i.test(raw);
  if (!looksLikeUrl) {
    // A plain path may carry parameters too (`./data?format=msgpack`); a literal "?" needs a file: URL (%3F).
    const q = raw.indexOf('?');
    const path = q < 0 ? raw : raw.slice(0, q);
    const url = pathToFileURL(isAbsolute(path) ? path : resolve(cwd, path));
    if (q >= 0) url.search = raw.slice(q);
    return url;
  }
  try {
    return new URL(raw);
  } catch {
    throw new ConfigurationError(`The store URL ${redactUrl(raw)} cannot be parsed`);
  }
}
