"""The world a bench run measures: a fresh MariaDB database reached as its own MySQL user (so
its statements can be counted apart from everything else on the server), a Redis db, the local
SMS and Razorpay fakes, the demo shop, and shoppers set up over HTTP like the app does it."""

import os
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pymysql
import redis

from bench.processes import ROOT
from tests.fakes import razorpay as fake_razorpay
from tests.fakes.razorpay import FakeRazorpay
from tests.fakes.sms import FakeSmsGateway

BENCH_USER, BENCH_PASSWORD = "nucleotide_bench", "bench"
ADMIN_PHONE = "+919000000001"


@dataclass
class Shopper:
    phone: str
    user_id: int
    token: str
    member_id: int
    address_id: int
    order_ids: list[int] = field(default_factory=list)

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}


class Database:
    """`nucleotide_bench` on the local server, as the user `nucleotide_bench`."""

    def __init__(self, host: str, port: int, root_user: str, root_password: str, name: str):
        self.host, self.port, self.name = host, port, name
        self.root = dict(host=host, port=port, user=root_user, password=root_password)

    def admin(self) -> pymysql.connections.Connection:
        return pymysql.connect(**self.root, autocommit=True)

    def recreate(self) -> None:
        with self.admin() as connection, connection.cursor() as cursor:
            cursor.execute(f"DROP DATABASE IF EXISTS `{self.name}`")
            cursor.execute(f"CREATE DATABASE `{self.name}` CHARACTER SET utf8mb4")
            cursor.execute(
                f"CREATE USER IF NOT EXISTS '{BENCH_USER}'@'%' IDENTIFIED BY '{BENCH_PASSWORD}'"
            )
            cursor.execute(f"GRANT ALL ON `{self.name}`.* TO '{BENCH_USER}'@'%'")
            # Per-user statement counters (MariaDB): the bench's statements apart from others'.
            cursor.execute("SET GLOBAL userstat = 1")

    @property
    def url(self) -> str:
        return f"mysql+pymysql://{BENCH_USER}:{BENCH_PASSWORD}@{self.host}:{self.port}/{self.name}"

    def statements(self) -> int:
        """Every statement the app's MySQL user has sent so far."""
        with self.admin() as connection, connection.cursor() as cursor:
            cursor.execute(
                "SELECT SELECT_COMMANDS + UPDATE_COMMANDS + OTHER_COMMANDS "
                "FROM information_schema.USER_STATISTICS WHERE USER = %s",
                (BENCH_USER,),
            )
            row = cursor.fetchone()
            return int(row[0]) if row else 0

    def drop(self) -> None:
        with self.admin() as connection, connection.cursor() as cursor:
            cursor.execute(f"DROP DATABASE IF EXISTS `{self.name}`")


@dataclass
class Fakes:
    sms: FakeSmsGateway
    razorpay: FakeRazorpay

    @classmethod
    def start(cls) -> "Fakes":
        return cls(FakeSmsGateway().start(), FakeRazorpay().start())

    def stop(self) -> None:
        self.sms.stop()
        self.razorpay.stop()


def app_env(database: Database, redis_url: str, fakes: Fakes, workdir: Path) -> dict[str, str]:
    return {
        "PATH": os.environ.get("PATH", ""),
        "PYTHONUNBUFFERED": "1",
        "ENVIRONMENT": "development",
        "DATABASE_URL": database.url,
        "REDIS_URL": redis_url,
        "MEDIA_ROOT": str(workdir / "media"),
        "LOG_LEVEL": "INFO",
        "SCHEDULER_ENABLED": "false",
        "ADMIN_PHONES": ADMIN_PHONE,
        "SMS_BACKEND": "webhook",
        "SMS_WEBHOOK_URL": fakes.sms.webhook_url,
        "OTP_RESEND_COOLDOWN_SECONDS": "0",
        "OTP_MAX_REQUESTS_PER_IP_PER_HOUR": "100000",
        "OTP_MAX_VERIFY_PER_IP_PER_HOUR": "100000",
        "SMS_MAX_PER_HOUR": "100000",
        "COUPON_ATTEMPTS_PER_HOUR": "100000",
        "RAZORPAY_BASE_URL": fakes.razorpay.url,
        "RAZORPAY_KEY_ID": fake_razorpay.KEY_ID,
        "RAZORPAY_KEY_SECRET": fake_razorpay.KEY_SECRET,
        "RAZORPAY_WEBHOOK_SECRET": fake_razorpay.WEBHOOK_SECRET,
        "DB_POOL_SIZE": "20",
        "DB_MAX_OVERFLOW": "20",
        "METRICS_ALLOWED_IPS": "127.0.0.1",
    }


def seed_demo(env: dict[str, str]) -> None:
    subprocess.run([sys.executable, "-m", "scripts.seed_demo"], cwd=ROOT, env=env, check=True)


def flush_redis(url: str) -> None:
    client = redis.Redis.from_url(url)
    client.flushdb()
    client.close()


def login(http: httpx.Client, sms: FakeSmsGateway, phone: str) -> tuple[int, str]:
    http.post("/auth/send-otp", json={"phone": phone}).raise_for_status()
    code = sms.last_code_for(phone)
    answer = http.post("/auth/verify-otp", json={"phone": phone, "otp": code})
    answer.raise_for_status()
    body = answer.json()
    return body["user"]["id"], body["access_token"]


def _ok(response: httpx.Response) -> Any:
    if response.status_code >= 300:
        raise RuntimeError(f"{response.request.method} {response.request.url}: {response.text}")
    return response.json() if response.content else None


def single_products(http: httpx.Client, count: int) -> list[int]:
    products = _ok(http.get("/products", params={"plan_type": "single", "limit": 100}))["items"]
    if len(products) < count:
        raise RuntimeError("the demo shop has too few single-member products")
    return [p["id"] for p in products[:count]]


def make_shopper(
    http: httpx.Client, sms: FakeSmsGateway, phone: str, products: list[int]
) -> Shopper:
    """Logged in, one member and address, consents given, `products` in the cart."""
    user_id, token = login(http, sms, phone)
    auth = {"Authorization": f"Bearer {token}"}
    member = _ok(
        http.post(
            "/member",
            headers=auth,
            json={
                "name": "Asha Rao",
                "relation": "self",
                "date_of_birth": "1990-04-12",
                "gender": "female",
            },
        )
    )
    address = _ok(
        http.post(
            "/address",
            headers=auth,
            json={
                "label": "home",
                "contact_name": "Asha Rao",
                "contact_phone": phone,
                "line1": "12, 4th Cross, Indiranagar",
                "city": "BANGALORE",
                "state": "Karnataka",
                "pincode": "560038",
                "is_default": True,
            },
        )
    )
    for product_id in products:
        for consent in _ok(http.get(f"/consent/products/{product_id}")):
            _ok(
                http.post(
                    "/consent",
                    headers=auth,
                    json={
                        "member_id": member["id"],
                        "code": consent["code"],
                        "version": consent["version"],
                    },
                )
            )
        _ok(
            http.post(
                "/cart/add",
                headers=auth,
                json={
                    "product_id": product_id,
                    "members": [{"member_id": member["id"], "address_id": address["id"]}],
                    "quantity": 1,
                },
            )
        )
    return Shopper(phone, user_id, token, member["id"], address["id"])


def place_order(http: httpx.Client, shopper: Shopper) -> int:
    placed = _ok(http.post("/orders", headers=shopper.headers))
    shopper.order_ids.append(placed["order"]["id"])
    return placed["order"]["id"]
