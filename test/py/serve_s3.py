"""Drive boto3 against `cwcreds serve`: keys from the container provider, S3 calls.

Usage: python3 serve_s3.py BUCKET [SECONDS [INTERVAL_SECONDS]]

Creates BUCKET, then puts and lists one object per round for SECONDS (one round
when 0). Prints one JSON line (the sdkReport of test/sdk) and exits 1 if any call
failed. The environment says where keys come from, as in a user's pod:
AWS_CONTAINER_CREDENTIALS_FULL_URI, AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE,
AWS_ENDPOINT_URL_S3, AWS_DEFAULT_REGION. Never prints a secret.
"""

import json
import sys
import time

import boto3
import botocore
from botocore.config import Config


def main():
    bucket = sys.argv[1]
    seconds = float(sys.argv[2]) if len(sys.argv) > 2 else 0
    interval = float(sys.argv[3]) if len(sys.argv) > 3 else 0.3
    rep = {"sdk": "botocore " + botocore.__version__, "provider": "", "keyIds": [],
           "emptyToken": False, "rounds": 0, "calls": 0, "failures": []}
    session = boto3.session.Session()
    creds = session.get_credentials()
    if creds is None:
        rep["failures"].append("boto3 found no credentials")
        return finish(rep)
    rep["provider"] = creds.method  # "container-role" for the container provider
    s3 = session.client("s3", config=Config(s3={"addressing_style": "path"}))

    def note():
        frozen = creds.get_frozen_credentials()  # what the signer will use
        rep["emptyToken"] = frozen.token in (None, "")
        if frozen.access_key not in rep["keyIds"]:
            rep["keyIds"].append(frozen.access_key)

    def call(what, fn):
        rep["calls"] += 1
        try:
            note()
            return fn()
        except Exception as e:  # report and carry on: the test counts failures
            rep["failures"].append("%s: %s: %s" % (what, type(e).__name__, e))
            return None

    if call("create bucket", lambda: s3.create_bucket(Bucket=bucket)) is None:
        return finish(rep)
    deadline = time.monotonic() + seconds
    while True:
        rep["rounds"] += 1
        key = "py/%04d.txt" % rep["rounds"]
        call("put object", lambda: s3.put_object(Bucket=bucket, Key=key, Body=b"hello from python"))
        out = call("list objects", lambda: s3.list_objects_v2(Bucket=bucket, Prefix=key))
        if out is not None and key not in [o["Key"] for o in out.get("Contents", [])]:
            rep["failures"].append("list objects: %s is missing" % key)
        if time.monotonic() + interval >= deadline:
            break
        time.sleep(interval)
    return finish(rep)


def finish(rep):
    print(json.dumps(rep), flush=True)
    return 1 if rep["failures"] else 0


if __name__ == "__main__":
    sys.exit(main())
