"""Reference SigV4 signatures from botocore, for the Swift signer's cross-check (SigV4Tests).

Reads a JSON list of cases on stdin: {method, url, headers: [[name, value]], body, access_key, secret_key,
token, region, service, timestamp: "YYYYMMDDTHHMMSSZ"}; prints one {authorization} per case.
"""
import datetime
import json
import sys
from unittest import mock

from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

out = []
for case in json.load(sys.stdin):
    request = AWSRequest(method=case["method"], url=case["url"], data=case["body"].encode(), headers=dict(case["headers"]))
    auth = SigV4Auth(Credentials(case["access_key"], case["secret_key"], case.get("token")), case["service"], case["region"])
    when = datetime.datetime.strptime(case["timestamp"], "%Y%m%dT%H%M%SZ")
    with mock.patch("botocore.auth.get_current_datetime", return_value=when):
        auth.add_auth(request)
    out.append({"authorization": request.headers["Authorization"]})
print(json.dumps(out))
