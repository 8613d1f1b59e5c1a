# expected.py: what gate must print, computed independently of sealgate: every Kubernetes
# object in the committed files under the given folders (read with `git show`, parsed with
# PyYAML), Lists expanded, with each sealed Secret replaced by the plaintext Secret it was
# sealed from. Usage: expected.py REPO REV PLAIN_SECRET_YAML DIR... > expected.json
# Prints a JSON array; gate.sh sorts it with jq.
import json, subprocess, sys
import yaml

repo, rev, plain_path, dirs = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4:]
plain = yaml.safe_load(open(plain_path))
files = subprocess.run(["git", "-C", repo, "ls-tree", "-r", "--name-only", rev, "--", *dirs],
                       capture_output=True, check=True, text=True).stdout.split()
objs = []
for f in files:
    if not f.endswith((".yaml", ".yml", ".json")):
        continue
    text = subprocess.run(["git", "-C", repo, "show", f"{rev}:{f}"], capture_output=True,
                          check=True, text=True).stdout
    docs = [json.loads(text)] if f.endswith(".json") else list(yaml.safe_load_all(text))
    for d in docs:
        items = d.get("items", []) if isinstance(d, dict) and d.get("kind", "").endswith("List") else [d]
        for o in items:
            if not isinstance(o, dict) or not o.get("kind") or not o.get("apiVersion"):
                continue
            if o["kind"] == "Secret" and o["metadata"].get("labels", {}).get("sealgate.io/sealed") == "true":
                o = plain
            objs.append(o)
print(json.dumps(objs))
