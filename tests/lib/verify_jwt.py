#!/usr/bin/env python3
"""Verify a SharePay access token against a JWKS document with PyJWT.

An independent check that the server's tokens are standard EdDSA JWTs:
usage `verify_jwt.py JWKS_FILE TOKEN_FILE`. Prints the verified claims as
JSON and exits 0, or prints why verification failed and exits 1.
Needs `pip install 'pyjwt[crypto]'`.
"""

import json
import sys

import jwt


def main() -> int:
    if len(sys.argv) != 3:
        print("usage: verify_jwt.py JWKS_FILE TOKEN_FILE", file=sys.stderr)
        return 2
    with open(sys.argv[1], encoding="utf-8") as jwks_file:
        jwks = jwt.PyJWKSet.from_dict(json.load(jwks_file))
    with open(sys.argv[2], encoding="utf-8") as token_file:
        token = token_file.read().strip()

    kid = jwt.get_unverified_header(token).get("kid")
    matching = [key for key in jwks.keys if key.key_id == kid]
    if not matching:
        print(f"no key with kid {kid!r} in the JWKS", file=sys.stderr)
        return 1
    try:
        claims = jwt.decode(
            token,
            matching[0].key,
            algorithms=["EdDSA"],
            audience="sharepay-api",
            issuer="sharepay",
            options={"require": ["exp", "nbf", "iat", "iss", "aud", "sub"]},
        )
    except jwt.PyJWTError as error:
        print(f"verification failed: {error}", file=sys.stderr)
        return 1
    print(json.dumps(claims, sort_keys=True))
    return 0


if __name__ == "__main__":
    sys.exit(main())
