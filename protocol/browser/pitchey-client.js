// PitcheyClient: the browser side of pitchey.v1.msgpack (protocol/PROTOCOL.md).
//
//   import { PitcheyClient } from "/static/client/pitchey-client.js";
//   const client = new PitcheyClient({ refresh: async () => newAccessToken });
//   client.addEventListener("chat", (e) => show(e.detail));
//   client.connect();
//   const room = await client.join("pitch:42");          // {room, seq, members, presence, ...}
//   await client.chat("pitch:42", "Hello");                // resolves on the server's ack
//
// Events (CustomEvent, message in `detail`): state, welcome, joined, chat, member_joined,
// member_left, pitch_updated, typing, presence, notification, nda_status, kicked, resync,
// auth_expiring, goaway, reconnecting, unauthorized, error.
import {
  CloseCode, DURABLE_EVENT_TYPES, HEARTBEAT_INTERVAL_MS, HEARTBEAT_TIMEOUT_MS, SUBPROTOCOL,
  decodeMessage, encodeMessage,
} from "./codec.js";
import { ACK_TIMEOUT_MS, ChatError, Outbox } from "./outbox.js";
import { closeAction, reconnectDelay } from "./reconnect.js";
import { RoomCursor } from "./room-cursor.js";
import { TypingThrottle } from "./typing.js";

export { CloseCode, SUBPROTOCOL } from "./codec.js";
export { ChatError, newClientId } from "./outbox.js";

/** A request failed: `code` is the server's error code, or "offline" / "connection_lost". */
export class RequestError extends Error {
  constructor(code, message) {
    super(message);
    this.name = "RequestError";
    this.code = code;
  }
}

/** The session is over (refresh failed): log in again, then call `setAccessToken`. */
export class AuthError extends Error {
  constructor(message) {
    super(message);
    this.name = "AuthError";
  }
}

const TICK_MS = 1000;
// A refresh answered with one of these ends the session; others (429, 5xx, network) do not.
const refused = (status) => status >= 400 && status < 500 && status !== 429;
// Chat errors worth sending again with the same clientId; any other error is final.
const RETRYABLE_CHAT_ERRORS = new Set(["unavailable", "rate_limited", "not_joined", "internal"]);

export const State = Object.freeze({
  IDLE: "idle", // not started
  CONNECTING: "connecting", // fetching a ticket or opening the socket
  OPEN: "open", // welcomed
  WAITING: "waiting", // closed; reconnecting after a delay
  UNAUTHORIZED: "unauthorized", // stopped until a new token (setAccessToken / connect)
  CLOSED: "closed", // stopped: close() or 4403
});

export class PitcheyClient extends EventTarget {
  /**
   * @param {object} options
   * @param {string} [options.baseUrl] where the HTTP API is ("" = this page's origin)
   * @param {() => Promise<string>} [options.refresh] returns a fresh access token or throws;
   *   default: POST /api/auth/refresh with the refresh cookie
   * @param {object} [options.backoff] {baseMs, maxMs, random} for reconnect delays
   * @param {number} [options.ackTimeoutMs] resend an unacknowledged chat after this long
   */
  constructor({ baseUrl = "", refresh, backoff = {}, ackTimeoutMs = ACK_TIMEOUT_MS,
                typingIntervalMs = 3000, WebSocketImpl = globalThis.WebSocket,
                fetchImpl = globalThis.fetch?.bind(globalThis), doc = globalThis.document } = {}) {
    super();
    this.baseUrl = baseUrl;
    this._refresh = refresh || (() => this._cookieRefresh());
    this._backoff = backoff;
    this._ackTimeoutMs = ackTimeoutMs;
    this._typingIntervalMs = typingIntervalMs;
    this._WebSocket = WebSocketImpl;
    this._fetch = fetchImpl;
    this._doc = doc;
    this.state = State.IDLE;
    this.user = null;
    this.connectionId = null;
    this.node = null;
    this.accessToken = null;
    this._socket = null;
    this._attempt = 0;
    this._goawayRetryMs = null;
    this._retryTimer = null;
    this._tick = null;
    this._nextId = 1;
    this._requests = new Map(); // message id -> {type, room, resolve, reject, clientId}
    this._rooms = new Map(); // room -> {cursor, waiters: [{resolve, reject}], joining}
    this._typing = new Map(); // room -> TypingThrottle
    this._outbox = new Outbox();
    this._presence = "online";
    this._heartbeatMs = HEARTBEAT_INTERVAL_MS;
    this._lastReceived = 0;
    this._pingSentAt = null;
    this._refreshing = null;
    this._onVisibility = () => this._visibilityChanged();
    this._onOnline = () => this._networkBack();
  }

