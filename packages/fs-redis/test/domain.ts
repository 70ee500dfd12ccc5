import { Aggregate, aggregateType, ChangeEvent } from '@evsrc/core';

/** A log of notes: each save appends notes, so a stream shows exactly which saves landed. */
export class Notebook extends Aggregate {
  static readonly type = 'notebook';
  notes: string[] = [];

  write(note: string): void {
    this.raise(new Noted(note));
  }
}

/** One note was written. */
export class Noted extends ChangeEvent<Notebook> {
  static readonly type = 'noted';
  constructor(readonly note: string) {
    super();
  }
  applyOn(book: Notebook): void {
    book.notes.push(this.note);
  }
}

/** The registration of {@link Notebook}, with a snapshot every `every` events if given. */
export const notebookType = (every?: number) =>
  aggregateType(Notebook, { events: [Noted], ...(every ? { snapshots: { every } } : {}) });
