import { openRepository } from '@evsrc/store';
import { carts } from './modelling.js';

// EVSRC_STORE decides where the events live: ./.evsrc-data (the default), memory:,
// s3://bucket/prefix, azure://container/prefix, redis://host:6379?prefix=app …
const repository = await openRepository({ aggregates: [carts], store: process.env.EVSRC_STORE ?? 'memory:' });
console.log(repository.fileSystem.constructor.name);
