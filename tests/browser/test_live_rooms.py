"""Two or three people in real browsers on the demo page, against a real node: presence,
typing and chat live; scroll-back; live edits with conflicts; the NDA flow; a node killed
and restarted without losing a chat."""

from __future__ import annotations

import re
import threading

import trio
from browser_support import CREATOR, INVESTOR, ServedNode, open_pitch

from storage import append_chat, open_storage


def _messages(page, body: str):
    return page.locator("li.msg[data-seq] .body", has_text=re.compile(f"^{re.escape(body)}$"))


def _member(page, name: str, status: str = "online"):
    return page.locator(f'.member[data-status="{status}"]', has_text=name)


def _logline(page, text: str):
    return page.locator('.field[data-field="logline"]', has_text=text)


def _pitch_id(page) -> int:
    return int(page.url.rsplit("/", 1)[1])


def test_creator_and_investor_see_presence_typing_and_chat_live(pages) -> None:
    creator = pages.signed_in(CREATOR)
    investor = pages.signed_in(INVESTOR)
    open_pitch(creator, "The Last Lighthouse")
    open_pitch(investor, "The Last Lighthouse")

    _member(creator, "sarahinvestor").wait_for()
    _member(investor, "alexcreator").wait_for()

    investor.locator("#chat-input").press_sequentially("Is the budget final?", delay=20)
    creator.locator(".typing", has_text="sarahinvestor is typing").wait_for()
    investor.locator("#chat-input").press("Enter")
    _messages(creator, "Is the budget final?").wait_for()
    creator.wait_for_function("() => !document.querySelector('.typing').textContent")

    creator.locator("#chat-input").fill("Yes, locked at 2M.")
    creator.get_by_role("button", name="Send").click()
    _messages(investor, "Yes, locked at 2M.").wait_for()
    for page in (creator, investor):
        assert _messages(page, "Is the budget final?").count() == 1
        assert _messages(page, "Yes, locked at 2M.").count() == 1

    investor.evaluate("window.pitchey.client.setPresence('away')")
    _member(creator, "sarahinvestor", "away").wait_for()
    pages.shot(creator, "creator-desktop")

    # A hidden tab sends no typing but keeps its connection, rooms and presence.
    investor.evaluate(
        "Object.defineProperty(document, 'visibilityState', {value: 'hidden', configurable: true});"
        "document.dispatchEvent(new Event('visibilitychange'))"
    )
    investor.locator("#chat-input").press_sequentially("hidden typing", delay=10)
    creator.wait_for_timeout(1200)
    assert creator.locator(".typing").text_content() == ""
    assert _member(creator, "sarahinvestor", "away").count() == 1
    assert investor.evaluate("window.pitchey.client.state") == "open"

    investor.set_viewport_size({"width": 390, "height": 844})
    pages.shot(investor, "investor-phone")


def test_chat_history_scrolls_back_past_the_join_snapshot(pages, served: ServedNode) -> None:
    creator = pages.signed_in(CREATOR)
    open_pitch(creator, "Small Hours")
    room = f"pitch:{_pitch_id(creator)}"
    creator_id = creator.evaluate("window.pitchey.client.user.id")
    _in_thread(_seed_chats, served, room, creator_id, 130)

    investor = pages.signed_in(INVESTOR)
    open_pitch(investor, "Small Hours")
    _messages(investor, "old message 130").wait_for()
    assert _messages(investor, "old message 1").count() == 0  # beyond the join's 100 events
    for _ in range(10):
        investor.locator("ol.chat").evaluate("log => { log.scrollTop = 0; }")
        investor.wait_for_timeout(300)
        if _messages(investor, "old message 1").count():
            break
    _messages(investor, "old message 1").wait_for()
    seqs = investor.locator("li.msg[data-seq]").evaluate_all(
        "items => items.map((li) => Number(li.dataset.seq))"
    )
    assert seqs == sorted(seqs) and len(seqs) == len(set(seqs)) >= 130
    pages.shot(investor, "scrolled-back")


def _in_thread(async_fn, *args) -> None:
    """trio.run in a thread of its own: this thread's asyncio state is Playwright's."""
    failures: list[BaseException] = []

    def run() -> None:
        try:
            trio.run(async_fn, *args)
        except BaseException as exc:
            failures.append(exc)

    worker = threading.Thread(target=run)
    worker.start()
    worker.join(60)
    assert not worker.is_alive() and not failures, failures


async def _seed_chats(served: ServedNode, room: str, user_id: int, count: int) -> None:
    env = served.env
    async with open_storage(
        env["DATABASE_URL"], env["REDIS_URL"], pool_size=1, key_prefix=env["REDIS_KEY_PREFIX"]
    ) as storage:
        for i in range(1, count + 1):
            await append_chat(
                storage, room, sender_id=user_id, body=f"old message {i}", client_id=f"seed-{i}"
            )


