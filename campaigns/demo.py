"""Demo data of the campaigns app: the built-in segments (created by a migration) filled from the
seeded customers, so that the demo's segment pages and the reps' alert list have members."""

from __future__ import annotations

from crm.demo import SeedContext


def seed(ctx: SeedContext) -> None:
    from campaigns.services import segments_refresh

    with ctx.phase("Refreshing the segments"):
        segments_refresh()
