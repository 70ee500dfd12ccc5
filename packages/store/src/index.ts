/**
 * `@evsrc/store`: open an evsrc store from a URL — `memory:`, a local path or `file:` URL,
 * `s3://`, `azure://`, `redis://`/`rediss://` — or from the `EVSRC_STORE` environment
 * variable, so that changing storage is configuration, not code.
 *
 * @packageDocumentation
 */
export {
  ADAPTER_PACKAGES,
  type AdapterModule,
  loadAdapter,
  type OpenRepositoryOptions,
  openFileSystem,
  openRepository,
} from './open.js';
export { isSecretParam, redactUrl } from './redact.js';
export {
  type BackendName,
  type CompressionName,
  DEFAULT_STORE,
  type FormatName,
  type ParseOptions,
  parseStoreUrl,
  STORE_ENV,
  type StoreUrl,
} from './store-url.js';
