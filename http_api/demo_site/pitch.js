// One pitch: its fields (edited live by the owner and collaborators, conflicts shown), the
// protected material when the viewer is entitled to it, the NDA panel and the room.
import * as api from "./api.js";
import { clear, h } from "./dom.js";
import { NdaPanel } from "./nda.js";
import { RoomPanel } from "./room.js";

const FIELDS = [
  ["logline", "Logline"], ["shortSynopsis", "Short synopsis"], ["longSynopsis", "Synopsis"],
  ["genre", "Genre"], ["format", "Format"], ["budgetRange", "Budget"],
  ["targetAudience", "Audience"], ["comparableTitles", "Comparable titles"], ["themes", "Themes"],
];
const LABELS = Object.fromEntries([["title", "Title"], ...FIELDS]);

export class PitchView {
  constructor(main, pitchId, client) {
    this.main = main;
    this.id = pitchId;
    this.room = `pitch:${pitchId}`;
    this.client = client;
    this.pitch = null;
    this.version = 0;
    this.roomPanel = null;
    this.nda = null;
    this._handlers = {
      pitch_updated: ({ detail }) => { if (detail.room === this.room) this.applyUpdate(detail); },
      joined: ({ detail }) => { if (detail.room === this.room && detail.pitch) this.applySnapshot(detail.pitch); },
      nda_status: ({ detail }) => { if (detail.pitchId === this.id) this.ndaChanged(detail); },
      kicked: ({ detail }) => { if (detail.room === this.room) this.refresh(); },
    };
    for (const [type, handler] of Object.entries(this._handlers)) client.addEventListener(type, handler);
  }

  destroy() {
    for (const [type, handler] of Object.entries(this._handlers)) this.client.removeEventListener(type, handler);
    this.roomPanel?.destroy();
  }

  async load() {
    clear(this.main, h("p.hint", "Loading…"));
    try {
      this.pitch = (await api.get(`/api/pitches/${this.id}`)).data;
    } catch (error) {
      clear(this.main, h("p.error", { role: "alert" }, error.message), h("p", h("a", { href: "#/" }, "Back to browsing")));
      return;
    }
    this.version = this.pitch.version;
    this.details = h("article.pitch", { "aria-labelledby": "pitch-title" });
    this.side = h("div.side");
    clear(this.main, h("p.crumbs", h("a", { href: "#/" }, "← All pitches")), h("div.pitch-layout", this.details, this.side));
    this.renderDetails();
    if (this.pitch.requireNda) {
      this.nda = new NdaPanel(this.side, this.pitch);
      await this.nda.load();
    }
    this.roomPanel = new RoomPanel(this.side, this.client, this.id);
    if (this.pitch.ndaRequired) this.roomPanel.lock("Sign the NDA to join this room.");
    else await this.roomPanel.join();
  }

  // ---- rendering ----------------------------------------------------------------------

  renderDetails() {
    const p = this.pitch;
    const meta = [p.genre, p.format, p.budgetRange].filter(Boolean).join(" · ");
    clear(this.details,
      h("header.pitch-head",
        this.field("title", p.title, (value) => h("h1", { id: "pitch-title" }, value)),
        h("p.meta", meta, p.requireNda ? h("span.nda-badge", "NDA") : null,
          h("span.version", { "aria-label": "version" }, `v${this.version}`)),
        p.creator ? h("p.by", `by ${p.creator.username}`) : null),
      h("dl.fields", FIELDS.map(([key, label]) => [h("dt", label), h("dd", this.field(key, p[key]))])),
      this.protectedSection());
  }

  /** A field's value, with an Edit button for editors. */
  field(key, value, wrap = (v) => h("p", v)) {
    const shown = wrap(value ?? "—");
    const box = h("div.field", { dataset: { field: key } }, shown);
    if (this.pitch.canEdit) {
      box.append(h("button.link.edit", { type: "button", onclick: () => this.edit(box, key),
                                          "aria-label": `Edit ${LABELS[key]}` }, "Edit"));
    }
    return box;
  }

