# The everyday commands; the README's two commands stay the way to set up a fresh machine.
PY := .venv/bin/python

.PHONY: install lock run test test-mariadb lint typecheck bench ci

install:
	python3 -m venv .venv && .venv/bin/pip install -q --no-compile -r requirements-dev.lock

# Re-resolve the locks after editing requirements.txt / requirements-dev.txt (commit both locks).
# pip-tools runs from its own throwaway venv, never from .venv; it uses pip's configured index.
# The dev lock is constrained by the runtime lock, so the shared packages keep the same versions.
LOCKTOOL := /tmp/locktool
LOCK_FLAGS := --allow-unsafe --generate-hashes --strip-extras --no-emit-index-url --no-emit-find-links

lock:
	test -x $(LOCKTOOL)/bin/pip-compile || { python3 -m venv $(LOCKTOOL) && $(LOCKTOOL)/bin/pip install -q pip-tools==7.6.2; }
	$(LOCKTOOL)/bin/pip-compile $(LOCK_FLAGS) -o requirements.lock requirements.txt
	$(LOCKTOOL)/bin/pip-compile $(LOCK_FLAGS) -c requirements.lock -o requirements-dev.lock requirements-dev.txt

run:
	ENVIRONMENT=development $(PY) -m scripts.seed_demo
	ENVIRONMENT=development .venv/bin/uvicorn main:app --host 0.0.0.0 --port 8030 --no-proxy-headers --no-access-log

test:
	$(PY) -m pytest

# Needs the database: mysql -uroot -h127.0.0.1 -e 'CREATE DATABASE nucleotide_test CHARACTER SET utf8mb4'
test-mariadb:
	TEST_DATABASE_URL=mysql+pymysql://root@127.0.0.1:3306/nucleotide_test \
	TEST_REDIS_URL=redis://127.0.0.1:6379/15 $(PY) -m pytest

lint:
	.venv/bin/ruff check .
	.venv/bin/ruff format --check .
	.venv/bin/lint-imports

typecheck:
	.venv/bin/mypy

bench:
	$(PY) -m bench

ci:
	bash .ci/run
