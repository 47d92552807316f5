// A pitch room's side panel: members with presence, chat with history and scroll-back,
// and who is typing. Everything arrives through the PitcheyClient's events.
import { newClientId } from "/static/client/pitchey-client.js";
import * as api from "./api.js";
import { clear, h, timeText } from "./dom.js";

const TYPING_SHOWN_MS = 6000; // a little over the server's TYPING_TTL_MS
const PAGE = 30;

export class RoomPanel {
  constructor(container, client, pitchId) {
    this.client = client;
    this.pitchId = pitchId;
    this.room = `pitch:${pitchId}`;
    this.members = new Map(); // userId -> user
    this.presence = {}; // "userId" -> status
    this.names = new Map(); // userId -> username (members, authors, lookups)
    this.typingUsers = new Map(); // userId -> timer
    this.pending = new Map(); // clientId -> <li>
    this.oldestSeq = null;
    this.hasMore = false;
    this.loadingEarlier = false;
    this.active = false;
    this._handlers = {};

    this.status = h("p.room-status", { role: "status" });
    this.memberList = h("ul.members", { "aria-label": "Members" });
    this.earlier = h("button.link.earlier", { type: "button", hidden: true, onclick: () => this.loadEarlier() },
                     "Load earlier messages");
    this.log = h("ol.chat", { role: "log", "aria-label": "Chat", "aria-live": "polite", tabindex: "0",
                              onscroll: () => { if (this.log.scrollTop < 40) this.loadEarlier(); } });
    this.typingLine = h("p.typing", { "aria-live": "polite" });
    this.input = h("textarea", { id: "chat-input", rows: "2", maxlength: "4000", placeholder: "Write a message",
                                 oninput: () => this.client.typing(this.room, this.input.value !== ""),
                                 onkeydown: (event) => this._key(event) });
    this.form = h("form.composer", { onsubmit: (event) => { event.preventDefault(); this.send(); } },
      h("label.sr", { for: "chat-input" }, "Message"), this.input, h("button.primary", { type: "submit" }, "Send"));
    this.element = h("section.room", { "aria-labelledby": "room-title" },
      h("h2", { id: "room-title" }, "Pitch room"), this.status,
      h("h3.sr", "Members"), this.memberList,
      this.earlier, this.log, this.typingLine, this.form);
    container.append(this.element);
    this.lock("Join the room to chat.");

    for (const type of ["joined", "chat", "member_joined", "member_left", "typing", "presence", "kicked", "resync"]) {
      this._handlers[type] = ({ detail }) => {
        if (detail.room === this.room || (type === "presence" && this.members.has(detail.userId))) {
          this[`_${type}`](detail);
        }
      };
      client.addEventListener(type, this._handlers[type]);
    }
  }

  destroy() {
    for (const [type, handler] of Object.entries(this._handlers)) this.client.removeEventListener(type, handler);
    for (const timer of this.typingUsers.values()) clearTimeout(timer);
    if (this.active) this.client.leave(this.room).catch(() => {});
    this.active = false;
  }

  async join() {
    this.active = true;
    this.status.textContent = "Joining…";
    try {
      await this.client.join(this.room);
    } catch (error) {
      this.active = false;
      this.lock(error.code === "forbidden" ? "Sign the NDA to join this room." : `Could not join: ${error.message}`);
    }
  }

  lock(message) {
    this.element.classList.add("locked");
    this.form.hidden = true;
    this.status.textContent = message;
  }

  // ---- events ---------------------------------------------------------------------------

  _joined(detail) {
    this.element.classList.remove("locked");
    this.form.hidden = false;
    this.status.textContent = "";
    this.members = new Map(detail.members.map((user) => [user.id, user]));
    for (const user of detail.members) this.names.set(user.id, user.username);
    this.presence = { ...detail.presence };
    this.renderMembers();
    if (!detail.resumed) {
      clear(this.log);
      this.pending.clear();
      this.oldestSeq = detail.history.length ? detail.history[0].seq : detail.seq + 1;
      this.hasMore = this.oldestSeq > 1;
      this.earlier.hidden = !this.hasMore;
      requestAnimationFrame(() => this.scrollToEnd());
    }
    // the history's events follow as their own (replayed) events
  }

  _chat(chat) {
    if (chat.user) this.names.set(chat.userId, chat.user.username);
    const item = this.chatItem(chat);
    const pending = this.pending.get(chat.clientId);
    if (pending && chat.userId === this.client.user?.id) {
      this.pending.delete(chat.clientId);
      pending.replaceWith(item);
    } else {
      this.appendLive(item);
    }
    this.setTyping(chat.userId, false);
  }

  _member_joined(event) {
    this.members.set(event.user.id, event.user);
    this.names.set(event.user.id, event.user.username);
    this.presence[event.user.id] ??= "online";
    this.renderMembers();
    this.appendLive(this.systemItem(event));
  }

  _member_left(event) {
    this.members.delete(event.userId);
    this.setTyping(event.userId, false);
    this.renderMembers();
    this.appendLive(this.systemItem(event));
  }

