"""The scale pass: the orders table grown from 1k to 100k rows (20k users at the top), bulk
copied server-side from one real order of a bench shopper, with each table's history and
audit rows alongside. Per endpoint it records statements per request and p50 at each size, and
EXPLAINs every SELECT the endpoint runs (captured in-process against the same database), so a
query that stops using an index shows up as a scan."""

import argparse
import logging
import os
import time
from typing import Any

from bench.processes import Server, cpu_seconds
from bench.world import Database, Shopper
from bench.wrk import Target

ORDERS_PER_USER = 5
BIG_TABLES = {"orders", "order_items", "order_status_history", "audit_logs", "users", "payments"}


def _execute(database: Database, statements: list[str]) -> None:
    with database.admin() as connection, connection.cursor() as cursor:
        cursor.execute(f"USE `{database.name}`")
        for statement in statements:
            cursor.execute(statement)


def grow(database: Database, template_order_id: int, start: int, stop: int) -> None:
    """Orders `start`..`stop`-1 (numbered BENCH-<n>), ORDERS_PER_USER per new user, each with
    the template's item, a status-history row and an audit row."""
    users_from, users_to = start // ORDERS_PER_USER, (stop - 1) // ORDERS_PER_USER
    seq_users = f"seq_{users_from}_to_{users_to}"
    seq_orders = f"seq_{start}_to_{stop - 1}"
    new_numbers = f"(SELECT CONCAT('BENCH-', seq) FROM {seq_orders})"
    _execute(
        database,
        [
            "INSERT IGNORE INTO users (phone, role, is_active, created_at, updated_at) "
            "SELECT CONCAT('+9170', LPAD(seq, 8, '0')), 'user', 1, NOW(6), NOW(6) "
            f"FROM {seq_users}",
            "INSERT INTO orders (order_number, user_id, status, subtotal_paise, discount_paise, "
            "total_paise, currency, created_at, updated_at) "
            "SELECT CONCAT('BENCH-', s.seq), u.id, 'paid', o.subtotal_paise, o.discount_paise, "
            "o.total_paise, o.currency, NOW(6) - INTERVAL s.seq SECOND, NOW(6) "
            f"FROM {seq_orders} s "
            "JOIN users u ON u.phone = CONCAT('+9170', LPAD(s.seq DIV "
            f"{ORDERS_PER_USER}, 8, '0')) "
            f"JOIN orders o ON o.id = {template_order_id}",
            "INSERT INTO order_items (order_id, line_group, product_id, product_snapshot, "
            "member_id, member_snapshot, address_id, address_snapshot, quantity, "
            "unit_price_paise, status, created_at, updated_at) "
            "SELECT o.id, i.line_group, i.product_id, i.product_snapshot, i.member_id, "
            "i.member_snapshot, i.address_id, i.address_snapshot, i.quantity, "
            "i.unit_price_paise, 'paid', o.created_at, o.created_at "
            f"FROM orders o JOIN order_items i ON i.order_id = {template_order_id} "
            f"WHERE o.order_number IN {new_numbers}",
            "INSERT INTO order_status_history (order_id, status, note, at) "
            "SELECT o.id, 'paid', 'bench', o.created_at FROM orders o "
            f"WHERE o.order_number IN {new_numbers}",
            "INSERT INTO audit_logs (actor_user_id, action, entity_type, entity_id, changes, "
            "created_at) SELECT o.user_id, 'order.created', 'order', o.id, '{}', o.created_at "
            f"FROM orders o WHERE o.order_number IN {new_numbers}",
        ],
    )


def quiet_database(db_pid: int, limit_seconds: float = 120) -> None:
    """Wait until the database has finished with the rows just copied in (its purge and page
    flushing take a core for a while after a big INSERT ... SELECT): measured while it still
    works, the largest size's figures came out up to half again as high, app CPU included."""
    deadline = time.monotonic() + limit_seconds
    last = cpu_seconds(db_pid)
    while time.monotonic() < deadline:
        time.sleep(1)
        now = cpu_seconds(db_pid)
        if now - last < 0.05:
            return
        last = now


