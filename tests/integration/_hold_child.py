"""Child process for test_crash_recovery: fires ``send_offer`` and freezes inside its transaction.

Usage: python -m tests.integration._hold_child DATABASE_URL CASE_ID

Once the state change, the event, the offer letter and the response deadline are flushed (written
to the database, not committed) it prints HOLDING and sleeps until the parent kills it.
"""

from __future__ import annotations

import sys
import time
from datetime import date
from typing import Any

from bargaining.db import open_database
from services import cases as uc
from services.identity import actor_by_username
from services.uow import unit_of_work
from tests.support import at
from workflows import deadlines as dl


def main(url: str, case_id: int) -> None:
    db = open_database(url)
    with unit_of_work(db, write=False) as uow:
        actor = actor_by_username(uow.session, "zhang")
    real_open_deadline = dl.open_deadline

    def open_and_hold(ctx: Any, opens: Any) -> Any:
        deadline = real_open_deadline(ctx, opens)
        ctx.session.flush()
        print("HOLDING", flush=True)
        time.sleep(120)
        return deadline

    dl.open_deadline = open_and_hold
    uc.fire_action(
        db,
        actor,
        case_id,
        "send_offer",
        values={"from_side": "worker", "subjects": "年度工资调整"},
        now=at(date(2025, 11, 3)),
    )
    print("COMMITTED", flush=True)


if __name__ == "__main__":
    main(sys.argv[1], int(sys.argv[2]))
