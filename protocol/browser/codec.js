// The wire format of pitchey.v1.msgpack: one msgpack map per binary WebSocket frame.
// Constants mirror protocol/_constants.py and protocol/_codes.py (PROTOCOL.md §1, §6, §14).
import { Decoder, Encoder } from "./vendor/msgpack/index.mjs";

export const SUBPROTOCOL = "pitchey.v1.msgpack";
export const PROTOCOL_VERSION = 1;
export const MAX_FRAME_BYTES = 64 * 1024;
export const MAX_CHAT_LENGTH = 4000;
export const HEARTBEAT_INTERVAL_MS = 20000;
export const HEARTBEAT_TIMEOUT_MS = 10000;
export const TYPING_TTL_MS = 5000;
export const DURABLE_EVENT_TYPES = Object.freeze(["chat", "pitch_updated", "member_joined", "member_left"]);

export const CloseCode = Object.freeze({
  NORMAL: 1000,
  GOING_AWAY: 1001,
  PROTOCOL_ERROR: 1002,
  UNSUPPORTED_DATA: 1003,
  ABNORMAL: 1006, // never sent; what a browser reports for a connection that just died
  POLICY: 1008,
  TOO_LARGE: 1009,
  INTERNAL: 1011,
  TRY_AGAIN_LATER: 1013,
  SLOW_CONSUMER: 4008,
  UNAUTHORIZED: 4401,
  FORBIDDEN: 4403,
  TOO_MANY_CONNECTIONS: 4409,
  RATE_LIMITED: 4429,
});

// Undefined fields are left out rather than sent as nil: the server rejects unknown nils.
const encoder = new Encoder({ ignoreUndefined: true });
const decoder = new Decoder();

/** Encode one client message (a plain object with a string `type`). */
export function encodeMessage(message) {
  if (message === null || typeof message !== "object" || typeof message.type !== "string") {
    throw new TypeError("a message is an object with a string type");
  }
  const frame = encoder.encode(message);
  if (frame.byteLength > MAX_FRAME_BYTES) {
    throw new RangeError(`message is ${frame.byteLength} bytes; the limit is ${MAX_FRAME_BYTES}`);
  }
  return frame;
}

/** Decode one server frame; throws if it is not a map with a string `type`. */
export function decodeMessage(data) {
  const message = decoder.decode(data instanceof ArrayBuffer ? new Uint8Array(data) : data);
  if (message === null || typeof message !== "object" || Array.isArray(message) ||
      typeof message.type !== "string") {
    throw new TypeError("server frame is not a message map");
  }
  return message;
}