  // ---- lifecycle ----------------------------------------------------------------------

  /** Start connecting (and keep reconnecting). Also resumes after UNAUTHORIZED. */
  connect() {
    if (this.state === State.CONNECTING || this.state === State.OPEN) return;
    this._doc?.addEventListener?.("visibilitychange", this._onVisibility);
    globalThis.addEventListener?.("online", this._onOnline);
    this._clearRetry();
    this._open();
  }

  /** Close for good: pending chats stay queued in memory but are not sent. */
  close() {
    this._setState(State.CLOSED);
    this._clearRetry();
    this._stopTick();
    this._doc?.removeEventListener?.("visibilitychange", this._onVisibility);
    globalThis.removeEventListener?.("online", this._onOnline);
    const socket = this._socket;
    this._detach();
    socket?.close(CloseCode.NORMAL, "client closed");
    this._failRequests("connection_lost", "the client was closed");
  }

  /** Use this access token for tickets and `auth` (e.g. after logging in again). */
  setAccessToken(token) {
    this.accessToken = token;
    if (this.state === State.UNAUTHORIZED) this.connect();
    else if (this.state === State.OPEN) this.reauthenticate(token).catch(() => {});
  }

  get hidden() {
    return this._doc?.visibilityState === "hidden";
  }

  // ---- rooms, chat, typing, presence, edits -------------------------------------------

  /** Join a room (and re-join it after every reconnect, from the last seq seen). */
  join(room) {
    let entry = this._rooms.get(room);
    if (!entry) {
      entry = { cursor: new RoomCursor(), waiters: [], joined: false };
      this._rooms.set(room, entry);
    }
    const promise = new Promise((resolve, reject) => entry.waiters.push({ resolve, reject }));
    if (this.state === State.OPEN) this._sendJoin(room);
    return promise;
  }

  /** Leave a room; it is no longer re-joined. Its unsent chats are dropped (rejected). */
  async leave(room) {
    const entry = this._rooms.get(room);
    this._rooms.delete(room);
    this._typing.get(room)?.stop();
    this._typing.delete(room);
    this._outbox.failRoom(room, "left", "left the room before the chat was sent");
    entry?.waiters.forEach((w) => w.reject(new RequestError("left", "left the room")));
    if (this.state !== State.OPEN || !entry?.joined) return;
    await this._request({ type: "leave", room });
  }

  /** The last durable seq processed in `room` (null if none). */
  roomSeq(room) {
    return this._rooms.get(room)?.cursor.seq ?? null;
  }

  /**
   * Send a chat. It is queued while offline and resent with the same clientId until the
   * server acknowledges it, so it is delivered exactly once. Resolves `{seq, clientId}`.
   * `clientId` is optional (a UUID by default); `pending` lists what is still unacked.
   */
  chat(room, body, clientId) {
    if (!this._rooms.has(room)) return Promise.reject(new ChatError("not_joined", `join ${room} first`));
    if (typeof body !== "string" || body.trim() === "") {
      return Promise.reject(new ChatError("invalid_message", "a chat needs some text"));
    }
    const entry = this._outbox.add(room, body, clientId);
    this._typing.get(room)?.stop();
    this._flushOutbox(room);
    return entry.promise;
  }

  /** Chats not yet acknowledged, oldest first: [{room, body, clientId}]. */
  get pending() {
    return [...this._outbox.pending.values()].map(({ room, body, clientId }) => ({ room, body, clientId }));
  }

  /** The user typed in `room` (`active` false: they stopped). Throttled; not sent when hidden. */
  typing(room, active = true) {
    if (!this._rooms.has(room)) return;
    let throttle = this._typing.get(room);
    if (!throttle) {
      throttle = new TypingThrottle((typing) => this._sendIfOpen({ type: "typing", room, typing }),
                                    { intervalMs: this._typingIntervalMs });
      this._typing.set(room, throttle);
    }
    if (!active) throttle.stop();
    else if (!this.hidden) throttle.input();
  }

  /** Set this user's presence ("online", "away", "busy", "dnd"); kept across reconnects. */
  setPresence(status) {
    this._presence = status;
    this._sendIfOpen({ type: "presence", status });
  }

