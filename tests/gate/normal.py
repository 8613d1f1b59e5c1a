# normal.py: gate's YAML output (multi-document) as one JSON array, for jq to sort.
import json, sys
import yaml

text = sys.stdin.read()
try:
    docs = json.loads(text)["items"]
except ValueError:
    docs = [d for d in yaml.safe_load_all(text) if d is not None]
print(json.dumps(docs))
