import { randomBytes } from 'node:crypto';
import {
  Aggregate,
  aggregateType,
  ChangeEvent,
  ErrorCode,
  InMemoryFileSystem,
  isEvsrcError,
  Repository,
} from '@evsrc/core';

class Customer extends Aggregate {
  static readonly type = 'customer';
  email = '';
  setEmail(email: string) {
    this.raise(new EmailSet(email));
  }
}
class EmailSet extends ChangeEvent<Customer> {
  static readonly type = 'email-set';
  constructor(readonly email: string) {
    super();
  }
  applyOn(c: Customer) {
    c.email = this.email;
  }
}

const repository = new Repository({
  fileSystem: new InMemoryFileSystem(),
  aggregates: [aggregateType(Customer, { events: [EmailSet] })],
  codec: {
    compression: 'deflate',
    // One data key per aggregate, stored in {type}/{id}/data.key wrapped by the master key.
    encryption: { keys: { k1: new Uint8Array(randomBytes(32)) }, currentKey: 'k1', perAggregateKeys: true },
  },
});

const c = new Customer('c-42');
c.setEmail('ada@example.com');
await repository.save(c);

// An erasure request: destroy the data key. The events stay, as unreadable ciphertext.
await repository.forget(Customer, 'c-42');
const error = await repository.get(Customer, 'c-42').catch((e: unknown) => e);
console.log(isEvsrcError(error, ErrorCode.Forgotten)); // true
