import { fileURLToPath } from 'node:url';
import { ConfigurationError } from '@evsrc/core';
import { readUrlParams } from '@evsrc/core/adapter';
import { LocalFileSystem } from './local-file-system.js';

/**
 * Opens a local store from a `file:` URL: `file:///var/lib/app/events?durable=false`.
 * Parameters: `durable` (default true).
 * @throws {ConfigurationError} for another scheme, a remote host or an unknown parameter.
 */
export function fromUrl(url: URL): LocalFileSystem {
  if (url.protocol !== 'file:') throw new ConfigurationError(`@evsrc/fs-local opens file: URLs, not ${url.protocol}`);
  if (url.host !== '' && url.host !== 'localhost') {
    throw new ConfigurationError(`A file: store URL must name a local folder, not host "${url.host}"`);
  }
  const params = readUrlParams(url, { durable: 'boolean' });
  const bare = new URL(url);
  bare.search = '';
  return new LocalFileSystem({
    root: fileURLToPath(bare),
    ...(params.durable === undefined ? {} : { durable: params.durable }),
  });
}
