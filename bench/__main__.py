"""`python -m bench`: CPU per request of the hot endpoints, against the stack's own floor.

Starts a fresh MariaDB-backed app (demo shop, N shoppers with two tests in their carts) and
a bare FastAPI hello, drives each endpoint with wrk, and prints requests/s, p50, p99, p99/p50,
app and database CPU milliseconds per request (from /proc) and SQL statements per request
(MariaDB's per-user counters). `--floor` also measures the bare stack (bench/floor.py) and
shows each row's app CPU as a multiple of the floor (`x floor`). `--scale` adds the pass that
grows the orders table from 1k to 100k rows.
Results go to bench/results/<time>.json.
"""

import argparse
import json
import os
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx

from bench.processes import Server, cpu_seconds, database_server_pid, require_wrk, start_uvicorn
from bench.world import (
    ADMIN_PHONE,
    Database,
    Fakes,
    Shopper,
    app_env,
    flush_redis,
    login,
    make_shopper,
    place_order,
    seed_demo,
    single_products,
)
from bench.wrk import Target, run_wrk
from tests.fakes.razorpay import new_payment_id, sign_webhook, webhook_body

RESULTS = Path(__file__).resolve().parent / "results"
# The app as the dockerfile runs it; the yardstick on plain uvicorn (asyncio loop, h11).
APP_ARGS = ["--no-proxy-headers", "--no-access-log"]
HELLO_ARGS = ["--loop", "asyncio", "--http", "h11"]


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.split("\n")[0])
    parser.add_argument("--seconds", type=float, default=5, help="measured seconds per endpoint")
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--shoppers", type=int, default=50)
    parser.add_argument(
        "--checkout-shoppers",
        type=int,
        default=400,
        help="shoppers kept for the first-checkout run (each checks out once)",
    )
    parser.add_argument("--only", help="comma-separated substrings of endpoint names to run")
    parser.add_argument("--scale", action="store_true", help="also run the 1k -> 100k pass")
    parser.add_argument(
        "--floor", action="store_true", help="also measure the bare stack (bench/floor.py)"
    )
    parser.add_argument("--scale-orders", type=int, default=100_000)
    parser.add_argument("--db-host", default=os.environ.get("BENCH_DB_HOST", "127.0.0.1"))
    parser.add_argument("--db-port", type=int, default=int(os.environ.get("BENCH_DB_PORT", 3306)))
    parser.add_argument("--db-root-user", default=os.environ.get("BENCH_DB_ROOT_USER", "root"))
    parser.add_argument("--db-root-password", default=os.environ.get("BENCH_DB_ROOT_PASSWORD", ""))
    parser.add_argument("--db-name", default="nucleotide_bench")
    parser.add_argument(
        "--redis-url", default=os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/14")
    )
    return parser.parse_args()


def measure(
    wrk: str,
    server: Server,
    target: Target,
    seconds: float,
    connections: int,
    database: Database | None,
    db_pid: int | None,
    warmup: Target | None = None,
) -> dict[str, Any]:
    """Warm up for a second (on `warmup`, if given), then one measured wrk run with CPU and
    statements around it.

    wrk keeps one request in flight on each connection: when it stops, `conns` requests are
    still being answered, and they are not in its count. The server's CPU and statements are
    read once they are answered too (`settle`), and divided by the requests wrk counted plus
    those (counting only wrk's, each slow request's figures came out a few percent high)."""
    conns = target.connections or connections
    run_wrk(wrk, server.url, warmup or target, 1, conns)
    settle(server)
    app_cpu, db_cpu = server.cpu(), cpu_seconds(db_pid) if db_pid else 0.0
    statements = database.statements() if database else 0
    result = run_wrk(wrk, server.url, target, seconds, conns)
    settle(server)
    app_cpu, db_cpu = server.cpu() - app_cpu, (cpu_seconds(db_pid) - db_cpu if db_pid else 0.0)
    statements = (database.statements() - statements) if database else 0  # ours run as root
    answered = max(1, int(result["requests"]) + conns)
    requests = max(1, int(result["requests"]))
    return {
        "endpoint": target.name,
        "requests": requests,
        "non_2xx": int(result["bad"]) + int(result["socket_errors"]),
        "rps": requests / (result["duration_us"] / 1e6),
        "p50_ms": result["p50_us"] / 1000,
        "p99_ms": result["p99_us"] / 1000,
        "app_cpu_ms": app_cpu * 1000 / answered,
        "db_cpu_ms": db_cpu * 1000 / answered,
        "sql_per_request": statements / answered if database else 0.0,
        "distinct_requests": len(target.requests),
    }


