// Chats waiting for their `ack`, keyed by clientId. A chat is resent with the same clientId
// until acknowledged (after a reconnect, or when an ack is overdue); the server keeps a chat
// idempotent on (room, user, clientId), so each is stored and broadcast exactly once
// (PROTOCOL.md §5, "Chat durability").

export const ACK_TIMEOUT_MS = 10000;

/** A new clientId: a UUID where the browser offers one (secure contexts), else random. */
export function newClientId() {
  if (globalThis.crypto?.randomUUID) return globalThis.crypto.randomUUID();
  return `c-${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 12)}`;
}

export class ChatError extends Error {
  constructor(code, message) {
    super(message);
    this.name = "ChatError";
    this.code = code;
  }
}

export class Outbox {
  constructor({ newClientId: makeId = newClientId, now = () => Date.now() } = {}) {
    this._newClientId = makeId;
    this._now = now;
    /** clientId -> entry, in the order the chats were written. */
    this.pending = new Map();
  }

  /** Queue a chat; the entry's `promise` settles with its ack `{seq, clientId}`. */
  add(room, body, clientId = this._newClientId()) {
    if (this.pending.has(clientId)) throw new ChatError("duplicate", `clientId ${clientId} is pending`);
    const entry = { room, body, clientId, sentOn: null, sentAt: 0, attempts: 0 };
    entry.promise = new Promise((resolve, reject) => {
      entry.resolve = resolve;
      entry.reject = reject;
    });
    this.pending.set(clientId, entry);
    return entry;
  }

  /** Entries of `room` not yet sent on connection `connectionId`, oldest first. */
  due(room, connectionId) {
    return [...this.pending.values()].filter((e) => e.room === room && e.sentOn !== connectionId);
  }

  markSent(entry, connectionId) {
    entry.sentOn = connectionId;
    entry.sentAt = this._now();
    entry.attempts += 1;
  }

  /** An ack arrived: settle and forget the entry (a repeated ack finds nothing). */
  ack(clientId, seq) {
    const entry = this.pending.get(clientId);
    if (!entry) return undefined;
    this.pending.delete(clientId);
    entry.seq = seq;
    entry.resolve({ seq, clientId, room: entry.room });
    return entry;
  }

  /** The chat was refused for good (e.g. invalid_message): reject and forget it. */
  fail(clientId, code, message) {
    const entry = this.pending.get(clientId);
    if (!entry) return undefined;
    this.pending.delete(clientId);
    entry.reject(new ChatError(code, message));
    return entry;
  }

  /** Refuse every pending chat of a room (the connection was kicked out of it). */
  failRoom(room, code, message) {
    for (const entry of [...this.pending.values()]) {
      if (entry.room === room) this.fail(entry.clientId, code, message);
    }
  }

  /** Send again: the entry counts as unsent on every connection. */
  retry(clientId) {
    const entry = this.pending.get(clientId);
    if (entry) entry.sentOn = null;
    return entry;
  }

  /** Entries sent on `connectionId` whose ack is overdue; they count as unsent again. */
  overdue(connectionId, timeoutMs = ACK_TIMEOUT_MS) {
    const cutoff = this._now() - timeoutMs;
    const late = [...this.pending.values()].filter(
      (e) => e.sentOn === connectionId && e.sentAt <= cutoff,
    );
    for (const entry of late) entry.sentOn = null;
    return late;
  }

  get size() {
    return this.pending.size;
  }
}
