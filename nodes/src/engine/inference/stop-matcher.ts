/**
 * Finds stop strings in streamed text. Text that could be the start of a stop string is held back
 * until the next piece settles it, so a client never receives part of a stop string.
 */
export class StopMatcher {
  readonly #stops: readonly string[];
  #pending = "";
  #stopped = false;

  constructor(stops: readonly string[]) {
    this.#stops = stops.filter((s) => s.length > 0);
  }

  get stopped(): boolean {
    return this.#stopped;
  }

  /**
   * Adds a piece of generated text. Returns the text that is now safe to emit and whether a stop
   * string was found (the text before it is emitted, the stop string and anything after are not).
   */
  push(piece: string): { text: string; stopped: boolean } {
    if (this.#stopped) return { text: "", stopped: true };
    const text = this.#pending + piece;
    let cut = -1;
    for (const stop of this.#stops) {
      const at = text.indexOf(stop);
      if (at !== -1 && (cut === -1 || at < cut)) cut = at;
    }
    if (cut !== -1) {
      this.#stopped = true;
      this.#pending = "";
      return { text: text.slice(0, cut), stopped: true };
    }
    const hold = this.#heldSuffixLength(text);
    this.#pending = text.slice(text.length - hold);
    return { text: text.slice(0, text.length - hold), stopped: false };
  }

  /** At the end of a stream the held text is no stop string after all: release it. */
  flush(): string {
    const text = this.#pending;
    this.#pending = "";
    return text;
  }

  /** Length of the longest suffix of `text` that is a proper prefix of some stop string. */
  #heldSuffixLength(text: string): number {
    let hold = 0;
    for (const stop of this.#stops) {
      for (let n = Math.min(stop.length - 1, text.length); n > hold; n--) {
        if (text.endsWith(stop.slice(0, n))) {
          hold = n;
          break;
        }
      }
    }
    return hold;
  }
}