  /**
   * Edit pitch fields based on `version`. Resolves `{status: "applied", seq}` or
   * `{status: "conflict", version, fields}` (the current values; rebase and resend).
   * Rejects with RequestError("offline") when not connected: an edit is not queued.
   */
  async updatePitch(room, version, fields) {
    if (this.state !== State.OPEN) throw new RequestError("offline", "not connected");
    const reply = await this._request({ type: "pitch_update", room, version, fields });
    if (reply.type === "conflict") return { status: "conflict", version: reply.version, fields: reply.fields };
    return { status: "applied", seq: reply.seq };
  }

  /** Fetch a fresh access token (unless given) and present it on the open connection. */
  async reauthenticate(token) {
    const fresh = token ?? (await this._freshToken());
    await this._request({ type: "auth", token: fresh });
  }

  /** Round trip to the server; resolves with the time it took in ms. */
  async ping() {
    const started = performance.now();
    await this._request({ type: "ping" });
    return performance.now() - started;
  }

  // ---- connecting -----------------------------------------------------------------------

  async _open() {
    this._setState(State.CONNECTING);
    let ticket;
    try {
      ticket = await this._ticket();
    } catch (error) {
      if (this.state !== State.CONNECTING) return;
      if (error instanceof AuthError) return this._unauthorized(error.message);
      return this._scheduleReconnect(null);
    }
    if (this.state !== State.CONNECTING) return;
    const url = `${ticket.wsUrl}?ticket=${encodeURIComponent(ticket.token)}`;
    let socket;
    try {
      socket = new this._WebSocket(url, [SUBPROTOCOL]);
    } catch {
      return this._scheduleReconnect(null);
    }
    socket.binaryType = "arraybuffer";
    this._socket = socket;
    socket.onmessage = (event) => this._receive(event.data);
    socket.onclose = (event) => this._closed(socket, event.code, event.reason);
    socket.onerror = () => {}; // a close event always follows
  }

  /** A single-use ticket: `{token, wsUrl}`. 401 → refresh once, then AuthError. */
  async _ticket() {
    let response = await this._getTicket();
    if (response.status === 401) {
      await this._freshToken();
      response = await this._getTicket();
      if (response.status === 401) throw new AuthError("the server refused the new token");
    }
    if (!response.ok) throw new RequestError("ticket", `ticket request failed: ${response.status}`);
    const { data } = await response.json();
    return data;
  }

  _getTicket() {
    const headers = this.accessToken ? { Authorization: `Bearer ${this.accessToken}` } : {};
    return this._fetch(`${this.baseUrl}/api/ws/token`, { credentials: "include", headers, cache: "no-store" });
  }

  /** One refresh at a time (refresh tokens rotate: two at once would revoke the login). */
  _freshToken() {
    if (!this._refreshing) {
      this._refreshing = Promise.resolve()
        .then(() => this._refresh())
        .then((token) => {
          if (typeof token !== "string" || !token) throw new AuthError("no token");
          this.accessToken = token;
          return token;
        }, (error) => {
          // Refused (4xx): the session is over. Anything else (network): try again later.
          if (error instanceof AuthError || refused(error?.status)) {
            throw error instanceof AuthError ? error : new AuthError(String(error.message));
          }
          throw error;
        })
        .finally(() => { this._refreshing = null; });
    }
    return this._refreshing;
  }

  async _cookieRefresh() {
    const response = await this._fetch(`${this.baseUrl}/api/auth/refresh`, {
      method: "POST", credentials: "include", headers: { "Content-Type": "application/json" }, body: "{}",
    });
    if (refused(response.status)) throw new AuthError(`refresh refused: ${response.status}`);
    if (!response.ok) throw new RequestError("refresh", `refresh failed: ${response.status}`);
    return (await response.json()).data.accessToken;
  }

  _closed(socket, code, reason) {
    if (socket !== this._socket) return;
    this._detach();
    this._failRequests("connection_lost", `connection closed (${code})`);
    if (this.state === State.CLOSED) return;
    const action = closeAction(code);
    if (action === "stop") {
      this._setState(State.CLOSED);
      this._emit("error", { code: "forbidden", message: reason || "the server refused this user", closeCode: code });
      return;
    }
    if (action === "reauth") {
      this._setState(State.CONNECTING);
      this._freshToken().then(
        () => this._scheduleReconnect(code),
        (error) => (error instanceof AuthError ? this._unauthorized(error.message)
                                               : this._scheduleReconnect(code)),
      );
      return;
    }
    this._scheduleReconnect(code);
  }

  _scheduleReconnect(code) {
    if (this.state === State.CLOSED || this.state === State.UNAUTHORIZED) return;
    const delayMs = reconnectDelay(this._attempt, this._goawayRetryMs, this._backoff);
    this._goawayRetryMs = null;
    this._attempt += 1;
    this._setState(State.WAITING);
    this._emit("reconnecting", { delayMs, attempt: this._attempt, code });
    this._retryTimer = setTimeout(() => { this._retryTimer = null; this._open(); }, delayMs);
  }

