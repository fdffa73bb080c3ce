"""The HTTP floor for ``http_transitions``: the least a ``record_round`` request can do in this stack.

A FastAPI app with the product's route and request body (``POST
/api/cases/{id}/actions/record_round`` with ``expected_version`` and ``values``), served the way
``bargaining serve`` serves the product (uvicorn, the same workers and TCP_NODELAY protocol), that
does only what such a request must: the bearer token looked up with its user (one statement), then
one transaction through the driver — the case read in the user's region and locked, its version
checked (409 otherwise), the round numbered, the case and event written, the round and its minutes
document added — and the new version answered. No engine, no ORM, no middleware, no logging.

Whatever this reaches on the machine in the same run is the most any implementation of the
product's request on FastAPI, uvicorn and PostgreSQL can reach there; it is not the product.

    BARGAINING_DATABASE_URL=postgresql+psycopg://… uvicorn benchmarks.http_floor:app
"""

from __future__ import annotations

import json
import os
from datetime import UTC, datetime
from typing import Any

from fastapi import FastAPI, Header
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field
from sqlalchemy import create_engine

from services.web.security import keyed_hash

from ._web_common import settings_at

URL = os.environ["BARGAINING_DATABASE_URL"]
engine = create_engine(URL, pool_size=40, max_overflow=0)
SETTINGS = settings_at(URL)  # the key the benchmark's tokens were made under
app = FastAPI()

TOKEN = """SELECT u.id, u.display_name, o.path FROM api_tokens t JOIN users u ON u.id = t.user_id
    JOIN org_units o ON o.id = u.org_unit_id
    WHERE t.token_hash = %s AND t.revoked_at IS NULL AND u.active"""
CASE = """SELECT id, version, state, definition_name, definition_version FROM cases
    WHERE id = %s AND org_unit_id IN (SELECT id FROM org_units WHERE path LIKE %s) FOR UPDATE OF cases"""
ROUND = "SELECT coalesce(max(number), 0) FROM negotiation_rounds WHERE case_id = %s"
UPDATE = "UPDATE cases SET updated_at = %s, version = version + 1 WHERE id = %s AND version = %s"
EVENT = """INSERT INTO events (case_id, "trigger", from_state, to_state, actor_id, actor_name, role, at,
    reason, payload, definition_name, definition_version, request_id)
    VALUES (%s, 'record_round', %s, %s, %s, %s, 'instructor', %s, NULL, %s, %s, %s, NULL) RETURNING id"""
NEW_ROUND = """INSERT INTO negotiation_rounds (case_id, number, held_on, chair_side, minutes, created_at)
    VALUES (%s, %s, %s, %s, %s, %s)"""
DOCUMENT = """INSERT INTO documents (case_id, kind, title, data, event_id, created_at)
    VALUES (%s, 'round_minutes', '协商会议记录', %s, %s, %s)"""


class Values(BaseModel):
    chair_side: str = Field(pattern="^(worker|employer)$")
    minutes: str = Field(min_length=1, max_length=20_000)


class Request(BaseModel):
    expected_version: int
    values: Values


def _answer(status: int, body: dict[str, Any], request_id: str) -> JSONResponse:
    # The request id goes back as the product's middleware sends it (wrk's script matches on it).
    return JSONResponse(body, status_code=status, headers={"X-Request-Id": request_id[:64]})


def _problem(status: int, message: str, request_id: str, **extra: Any) -> JSONResponse:
    return _answer(status, {"error": {"message": message, **extra}}, request_id)


@app.get("/healthz")
def healthz() -> dict[str, str]:
    return {"status": "ok"}


@app.post("/api/cases/{case_id}/actions/record_round")
def record_round(
    case_id: int, body: Request, authorization: str = Header(""), x_request_id: str = Header("")
) -> Any:
    token = authorization.removeprefix("Bearer ").strip()
    token_hash = keyed_hash(SETTINGS, token)  # the product's own token hashing
    now = datetime.now(UTC)
    raw: Any = engine.raw_connection()
    try:
        cur = raw.cursor()
        cur.execute(TOKEN, (token_hash,))
        user = cur.fetchone()
        if user is None:
            raw.rollback()
            return _problem(401, "未登录", x_request_id)
        cur.execute(CASE, (case_id, user[2] + "%"))
        case = cur.fetchone()
        if case is None:
            raw.rollback()
            return _problem(404, "找不到协商", x_request_id)
        if case[1] != body.expected_version:
            raw.rollback()
            return _problem(409, "已被他人修改", x_request_id, current_version=case[1])
        cur.execute(ROUND, (case_id,))
        number = cur.fetchone()[0] + 1
        cur.execute(UPDATE, (now, case_id, case[1]))
        payload = json.dumps({"number": number, **body.values.model_dump()}, ensure_ascii=False)
        cur.execute(EVENT, (case_id, case[2], case[2], user[0], user[1], now, payload, case[3], case[4]))
        event_id = cur.fetchone()[0]
        cur.execute(
            NEW_ROUND, (case_id, number, now.date(), body.values.chair_side, body.values.minutes, now)
        )
        cur.execute(DOCUMENT, (case_id, payload, event_id, now))
        raw.commit()
    except BaseException:
        raw.rollback()
        raise
    finally:
        raw.close()
    return _answer(200, {"id": case_id, "version": case[1] + 1, "event_id": event_id}, x_request_id)
