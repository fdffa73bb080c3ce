"""Child process for test_sweep_scheduler: a scheduler process that takes the lead and stays.

Usage: python -m tests.integration._leader_child DATABASE_URL

Prints LEADING or IDLE (the result of Leadership.acquire) and sleeps until killed.
"""

from __future__ import annotations

import sys
import time

from bargaining.db import open_database
from services.scheduler import Leadership


def main(url: str) -> None:
    leadership = Leadership(open_database(url))
    print("LEADING" if leadership.acquire() else "IDLE", flush=True)
    time.sleep(120)


if __name__ == "__main__":
    main(sys.argv[1])
