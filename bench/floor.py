"""`python -m bench --floor`: what the stack itself costs, beside hello, with none of the app.

Bare FastAPI routes on the app's server settings (uvloop + httptools), each adding one piece an
authenticated one-query request needs: a threadpool hop, the Redis pipeline authentication
makes, and a `SELECT` + `COMMIT` of one shopper's members through the SQLAlchemy ORM or a raw
PyMySQL cursor. Reads the bench database and Redis db the main run set up."""

import os
import threading
from typing import Any

import pymysql
import redis
from fastapi import FastAPI
from sqlalchemy import create_engine, select
from sqlalchemy.orm import Session

import models_registry  # noqa: F401  (every mapper, so Member's relationships resolve)
from Member_module.models import Member

DATABASE_URL = os.environ["DATABASE_URL"]
USER_ID = int(os.environ.get("BENCH_FLOOR_USER_ID", "1"))
MEMBERS_SQL = "SELECT * FROM members WHERE user_id = %s ORDER BY id LIMIT 20"

app = FastAPI()
client = redis.Redis.from_url(os.environ["REDIS_URL"], decode_responses=True)
engine = create_engine(DATABASE_URL, pool_size=20, pool_reset_on_return=None)
_cursors = threading.local()


def _pipeline() -> None:
    pipe = client.pipeline(transaction=False)
    pipe.get(f"sess:{USER_ID}")
    pipe.get(f"user_snapshot:{USER_ID}")
    pipe.set(f"floor:{USER_ID}", "1", nx=True, ex=60)
    pipe.execute()


def _orm_members() -> int:
    with Session(engine) as session:
        rows = session.scalars(select(Member).where(Member.user_id == USER_ID).limit(20)).all()
        session.commit()
        return len(rows)


def _cursor_members() -> int:
    connection = getattr(_cursors, "connection", None)
    if connection is None:
        url = engine.url
        connection = _cursors.connection = pymysql.connect(
            host=url.host,
            port=url.port or 3306,
            user=url.username,
            password=url.password or "",
            database=url.database,
        )
    with connection.cursor() as cursor:
        cursor.execute(MEMBERS_SQL, (USER_ID,))
        rows = cursor.fetchall()
    connection.commit()
    return len(rows)


@app.get("/hop")
def hop() -> dict[str, Any]:
    return {"message": "hello"}


@app.get("/redis")
def redis_pipeline() -> dict[str, Any]:
    _pipeline()
    return {"message": "hello"}


@app.get("/orm")
def orm() -> dict[str, Any]:
    _pipeline()
    return {"members": _orm_members()}


@app.get("/cursor")
def cursor() -> dict[str, Any]:
    _pipeline()
    return {"members": _cursor_members()}
