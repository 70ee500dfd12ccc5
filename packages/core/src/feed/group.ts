import { randomBytes } from 'node:crypto';
import { ConfigurationError, CorruptFileError, ErrorCode, isEvsrcError } from '../errors.js';
import type { FileSystem } from '../storage/file-system.js';
import { GuardedFileSystem } from '../storage/guarded.js';

/*
 * How the members of a consumer group (processes running one shared projection) divide
 * the feed's partitions, with the store's create-if-absent and no clock shared between
 * machines:
 *
 *   {folder}members/{member}.{beat, 12 digits}     a member's heartbeat: a new name per beat
 *   {folder}claims/p{partition, 3 digits}.{epoch, 12 digits}
 *                                                   {"member": id} or {"member": null} (released)
 *
 * - A member beats every tick (create its next beat name, delete the one before). Others
 *   list the members' folder and note, on their own monotonic clock, when each member's
 *   beat last changed: a member whose beat has not changed for `leaseMs` is dead to them.
 *   Only elapsed time on one machine is ever compared, never two machines' clocks.
 * - The owner of a partition is the member named by its claim of highest epoch. Claims
 *   are created with create-if-absent at epoch + 1: of two members claiming at once,
 *   exactly one wins.
 * - The live members, sorted, share the partitions round-robin (partition p goes to the
 *   (p mod n)-th). A member claims a partition that is its share when the partition is
 *   released, unclaimed, or owned by a member it sees dead; it hands a partition that is
 *   no longer its share to the member whose share it is (a claim naming that member),
 *   after storing its state; it stops handling a partition whose latest claim is not its own.
 *
 * Ownership is for sharing the work, not for safety: the state of each partition is
 * stored with its checkpoint in generation files created with create-if-absent, so even a
 * member that does not know it lost a partition (paused longer than the lease) cannot
 * make a batch count twice — its next store fails with a ConcurrencyError.
 */

/** What one round of the protocol decided for this member. */
export interface GroupRound {
  /** Partitions this member owns now and must handle. */
  readonly owned: ReadonlySet<number>;
  /** Partitions this member must hand over (stop handling, store, then {@link ConsumerGroup.handOver}). */
  readonly handOver: ReadonlyMap<number, string>;
  /** The members this member sees alive, itself included. */
  readonly live: readonly string[];
}

/** Options of a {@link ConsumerGroup}. */
export interface ConsumerGroupOptions {
  readonly fs: FileSystem;
  /** The group's folder (with trailing `/`). */
  readonly folder: string;
  readonly partitions: number;
  /** This member's id (`[a-z0-9-]`, 1 to 64 characters; default: random). */
  readonly member?: string;
  /** How long a member's beat may stay unchanged before the others take its partitions over. */
  readonly leaseMs: number;
  /** A monotonic clock in ms (default `performance.now`). */
  readonly now?: () => number;
}

const MEMBER = /^[a-z0-9-]{1,64}$/;
const pad = (n: number) => String(n).padStart(12, '0');

/** One member of a consumer group (see the protocol above). */
export class ConsumerGroup {
  readonly member: string;
  readonly #fs: GuardedFileSystem;
  readonly #folder: string;
  readonly #partitions: number;
  readonly #leaseMs: number;
  readonly #now: () => number;
  #beat = 0;
  /** Each member's last beat seen, and when (this member's clock) it changed. */
  readonly #seen = new Map<string, { beat: number; changedAt: number }>();
  /** Claims read: names are never reused, so contents are cached by name. */
  readonly #claims = new Map<string, string | null>();
  readonly #owned = new Set<number>();

  constructor(options: ConsumerGroupOptions) {
    this.member = options.member ?? randomBytes(8).toString('hex');
    if (!MEMBER.test(this.member)) {
      throw new ConfigurationError(
        `A consumer group's member id must be [a-z0-9-]{1,64}, not ${JSON.stringify(this.member)}`,
      );
    }
    this.#fs = GuardedFileSystem.of(options.fs);
    this.#folder = options.folder;
    this.#partitions = options.partitions;
    this.#leaseMs = options.leaseMs;
    this.#now = options.now ?? (() => performance.now());
  }

