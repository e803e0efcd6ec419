#!/usr/bin/env python3
"""Bundles the AWS service API models Passo's aws-sdk integrations are driven by.

The models come from botocore (the AWS SDK for Python's data files, Apache-2.0, on PyPI):
for each service its newest `service-2.json`, stripped of what a caller does not need
(documentation, examples, deprecation notes), written as one gzipped JSON object
file the build embeds, so that nothing is downloaded at run time. Each service is gzipped on
its own, so a caller inflates only the models it uses (all of them are ~28 MB of JSON):

    PASSO-AWS-MODELS 1\n
    {"dynamodb": [offset, length, "DynamoDB"], ...}\n   (offsets from the end of this line;
                                                the third field is the serviceId)
    <gzip of dynamodb's model><gzip of ...>...

    python3 -m pip install botocore          # any recent version
    python3 tools/aws-models/bundle.py [BOTOCORE_DATA_DIR] [OUT]

OUT defaults to crates/passo-tasks/models/aws-models.bin.
"""
import glob
import gzip
import json
import os
import sys

DROP = {"documentation", "documentationUrl", "examples", "deprecatedMessage", "deprecatedSince"}
META = ("apiVersion", "awsQueryCompatible", "endpointPrefix", "globalEndpoint", "jsonVersion", "protocol", "protocols",
        "serviceId", "signatureVersion", "signingName", "targetPrefix", "uid", "xmlNamespace")


def strip(v):
    if isinstance(v, dict):
        return {k: strip(x) for k, x in v.items() if k not in DROP}
    if isinstance(v, list):
        return [strip(x) for x in v]
    return v


def newest_model(service_dir):
    versions = sorted(glob.glob(os.path.join(service_dir, "*", "service-2.json*")))
    if not versions:
        return None
    path = versions[-1]
    raw = gzip.open(path).read() if path.endswith(".gz") else open(path, "rb").read()
    return json.loads(raw)


def main():
    data = sys.argv[1] if len(sys.argv) > 1 else os.path.join(
        os.path.dirname(__import__("botocore").__file__), "data")
    out = sys.argv[2] if len(sys.argv) > 2 else os.path.join(
        os.path.dirname(__file__), "..", "..", "crates", "passo-tasks", "models", "aws-models.bin")
    bundle = {}
    for service in sorted(os.listdir(data)):
        m = newest_model(os.path.join(data, service))
        if m is None:
            continue
        meta = {k: m["metadata"][k] for k in META if k in m["metadata"]}
        bundle[service] = {"metadata": meta, "operations": strip(m["operations"]),
                           "shapes": strip(m["shapes"])}
    os.makedirs(os.path.dirname(out), exist_ok=True)
    index, blobs, offset, plain = {}, [], 0, 0
    for service, model in bundle.items():
        text = json.dumps(model, separators=(",", ":"), sort_keys=True).encode()
        plain += len(text)
        blob = gzip.compress(text, compresslevel=9, mtime=0)
        index[service] = [offset, len(blob), model["metadata"].get("serviceId", service)]
        blobs.append(blob)
        offset += len(blob)
    with open(out, "wb") as f:
        f.write(b"PASSO-AWS-MODELS 1\n")
        f.write(json.dumps(index, separators=(",", ":"), sort_keys=True).encode() + b"\n")
        for blob in blobs:
            f.write(blob)
    print(f"{len(bundle)} services, {plain / 1e6:.1f} MB of JSON, "
          f"{os.path.getsize(out) / 1e6:.1f} MB bundled -> {out}")


if __name__ == "__main__":
    main()
