// Typing indicators, throttled: `typing: true` at most every `intervalMs` while the user
// types (the server lets one expire after TYPING_TTL_MS = 5 s), `typing: false` once they
// stop for `idleMs` or send (PROTOCOL.md §3.2).

export class TypingThrottle {
  constructor(send, { intervalMs = 3000, idleMs = 4000, now = () => Date.now(),
                      setTimer = (fn, ms) => setTimeout(fn, ms),
                      clearTimer = (timer) => clearTimeout(timer) } = {}) {
    this._send = send;
    this._intervalMs = intervalMs;
    this._idleMs = idleMs;
    this._now = now;
    this._setTimer = setTimer;
    this._clearTimer = clearTimer;
    this._typing = false;
    this._lastSent = -Infinity;
    this._idle = null;
  }

  get typing() {
    return this._typing;
  }

  /** The user typed a key. */
  input() {
    const now = this._now();
    if (!this._typing || now - this._lastSent >= this._intervalMs) {
      this._typing = true;
      this._lastSent = now;
      this._send(true);
    }
    if (this._idle !== null) this._clearTimer(this._idle);
    this._idle = this._setTimer(() => this.stop(), this._idleMs);
  }

  /** The user stopped (sent the message, cleared the box, hid the tab). */
  stop() {
    if (this._idle !== null) this._clearTimer(this._idle);
    this._idle = null;
    if (!this._typing) return;
    this._typing = false;
    this._lastSent = -Infinity;
    this._send(false);
  }
}
