// Sign-in with a portal chooser; the demo accounts fill the form in one click.
import * as api from "./api.js";
import { clear, h } from "./dom.js";

const PORTALS = [
  ["creator", "Creator", "Publish pitches and talk to backers"],
  ["investor", "Investor", "Browse pitches and request NDAs"],
  ["production", "Production", "Find projects to produce"],
];
const DEMO = [
  ["creator", "alex.creator@demo.com"],
  ["investor", "sarah.investor@demo.com"],
  ["production", "stellar.production@demo.com"],
];

export function renderLogin(main, onSignedIn) {
  const error = h("p.error", { role: "alert", id: "login-error" });
  const email = h("input", { id: "email", name: "email", type: "email", required: true, autocomplete: "username" });
  const password = h("input", { id: "password", name: "password", type: "password", required: true,
                                autocomplete: "current-password" });
  const portals = PORTALS.map(([value, label, hint], i) =>
    h("label.portal", h("input", { type: "radio", name: "portal", value, checked: i === 0 }),
      h("span.portal-name", label), h("span.hint", hint)));
  const form = h("form.card.login", { onsubmit: submit, "aria-labelledby": "login-title" },
    h("h1", { id: "login-title" }, "Sign in to Pitchey"),
    h("fieldset.portals", h("legend", "Portal"), portals),
    h("label", { for: "email" }, "Email"), email,
    h("label", { for: "password" }, "Password"), password,
    h("button.primary", { type: "submit" }, "Sign in"), error,
    h("section.demo", { "aria-labelledby": "demo-title" },
      h("h2", { id: "demo-title" }, "Demo accounts"),
      h("p.hint", "Password ", h("code", "Demo123"), ". Pick one to fill the form."),
      h("ul", DEMO.map(([portal, address]) => h("li", h("button.link", {
        type: "button", onclick: () => fill(portal, address),
      }, address))))));
  clear(main, h("div.center", form));

  function fill(portal, address) {
    form.querySelector(`input[value="${portal}"]`).checked = true;
    email.value = address;
    password.value = "Demo123";
    password.focus();
  }

  async function submit(event) {
    event.preventDefault();
    error.textContent = "";
    const portal = new FormData(form).get("portal");
    const button = form.querySelector("button[type=submit]");
    button.disabled = true;
    try {
      await api.login(portal, email.value.trim(), password.value);
      await onSignedIn();
    } catch (failure) {
      error.textContent = failure.message;
      button.disabled = false;
    }
  }
}