def test_live_edits_show_to_everyone_and_a_stale_edit_shows_a_conflict(pages) -> None:
    first = pages.signed_in(CREATOR)
    second = pages.signed_in(CREATOR)
    investor = pages.signed_in(INVESTOR)
    for page in (first, second, investor):
        open_pitch(page, "Paper Tigers")
        page.locator(".room:not(.locked) .member").first.wait_for()

    second.get_by_role("button", name="Edit Logline").click()  # based on the current version
    first.get_by_role("button", name="Edit Logline").click()
    first.locator("#edit-logline").fill("Edited in the first window.")
    first.get_by_role("button", name="Save").click()
    for page in (first, investor):
        _logline(page, "Edited in the first window.").wait_for()

    second.locator("#edit-logline").fill("Edited in the second window.")
    second.get_by_role("button", name="Save").click()
    second.locator(".conflict", has_text="Edited in the first window.").wait_for()
    pages.shot(second, "edit-conflict")

    second.get_by_role("button", name="Save").click()  # knowingly replace theirs
    for page in (first, investor):
        _logline(page, "Edited in the second window.").wait_for()


def test_nda_request_approve_sign_and_revoke_show_live(pages) -> None:
    creator = pages.signed_in(CREATOR)
    investor = pages.signed_in(INVESTOR)
    open_pitch(creator, "Neon Harvest")
    open_pitch(investor, "Neon Harvest")
    secret = "Season one: 18.5m USD"
    investor.locator(".protected.locked").wait_for()
    assert investor.get_by_text(secret).count() == 0
    creator.get_by_text(secret).wait_for()  # the owner sees it
    unread = int(creator.locator("#bell-count").text_content() or 0)

    investor.get_by_role("button", name="Request NDA").click()
    request = creator.locator(".nda-request", has_text="sarahinvestor")
    request.locator('[data-status="pending"]').wait_for()
    creator.wait_for_function(
        f"() => Number(document.getElementById('bell-count').textContent) > {unread}"
    )
    pages.shot(creator, "creator-sees-request")

    request.get_by_role("button", name="Approve").click()
    investor.get_by_text("Approved — ready to sign").wait_for()
    investor.locator("#nda-name").fill("Sarah Chen")
    investor.locator("#nda-accept").check()
    investor.get_by_role("button", name="Sign NDA").click()
    investor.get_by_text(secret).wait_for()  # no reload
    _member(investor, "sarahinvestor").wait_for()  # and the room let them in
    creator.locator(".nda-request", has_text="Signed").wait_for()
    assert investor.evaluate("performance.getEntriesByType('navigation').length") == 1
    pages.shot(investor, "investor-signed")

    creator.locator(".nda-request").get_by_role("button", name="Revoke").click()
    investor.locator(".protected.locked").wait_for()
    assert investor.get_by_text(secret).count() == 0
    investor.locator(".room.locked").wait_for()
    pages.shot(investor, "investor-revoked")


def test_chat_written_while_the_node_is_down_arrives_exactly_once(
    pages, served: ServedNode
) -> None:
    creator = pages.signed_in(CREATOR)
    investor = pages.signed_in(INVESTOR)
    open_pitch(creator, "The Last Lighthouse")
    open_pitch(investor, "The Last Lighthouse")
    _member(creator, "sarahinvestor").wait_for()

    creator.locator("#chat-input").fill("Before the outage")
    creator.locator("#chat-input").press("Enter")
    _messages(investor, "Before the outage").wait_for()

    served.kill()
    investor.wait_for_function("() => window.pitchey.client.state !== 'open'")
    investor.locator("#chat-input").fill("Written while the node was down")
    investor.locator("#chat-input").press("Enter")
    investor.locator("li.msg.pending", has_text="Written while the node was down").wait_for()
    assert investor.evaluate("window.pitchey.client.pending.length") == 1
    pages.shot(investor, "offline-pending")

    served.start()
    for page in (creator, investor):
        page.wait_for_function("() => window.pitchey.client.state === 'open'", timeout=30_000)
        _messages(page, "Written while the node was down").wait_for()
    investor.wait_for_function("() => window.pitchey.client.pending.length === 0")
    for page in (creator, investor):
        assert _messages(page, "Written while the node was down").count() == 1
        assert _messages(page, "Before the outage").count() == 1
    pitch_id = _pitch_id(investor)
    stored = investor.evaluate(
        f"""async () => {{
          const r = await fetch('/api/pitches/{pitch_id}/history?limit=100');
          return (await r.json()).data.filter((e) => e.type === 'chat').map((e) => e.body);
        }}"""
    )
    assert stored.count("Written while the node was down") == 1
    assert stored.count("Before the outage") == 1
    pages.shot(creator, "after-restart")