  /** Beats, looks at the members and claims, claims this member's share: one round of the protocol. */
  async round(): Promise<GroupRound> {
    await this.#beatOnce();
    const live = await this.#liveMembers();
    const latest = await this.#latestClaims();
    const handOver = new Map<number, string>();
    this.#owned.clear();
    for (let p = 0; p < this.#partitions; p++) {
      const claim = latest.get(p);
      const owner = claim?.member ?? null;
      const target = live[p % live.length] as string;
      if (owner === this.member) {
        if (target === this.member) this.#owned.add(p);
        else handOver.set(p, target);
        continue;
      }
      const free = owner === null || !live.includes(owner);
      if (target === this.member && free && (await this.#claim(p, (claim?.epoch ?? 0) + 1, this.member))) {
        this.#owned.add(p);
      }
    }
    return { owned: new Set(this.#owned), handOver, live };
  }

  /** Hands `partition` to `member` (after this member stopped handling it and stored its state). */
  async handOver(partition: number, member: string | null): Promise<void> {
    const latest = (await this.#latestClaims()).get(partition);
    if (latest?.member !== this.member) return; // taken over meanwhile
    await this.#claim(partition, latest.epoch + 1, member);
    this.#owned.delete(partition);
  }

  /** Leaves the group: releases what it owns (after the caller stored its states) and removes its beat. */
  async leave(): Promise<void> {
    for (const p of [...this.#owned]) await this.handOver(p, null);
    await this.#fs.delete(`${this.#folder}members/${this.member}.${pad(this.#beat)}`).catch(() => undefined);
  }

  async #beatOnce(): Promise<void> {
    const next = this.#beat + 1;
    await this.#fs.create(`${this.#folder}members/${this.member}.${pad(next)}`, new Uint8Array());
    if (this.#beat > 0) {
      void this.#fs.delete(`${this.#folder}members/${this.member}.${pad(this.#beat)}`).catch(() => undefined);
    }
    this.#beat = next;
  }

  /** The members whose beat changed within the lease (as this member saw it), sorted; this member always. */
  async #liveMembers(): Promise<string[]> {
    const now = this.#now();
    const beats = new Map<string, number>();
    const folder = `${this.#folder}members/`;
    for await (const name of this.#fs.list(folder)) {
      const match = /^([a-z0-9-]{1,64})\.(\d{12})$/.exec(name.slice(folder.length));
      if (!match) continue;
      const member = match[1] as string;
      beats.set(member, Math.max(beats.get(member) ?? 0, Number(match[2])));
    }
    const live = [this.member];
    for (const [member, beat] of beats) {
      const seen = this.#seen.get(member);
      if (!seen || seen.beat !== beat) this.#seen.set(member, { beat, changedAt: now });
      const changedAt = this.#seen.get(member)?.changedAt ?? now;
      if (member !== this.member && now - changedAt < this.#leaseMs) live.push(member);
      // Long dead: its beat file goes, so that the folder does not keep every member that ever ran.
      if (member !== this.member && now - changedAt > 10 * this.#leaseMs) {
        void this.#fs.delete(`${folder}${member}.${pad(beat)}`).catch(() => undefined);
      }
    }
    return live.sort();
  }

  /** The claim of highest epoch of each partition. */
  async #latestClaims(): Promise<Map<number, { epoch: number; member: string | null }>> {
    const folder = `${this.#folder}claims/`;
    const latest = new Map<number, { epoch: number; name: string }>();
    for await (const name of this.#fs.list(folder)) {
      const match = /^p(\d{3})\.(\d{12})$/.exec(name.slice(folder.length));
      if (!match) continue;
      const p = Number(match[1]);
      const epoch = Number(match[2]);
      if (epoch > (latest.get(p)?.epoch ?? 0)) latest.set(p, { epoch, name });
    }
    const out = new Map<number, { epoch: number; member: string | null }>();
    for (const [p, { epoch, name }] of latest) out.set(p, { epoch, member: await this.#claimOf(name) });
    return out;
  }

  async #claimOf(name: string): Promise<string | null> {
    if (this.#claims.has(name)) return this.#claims.get(name) as string | null;
    const bytes = await this.#fs.read(name);
    let member: unknown = null;
    try {
      member =
        bytes === undefined ? null : (JSON.parse(new TextDecoder().decode(bytes)) as { member?: unknown }).member;
    } catch (error) {
      throw new CorruptFileError(name, 'unreadable claim', error);
    }
    if (member !== null && (typeof member !== 'string' || !MEMBER.test(member))) {
      throw new CorruptFileError(name, `a claim names no member: ${JSON.stringify(member)}`);
    }
    if (bytes !== undefined) this.#claims.set(name, member);
    return member;
  }

  /** Creates the claim of `partition` at `epoch`; false when another member created it first. */
  async #claim(partition: number, epoch: number, member: string | null): Promise<boolean> {
    const name = `${this.#folder}claims/p${String(partition).padStart(3, '0')}.${pad(epoch)}`;
    try {
      await this.#fs.create(name, new TextEncoder().encode(`${JSON.stringify({ member })}\n`));
      this.#claims.set(name, member);
      return true;
    } catch (error) {
      if (isEvsrcError(error, ErrorCode.FileExists)) return false;
      throw error;
    }
  }
}
