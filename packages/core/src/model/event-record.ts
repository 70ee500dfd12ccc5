import type { ChangeEvent } from './change-event.js';

/** Correlation and causation ids, plus any other string values you want stored with an event. */
export interface EventMetadata {
  /** Id shared by everything caused by one request or message. */
  correlationId?: string;
  /** Id of the command or event that caused this event. */
  causationId?: string;
  /** Anything else; values must be strings. */
  [key: string]: string | undefined;
}

/** One stored event of one aggregate, as the repository hands it to observers and readers. */
export interface EventRecord<E extends ChangeEvent = ChangeEvent> {
  /** The aggregate's registered type name. */
  readonly aggregateType: string;
  /** The aggregate's id. */
  readonly aggregateId: string;
  /** 1-based, gap-free position of the event in its aggregate's stream. */
  readonly version: number;
  /** When the event was stored, in milliseconds since the epoch; never decreases along a stream. */
  readonly timestamp: number;
  /** The event's registered type name. */
  readonly type: string;
  /** The event itself; its stored payload is `event.toPayload()`. */
  readonly event: E;
  /** Optional unique id of the event. */
  readonly eventId?: string;
  /** Optional correlation/causation ids and other strings. */
  readonly metadata?: EventMetadata;
}

/**
 * An event as a parser stores it inside a batch file: plain data only. Its aggregate and
 * version are given by the batch that holds it.
 */
export interface StoredEvent {
  /** The event's registered type name. */
  type: string;
  /** Milliseconds since the epoch. */
  timestamp: number;
  /** Plain data: what `ChangeEvent.toPayload()` returned. */
  payload: unknown;
  /** The payload's schema version: the event class's static `version` when written (absent: 1). */
  version?: number;
  /** Optional unique id of the event. */
  eventId?: string;
  /** Optional correlation/causation ids and other strings. */
  metadata?: EventMetadata;
}