  _typing(event) {
    if (event.userId !== this.client.user?.id) this.setTyping(event.userId, event.typing);
  }

  _presence(event) {
    this.presence[event.userId] = event.status;
    this.renderMembers();
  }

  _kicked(event) {
    this.active = false;
    this.members.clear();
    this.renderMembers();
    this.lock(`You are no longer in this room (${event.reason}).`);
  }

  _resync() {
    clear(this.log);
    this.status.textContent = "Catching up…";
  }

  // ---- chat -----------------------------------------------------------------------------

  _key(event) {
    if (event.key === "Enter" && !event.shiftKey) {
      event.preventDefault();
      this.send();
    }
  }

  send() {
    const body = this.input.value;
    if (!body.trim()) return;
    this.input.value = "";
    const clientId = newClientId();
    const done = this.client.chat(this.room, body, clientId);
    const item = h("li.msg.mine.pending", { dataset: { clientId } },
      h("span.author", this.client.user?.username || "me"), h("p.body", body),
      h("span.when", "Sending…"));
    this.pending.set(clientId, item);
    this.appendLive(item, true);
    done.catch((error) => {
      item.classList.add("failed");
      item.querySelector(".when").textContent = `Not sent: ${error.message}`;
    });
  }

  chatItem(chat) {
    const mine = chat.userId === this.client.user?.id;
    return h(`li.msg${mine ? ".mine" : ""}`, { dataset: { seq: chat.seq, clientId: chat.clientId } },
      h("span.author", { dataset: { author: chat.userId } }, this.name(chat.userId)), h("p.body", chat.body),
      h("time.when", { datetime: new Date(chat.createdAt).toISOString() }, timeText(chat.createdAt)));
  }

  systemItem(event) {
    const who = event.user ? event.user.username : this.name(event.userId);
    return h("li.system", { dataset: { seq: event.seq } },
      `${who} ${event.type === "member_joined" ? "joined" : "left"}`);
  }

  appendLive(item, force = false) {
    const nearEnd = this.log.scrollHeight - this.log.scrollTop - this.log.clientHeight < 80;
    // Pending messages stay last: the log is in seq order above them.
    const firstPending = this.log.querySelector("li.pending");
    if (firstPending && !item.classList.contains("pending")) firstPending.before(item);
    else this.log.append(item);
    if (nearEnd || force) this.scrollToEnd();
  }

  scrollToEnd() {
    this.log.scrollTop = this.log.scrollHeight;
  }

  async loadEarlier() {
    if (!this.hasMore || this.loadingEarlier || !this.active) return;
    this.loadingEarlier = true;
    this.earlier.textContent = "Loading…";
    try {
      const { data, meta } = await api.get(`/api/pitches/${this.pitchId}/history?before=${this.oldestSeq}&limit=${PAGE}`);
      const height = this.log.scrollHeight;
      const items = data.filter((e) => e.seq < this.oldestSeq).map((e) =>
        e.type === "chat" ? this.chatItem(e) : e.type === "pitch_updated" ? null : this.systemItem(e));
      this.log.prepend(...items.filter(Boolean));
      this.log.scrollTop += this.log.scrollHeight - height; // keep what the reader was looking at
      if (data.length) this.oldestSeq = data[0].seq;
      this.hasMore = meta.hasMore && data.length > 0;
    } catch (error) {
      this.status.textContent = `Could not load earlier messages: ${error.message}`;
    } finally {
      this.loadingEarlier = false;
      this.earlier.textContent = "Load earlier messages";
      this.earlier.hidden = !this.hasMore;
    }
  }

  // ---- members and typing ---------------------------------------------------------------

  name(userId) {
    const known = this.names.get(userId);
    if (known) return known;
    this.names.set(userId, `user ${userId}`);
    api.get(`/api/users/${userId}`).then(({ data }) => {
      this.names.set(userId, data.username);
      for (const node of this.log.querySelectorAll(`[data-author="${userId}"]`)) node.textContent = data.username;
    }).catch(() => {});
    return `user ${userId}`;
  }

  renderMembers() {
    clear(this.memberList, [...this.members.values()].map((user) => {
      const status = this.presence[user.id] || "online";
      return h("li.member", { dataset: { userId: user.id, status } },
        h("span.dot", { "aria-hidden": "true" }), h("span.name", user.username),
        h("span.kind", user.userType), h("span.presence", status));
    }));
  }

  setTyping(userId, typing) {
    clearTimeout(this.typingUsers.get(userId));
    if (typing) this.typingUsers.set(userId, setTimeout(() => this.setTyping(userId, false), TYPING_SHOWN_MS));
    else this.typingUsers.delete(userId);
    const names = [...this.typingUsers.keys()].map((id) => this.members.get(id)?.username || this.name(id));
    this.typingLine.textContent = names.length === 0 ? "" :
      `${names.join(", ")} ${names.length === 1 ? "is" : "are"} typing…`;
  }
}
