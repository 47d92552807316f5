"""The demo accounts and sample pitches (``pitchey seed-demo``, ``pitchey serve --demo``)."""

from __future__ import annotations

import structlog

from storage import SeedPitch, SeedResult, SeedUser, Storage, seed

from ._passwords import hash_password

log = structlog.get_logger("http_api.demo")

DEMO_PASSWORD = "Demo123"
CREATOR = "alex.creator@demo.com"

_ACCOUNTS = [
    (CREATOR, "alexcreator", "creator", "Alex", "Rivera", None,
     "Writer-director of two festival shorts; developing first feature."),
    ("sarah.investor@demo.com", "sarahinvestor", "investor", "Sarah", "Chen", "Chen Capital",
     "Angel investor in independent film and limited series."),
    ("stellar.production@demo.com", "stellarproduction", "production", "Maya", "Okafor",
     "Stellar Productions", "Mid-size production company: drama, thriller, documentary."),
]  # fmt: skip

_PITCHES = [
    SeedPitch(
        owner_email=CREATOR,
        title="The Last Lighthouse",
        logline="A reclusive lighthouse keeper discovers the storms battering her island "
        "are answering a signal only she can hear.",
        genre="thriller",
        format="feature",
        budget_range="5m-10m",
        short_synopsis="On a failing Hebridean island, a keeper decodes the weather.",
        long_synopsis="Isla has kept the Skerrymor light for twenty years. When the storms "
        "begin arriving on a schedule, she realises the lamp's old signal pattern is being "
        "answered, and the island must choose between its livelihood and the truth.",
        target_audience="Adults 25-54, fans of atmospheric thrillers",
        comparable_titles="The Lighthouse; Annihilation",
        themes="isolation, obsession, climate",
    ),
    SeedPitch(
        owner_email=CREATOR,
        title="Neon Harvest",
        logline="In a vertical-farm megacity, a night-shift botanist uncovers the crop that "
        "feeds the city is engineered to forget.",
        genre="sci-fi",
        format="series",
        budget_range="10m-25m",
        short_synopsis="Eight episodes of corporate sci-fi noir.",
        long_synopsis="Juno Park tends the lowest floors of Tower Nine. A blight that only "
        "affects memories sends her up the tower, floor by floor, to the people who decided "
        "what the city should remember.",
        target_audience="Streaming audiences 18-40",
        comparable_titles="Severance; Blade Runner 2049",
        themes="memory, labour, food",
        require_nda=True,
        protected_content={
            "budgetBreakdown": "Season one: 18.5m USD; VFX 32%, cast 21%, crew 24%.",
            "productionTimeline": "Prep Q1, shoot Q2-Q3 (68 days), delivery Q1 next year.",
            "attachedTalent": "Showrunner attached; lead in negotiation.",
            "financialProjections": "Break-even at two territory pre-sales plus one SVOD.",
            "distributionPlan": "Global SVOD first window; FAST channels after 24 months.",
        },
    ),
    SeedPitch(
        owner_email=CREATOR,
        title="Small Hours",
        logline="Three strangers running a 24-hour laundromat keep a city's secrets "
        "between midnight and dawn.",
        genre="drama",
        format="series",
        budget_range="1m-5m",
        short_synopsis="Half-hour ensemble drama set across one night per episode.",
        long_synopsis="Each episode is one night shift: a lost wedding dress, a bag of "
        "cash, a child asleep on the folding table. The owners slowly become the people "
        "the neighbourhood trusts most.",
        target_audience="Broad adult audience",
        comparable_titles="Atlanta; The Bear",
        themes="community, night work, found family",
    ),
    SeedPitch(
        owner_email=CREATOR,
        title="Paper Tigers",
        logline="A documentary crew follows the last family-run newspaper in a "
        "county of 200,000 through its final election season.",
        genre="documentary",
        format="feature",
        budget_range="under-1m",
        short_synopsis="Local news, one newsroom, one election.",
        long_synopsis="The Harlow Courier has four reporters and 130 years of history. "
        "Over six months the crew watches the paper cover a contested election while "
        "deciding whether it can survive it.",
        target_audience="Documentary and public-affairs audiences",
        comparable_titles="Page One; Spotlight",
        themes="journalism, democracy, family business",
    ),
]


async def seed_demo(storage: Storage) -> SeedResult:
    """Create the demo accounts and pitches that are missing (safe to run again)."""
    password_hash = await hash_password(DEMO_PASSWORD)
    users = [
        SeedUser(email, username, kind, password_hash, first, last, company, bio)
        for email, username, kind, first, last, company, bio in _ACCOUNTS
    ]
    result = await seed(storage, users, _PITCHES)
    log.info(
        "demo_seeded", users_created=result.users_created, pitches_created=result.pitches_created
    )
    return result
