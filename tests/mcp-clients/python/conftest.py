"""Fixtures: the airlock binary, a SQLite app with two tenants, configs, and running servers.

The binary comes from AIRLOCK_BIN, else target-mcp/debug/airlock, else target/debug/airlock.
"""

from __future__ import annotations

import base64
import json
import os
import socket
import sqlite3
import subprocess
import time
from pathlib import Path

import httpx2 as httpx
import pytest

REPO = Path(__file__).resolve().parents[3]
JWT_SECRET = "python-suite-hs256-secret-0123456789abcdef"
STATIC_TOKEN = "python-suite-static-token"
ISSUER = "https://issuer.airlock.test"
AUDIENCE = "airlock-python-suite"

APP_SQL = """
CREATE TABLE subscriptions (
    id TEXT PRIMARY KEY, tenant_id TEXT NOT NULL, customer_name TEXT NOT NULL, plan TEXT NOT NULL,
    seats INTEGER NOT NULL, monthly_price_cents INTEGER NOT NULL, discount_pct INTEGER NOT NULL DEFAULT 0,
    discount_reason TEXT, row_version INTEGER NOT NULL DEFAULT 1);
INSERT INTO subscriptions VALUES
    ('SUB-1001', 'northwind', 'Blue Harbor Cafe', 'team', 12, 36000, 0, NULL, 1),
    ('SUB-1002', 'northwind', 'Kestrel Logistics', 'business', 80, 192000, 5, 'annual prepay', 3),
    ('SUB-2001', 'globex', 'Initech', 'enterprise', 400, 880000, 10, 'multi-year', 7);
"""


def capabilities(source: str) -> list[dict]:
    target = {"table": "subscriptions", "primary_key": "id", "tenant_key": "tenant_id"}
    return [
        {
            "name": "billing.inspect_subscription",
            "kind": "read",
            "description": "Look up one subscription of the current tenant.",
            "source": source,
            "target": target,
            "args": {"subscription_id": {"type": "string", "max_length": 64}},
            "lookup": {"id_from_arg": "subscription_id"},
            "visible_columns": ["id", "customer_name", "plan", "seats", "discount_pct"],
        },
        {
            "name": "billing.propose_discount",
            "kind": "proposal",
            "source": source,
            "target": target,
            "args": {
                "subscription_id": {"type": "string", "max_length": 64},
                "discount_pct": {"type": "number", "minimum": 0, "maximum": 30},
                "reason": {"type": "string", "max_length": 300},
            },
            "lookup": {"id_from_arg": "subscription_id"},
            "visible_columns": ["id", "customer_name", "discount_pct", "discount_reason"],
            "patch": {"discount_pct": {"from_arg": "discount_pct"}, "discount_reason": {"from_arg": "reason"}},
            "allowed_columns": ["discount_pct", "discount_reason"],
            "numeric_bounds": {"discount_pct": {"minimum": 0, "maximum": 30}},
            "conflict_guard": {"column": "row_version"},
            "approval": {"mode": "human", "required_role": "billing_lead"},
        },
    ]


def find_binary() -> str:
    explicit = os.environ.get("AIRLOCK_BIN")
    if explicit:
        return explicit
    for target in ("target-mcp", "target"):
        candidate = REPO / target / "debug" / "airlock"
        if candidate.exists():
            return str(candidate)
    raise RuntimeError("airlock binary not found: build it or set AIRLOCK_BIN")


@pytest.fixture(scope="session")
def airlock_bin() -> str:
    return find_binary()


def write_config(dir: Path, name: str, context: dict, source: dict, source_name: str = "app") -> Path:
    cfg = {
        "version": 1,
        "mode": "review",
        "result_format": 2,
        "sources": {source_name: source},
        "trusted_context": context,
        "capabilities": capabilities(source_name),
    }
    path = dir / name
    path.write_text(json.dumps(cfg, indent=2))
    return path


