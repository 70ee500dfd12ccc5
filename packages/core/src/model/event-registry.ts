import { type EventUpcaster, eventVersion, UpcasterChain } from '../codec/upcasting.js';
import { ConfigurationError, CorruptFileError, InvalidIdError, UnknownEventTypeError } from '../errors.js';
import type { ChangeEvent, ChangeEventClass } from './change-event.js';
import { eventBuilder } from './change-event.js';

const TYPE_NAME = /^[A-Za-z0-9][A-Za-z0-9._:-]{0,127}$/;

/**
 * The explicit list of event classes of one aggregate type, by stored name. Reading a
 * file only ever looks names up here: no code is evaluated, and an unknown name is a
 * typed {@link UnknownEventTypeError}.
 */
export class EventRegistry {
  readonly #byName = new Map<string, ChangeEventClass>();
  readonly #byClass = new Map<ChangeEventClass, string>();
  readonly #versions = new Map<string, number>();
  readonly #chains = new Map<string, UpcasterChain<Record<string, unknown>>>();
  /** What {@link create} needs per name, found with one lookup (it runs once per replayed event). */
  readonly #readers = new Map<string, Reader>();

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
      const other = this.#byName.get(name);
      if (other && other !== cls) {
        throw new ConfigurationError(
          `Event type name "${name}" is used by both ${other.name} and ${cls.name} in ${aggregateType}`,
        );
      }
      this.#byName.set(name, cls);
      this.#byClass.set(cls, name);
      this.#versions.set(name, eventVersion(cls));
      this.#readers.set(name, { cls, version: eventVersion(cls), build: eventBuilder(cls) });
    }
    for (const name of new Set(upcasters.map((u) => u.type))) {
      const current = this.#versions.get(name);
      if (current === undefined) {
        throw new ConfigurationError(`An upcaster names event type "${name}", not registered in ${aggregateType}`);
      }
      const steps = upcasters.filter((u) => u.type === name);
      this.#chains.set(name, new UpcasterChain(`event "${name}" of ${aggregateType}`, current, steps));
    }
  }

  /** The schema version of an event's class (its static `version`, default 1). */
  versionOf(event: ChangeEvent): number {
    return this.#versions.get(this.nameOf(event)) ?? 1;
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
    const cls = event.constructor as ChangeEventClass;
    const name = this.#byClass.get(cls);
    if (name === undefined) throw new UnknownEventTypeError(this.aggregateType, cls.type ?? cls.name);
    return name;
  }

  /**
   * Rebuilds an event from its stored name and payload.
   * @param path the file it came from, named in errors.
   * @param version the payload's stored schema version (default 1): older ones are upcast.
   * @throws {UnknownEventTypeError} for a name not registered.
   * @throws {CorruptFileError} when the payload is not an object (and the class has no `fromPayload`).
   * @throws {UpcastError} when no upcaster chain leads from `version` to the class's version.
   */
  create(name: string, payload: unknown, path?: string, version = 1): ChangeEvent {
    const reader = this.#readers.get(name);
    if (reader === undefined) throw new UnknownEventTypeError(this.aggregateType, name, path);
    if (version !== reader.version) {
      const chain =
        this.#chains.get(name) ?? new UpcasterChain<Record<string, unknown>>(`event "${name}"`, reader.version, []);
      if (typeof payload !== 'object' || payload === null || Array.isArray(payload)) {
        throw new CorruptFileError(path ?? '(no file)', `payload of event "${name}" is not an object`);
      }
      payload = chain.upcast(payload as Record<string, unknown>, version, path);
    }
    if (reader.cls.fromPayload) return reader.cls.fromPayload(payload);
    if (typeof payload !== 'object' || payload === null || Array.isArray(payload)) {
      throw new CorruptFileError(path ?? '(no file)', `payload of event "${name}" is not an object`);
    }
    return reader.build(payload);
  }
}

interface Reader {
  readonly cls: ChangeEventClass;
  readonly version: number;
  readonly build: (payload: object) => ChangeEvent;
}
