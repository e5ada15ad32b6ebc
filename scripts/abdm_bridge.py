"""Register the bridge URL with the ABDM gateway: where it sends its callbacks.

    ENVIRONMENT=production python -m scripts.abdm_bridge https://api.example.in/abdm

Uses the ABDM_* settings (client id and secret, gateway host); run once per environment, and
again whenever the public host changes."""

import sys

from Abdm_module.gateway import GatewayRefusal, GatewayUnavailable, register_bridge_url


def main(argv: list[str]) -> int:
    if len(argv) != 1 or not argv[0].endswith("/abdm"):
        print("usage: python -m scripts.abdm_bridge https://<host>/abdm", file=sys.stderr)
        return 2
    try:
        status = register_bridge_url(argv[0])
    except (GatewayRefusal, GatewayUnavailable) as exc:
        print(f"the gateway refused or did not answer: {exc!r}", file=sys.stderr)
        return 1
    print(f"bridge URL registered ({status}): {argv[0]}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