@pytest.fixture(scope="session")
def app(tmp_path_factory) -> dict:
    """A SQLite app database, JWKS keys, and three configs (environment, http_claims HS256,
    http_claims RS256 via JWKS) sharing one ledger."""
    import jwt
    from cryptography.hazmat.primitives.asymmetric import rsa

    d = tmp_path_factory.mktemp("airlock-app")
    db = sqlite3.connect(d / "app.db")
    db.executescript(APP_SQL)
    db.close()
    source = {"engine": "sqlite", "path": "app.db"}
    env_cfg = write_config(d, "airlock.json", {"provider": "environment"}, source)
    jwt_values = {
        "hs256_secret_env": "AIRLOCK_TEST_JWT_SECRET",
        "issuer": ISSUER,
        "audience": AUDIENCE,
        "tenant_claim": "org",
    }
    jwt_cfg = write_config(d, "jwt.json", {"provider": "http_claims", "values": jwt_values}, source)
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    public = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(key.public_key()))
    public.update({"kid": "suite-key", "use": "sig", "alg": "RS256"})
    (d / "jwks.json").write_text(json.dumps({"keys": [public]}))
    jwks_cfg = write_config(
        d,
        "jwks.json.config",
        {"provider": "http_claims", "values": {"jwks_file": "jwks.json", "issuer": ISSUER, "audience": AUDIENCE}},
        source,
    )
    return {"dir": d, "env_config": env_cfg, "jwt_config": jwt_cfg, "jwks_config": jwks_cfg, "rsa_key": key}


def server_env(tenant: str = "northwind", principal: str = "suite_agent", **extra: str) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SYNAPSOR_", "AIRLOCK_"))}
    env.update(
        {
            "SYNAPSOR_TENANT_ID": tenant,
            "SYNAPSOR_PRINCIPAL": principal,
            "SYNAPSOR_RUNNER_HTTP_TOKEN": STATIC_TOKEN,
            "AIRLOCK_TEST_JWT_SECRET": JWT_SECRET,
            "AIRLOCK_LOG": "warn",
        }
    )
    env.update(extra)
    return env


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class HttpServer:
    def __init__(self, airlock_bin: str, config: Path, store: Path, verb: str = "serve-streamable-http",
                 extra_args: list[str] | None = None, env: dict | None = None):
        self.port = free_port()
        path = "/rpc" if verb == "serve-http" else "/mcp"
        self.base = f"http://127.0.0.1:{self.port}"
        self.url = self.base + path
        args = [airlock_bin, "--config", str(config), "--store", str(store), "mcp", verb,
                "--host", "127.0.0.1", "--port", str(self.port)] + (extra_args or [])
        self.stderr = open(store.parent / f"server-{self.port}.log", "w")
        self.proc = subprocess.Popen(args, env=env or server_env(), stdin=subprocess.DEVNULL,
                                     stdout=subprocess.PIPE, stderr=self.stderr)
        deadline = time.time() + 20
        while time.time() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"server exited early: {self.proc.returncode}; see {self.stderr.name}")
            try:
                if httpx.get(self.base + "/healthz", timeout=1).status_code == 200:
                    return
            except httpx.HTTPError:
                time.sleep(0.05)
        raise RuntimeError("server did not become healthy")

    def stop(self) -> str:
        self.proc.terminate()
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
        out = self.proc.stdout.read().decode() if self.proc.stdout else ""
        self.stderr.close()
        return out


@pytest.fixture(scope="session")
def http_server(airlock_bin, app):
    srv = HttpServer(airlock_bin, app["env_config"], app["dir"] / "ledger.db")
    yield srv
    srv.stop()


@pytest.fixture(scope="session")
def jwt_server(airlock_bin, app):
    srv = HttpServer(airlock_bin, app["jwt_config"], app["dir"] / "ledger.db")
    yield srv
    srv.stop()


@pytest.fixture(scope="session")
def jwks_server(airlock_bin, app):
    srv = HttpServer(airlock_bin, app["jwks_config"], app["dir"] / "ledger.db")
    yield srv
    srv.stop()


def hs256(claims: dict, secret: str = JWT_SECRET) -> str:
    import jwt

    base = {"iss": ISSUER, "aud": AUDIENCE, "exp": int(time.time()) + 600, "sub": "jwt_agent"}
    base.update(claims)
    return jwt.encode({k: v for k, v in base.items() if v is not None}, secret, algorithm="HS256")


def b64(s: bytes) -> str:
    return base64.urlsafe_b64encode(s).rstrip(b"=").decode()


@pytest.fixture
def anyio_backend():
    return "asyncio"
