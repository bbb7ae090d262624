"""Assign Cards: free rental cards by ascending number to entries, packed per club."""

from __future__ import annotations

from datetime import UTC, datetime

from t4o_tui.engine.job import Job, JobError, RunContext
from t4o_tui.engine.settings import Schema, Setting
from t4o_tui.orienteering.cards import CardEntry, CardTarget, assign_cards


class AssignCardsJob(Job):
    id = "assign-cards"
    title = "Assign Cards"
    category = "Cards"
    description = (
        "Gives free rental cards, lowest number first, to entries without a card (or to all entries, "
        "replacing their cards), entries sorted by club then start time so cards can be packed per club. "
        "A person running several races gets the same card in each."
    )
    settings = Schema((
        Setting("race", "integer", "Race", "Race number (or id); empty: every race of the event.", min=1),
        Setting("target", "choice", "Entries", "Which entries get a card.", default="without-card",
                choices=(("without-card", "Without a card"), ("all", "All (replaces cards)"))),
        Setting("card_type", "text", "Card type", "Rental cards of this type.", default="SI"),
    ))
    timeout = 120.0

    def run(self, ctx: RunContext) -> None:
        ctype = str(ctx.settings.get("card_type") or "SI")
        with ctx.transaction():
            conn = ctx.db.connection()
            # The race number first: race 2 is the second stage, whatever ids the races got.
            races = [r[0] for r in conn.execute("SELECT id FROM race WHERE race_number=? OR id=? "
                                                "ORDER BY race_number IS NOT ?, id",
                                                (ctx.settings["race"], ctx.settings["race"], ctx.settings["race"]))] if ctx.settings.get("race") \
                else [r[0] for r in conn.execute("SELECT id FROM race")]
            if not races:
                raise JobError("no race to assign cards in" + (f" (setting 'race': {ctx.settings['race']})" if ctx.settings.get("race") else ""))
            races = races[:1] if ctx.settings.get("race") else races
            marks = ",".join("?" * len(races))
            # Numbered cards only, picked here rather than with SQLite's GLOB: one SQL for both backends.
            cards = {int(n): cid for cid, n in conn.execute("SELECT id, number FROM card WHERE card_type=?", (ctype,))
                     if _numeric(n)}
            rental = sorted(int(n) for (n,) in conn.execute("SELECT number FROM card WHERE card_type=? AND rental=1", (ctype,))
                            if _numeric(n))
            if not rental:
                raise JobError(f"no rental {ctype} cards in the register: import them with Import Cards (rental)")
            rows = conn.execute(
                f"SELECT e.id, e.race_id, e.person_id, o.name, s.start_time, "
                f"(SELECT c.number FROM entry_card ec JOIN card c ON c.id = ec.card_id WHERE ec.entry_id = e.id AND c.card_type = ? LIMIT 1) "
                f"FROM entry e LEFT JOIN organisation o ON o.id = e.organisation_id LEFT JOIN start s ON s.entry_id = e.id "
                f"WHERE e.race_id IN ({marks}) AND e.status = 'entered'", (ctype, *races)).fetchall()
            entries = [CardEntry(eid, race, pid, club, datetime.fromtimestamp(st, UTC) if st else None,
                                 int(card) if card and str(card).isdigit() else None)
                       for eid, race, pid, club, st, card in rows]
            report = assign_cards(entries, rental, CardTarget.ALL if ctx.settings.get("target") == "all" else CardTarget.WITHOUT_CARD)
            for a in report.assignments:
                conn.execute("DELETE FROM entry_card WHERE entry_id=? AND card_id IN (SELECT id FROM card WHERE card_type=?)",
                             (a.entry_id, ctype))
                if a.card is not None:
                    conn.execute("INSERT OR IGNORE INTO entry_card(entry_id, card_id) VALUES (?, ?)", (a.entry_id, cards[a.card]))
            for w in report.warnings:
                ctx.warning(w)
        given = sum(1 for a in report.assignments if a.card is not None)
        had = sum(1 for e in entries if e.card is not None)
        replace_all = ctx.settings.get("target") == "all"
        # Both counts: "0 cards assigned" must read as "all had one", not as "nothing happened".
        ctx.info(f"{given} rental {ctype} cards assigned; {had} of {len(entries)} entries "
                 f"{'had a card before (replaced)' if replace_all else 'already had a card (kept)'}; "
                 f"{len(report.without_card)} entries left without a card; {len(races)} race(s)")
        ctx.progress(1.0, f"{given} cards assigned, {had} entries already had one")
        if report.without_card:
            ctx.warning(f"not enough free rental cards: {len(report.without_card)} entries got none")


def _numeric(number: object) -> bool:
    text = str(number)
    return text.isascii() and text.isdigit()
