import { ConfigurationError } from '../errors.js';

/** The kinds of value a store URL's query parameter may hold. */
export type UrlParamKind = 'string' | 'boolean' | 'integer';

type ValueOf<K extends UrlParamKind> = K extends 'boolean' ? boolean : K extends 'integer' ? number : string;

/** The typed values of the parameters that were present. */
export type UrlParams<S extends Record<string, UrlParamKind>> = { [P in keyof S]?: ValueOf<S[P]> };

/**
 * Reads a store URL's query parameters against a schema, for adapters' `fromUrl`.
 * Booleans are `true`/`false`/`1`/`0`, integers are positive. Values are never echoed
 * in errors (they may be secrets).
 *
 * @throws {ConfigurationError} for an unknown parameter (a typo would otherwise be ignored) or a bad value.
 */
export function readUrlParams<S extends Record<string, UrlParamKind>>(url: URL, schema: S): UrlParams<S> {
  const out: Record<string, unknown> = {};
  for (const [name, value] of url.searchParams) {
    const kind = schema[name];
    if (kind === undefined) {
      const known = Object.keys(schema);
      throw new ConfigurationError(
        `Unknown parameter "${name}" in a ${url.protocol} store URL${known.length ? ` (known: ${known.join(', ')})` : ''}`,
      );
    }
    out[name] = parse(name, value, kind);
  }
  return out as UrlParams<S>;
}

function parse(name: string, value: string, kind: UrlParamKind): unknown {
  if (kind === 'string') return value;
  if (kind === 'boolean') {
    if (value === 'true' || value === '1') return true;
    if (value === 'false' || value === '0') return false;
    throw new ConfigurationError(`Parameter "${name}" must be true or false`);
  }
  const n = Number(value);
  if (!Number.isSafeInteger(n) || n < 1) throw new ConfigurationError(`Parameter "${name}" must be a positive integer`);
  return n;
}