def settle(server: Server, quiet_seconds: float = 0.3, limit_seconds: float = 10) -> None:
    """Wait until the requests in flight are answered (the server burns no CPU for a moment):
    the warm-up's, so they are not counted in the measured run; the measured run's, so they
    are."""
    deadline = time.monotonic() + limit_seconds
    last = server.cpu()
    while time.monotonic() < deadline:
        time.sleep(quiet_seconds)
        now = server.cpu()
        if now - last < 0.01:
            return
        last = now


def rotate(shoppers: list[Shopper], method: str, path: Any, body: str = "") -> list:
    """One request per shopper (`path` may be a function of the shopper)."""
    return [
        (
            path(s) if callable(path) else path,
            s.headers | {"Content-Type": "application/json"},
            body,
        )
        for s in shoppers
    ]


def targets(
    shoppers: list[Shopper], admin: dict[str, str], slug: str, webhook: tuple[bytes, str]
) -> list[Target]:
    public: dict[str, str] = {}
    webhook_body, _ = webhook
    return [
        Target("GET /health", "GET", [("/health", public, "")]),
        Target("GET /products?limit=20", "GET", [("/products?limit=20", public, "")]),
        Target(
            "GET /products?q=&sort=",
            "GET",
            [("/products?q=gene&sort=price_asc&limit=20", public, "")],
        ),
        Target("GET /products/{slug}", "GET", [(f"/products/{slug}", public, "")]),
        Target("GET /categories", "GET", [("/categories", public, "")]),
        Target("GET /consent/types", "GET", [("/consent/types", public, "")]),
        Target(
            "GET /address/serviceability",
            "GET",
            [("/address/serviceability?city=BANGALORE&pincode=560038", public, "")],
        ),
        Target("GET /gmeet/counsellors", "GET", [("/gmeet/counsellors", public, "")]),
        Target("GET /auth/me", "GET", rotate(shoppers, "GET", "/auth/me")),
        Target("GET /member", "GET", rotate(shoppers, "GET", "/member")),
        Target("GET /address", "GET", rotate(shoppers, "GET", "/address")),
        Target("GET /cart (2 items)", "GET", rotate(shoppers, "GET", "/cart")),
        Target("GET /orders", "GET", rotate(shoppers, "GET", "/orders")),
        Target(
            "GET /orders/{id}",
            "GET",
            rotate(shoppers, "GET", lambda s: f"/orders/{s.order_ids[0]}"),
        ),
        Target("GET /orders/admin", "GET", [("/orders/admin?limit=20", admin, "")]),
        Target(
            "POST /orders/webhook/razorpay",
            "POST",
            [
                (
                    "/orders/webhook/razorpay",
                    {
                        "Content-Type": "application/json",
                        "X-Razorpay-Signature": sign_webhook(webhook_body),
                    },
                    webhook_body.decode(),
                )
            ],
            unique_header="X-Razorpay-Event-Id",
        ),
        Target(
            "POST /orders (checkout, replacing a pending one)",
            "POST",
            rotate(shoppers, "POST", "/orders", "{}"),
        ),
    ]


def first_checkout_target(fresh: list[Shopper]) -> Target:
    """Each of `fresh` checks out once: no earlier order to replace (a shopper's usual case)."""
    return Target("POST /orders (checkout)", "POST", rotate(fresh, "POST", "/orders", "{}"))


