import {
  ConfigurationError,
  CorruptFileError,
  InvalidIdError,
  InvalidPayloadError,
  UnknownEventTypeError,
} from '../errors.js';
import type { ChangeEvent, ChangeEventClass } from './change-event.js';
import { eventBuilder, reservedNames } from './change-event.js';
import { findPayloadProblem, type PayloadRules } from './payload-check.js';
import { type EventUpcaster, eventVersion, UpcasterChain } from './upcasting.js';

const TYPE_NAME = /^[A-Za-z0-9][A-Za-z0-9._:-]{0,127}$/;

/**
 * The explicit list of event classes of one aggregate type, by stored name. Reading a
 * file only ever looks names up here: no code is evaluated, and an unknown name is a
 * typed {@link UnknownEventTypeError}.
 */
export class EventRegistry {
  /** Everything known of each event type, by stored name (one lookup per replayed event)… */
  readonly #byName = new Map<string, EventType>();
  /** …and by class (one lookup per saved event). */
  readonly #byClass = new Map<ChangeEventClass, EventType>();

  /**
   * @param aggregateType the aggregate type these events belong to (for messages).
   * @param classes its event classes.
   * @param upcasters upcasters of their older payload versions.
   * @throws {ConfigurationError} on a missing, invalid or duplicate `type` name, a bad
   * `version`, or an upcaster of an unregistered type or a duplicate step.
   */
  constructor(
    readonly aggregateType: string,
    classes: readonly ChangeEventClass[],
    upcasters: readonly EventUpcaster[] = [],
  ) {
    for (const cls of classes) {
      const name: unknown = cls?.type;
      if (typeof name !== 'string') {
        throw new ConfigurationError(`Event class ${cls?.name ?? String(cls)} has no static string "type" name`);
      }
      if (!TYPE_NAME.test(name)) {
        throw new InvalidIdError(
          'event type',
          name,
          'use 1-128 letters, digits and . _ : - (starting with a letter or digit)',
        );
      }
      const other = this.#byName.get(name)?.cls;
      if (other && other !== cls) {
        throw new ConfigurationError(
          `Event type name "${name}" is used by both ${other.name} and ${cls.name} in ${aggregateType}`,
        );
      }
      const version = eventVersion(cls);
      const type: EventType = {
        name,
        cls,
        version,
        build: eventBuilder(cls),
        rules: { object: true, reserved: reservedNames(cls.prototype as object) },
        chain: new UpcasterChain(`event "${name}" of ${aggregateType}`, version, []),
      };
      this.#byName.set(name, type);
      this.#byClass.set(cls, type);
    }
    for (const name of new Set(upcasters.map((u) => u.type))) {
      const type = this.#byName.get(name);
      if (type === undefined) {
        throw new ConfigurationError(`An upcaster names event type "${name}", not registered in ${aggregateType}`);
      }
      const steps = upcasters.filter((u) => u.type === name);
      type.chain = new UpcasterChain(`event "${name}" of ${aggregateType}`, type.version, steps);
    }
  }

  /** The schema version of an event's class (its static `version`, default 1). */
  versionOf(event: ChangeEvent): number {
    return this.#typeOf(event).version;
  }

  /** The registered names. */
  get names(): string[] {
    return [...this.#byName.keys()];
  }

  /**
   * The stored name of an event instance.
   * @throws {UnknownEventTypeError} if its class is not registered.
   */
  nameOf(event: ChangeEvent): string {
    return this.#typeOf(event).name;
  }

  /**
   * The payload to store for an event: its `toPayload()`, checked to read back as saved
   * (see `findPayloadProblem`; without a static `fromPayload`, an object none of whose
   * fields is named like a method or property of the class).
   * @param aggregateId the aggregate being saved (for messages).
   * @throws {InvalidPayloadError} naming the event type and the field when it cannot be stored faithfully.
   * @throws {UnknownEventTypeError} if the event's class is not registered.
   */
  payloadOf(event: ChangeEvent, aggregateId: string): unknown {
    const type = this.#typeOf(event);
    const payload = event.toPayload();
    const problem = findPayloadProblem(payload, type.cls.fromPayload ? ANY : type.rules);
    if (problem !== undefined) {
      throw new InvalidPayloadError(this.aggregateType, aggregateId, type.name, problem.field, problem.reason);
    }
    return payload;
  }

  #typeOf(event: ChangeEvent): EventType {
    const cls = event.constructor as ChangeEventClass;
    const type = this.#byClass.get(cls);
    if (type === undefined) throw new UnknownEventTypeError(this.aggregateType, cls.type ?? cls.name);
    return type;
  }

  /**
   * Rebuilds an event from its stored name and payload.
   * @param path the file it came from, named in errors.
   * @param version the payload's stored schema version (default 1): older ones are upcast.
   * @throws {UnknownEventTypeError} for a name not registered.
   * @throws {CorruptFileError} when the payload is not an object or has a field named like a
   * method or property of the class (and the class has no `fromPayload`).
   * @throws {UpcastError} when no upcaster chain leads from `version` to the class's version.
   */
  create(name: string, payload: unknown, path?: string, version = 1): ChangeEvent {
    const reader = this.#byName.get(name);
    if (reader === undefined) throw new UnknownEventTypeError(this.aggregateType, name, path);
    if (version !== reader.version) {
      if (typeof payload !== 'object' || payload === null || Array.isArray(payload)) {
        throw new CorruptFileError(path ?? '(no file)', `payload of event "${name}" is not an object`);
      }
      payload = reader.chain.upcast(payload as Record<string, unknown>, version, path);
    }
    if (reader.cls.fromPayload) return reader.cls.fromPayload(payload);
    if (typeof payload !== 'object' || payload === null || Array.isArray(payload)) {
      throw new CorruptFileError(path ?? '(no file)', `payload of event "${name}" is not an object`);
    }
    return reader.build(payload, path);
  }
}

/** The rules of a payload read back by the class's own `fromPayload`: plain data only. */
const ANY: PayloadRules = {};

/** One registered event type. */
interface EventType {
  readonly name: string;
  readonly cls: ChangeEventClass;
  readonly version: number;
  readonly build: (payload: object, path?: string) => ChangeEvent;
  /** What its payloads must be when the class has no `fromPayload`. */
  readonly rules: PayloadRules;
  /** Upcasters from its older payload versions (none: an older version is refused). */
  chain: UpcasterChain<Record<string, unknown>>;
}