def scale_targets(shopper: Shopper, admin: dict[str, str], exporter: Shopper) -> list[Target]:
    """The endpoints measured at each size. The export is `exporter`'s: every export adds an
    entry to its own user's audit trail, which the next one includes, so each size's export is
    a shopper's who has not exported yet (the same data at every size)."""
    return [
        Target("GET /orders", "GET", [("/orders", shopper.headers, "")]),
        Target(
            "GET /orders/{id}", "GET", [(f"/orders/{shopper.order_ids[0]}", shopper.headers, "")]
        ),
        Target("GET /orders/admin", "GET", [("/orders/admin?limit=20", admin, "")]),
        Target(
            "GET /audit?entity_type=", "GET", [("/audit?entity_type=order&limit=20", admin, "")]
        ),
        Target("GET /profile/export", "GET", [("/profile/export", exporter.headers, "")]),
    ]


def explain(database: Database, env: dict[str, str], target: Target) -> list[dict[str, Any]]:
    """Run the endpoint in-process once, EXPLAIN each SELECT it sent; the plan rows."""
    os.environ.update(env)
    from fastapi.testclient import TestClient
    from sqlalchemy import event, text

    from database import engine
    from main import app

    logging.getLogger("nucleotide.access").setLevel(logging.WARNING)

    captured: list[tuple[str, Any]] = []

    def capture(_conn, _cursor, statement, parameters, _context, _many) -> None:
        if statement.lstrip().upper().startswith("SELECT"):
            captured.append((statement, parameters))

    event.listen(engine, "before_cursor_execute", capture)
    try:
        path, headers, _ = target.requests[0]
        TestClient(app).get(path, headers=headers)
    finally:
        event.remove(engine, "before_cursor_execute", capture)
    plans = []
    with engine.connect() as connection:
        for statement, parameters in captured:
            raw = connection.connection.cursor()
            raw.execute("EXPLAIN " + statement, parameters)
            columns = [c[0] for c in raw.description]
            for row in raw.fetchall():
                plan = dict(zip(columns, row, strict=True))
                plans.append(
                    {
                        "table": plan.get("table"),
                        "type": plan.get("type"),
                        "key": plan.get("key"),
                        "rows": plan.get("rows"),
                        "extra": plan.get("Extra"),
                    }
                )
            raw.close()
        connection.execute(text("SELECT 1"))
    return plans


def scans(plans: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Plan rows reading a big table without an index (or sorting it whole)."""
    return [
        p
        for p in plans
        if p["table"] in BIG_TABLES
        and (p["type"] in ("ALL", "index") or "filesort" in str(p["extra"] or "").lower())
        and int(p["rows"] or 0) > 1000
    ]


def scale_pass(
    wrk: str,
    app: Server,
    database: Database,
    db_pid: int | None,
    shoppers: list[Shopper],
    admin: dict[str, str],
    args: argparse.Namespace,
    env: dict[str, str],
) -> dict[str, Any]:
    from bench.__main__ import measure

    shopper = shoppers[0]
    sizes = [1_000, args.scale_orders]
    results: dict[str, Any] = {}
    grown = 0
    for index, size in enumerate(sizes):
        print(f"\nscale: growing the orders table to {size} bench orders ...", flush=True)
        grow(database, shopper.order_ids[0], grown + ORDERS_PER_USER, size + ORDERS_PER_USER)
        grown = size
        if db_pid:
            quiet_database(db_pid)
        for target in scale_targets(shopper, admin, shoppers[1 + index]):
            row = measure(wrk, app, target, min(args.seconds, 3), 4, database, db_pid)
            row["scans"] = scans(explain(database, env, target))
            results.setdefault(target.name, {})[str(size)] = row
    print(
        "\n| endpoint | "
        + " | ".join(f"SQL/req @{s}" for s in sizes)
        + " | "
        + " | ".join(f"p50 ms @{s}" for s in sizes)
        + " | index scans @max |"
    )
    print("|---|" + "---|" * (2 * len(sizes) + 1))
    for name, by_size in results.items():
        top = by_size[str(sizes[-1])]
        print(
            f"| {name} | "
            + " | ".join(f"{by_size[str(s)]['sql_per_request']:.1f}" for s in sizes)
            + " | "
            + " | ".join(f"{by_size[str(s)]['p50_ms']:.1f}" for s in sizes)
            + f" | {'none' if not top['scans'] else top['scans']} |"
        )
    return results