def make_shoppers(
    server: Server, sms: Any, prefix: str, count: int, products: list[int]
) -> list[Shopper]:
    """`count` shoppers set up over HTTP, four at a time."""

    def one(n: int) -> Shopper:
        with httpx.Client(base_url=server.url, timeout=60) as http:
            return make_shopper(http, sms, f"{prefix}{n:07d}", products)

    with ThreadPoolExecutor(max_workers=4) as pool:
        return list(pool.map(one, range(1, count + 1)))


def open_carts(server: Server, buyers: list[Shopper]) -> None:
    """Each buyer opens their cart, as the app does before its checkout screen: the row then
    measures checking out, not a session whose cached entry (and once-a-minute activity
    write) ran out while the rows before it ran."""
    with httpx.Client(base_url=server.url, timeout=60) as http:
        for buyer in buyers:
            http.get("/cart", headers=buyer.headers).raise_for_status()


def hello_target() -> Target:
    return Target("hello (bare FastAPI)", "GET", [("/hello", {}, "")])


def paid_webhook(http: httpx.Client, fakes: Fakes, shopper: Shopper) -> tuple[bytes, str]:
    """A captured-payment event for an order it has already paid (the already-known path)."""
    order_id = place_order(http, shopper)
    order = http.get(f"/orders/{order_id}", headers=shopper.headers).json()
    razorpay_order_id = order["razorpay_order_id"]
    body = webhook_body(
        "payment.captured",
        payment={
            "id": new_payment_id(),
            "entity": "payment",
            "order_id": razorpay_order_id,
            "amount": order["total_paise"],
            "currency": "INR",
            "status": "captured",
            "method": "upi",
        },
    )
    paid = http.post(
        "/orders/webhook/razorpay",
        content=body,
        headers={
            "Content-Type": "application/json",
            "X-Razorpay-Signature": sign_webhook(body),
            "X-Razorpay-Event-Id": "bench-first",
        },
    )
    paid.raise_for_status()
    return body, razorpay_order_id


def concurrent_checkouts(server: Server, shoppers: list[Shopper]) -> dict[str, int]:
    """Every shopper checks out at the same moment; how many answers were not 2xx."""

    def one(shopper: Shopper) -> int:
        headers = shopper.headers | {"Idempotency-Key": f"bench-{shopper.user_id}-{time.time()}"}
        with httpx.Client(base_url=server.url, timeout=60) as http:
            return http.post("/orders", headers=headers).status_code

    with ThreadPoolExecutor(max_workers=len(shoppers)) as pool:
        statuses = list(pool.map(one, shoppers))
    return {"shoppers": len(shoppers), "non_2xx": sum(1 for s in statuses if s >= 300)}


# The floor row: what an authenticated one-query request costs on this stack before any of the
# app's own work (a threadpool hop, the authentication's Redis pipeline, one ORM SELECT and the
# COMMIT); the goals are set as multiples of it, measured in the same run.
FLOOR_ROW = "hop + pipeline + ORM SELECT + COMMIT"


# bench/floor.py's routes (not imported here: it builds its engine from the app's settings).
FLOOR_ROUTES = {
    "one threadpool hop": "/hop",
    "hop + Redis pipeline": "/redis",
    FLOOR_ROW: "/orm",
    "hop + pipeline + PyMySQL SELECT + COMMIT": "/cursor",
}


def start_floor(env: dict[str, str], workdir: Path, shopper: Shopper) -> Server:
    """bench/floor.py on the app's server settings, authenticating as `shopper`."""
    floor = start_uvicorn(
        "floor",
        "bench.floor:app",
        APP_ARGS,
        env | {"BENCH_FLOOR_USER_ID": str(shopper.user_id)},
        workdir,
    )
    floor.wait_until_up("/hop")
    return floor


