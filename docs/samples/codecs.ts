import { randomBytes } from 'node:crypto';
import { Aggregate, aggregateType, ChangeEvent, InMemoryFileSystem, Repository, readFile } from '@evsrc/core';

class Patient extends Aggregate {
  static readonly type = 'patient';
  name = '';
  register(name: string) {
    this.raise(new Registered(name));
  }
}
class Registered extends ChangeEvent<Patient> {
  static readonly type = 'registered';
  constructor(readonly name: string) {
    super();
  }
  applyOn(p: Patient) {
    p.name = this.name;
  }
}
const patients = aggregateType(Patient, { events: [Registered] });

// Master keys by id: 32 bytes each, from your secret store or KMS (random here).
const keys: Record<string, Uint8Array> = { '2025-01': new Uint8Array(randomBytes(32)) };
const fileSystem = new InMemoryFileSystem();
const repository = new Repository({
  fileSystem,
  aggregates: [patients],
  codec: { compression: 'deflate', encryption: { keys, currentKey: '2025-01' } },
});

const p = new Patient('p-1');
p.register('Ada Lovelace');
await repository.save(p);

// The header says how to read the body; the body is ciphertext.
const bytes = (await fileSystem.read('patient/p-1/events/000000000001.batch')) as Uint8Array;
const { header } = readFile('batch', bytes, 'batch');
console.log(header.evsrc, header.codec, header.key); // 2 [ 'deflate', 'aes-256-gcm' ] 2025-01
console.log(Buffer.from(bytes).includes('Ada')); // false

// Rotation: a new current key; keep the old one for the files it wrote.
keys['2026-01'] = new Uint8Array(randomBytes(32));
const rotated = new Repository({
  fileSystem,
  aggregates: [patients],
  codec: { compression: 'deflate', encryption: { keys, currentKey: '2026-01' } },
});
console.log((await rotated.get(Patient, 'p-1')).name); // Ada Lovelace
