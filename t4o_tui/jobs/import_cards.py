"""Import Cards: a card file (number, optional info) or a number range into the card register."""

from __future__ import annotations

from t4o_tui.engine.job import Job, JobError, RunContext
from t4o_tui.engine.settings import Schema, Setting
from t4o_tui.jobs.event_data import read_input, read_table
from t4o_tui.orienteering.cards import CardLine, card_range, read_card_file


class ImportCardsJob(Job):
    id = "import-cards"
    title = "Import Cards"
    category = "Cards"
    description = (
        "Adds cards to the card register (shared by all races): from a CSV/text file (first column the "
        "card number, second optional info; comma, semicolon or tab) or a number range. Can mark them "
        "as rental cards and overwrite their info."
    )
    settings = Schema((
        Setting("file", "file", "File", "Card file; leave empty to use the range."),
        Setting("range_from", "integer", "Range from", "First card number of a range.", min=1),
        Setting("range_to", "integer", "Range to", "Last card number of a range.", min=1),
        Setting("card_type", "text", "Card type", "SI, emiTag, ...", default="SI"),
        Setting("rental", "boolean", "Rental cards", "Mark the cards as rental cards.", default=False),
        Setting("overwrite_info", "boolean", "Overwrite info", "Replace the info of cards already known.", default=False),
    ))
    timeout = 120.0

    def run(self, ctx: RunContext) -> None:
        s = ctx.settings
        lines: list[CardLine]
        if s.get("file"):
            parsed = read_table(ctx, lambda: read_card_file(read_input(ctx)))
            lines = parsed.cards
        elif s.get("range_from") is not None and s.get("range_to") is not None:
            try:
                lines = [CardLine(0, n, None) for n in card_range(int(s["range_from"]), int(s["range_to"]))]
            except ValueError as exc:
                raise JobError(f"settings 'range_from'/'range_to': {exc}") from None
        else:
            raise JobError("give a file (setting 'file') or a range (settings 'range_from' and 'range_to')")
        ctype, rental, overwrite = str(s.get("card_type") or "SI"), bool(s.get("rental")), bool(s.get("overwrite_info"))
        created = updated = unchanged = 0
        with ctx.transaction():
            conn = ctx.db.connection()
            known = {number: (cid, r, info) for cid, number, r, info in
                     conn.execute("SELECT id, number, rental, info FROM card WHERE card_type=?", (ctype,))}
            for line in lines:
                number = str(line.number)
                if number not in known:
                    conn.execute("INSERT INTO card(number, card_type, rental, info) VALUES (?, ?, ?, ?)",
                                 (number, ctype, int(rental), line.info))
                    known[number] = (0, int(rental), line.info)
                    created += 1
                    continue
                cid, old_rental, old_info = known[number]
                new_rental = 1 if rental else old_rental
                new_info = line.info if (overwrite and line.info is not None) else old_info
                if (new_rental, new_info) == (old_rental, old_info):
                    unchanged += 1
                    continue
                conn.execute("UPDATE card SET rental=?, info=? WHERE id=?", (new_rental, new_info, cid))
                updated += 1
        ctx.info(f"{ctype} cards: {created} created, {updated} updated, {unchanged} unchanged"
                 + (" (marked as rental)" if rental else ""))
