// The demo page: sign in, browse and search pitches, pitch rooms, the notification bell.
import { PitcheyClient } from "/static/client/pitchey-client.js";
import * as api from "./api.js";
import { Bell } from "./bell.js";
import { clear, h } from "./dom.js";
import { renderBrowse } from "./browse.js";
import { renderLogin } from "./login.js";
import { PitchView } from "./pitch.js";

const main = document.getElementById("main");
const STATE_TEXT = {
  idle: "Offline", connecting: "Connecting…", open: "Live", waiting: "Reconnecting…",
  unauthorized: "Signed out", closed: "Offline",
};

export const app = { client: null, bell: null, view: null };
window.pitchey = app; // for the browser tests and for poking at in devtools

function startClient() {
  const client = new PitcheyClient({ refresh: api.refresh });
  const conn = document.getElementById("conn");
  client.addEventListener("state", ({ detail }) => {
    conn.textContent = STATE_TEXT[detail.state] || detail.state;
    conn.dataset.state = detail.state;
  });
  client.addEventListener("unauthorized", () => { location.hash = "#/login"; route(); });
  if (api.session.accessToken) client.accessToken = api.session.accessToken;
  app.client = client;
  app.bell = new Bell(client);
  client.connect();
}

function stopClient() {
  app.view?.destroy?.();
  app.view = null;
  app.client?.close();
  app.bell?.destroy();
  app.client = app.bell = null;
}

function showHeader() {
  const user = api.session.user;
  document.getElementById("top").hidden = !user;
  if (user) clear(document.getElementById("me"), h("span.who", user.username), " ", h("span.tag", user.userType));
}

async function route() {
  const hash = location.hash || "#/";
  app.view?.destroy?.();
  app.view = null;
  if (!api.session.user || hash.startsWith("#/login")) {
    stopClient();
    showHeader();
    renderLogin(main, async () => {
      showHeader();
      startClient();
      if (hash.startsWith("#/login")) location.hash = "#/"; // hashchange routes
      else await route();
    });
    return;
  }
  showHeader();
  if (!app.client) startClient();
  const [path, queryString = ""] = hash.slice(1).split("?");
  const params = new URLSearchParams(queryString);
  const pitch = path.match(/^\/pitch\/(\d+)$/);
  if (pitch) {
    app.view = new PitchView(main, Number(pitch[1]), app.client);
    await app.view.load();
  } else {
    await renderBrowse(main, { tab: params.get("tab") || "trending", q: params.get("q") || "" });
  }
  main.focus({ preventScroll: true });
}

document.getElementById("search").addEventListener("submit", (event) => {
  event.preventDefault();
  const q = new FormData(event.target).get("q").trim();
  location.hash = q ? `#/search?q=${encodeURIComponent(q)}` : "#/";
});

document.getElementById("logout").addEventListener("click", async () => {
  stopClient();
  await api.logout();
  location.hash = "#/login";
});

window.addEventListener("hashchange", () => route().catch(showFailure));

function showFailure(error) {
  clear(main, h("p.error", { role: "alert" }, `Something went wrong: ${error.message}`));
}

(async () => {
  if (await api.restore().catch(() => false)) startClient();
  await route();
})().catch(showFailure);