class FloorBeside:
    """The floor row measured beside each app row: once before the first and after every one,
    each row's `floor_ms` the mean of the measurements just before and just after it, so the
    slow drift of a shared machine's speed cancels out of its `x floor`."""

    def __init__(
        self, wrk: str, floor: Server, args: argparse.Namespace, database: Database
    ) -> None:
        self.wrk, self.floor, self.args, self.database = wrk, floor, args, database
        self.measured: list[float] = []
        self.last = self._measure()

    def _measure(self) -> float:
        target = Target(FLOOR_ROW, "GET", [(FLOOR_ROUTES[FLOOR_ROW], {}, "")])
        row = measure(
            self.wrk,
            self.floor,
            target,
            self.args.seconds,
            self.args.connections,
            self.database,
            None,
        )
        self.measured.append(row["app_cpu_ms"])
        return float(row["app_cpu_ms"])

    def around(self, row: dict[str, Any]) -> None:
        after = self._measure()
        row["floor_ms"] = (self.last + after) / 2
        self.last = after


def floor_pass(
    wrk: str, hello: Server, floor: Server, args: argparse.Namespace, database: Database
) -> list[dict[str, Any]]:
    """The bare stack's routes (bench/floor.py) beside hello, on the app's server settings."""
    rows = [measure(wrk, hello, hello_target(), args.seconds, args.connections, None, None)]
    for name, path in FLOOR_ROUTES.items():
        target = Target(name, "GET", [(path, {}, "")])
        rows.append(measure(wrk, floor, target, args.seconds, args.connections, database, None))
    floor_ms = next(row["app_cpu_ms"] for row in rows if row["endpoint"] == FLOOR_ROW)
    print("\nthe bare stack (bench/floor.py), beside hello:")
    print(table(rows, floor_ms))
    return rows


