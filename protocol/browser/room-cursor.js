// Per-room sequence tracking, so a re-join asks for exactly what was missed (PROTOCOL.md §5).

export class RoomCursor {
  constructor() {
    /** The last durable `seq` processed in the room, or null before the first `joined`. */
    this.seq = null;
  }

  /** The `since` to send with a join (undefined: a fresh join). */
  get since() {
    return this.seq === null ? undefined : this.seq;
  }

  /** Forget the room's position (after `resync`): the next join is a fresh one. */
  reset() {
    this.seq = null;
  }

  /**
   * Take a `joined` reply. Returns the history events not processed before, in order, and
   * whether this continued from a known position (`resumed`) or replaced the room's state.
   */
  acceptJoined(joined) {
    const resumed = this.seq !== null;
    const known = this.seq ?? 0;
    const events = (joined.history || []).filter((event) => !resumed || event.seq > known);
    this.seq = Math.max(joined.seq, resumed ? known : 0);
    return { events, resumed };
  }

  /**
   * Take a live durable event: "new" (process it), "duplicate" (already processed) or
   * "gap" (an event is missing: re-join with `since`; the cursor does not move).
   */
  accept(event) {
    if (this.seq !== null && event.seq <= this.seq) return "duplicate";
    if (this.seq !== null && event.seq !== this.seq + 1) return "gap";
    this.seq = event.seq;
    return "new";
  }
}
