"""Split Tickets: tickets for readouts that came another way than a station on this machine (readout
files, a readout PC's export), once processed: one HTML page with a ticket per readout as the run's
file, and ESC/POS to a receipt printer when set. Each readout gets its ticket once (the last one
ticketed is kept per task)."""

from __future__ import annotations

from pathlib import Path

from t4o_tui.engine.job import Job, RunContext
from t4o_tui.engine.readouts import SOURCE_PREFIX, ticket_for
from t4o_tui.engine.settings import Schema, Setting
from t4o_tui.jobs.event_data import RACE, event_zone, resolve_race
from t4o_tui.orienteering import split_ticket

STATE_KEY = "last_ticketed"


class SplitTicketsJob(Job):
    id = "split-tickets"
    title = "Split Tickets"
    category = "Results"
    description = (
        "Split tickets (name, class, club, status, time, place so far, splits with missing controls marked) for "
        "readouts processed since the last run: one HTML page as the run's file, and ESC/POS to a receipt printer "
        "when set. Each readout is ticketed once. Readouts from a station read by SI Station Readout get their "
        "ticket there and are left out unless asked. Usually on a schedule after Process Station Data."
    )
    settings = Schema((
        RACE,
        Setting("printer", "text", "Receipt printer", "Device or file the ESC/POS tickets are written to "
                "(e.g. /dev/usb/lp0). Empty: the HTML page only."),
        Setting("width", "integer", "Ticket width", "Characters per line on the receipt paper.", default=42,
                min=32, max=48),
        Setting("stations", "boolean", "Station readouts too", "Also ticket readouts that SI Station Readout read "
                "(it tickets them itself).", default=False),
    ))
    sub_minute = True
    idempotent = True
    timeout = 300.0
    produces = "text/html"

    def run(self, ctx: RunContext) -> None:
        race = resolve_race(ctx)
        zone = event_zone(race)
        conn = ctx.db.connection()
        task_id = conn.execute("SELECT task_id FROM run WHERE id=?", (ctx.run_id,)).fetchone()[0]
        row = conn.execute("SELECT value FROM task_state WHERE task_id=? AND key=?", (task_id, STATE_KEY)).fetchone()
        last = int(row[0]) if row else 0
        skip_station = "" if ctx.settings.get("stations") else " AND sd.source NOT LIKE ? || '%'"
        params: tuple[object, ...] = (race.id, last) + (() if ctx.settings.get("stations") else (SOURCE_PREFIX,))
        # Processed readouts only (a ticket says the result); the readout station's data, active.
        ids = [r[0] for r in conn.execute(
            "SELECT sd.id FROM station_data sd JOIN station st ON st.id = sd.station_id WHERE sd.race_id=? AND sd.id > ? "
            "AND st.role = 'readout' AND sd.active = 1 AND sd.processed_at IS NOT NULL" + skip_station + " ORDER BY sd.id",
            params)]
        if not ids:
            ctx.info(f"no readouts processed since the last ticket (station data #{last})")
            return
        event = race.event.name + (f" – {race.name}" if race.name and race.name != race.event.name else "")
        tickets = []
        for n, sid in enumerate(ids):
            if n % 200 == 0:
                ctx.check()
            t = ticket_for(conn, sid, event)
            if t is not None:
                tickets.append(t)
        with ctx.output("split-tickets.html", "text/html") as fh:
            fh.write(split_ticket.html_page(tickets, zone, f"{event}: split tickets").encode())
        printer = ctx.settings.get("printer")
        if printer:
            width = int(ctx.settings.get("width", 42))
            try:
                with open(Path(printer), "ab") as dev:
                    for t in tickets:
                        dev.write(split_ticket.escpos(t, zone, width))
            except OSError as exc:
                ctx.warning(f"printer {printer}: {exc.strerror or exc}: tickets not printed (the HTML page has them)")
        with ctx.transaction():
            ctx.db.connection().execute(
                "INSERT INTO task_state(task_id, key, value) VALUES (?, ?, ?) ON CONFLICT(task_id, key) "
                "DO UPDATE SET value=excluded.value", (task_id, STATE_KEY, str(ids[-1])))
        ctx.info(f"{len(tickets)} split tickets (station data #{ids[0]}–#{ids[-1]})"
                 + (f", printed to {printer}" if printer else ""))
