// The notification bell: the unread count and latest notifications over HTTP, then live
// `notification` events; refetched after a reconnect (missed ones are not replayed).
import * as api from "./api.js";
import { clear, h, timeText } from "./dom.js";

export class Bell {
  constructor(client) {
    this.client = client;
    this.button = document.getElementById("bell");
    this.panel = document.getElementById("bell-panel");
    this.list = document.getElementById("bell-list");
    this.count = document.getElementById("bell-count");
    this.unread = 0;
    this.items = [];
    this._onNotification = ({ detail }) => this.add(detail);
    this._onWelcome = () => this.load().catch(() => {});
    this._onToggle = () => this.toggle();
    this._onReadAll = () => this.readAll();
    this._onKey = (event) => { if (event.key === "Escape" && !this.panel.hidden) this.toggle(false); };
    client.addEventListener("notification", this._onNotification);
    client.addEventListener("welcome", this._onWelcome);
    this.button.addEventListener("click", this._onToggle);
    document.getElementById("bell-read-all").addEventListener("click", this._onReadAll);
    document.addEventListener("keydown", this._onKey);
    this.render();
  }

  destroy() {
    this.client.removeEventListener("notification", this._onNotification);
    this.client.removeEventListener("welcome", this._onWelcome);
    this.button.removeEventListener("click", this._onToggle);
    document.getElementById("bell-read-all").removeEventListener("click", this._onReadAll);
    document.removeEventListener("keydown", this._onKey);
    this.toggle(false);
  }

  async load() {
    const { data, meta } = await api.get("/api/notifications?limit=20");
    this.items = data.map((n) => ({ ...n, createdAt: Date.parse(n.createdAt), unread: !n.readAt }));
    this.unread = meta.unreadCount;
    this.render();
  }

  add(notification) {
    if (this.items.some((n) => n.id === notification.id)) return;
    this.items.unshift({ ...notification, unread: true });
    this.items.length = Math.min(this.items.length, 20);
    this.unread += 1;
    this.render();
    this.button.classList.remove("ring");
    void this.button.offsetWidth; // restart the animation
    this.button.classList.add("ring");
  }

  async readAll() {
    await api.post("/api/notifications/read-all");
    this.unread = 0;
    for (const item of this.items) item.unread = false;
    this.render();
  }

  toggle(open = this.panel.hidden) {
    this.panel.hidden = !open;
    this.button.setAttribute("aria-expanded", String(open));
  }

  render() {
    this.count.hidden = this.unread === 0;
    this.count.textContent = String(this.unread);
    this.button.setAttribute("aria-label", `Notifications, ${this.unread} unread`);
    clear(this.list, this.items.length ? this.items.map((n) =>
      h(`li.${n.unread ? "unread" : "read"}`,
        h("strong", n.title), h("span.body", n.body), h("time", timeText(n.createdAt)))) :
      h("li.empty", "Nothing yet."));
  }
}