def table(rows: list[dict[str, Any]], floor_ms: float | None) -> str:
    """The rows with p99/p50 and app CPU as a multiple of the floor (`x floor`, when measured:
    `--floor`; the earlier ratio to hello is retired): the floor measured beside the row
    (FloorBeside) where there is one, else `floor_ms`; `floor ms` shows which."""
    lines = [
        "| endpoint | req/s | p50 ms | p99 ms | p99/p50 | app CPU ms/req | floor ms | x floor "
        "| DB CPU ms/req | SQL/req |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for row in rows:
        row_floor_ms = row.get("floor_ms", floor_ms)
        times_floor = row["app_cpu_ms"] / row_floor_ms if row_floor_ms else None
        row["x_floor"] = times_floor
        tail = row["p99_ms"] / row["p50_ms"] if row["p50_ms"] else 0.0
        row["p99_over_p50"] = tail
        lines.append(
            f"| {row['endpoint']} | {row['rps']:.0f} | {row['p50_ms']:.1f} | {row['p99_ms']:.1f} "
            f"| {tail:.1f} | {row['app_cpu_ms']:.2f} "
            f"| {'-' if not row_floor_ms else f'{row_floor_ms:.2f}'} "
            f"| {'-' if times_floor is None else f'{times_floor:.2f}'} "
            f"| {row['db_cpu_ms']:.2f} | {row['sql_per_request']:.1f} |"
            + (f" ({row['non_2xx']} non-2xx)" if row["non_2xx"] else "")
        )
    return "\n".join(lines)


def main() -> int:
    args = parse_args()
    wrk = require_wrk()
    workdir = Path(tempfile.mkdtemp(prefix="nucleotide-bench-"))
    database = Database(
        args.db_host, args.db_port, args.db_root_user, args.db_root_password, args.db_name
    )
    database.recreate()
    flush_redis(args.redis_url)
    fakes = Fakes.start()
    env = app_env(database, args.redis_url, fakes, workdir)
    print("seeding the demo shop ...", flush=True)
    seed_demo(env)
    app = start_uvicorn("app", "main:app", APP_ARGS, env, workdir)
    hello = start_uvicorn("hello", "bench.hello:app", HELLO_ARGS, env, workdir)
    only = [part.strip() for part in args.only.split(",")] if args.only else None
    report: dict[str, Any] = {"args": vars(args), "started_at": time.strftime("%Y-%m-%dT%H:%M:%S")}
    try:
        app.wait_until_up("/health")
        hello.wait_until_up("/hello")
        with httpx.Client(base_url=app.url, timeout=60) as http:
            print(f"setting up {args.shoppers} shoppers over HTTP ...", flush=True)
            products = single_products(http, 2)
            shoppers = make_shoppers(app, fakes.sms, "+91987", args.shoppers, products)
            for shopper in shoppers:
                place_order(http, shopper)
            fresh: list[Shopper] = []
            if not only or any("checkout" in part for part in only):
                print(f"setting up {args.checkout_shoppers} first-time buyers ...", flush=True)
                fresh = make_shoppers(app, fakes.sms, "+91986", args.checkout_shoppers, products)
            _, admin_token = login(http, fakes.sms, ADMIN_PHONE)
            admin = {"Authorization": f"Bearer {admin_token}"}
            slug = http.get("/products", params={"limit": 1}).json()["items"][0]["slug"]
            payer = make_shopper(http, fakes.sms, "+919870000000", products)
            webhook = paid_webhook(http, fakes, payer)
        db_pid = database_server_pid()
        floor = start_floor(env, workdir, shoppers[0]) if args.floor else None
        beside = FloorBeside(wrk, floor, args, database) if floor else None
        try:
            hello_row = measure(
                wrk, hello, hello_target(), args.seconds, args.connections, None, None
            )
            rows = [hello_row]
            for target in targets(shoppers, admin, slug, webhook):
                if only and not any(part in target.name for part in only):
                    continue
                print(f"  {target.name} ...", flush=True)
                rows.append(
                    measure(wrk, app, target, args.seconds, args.connections, database, db_pid)
                )
                if beside:
                    beside.around(rows[-1])
            if fresh:
                # Warmed up on replacing checkouts, so every measured one is a first one (as
                # long as the run sends fewer requests than there are fresh shoppers).
                replacing = targets(shoppers, admin, slug, webhook)[-1]
                open_carts(app, fresh)
                target = first_checkout_target(fresh)
                print(f"  {target.name} ...", flush=True)
                seconds = min(args.seconds, 2)
                row = measure(
                    wrk, app, target, seconds, args.connections, database, db_pid, replacing
                )
                if row["requests"] > len(fresh):
                    row["endpoint"] += " (some replaced a pending one: raise --checkout-shoppers)"
                rows.append(row)
                if beside:
                    beside.around(row)
            report["rows"] = rows
            if not only or any("checkout" in part for part in only):
                report["concurrent_checkouts"] = concurrent_checkouts(app, shoppers)
                print(f"\nconcurrent checkouts: {report['concurrent_checkouts']}")
            floor_ms = None
            if floor and beside:
                report["floor"] = floor_pass(wrk, hello, floor, args, database)
                report["floor_beside_rows"] = beside.measured
                floor_ms = next(
                    r["app_cpu_ms"] for r in report["floor"] if r["endpoint"] == FLOOR_ROW
                )
        finally:
            if floor:
                floor.stop()
        print("\nthe app" + (", in multiples of the floor:" if floor_ms else ":"))
        print(table(rows, floor_ms))
        if args.scale:
            from bench.scale import scale_pass

            report["scale"] = scale_pass(wrk, app, database, db_pid, shoppers, admin, args, env)
    finally:
        app.stop()
        hello.stop()
        fakes.stop()
    RESULTS.mkdir(exist_ok=True)
    out = RESULTS / f"{time.strftime('%Y%m%d-%H%M%S')}.json"
    out.write_text(json.dumps(report, indent=2))
    print(f"\nsaved {out.relative_to(Path.cwd()) if out.is_relative_to(Path.cwd()) else out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
