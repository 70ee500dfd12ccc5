import { compareNames } from '@evsrc/core/adapter';

/**
 * Puts names that arrive in UTF-16 code unit order into code point order, as they arrive.
 *
 * The Blob service lists in UTF-8 byte (= code point) order, but Azurite sorts with
 * JavaScript's `<`, which is UTF-16 code unit order. The two differ only where one name has
 * a character above U+FFFF (a surrogate pair, `\uD800`–`\uDBFF` first) and the other a
 * character in U+E000–U+FFFF at the same position: UTF-16 puts the pair first.
 *
 * So a name is held back only while a later name could still sort before it in code point
 * order: when it has a surrogate at some position `i` and the last name received still
 * starts with its first `i` code units. Everything else passes straight through. The
 * result is correct for either input order; for names without characters above U+FFFF
 * (evsrc's own names are ASCII) nothing is ever held.
 */
export class CodePointOrder {
  /** Names received but not yet released, sorted by {@link compareNames}. */
  readonly #held: string[] = [];
  #last = '';

  /** Takes the next name from the service; returns the names that can be released now, in order. */
  push(name: string): string[] {
    this.#last = name;
    if (this.#held.length === 0 && firstSurrogate(name) < 0) return [name];
    insertSorted(this.#held, name);
    const ready: string[] = [];
    for (let head = this.#held[0]; head !== undefined && this.#isSafe(head); head = this.#held[0]) {
      ready.push(head);
      this.#held.shift();
    }
    return ready;
  }

  /** The listing is over: every name still held, in order. */
  flush(): string[] {
    return this.#held.splice(0);
  }

  /** True when no name after {@link #last} (in either order) can sort before `name` in code point order. */
  #isSafe(name: string): boolean {
    const i = firstSurrogate(name);
    return i < 0 || !this.#last.startsWith(name.slice(0, i));
  }
}

/** The index of the first UTF-16 surrogate in `s`, or -1. */
function firstSurrogate(s: string): number {
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c >= 0xd800 && c <= 0xdfff) return i;
  }
  return -1;
}

function insertSorted(names: string[], name: string): void {
  let lo = 0;
  let hi = names.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (compareNames(names[mid] as string, name) < 0) lo = mid + 1;
    else hi = mid;
  }
  names.splice(lo, 0, name);
}
