import { ErrorCode, isEvsrcError } from '@evsrc/core';
import { DEFAULT_STORE, parseStoreUrl, redactUrl } from '@evsrc/store';
import { describe, expect, it } from 'vitest';

const errorOf = (f: () => unknown) => {
  try {
    f();
  } catch (e) {
    return e as Error;
  }
  throw new Error('expected an error');
};

describe('parseStoreUrl', () => {
  it.each([
    ['memory:', 'memory', 'memory:'],
    ['file:///var/lib/app', 'file', 'file:///var/lib/app'],
    ['/var/lib/app', 'file', 'file:///var/lib/app'],
    ['./data', 'file', 'file:///work/app/data'],
    ['data/events', 'file', 'file:///work/app/data/events'],
    ['s3://my-bucket/events?region=eu-west-1&endpoint=http://127.0.0.1:9000&pathStyle=true', 's3', ''],
    ['azure://events/app?account=https://acct.blob.core.windows.net', 'azure', ''],
    ['redis://127.0.0.1:6379/2?prefix=app', 'redis', ''],
    ['rediss://user:pw@cache.example:6380?prefix=app', 'redis', ''],
  ])('%s is a %s store', (input, backend, href) => {
    const parsed = parseStoreUrl(input, { cwd: '/work/app', env: {} });
    expect(parsed.backend).toBe(backend);
    expect(parsed.format).toBe('json');
    if (href) expect(parsed.url.href).toBe(href);
  });

  it('reads ?format= and keeps it out of the adapter’s URL', () => {
    const parsed = parseStoreUrl('s3://b/p?format=msgpack&region=x', { env: {} });
    expect(parsed.format).toBe('msgpack');
    expect(parsed.url.href).toBe('s3://b/p?region=x');
  });

  it('falls back to EVSRC_STORE, then to the local default', () => {
    expect(parseStoreUrl(undefined, { env: { EVSRC_STORE: 'memory:' } }).backend).toBe('memory');
    const fallback = parseStoreUrl(undefined, { env: {}, cwd: '/srv' });
    expect(fallback.url.href).toBe(`file:///srv/${DEFAULT_STORE.slice(2)}`);
  });

  it('refuses bad URLs with a clear, typed error', () => {
    for (const [input, message] of [
      ['ftp://host/x', /Unknown store URL scheme "ftp:"/],
      ['memory:?format=xml', /Unknown format "xml"/],
      ['   ', /empty/],
      ['redis://[::1', /cannot be parsed/],
    ] as const) {
      const err = errorOf(() => parseStoreUrl(input, { env: {} }));
      expect(isEvsrcError(err, ErrorCode.Configuration), input).toBe(true);
      expect(err.message).toMatch(message);
    }
  });

  it('never echoes a secret, in errors or in the display form', () => {
    const secret = 'S3cr3t-p4ss';
    const urls = [
      `redis://user:${secret}@host:6379?format=bad`,
      `azure://c/p?sig=${secret}&format=bad`,
      `s3://b/p?secretAccessKey=${secret}&format=bad`,
      `bogus://u:${secret}@x`,
      `redis://u:${secret}@[::1`,
    ];
    for (const u of urls) {
      const err = errorOf(() => parseStoreUrl(u, { env: {} }));
      expect(err.message).not.toContain(secret);
    }
    expect(parseStoreUrl(`rediss://user:${secret}@h:1?prefix=a`, { env: {} }).display).toBe(
      'rediss://***:***@h:1?prefix=a',
    );
    expect(redactUrl(`azure://c/p?sv=1&sig=${secret}`)).toBe('azure://c/p?sv=1&sig=***');
    expect(redactUrl(`not a url ${secret}`)).toBe('(not shown)');
  });
});
