import { ConfigurationError, UnknownAggregateTypeError } from '../errors.js';
import { encodeSegment } from '../format/layout.js';
import type { AggregateClass } from '../model/aggregate.js';
import { EventRegistry } from '../model/event-registry.js';
import { snapshotVersion, UpcasterChain } from '../model/upcasting.js';
import { type AggregateRegistration, everyNEvents, type SnapshotPolicy } from './aggregate-type.js';

/** What the repository knows of one registered aggregate type. */
export interface Registered {
  readonly type: string;
  readonly aggregate: AggregateClass;
  readonly events: EventRegistry;
  readonly snapshots?: SnapshotPolicy;
  /** The snapshot schema: the class's `snapshotVersion` and the upcasters leading to it. */
  readonly snapshotSchema: UpcasterChain<unknown>;
}

/** The aggregate types of a repository, by class and by type name. */
export class Registry {
  readonly #byClass = new Map<AggregateClass, Registered>();
  readonly #byType = new Map<string, Registered>();

  constructor(registrations: readonly AggregateRegistration[]) {
    for (const registration of registrations) this.#register(registration);
  }

  #register(registration: AggregateRegistration): void {
    const type: unknown = registration.aggregate?.type;
    if (typeof type !== 'string') {
      throw new ConfigurationError(`Aggregate class ${registration.aggregate?.name} has no static string "type" name`);
    }
    const folder = encodeSegment(type, 'aggregate type');
    const clash = [...this.#byType.keys()].find((t) => encodeSegment(t, 'aggregate type') === folder);
    if (clash !== undefined) throw new ConfigurationError(`Aggregate type "${type}" is registered twice`);
    const { snapshots } = registration;
    const entry: Registered = {
      type,
      aggregate: registration.aggregate,
      events: new EventRegistry(type, registration.events, registration.upcasters),
      snapshotSchema: new UpcasterChain(
        `snapshots of ${type}`,
        snapshotVersion(registration.aggregate),
        registration.snapshotUpcasters ?? [],
      ),
      ...(snapshots ? { snapshots: typeof snapshots === 'function' ? snapshots : everyNEvents(snapshots.every) } : {}),
    };
    this.#byClass.set(registration.aggregate, entry);
    this.#byType.set(type, entry);
  }

  /** @throws {UnknownAggregateTypeError} when the class is not registered. */
  of(aggregate: AggregateClass): Registered {
    const entry = this.#byClass.get(aggregate);
    if (!entry) throw new UnknownAggregateTypeError(aggregate?.type ?? aggregate?.name ?? String(aggregate));
    return entry;
  }

  /** @throws {UnknownAggregateTypeError} when no class of that type name is registered. */
  ofType(type: string): Registered {
    const entry = this.#byType.get(type);
    if (!entry) throw new UnknownAggregateTypeError(type);
    return entry;
  }
}
