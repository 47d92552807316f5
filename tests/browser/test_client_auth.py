"""The client's authentication in a real browser: `auth` with a fresh token on the open
connection, and no reconnecting after a refused refresh until a new token is given."""

from __future__ import annotations

from browser_support import INVESTOR


def test_reauthenticate_sends_a_fresh_token_the_server_accepts(pages) -> None:
    page = pages.signed_in(INVESTOR)
    page.evaluate("window.pitchey.client.reauthenticate()")  # refresh, then `auth` → ack
    assert page.evaluate("window.pitchey.client.state") == "open"
    refused = page.evaluate(
        "window.pitchey.client.reauthenticate('not-a-token').then(() => null, (e) => e.code)"
    )
    assert refused == "unauthorized"
    assert page.evaluate("window.pitchey.client.state") == "open"  # keeps its expiry


def test_no_reconnect_after_a_refused_refresh_until_a_new_token(pages) -> None:
    page = pages.signed_in(INVESTOR)
    tickets: list[str] = []
    page.on("request", lambda r: tickets.append(r.url) if "/api/ws/token" in r.url else None)
    page.evaluate(
        """async () => {
          window.pitchey.client.close();  // the page's own client
          await fetch('/api/auth/logout', { method: 'POST', credentials: 'same-origin' });
          const { PitcheyClient } = await import('/static/client/pitchey-client.js');
          window.signedOut = new PitcheyClient();  // refreshes with the (gone) cookie
          window.signedOut.connect();
        }"""
    )
    page.wait_for_function("() => window.signedOut.state === 'unauthorized'")
    page.wait_for_timeout(1500)
    assert len(tickets) == 1  # refused; the refresh is refused too; no retry
    assert page.evaluate("window.signedOut.state") == "unauthorized"

    page.evaluate(
        """async () => {
          const r = await fetch('/api/auth/investor/login', {
            method: 'POST', headers: { 'Content-Type': 'application/json' },
            body: JSON.stringify({ email: 'sarah.investor@demo.com', password: 'Demo123' }) });
          window.signedOut.setAccessToken((await r.json()).data.accessToken);
        }"""
    )
    page.wait_for_function("() => window.signedOut.state === 'open'")
    assert len(tickets) == 2
