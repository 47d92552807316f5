// The NDA panel of a protected pitch. Requesters: request, then sign once approved.
// The owner: the pitch's requests with approve / reject / revoke. Both sides reload it
// when an `nda_status` for this pitch arrives, so every step shows up live.
import * as api from "./api.js";
import { clear, dateText, h } from "./dom.js";

const STATUS_TEXT = {
  pending: "Requested — waiting for the creator",
  approved: "Approved — ready to sign",
  rejected: "Declined",
  signed: "Signed",
  expired: "Expired",
  revoked: "Revoked",
};

export class NdaPanel {
  constructor(container, pitch) {
    this.pitch = pitch;
    this.element = h("section.card.nda", { "aria-labelledby": "nda-title" });
    container.append(this.element);
  }

  async load() {
    if (this.pitch.canEdit) await this.renderOwner();
    else await this.renderRequester();
  }

  async renderRequester() {
    const { data: nda } = await api.get(`/api/pitches/${this.pitch.id}/nda`);
    const status = nda?.status;
    const body = [];
    if (status) {
      body.push(h("p.nda-status", { dataset: { status } }, h("strong", STATUS_TEXT[status])));
      if (status === "rejected" && nda.reason) body.push(h("p", `Reason: ${nda.reason}`));
      const until = nda.validUntil || nda.expiresAt;
      if (status === "signed" && until) body.push(h("p.hint", `Valid until ${dateText(until)}.`));
    } else {
      body.push(h("p", "The budget, talent and financials of this pitch are shared under an NDA."));
    }
    if (!status || ["rejected", "expired", "revoked"].includes(status)) {
      const message = h("textarea", { id: "nda-message", rows: "2", maxlength: "5000" });
      body.push(h("form.stack", { onsubmit: (e) => this.act(e, () => api.post(`/api/pitches/${this.pitch.id}/nda`, {
        message: message.value.trim() || undefined })) },
        h("label", { for: "nda-message" }, "Message to the creator (optional)"), message,
        h("button.primary", { type: "submit" }, "Request NDA")));
    }
    if (status === "approved") {
      const name = h("input", { id: "nda-name", required: true, maxlength: "200", autocomplete: "name" });
      const accept = h("input", { id: "nda-accept", type: "checkbox", required: true });
      if (nda.terms) body.push(h("blockquote.terms", nda.terms));
      body.push(h("form.stack", { onsubmit: (e) => this.act(e, () => api.post(`/api/ndas/${nda.id}/sign`, {
        fullName: name.value.trim(), accept: true })) },
        h("label", { for: "nda-name" }, "Full name"), name,
        h("label.check", accept, " I accept the terms of this NDA"),
        h("button.primary", { type: "submit" }, "Sign NDA")));
    }
    this.show("NDA", body);
  }

  async renderOwner() {
    const { data } = await api.get("/api/ndas?direction=incoming&limit=50");
    const requests = data.filter((nda) => nda.pitchId === this.pitch.id);
    const rows = requests.map((nda) => h("li.nda-request", { dataset: { ndaId: nda.id, status: nda.status } },
      h("div", h("strong", nda.requester.username), " ", h("span.tag", nda.requester.userType)),
      h("p.nda-status", { dataset: { status: nda.status } }, STATUS_TEXT[nda.status]),
      nda.message ? h("p.hint", `“${nda.message}”`) : null,
      h("div.actions", this.ownerActions(nda))));
    this.show("NDA requests", rows.length ? h("ul.plain", rows) : h("p.hint", "No requests yet."));
  }

  ownerActions(nda) {
    const post = (action, body = {}) => (e) => this.act(e, () => api.post(`/api/ndas/${nda.id}/${action}`, body));
    if (nda.status === "pending") {
      const reason = h("input", { "aria-label": `Reason to decline ${nda.requester.username}`, required: true,
                                  maxlength: "2000", placeholder: "Reason to decline" });
      return [
        h("button.primary", { type: "button", onclick: post("approve") }, "Approve"),
        h("form.inline", { onsubmit: (e) => post("reject", { reason: reason.value.trim() })(e) },
          reason, h("button", { type: "submit" }, "Reject")),
      ];
    }
    if (nda.status === "approved" || nda.status === "signed") {
      return [h("button.danger", { type: "button", onclick: post("revoke") }, "Revoke")];
    }
    return [];
  }

  show(title, body) {
    clear(this.element, h("h2", { id: "nda-title" }, title), body, h("p.error", { role: "alert" }));
  }

  async act(event, request) {
    event.preventDefault();
    const controls = this.element.querySelectorAll("button, input, textarea");
    controls.forEach((c) => { c.disabled = true; });
    try {
      await request();
      await this.load();
    } catch (error) {
      controls.forEach((c) => { c.disabled = false; });
      this.element.querySelector(".error").textContent = error.message;
    }
  }
}
