import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Aggregate, aggregateType, ChangeEvent, ErrorCode, InMemoryFileSystem, isEvsrcError } from '@evsrc/core';
import { LocalFileSystem } from '@evsrc/fs-local';
import { loadAdapter, openFileSystem, openRepository } from '@evsrc/store';
import { afterEach, describe, expect, it } from 'vitest';

class Note extends Aggregate {
  static readonly type = 'note';
  text = '';
  write(text: string) {
    this.raise(new Written(text));
  }
}
class Written extends ChangeEvent<Note> {
  static readonly type = 'written';
  constructor(readonly text: string) {
    super();
  }
  applyOn(n: Note) {
    n.text = this.text;
  }
}
const notes = aggregateType(Note, { events: [Written] });

const dirs: string[] = [];
afterEach(async () => {
  for (const d of dirs.splice(0)) await rm(d, { recursive: true, force: true });
});

describe('openFileSystem / openRepository', () => {
  it('opens memory and local stores', async () => {
    expect(await openFileSystem('memory:')).toBeInstanceOf(InMemoryFileSystem);
    const dir = await mkdtemp(join(tmpdir(), 'evsrc-store-'));
    dirs.push(dir);
    const local = await openFileSystem(`${dir}/events?durable=false`);
    expect(local).toBeInstanceOf(LocalFileSystem);
    expect((local as LocalFileSystem).root).toBe(join(dir, 'events'));
    expect((local as LocalFileSystem).durable).toBe(false);
  });

  it('takes the store from EVSRC_STORE, and the format from the URL', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'evsrc-store-'));
    dirs.push(dir);
    const repository = await openRepository({
      aggregates: [notes],
      env: { EVSRC_STORE: `file://${dir}?format=msgpack` },
    });
    const n = new Note('n1');
    n.write('hello');
    await repository.save(n);
    const bytes = await repository.fileSystem.read('note/n1/events/000000000001.batch');
    expect(new TextDecoder().decode(bytes).split('\n')[0]).toContain('"parser":"msgpack"');
    const again = await openRepository({ aggregates: [notes], store: dir });
    expect((await again.get(Note, 'n1')).text).toBe('hello');
  });

  it('takes the compression of new files from the URL', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'evsrc-store-'));
    dirs.push(dir);
    const repository = await openRepository({
      aggregates: [notes],
      store: `${dir}?compression=deflate&format=msgpack`,
    });
    const n = new Note('z1');
    n.write('squeezed');
    await repository.save(n);
    const bytes = await repository.fileSystem.read('note/z1/events/000000000001.batch');
    expect(new TextDecoder().decode(bytes).split('\n')[0]).toContain('"codec":["deflate"]');
    const plain = await openRepository({ aggregates: [notes], store: dir });
    expect((await plain.get(Note, 'z1')).text).toBe('squeezed');
    await expect(openRepository({ aggregates: [notes], store: `${dir}?compression=lzma` })).rejects.toThrow(
      /Unknown compression "lzma"/,
    );
  });

  it('names the package to install when an adapter is missing', async () => {
    const err = await loadAdapter('@evsrc/fs-nowhere', 'The store x://y').catch((e: unknown) => e);
    expect(isEvsrcError(err, ErrorCode.Configuration)).toBe(true);
    expect(String(err)).toContain('npm install @evsrc/fs-nowhere');
  });

  it('refuses unknown parameters and says what is missing, without secrets', async () => {
    await expect(openFileSystem('/tmp/x?durabel=false')).rejects.toThrow(/Unknown parameter "durabel"/);
    const err = await openFileSystem('azure://container/prefix', { env: {} }).catch((e: unknown) => e);
    expect(String(err)).toMatch(/AZURE_STORAGE_CONNECTION_STRING/);
    const secret = 'AccountKey=c2VjcmV0LWtleQ==';
    const bad = await openFileSystem('azure://Bad_Container/p', {
      env: { AZURE_STORAGE_CONNECTION_STRING: `DefaultEndpointsProtocol=http;AccountName=a;${secret}` },
    }).catch((e: unknown) => e);
    expect(String(bad)).not.toContain('c2VjcmV0LWtleQ==');
  });
});