  protectedSection() {
    const content = this.pitch.protectedContent;
    if (content && Object.values(content).some((v) => v !== null && v !== undefined)) {
      return h("section.protected", { "aria-labelledby": "protected-title" },
        h("h2", { id: "protected-title" }, "Confidential material"),
        h("dl", Object.entries(content).filter(([, v]) => v !== null && v !== undefined).map(([k, v]) =>
          [h("dt", humanize(k)), h("dd", typeof v === "string" ? v : JSON.stringify(v))])));
    }
    if (this.pitch.ndaRequired) {
      return h("section.protected.locked", h("h2", "Confidential material"),
        h("p", "Visible once you have signed this pitch's NDA."));
    }
    return null;
  }

  // ---- live editing ---------------------------------------------------------------------

  edit(box, key) {
    const current = this.pitch[key] ?? "";
    const input = h(key === "longSynopsis" || key === "shortSynopsis" ? "textarea" : "input",
                    { id: `edit-${key}`, rows: "5", value: current });
    input.value = current;
    const notice = h("p.conflict", { role: "alert", hidden: true });
    let base = this.version; // the edit is based on what the editor showed when it opened
    const save = async (event) => {
      event.preventDefault();
      const value = input.value;
      try {
        const fields = { [key]: key === "title" ? value : value || null };
        const result = await this.client.updatePitch(this.room, base, fields);
        if (result.status === "conflict") {
          base = result.version; // saving again now replaces theirs, knowingly
          const theirs = result.fields[key];
          this.pitch[key] = theirs;
          notice.hidden = false;
          clear(notice, h("strong", "Not saved: "), `someone changed ${LABELS[key]} to “${theirs ?? "—"}” ` +
                `(now v${result.version}). Your text is still here: Save again to replace theirs, or Cancel.`);
          box.classList.add("has-conflict");
          return;
        }
        this.pitch[key] = value;
        this.renderDetails();
      } catch (error) {
        notice.hidden = false;
        notice.textContent = `Not saved: ${error.message}`;
      }
    };
    clear(box, h("form.edit-form", { onsubmit: save },
      h("label", { for: `edit-${key}` }, LABELS[key]), input, notice,
      h("div.actions", h("button.primary", { type: "submit" }, "Save"),
        h("button", { type: "button", onclick: () => this.renderDetails() }, "Cancel"))));
    input.focus();
  }

  applyUpdate(event) {
    const editing = this.details.querySelector(".edit-form");
    this.version = event.version;
    Object.assign(this.pitch, event.fields);
    if (editing) {
      // keep the open editor; refresh the version shown
      const version = this.details.querySelector(".version");
      if (version) version.textContent = `v${this.version}`;
    } else {
      this.renderDetails();
    }
    for (const key of Object.keys(event.fields)) {
      const box = this.details.querySelector(`.field[data-field="${key}"]`);
      if (box && !box.querySelector("form")) {
        box.classList.add("flash");
        box.setAttribute("title", "Just updated");
      }
    }
  }

  applySnapshot(snapshot) {
    if (snapshot.version === this.version) return;
    this.version = snapshot.version;
    for (const key of Object.keys(LABELS)) if (key in snapshot) this.pitch[key] = snapshot[key];
    if ("protectedContent" in snapshot) this.pitch.protectedContent = snapshot.protectedContent;
    if (!this.details.querySelector(".edit-form")) this.renderDetails();
  }

  // ---- NDA changes --------------------------------------------------------------------

  async ndaChanged() {
    await this.nda?.load();
    if (!this.pitch.canEdit) await this.refresh();
  }

  /** Reload the pitch as this viewer may now see it; join or leave the room to match. */
  async refresh() {
    const { data } = await api.get(`/api/pitches/${this.id}`).catch(() => ({ data: null }));
    if (!data) return;
    const wasLocked = this.pitch.ndaRequired;
    this.pitch = data;
    this.version = data.version;
    this.renderDetails();
    if (wasLocked && !data.ndaRequired) await this.roomPanel.join();
    if (!wasLocked && data.ndaRequired) this.roomPanel.lock("Your NDA no longer covers this pitch.");
  }
}

function humanize(key) {
  const words = key.replace(/([A-Z])/g, " $1").toLowerCase();
  return words.charAt(0).toUpperCase() + words.slice(1);
}
