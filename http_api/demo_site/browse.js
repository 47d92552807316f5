// Browse tabs (trending, new, popular) and full-text search.
import * as api from "./api.js";
import { clear, h } from "./dom.js";

const TABS = [["trending", "Trending"], ["new", "New"], ["popular", "Popular"]];

export async function renderBrowse(main, { tab, q }) {
  const heading = q ? `Results for “${q}”` : "Browse pitches";
  const nav = q ? h("p", h("a", { href: "#/" }, "← Back to browsing")) :
    h("nav.tabs", { "aria-label": "Browse" }, TABS.map(([value, label]) =>
      h("a", { href: `#/browse?tab=${value}`, "aria-current": value === tab ? "page" : false }, label)));
  const list = h("ul.cards", { "aria-busy": "true" });
  clear(main, h("h1", heading), nav, list);
  const path = q ? `/api/pitches?search=${encodeURIComponent(q)}&limit=30` : `/api/browse?tab=${tab}&limit=30`;
  const { data } = await api.get(path);
  list.removeAttribute("aria-busy");
  if (!data.length) list.append(h("li.empty", "No pitches found."));
  for (const pitch of data) list.append(card(pitch));
}

function card(pitch) {
  const meta = [pitch.genre, pitch.format, pitch.budgetRange].filter(Boolean).join(" · ");
  return h("li.card.pitch-card",
    h("h2", h("a", { href: `#/pitch/${pitch.id}` }, pitch.title)),
    h("p.meta", meta, pitch.requireNda ? h("span.nda-badge", "NDA") : null),
    h("p", pitch.logline));
}