  _unauthorized(message) {
    this._setState(State.UNAUTHORIZED);
    this._emit("unauthorized", { message });
  }

  _networkBack() {
    if (this.state !== State.WAITING) return;
    this._clearRetry();
    this._attempt = 0;
    this._open();
  }

  _clearRetry() {
    if (this._retryTimer !== null) clearTimeout(this._retryTimer);
    this._retryTimer = null;
  }

  /** Stop listening to the current socket (it is closed or being abandoned). */
  _detach() {
    const socket = this._socket;
    this._socket = null;
    this.connectionId = null;
    this._stopTick();
    for (const entry of this._rooms.values()) entry.joined = false;
    for (const throttle of this._typing.values()) throttle.stop();
    if (socket) socket.onmessage = socket.onclose = socket.onerror = null;
  }

  /** The connection looks dead: drop it without waiting for a closing handshake. */
  _abandon(reason) {
    const socket = this._socket;
    if (!socket) return;
    try { socket.close(4000, reason); } catch { /* already closing */ }
    this._closed(socket, CloseCode.ABNORMAL, reason);
  }

  // ---- receiving ------------------------------------------------------------------------

  _receive(data) {
    this._lastReceived = performance.now();
    this._pingSentAt = null;
    let message;
    try {
      message = decodeMessage(data);
    } catch (error) {
      this._emit("error", { code: "bad_frame", message: String(error) });
      return;
    }
    if (DURABLE_EVENT_TYPES.includes(message.type)) return this._durable(message);
    switch (message.type) {
      case "welcome": return this._welcome(message);
      case "joined": return this._joined(message);
      case "resync": return this._resync(message);
      case "kicked": return this._kicked(message);
      case "ack": return this._ack(message);
      case "conflict": return this._reply(message);
      case "pong": return this._reply(message);
      case "error": return this._error(message);
      case "goaway":
        this._goawayRetryMs = message.retryAfterMs;
        return this._emit("goaway", message);
      case "auth_expiring":
        this._emit("auth_expiring", message);
        this.reauthenticate().catch((error) => this._emit("error", { code: "auth_refresh", message: error.message }));
        return;
      default: // typing, presence, notification, nda_status, and kinds added later
        return this._emit(message.type, message);
    }
  }

  _welcome(message) {
    this.user = message.user;
    this.connectionId = message.connectionId;
    this.node = message.node;
    this._heartbeatMs = message.heartbeatMs || HEARTBEAT_INTERVAL_MS;
    this._attempt = 0;
    this._setState(State.OPEN);
    this._emit("welcome", message);
    if (this._presence !== "online") this._send({ type: "presence", status: this._presence });
    for (const room of this._rooms.keys()) this._sendJoin(room);
    this._startTick();
  }

  _sendJoin(room) {
    const entry = this._rooms.get(room);
    const id = this._id();
    this._requests.set(id, { type: "join", room });
    this._send({ type: "join", room, since: entry.cursor.since, id });
  }

  _joined(message) {
    this._requests.delete(message.id);
    const entry = this._rooms.get(message.room);
    if (!entry) return; // left meanwhile
    entry.joined = true;
    const { events, resumed } = entry.cursor.acceptJoined(message);
    this._emit("joined", { ...message, events, resumed });
    entry.waiters.splice(0).forEach((w) => w.resolve(message));
    for (const event of events) this._emit(event.type, { ...event, replayed: true });
    this._flushOutbox(message.room);
  }

  _durable(event) {
    const entry = this._rooms.get(event.room);
    if (!entry) return;
    const verdict = entry.cursor.accept(event);
    if (verdict === "gap") {
      if (this.state === State.OPEN) this._sendJoin(event.room);
      return;
    }
    if (verdict === "duplicate") return;
    if (event.type === "chat" && event.userId === this.user?.id) this._outbox.ack(event.clientId, event.seq);
    this._emit(event.type, event);
  }

  _resync(message) {
    this._requests.delete(message.id);
    const entry = this._rooms.get(message.room);
    if (!entry) return;
    entry.joined = false;
    entry.cursor.reset();
    this._emit("resync", message);
    if (this.state === State.OPEN) this._sendJoin(message.room);
  }

  _kicked(message) {
    const entry = this._rooms.get(message.room);
    this._rooms.delete(message.room);
    this._typing.delete(message.room);
    this._outbox.failRoom(message.room, "kicked", message.reason);
    entry?.waiters.forEach((w) => w.reject(new RequestError("kicked", message.reason)));
    this._emit("kicked", message);
  }

