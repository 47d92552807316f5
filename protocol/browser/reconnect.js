// When to reconnect: exponential backoff with full jitter, and what each close code means
// (PROTOCOL.md §7, §9, §12, §14).
import { CloseCode } from "./codec.js";

export const BACKOFF_BASE_MS = 500;
export const BACKOFF_MAX_MS = 30000;

/**
 * Full jitter: a delay drawn uniformly from [0, min(maxMs, baseMs * 2^attempt)).
 * `attempt` counts failed attempts since the last successful connection, from 0.
 */
export function backoffDelay(attempt, { baseMs = BACKOFF_BASE_MS, maxMs = BACKOFF_MAX_MS,
                                         random = Math.random } = {}) {
  if (!Number.isInteger(attempt) || attempt < 0) throw new RangeError("attempt must be an integer >= 0");
  const ceiling = Math.min(maxMs, baseMs * 2 ** Math.min(attempt, 30));
  return Math.floor(random() * ceiling);
}

/**
 * What to do after the socket closed with `code`:
 * - "reauth": the credential expired (4401); reconnect only once a new token is obtained;
 * - "stop": the user may not use the service (4403); do not reconnect;
 * - "retry": anything else; reconnect after a delay (goaway's retryAfterMs when given).
 */
export function closeAction(code) {
  if (code === CloseCode.UNAUTHORIZED) return "reauth";
  if (code === CloseCode.FORBIDDEN) return "stop";
  return "retry";
}

/** The delay before the next attempt: goaway's `retryAfterMs` wins over backoff. */
export function reconnectDelay(attempt, goawayRetryMs, options) {
  if (Number.isInteger(goawayRetryMs) && goawayRetryMs >= 0) return goawayRetryMs;
  return backoffDelay(attempt, options);
}
