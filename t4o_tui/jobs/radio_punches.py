"""Radio Punches: poll an HTTP endpoint for punches after the last id seen (Emit Server, MeOS online input)."""

from __future__ import annotations

import time
import urllib.error
import urllib.parse
import urllib.request

from t4o_tui.engine.job import Job, JobError, RunContext
from t4o_tui.engine.settings import Schema, Setting
from t4o_tui.jobs.event_data import RACE, event_zone, resolve_race
from t4o_tui.jobs.timing_data import insert_station_data, station_id
from t4o_tui.orienteering.punch_check import CardData, Punch
from t4o_tui.orienteering.readouts import max_punch_id, parse_radio_punches
from t4o_tui.store.models import TaskState

MAX_BYTES = 10 * 1024 * 1024


class RadioPunchesJob(Job):
    id = "radio-punches"
    title = "Radio Punches"
    category = "Station data"
    description = (
        "Polls an HTTP address for radio punches after the last id seen (CSV 'punchId;code;card;YYYY-MM-DD "
        "HH:MM:SS' or 'id,card,epoch_ms,code,type') and stores them as station data from the radio "
        "station. A timeout or a garbled answer is a clear error and loses nothing: the next poll asks "
        "again after the last id stored. Usually on a 5 s schedule."
    )
    settings = Schema((
        Setting("url", "text", "Address", "http(s) address; {last} is replaced by the last id, else ?last=<id> is added.",
                required=True),
        RACE,
        Setting("timeout", "duration", "Timeout", "How long to wait for an answer.", default=5.0, min=0.5, max=120),
    ))
    sub_minute = True
    idempotent = True
    timeout = 60.0

    def run(self, ctx: RunContext) -> None:
        race = resolve_race(ctx)
        url_setting = str(ctx.settings["url"])
        if urllib.parse.urlparse(url_setting).scheme not in ("http", "https"):
            raise JobError(f"setting 'url': '{url_setting}' is not an http(s) address")
        task_id = ctx.db.execute_sql("SELECT task_id FROM run WHERE id=?", (ctx.run_id,)).fetchone()[0]
        state = TaskState.get_or_none((TaskState.task == task_id) & (TaskState.key == "last_id"))
        last = int(state.value) if state else 0
        url = url_setting.replace("{last}", str(last)) if "{last}" in url_setting else (
            url_setting + ("&" if "?" in url_setting else "?") + urllib.parse.urlencode({"last": last}))
        try:
            with urllib.request.urlopen(url, timeout=float(ctx.settings.get("timeout", 5.0))) as resp:  # noqa: S310 - http(s) checked above
                body = resp.read(MAX_BYTES + 1)
        except urllib.error.HTTPError as exc:
            raise JobError(f"{url_setting}: the server answered {exc.code} {exc.reason}; will ask again after id {last}") from None
        except (urllib.error.URLError, TimeoutError, OSError) as exc:
            reason = getattr(exc, "reason", exc)
            raise JobError(f"{url_setting}: no answer ({reason}); will ask again after id {last}") from None
        if len(body) > MAX_BYTES:
            raise JobError(f"{url_setting}: the answer is larger than {MAX_BYTES // (1024 * 1024)} MB; nothing stored")
        parsed = parse_radio_punches(body, event_zone(race))
        for e in parsed.errors[:20]:
            ctx.warning(e)
        if parsed.errors and not parsed.punches and body.strip():
            raise JobError(f"{url_setting}: the answer is not radio punch CSV ({parsed.errors[0]}); will ask again after id {last}")
        fresh = [p for p in parsed.punches if p.id > last]
        now = time.time()
        with ctx.transaction():
            conn = ctx.db.connection()
            radio = station_id(conn, "radio")
            host = urllib.parse.urlparse(url_setting).netloc
            stored = 0
            for p in fresh:
                card = CardData(punches=(Punch(p.code, p.time),))
                if insert_station_data(conn, race_id=race.id, station=radio, card=str(p.card), bib=None, read_at=p.time,
                                       card_data=card, source=f"radio {host} id {p.id}", dedupe_key=f"radio:{host}:{p.id}",
                                       now=now) is not None:
                    stored += 1
            new_last = max_punch_id(fresh, last) or last
            conn.execute("INSERT INTO task_state(task_id, key, value) VALUES (?, 'last_id', ?) "
                         "ON CONFLICT(task_id, key) DO UPDATE SET value=excluded.value", (task_id, str(new_last)))
        ctx.info(f"{stored} new radio punches (last id {last} → {new_last}); {len(parsed.errors)} lines not understood")
