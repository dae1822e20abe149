"""Verifies an RS256 JWT with `cryptography`, for the Vertex provider's cross-check (VertexTests).

Reads {"jwt": ..., "public_key_pem": ...} on stdin; prints {"header": ..., "claims": ...} when the signature
is valid, exits 1 otherwise.
"""
import base64
import json
import sys

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding


def b64(part: str) -> bytes:
    return base64.urlsafe_b64decode(part + "=" * (-len(part) % 4))


data = json.load(sys.stdin)
header, claims, signature = data["jwt"].split(".")
key = serialization.load_pem_public_key(data["public_key_pem"].encode())
try:
    key.verify(b64(signature), f"{header}.{claims}".encode(), padding.PKCS1v15(), hashes.SHA256())
except InvalidSignature:
    print("invalid signature", file=sys.stderr)
    sys.exit(1)
print(json.dumps({"header": json.loads(b64(header)), "claims": json.loads(b64(claims))}))
