"""Child process for test_provisional_deadlines: a second web worker with a warm calendar cache.

Usage: python -m tests.integration._worker_child DATABASE_URL CASE_ID

It serves one request (a deadline preview, which caches the holiday calendar), prints READY, waits
for a line on stdin, then sends the case's offer (dated 2027-01-20) and prints DONE.
"""

from __future__ import annotations

import sys
from datetime import date

from bargaining.db import open_database
from services import cases as uc
from services.deadlines import preview_deadline
from services.identity import actor_by_username
from services.uow import unit_of_work
from tests.support import at


def main(url: str, case_id: int) -> None:
    db = open_database(url)
    with unit_of_work(db, write=False) as uow:
        actor = actor_by_username(uow.session, "zhang")
    preview_deadline(db, jurisdiction="national", kind="response", start=date(2027, 1, 20))
    print("READY", flush=True)
    sys.stdin.readline()
    uc.fire_action(
        db,
        actor,
        case_id,
        "send_offer",
        values={"from_side": "worker", "subjects": "年度工资调整"},
        now=at(date(2027, 1, 20)),
    )
    print("DONE", flush=True)


if __name__ == "__main__":
    main(sys.argv[1], int(sys.argv[2]))
