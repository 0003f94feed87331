"""The demo with its first quiz submission held inside its transaction (after its
answers are written, before the commit) until the worker is killed: what a test needs
to kill a worker mid-submission. ``FUNNEL_TEST_HELD_FLAG`` names a file created when
the submission is held; later submissions (in the next worker) pass straight through.

    gunicorn --chdir tests/installed held_submissions:app
"""

from __future__ import annotations

import os
import time
from pathlib import Path

from sqlalchemy import event

from landing import create_app

app = create_app()
flag = Path(os.environ["FUNNEL_TEST_HELD_FLAG"])

with app.app_context():
    engine = app.extensions["funnel"].engine


@event.listens_for(engine, "after_cursor_execute")
def _hold_the_first_submission(connection, cursor, statement, *args) -> None:
    if statement.startswith("INSERT INTO funnel_answers") and not flag.exists():
        flag.touch()
        time.sleep(120)  # until the test kills this worker