  _ack(message) {
    if (message.clientId !== undefined) {
      this._requests.delete(message.id);
      this._outbox.ack(message.clientId, message.seq);
      return;
    }
    this._reply(message);
  }

  _reply(message) {
    const request = this._requests.get(message.id);
    if (!request) return;
    this._requests.delete(message.id);
    request.resolve?.(message);
  }

  _error(message) {
    const request = message.id !== undefined ? this._requests.get(message.id) : undefined;
    if (!request) return this._emit("error", message);
    this._requests.delete(message.id);
    if (request.type === "chat") {
      if (RETRYABLE_CHAT_ERRORS.has(message.code)) {
        this._outbox.retry(request.clientId);
        setTimeout(() => this._flushOutbox(request.room), 1000);
      } else {
        this._outbox.fail(request.clientId, message.code, message.message);
      }
      return;
    }
    if (request.type === "join") {
      const entry = this._rooms.get(request.room);
      this._rooms.delete(request.room);
      this._outbox.failRoom(request.room, message.code, message.message);
      entry?.waiters.forEach((w) => w.reject(new RequestError(message.code, message.message)));
      this._emit("error", { ...message, room: request.room });
      return;
    }
    request.reject?.(new RequestError(message.code, message.message));
  }

  // ---- sending --------------------------------------------------------------------------

  _flushOutbox(room) {
    const entry = this._rooms.get(room);
    if (this.state !== State.OPEN || !entry?.joined) return;
    for (const chat of this._outbox.due(room, this.connectionId)) {
      const id = this._id();
      this._requests.set(id, { type: "chat", room, clientId: chat.clientId });
      this._outbox.markSent(chat, this.connectionId);
      this._send({ type: "chat", room, body: chat.body, clientId: chat.clientId, id });
    }
  }

  _request(message) {
    if (this.state !== State.OPEN) return Promise.reject(new RequestError("offline", "not connected"));
    const id = this._id();
    return new Promise((resolve, reject) => {
      this._requests.set(id, { type: message.type, room: message.room, resolve, reject });
      this._send({ ...message, id });
    });
  }

  _sendIfOpen(message) {
    if (this.state === State.OPEN) this._send(message);
  }

  _send(message) {
    this._socket?.send(encodeMessage(message));
  }

  _id() {
    return `r${this._nextId++}`;
  }

  _failRequests(code, message) {
    for (const request of this._requests.values()) request.reject?.(new RequestError(code, message));
    this._requests.clear();
  }

  // ---- heartbeats, ack timeouts, hidden tabs ---------------------------------------------

  _startTick() {
    this._stopTick();
    this._lastReceived = performance.now();
    if (!this.hidden) this._tick = setInterval(() => this._check(), TICK_MS);
  }

  _stopTick() {
    if (this._tick !== null) clearInterval(this._tick);
    this._tick = null;
  }

  /** Once a second while visible: heartbeat (PROTOCOL.md §6) and overdue chat acks. */
  _check() {
    if (this.state !== State.OPEN) return;
    const now = performance.now();
    if (this._pingSentAt !== null && now - this._pingSentAt > HEARTBEAT_TIMEOUT_MS) {
      this._abandon("heartbeat timeout");
      return;
    }
    if (this._pingSentAt === null && now - this._lastReceived > this._heartbeatMs + HEARTBEAT_TIMEOUT_MS) {
      this._pingNow();
    }
    const late = this._outbox.overdue(this.connectionId, this._ackTimeoutMs);
    for (const room of new Set(late.map((e) => e.room))) this._flushOutbox(room);
  }

  _pingNow() {
    this._pingSentAt = performance.now();
    this._send({ type: "ping", id: this._id() });
  }

  /** Hidden: stop typing and the client heartbeat; the socket, rooms and presence stay
   * (the browser still answers the server's pings). Visible again: check the line at once. */
  _visibilityChanged() {
    if (this.hidden) {
      for (const throttle of this._typing.values()) throttle.stop();
      this._stopTick();
      return;
    }
    if (this.state === State.OPEN) {
      this._startTick();
      this._pingNow();
    } else if (this.state === State.WAITING) {
      this._networkBack();
    }
  }

  // ---- events ---------------------------------------------------------------------------

  _setState(state) {
    if (this.state === state) return;
    this.state = state;
    this._emit("state", { state });
  }

  _emit(type, detail) {
    this.dispatchEvent(new CustomEvent(type, { detail }));
  }
}
