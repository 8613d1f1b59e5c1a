# pss_fixtures.py: helpers for pss_conformance.sh, so that 148 fixtures in three shapes cost a
# handful of processes rather than thousands.
#   pss_fixtures.py wrap SHAPE SRC_DIR DST_DIR
#       copy every fixture (Pod) or make it the pod template of a Deployment or CronJob.
#   pss_fixtures.py verdicts LEVEL WANT SHAPE DIR < check.json
#       compare `sealgate check -o json DIR` with what the fixtures' names say; print
#       "ok KEY WHAT" or "bad KEY WHAT: why" per fixture (KEY = level/want/name).
import glob
import json
import os
import re
import sys

HEADS = {
    "Deployment": ("apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: wrapped}\nspec:\n"
                   "  selector: {matchLabels: {app: wrapped}}\n  template:\n", "    "),
    "CronJob": ("apiVersion: batch/v1\nkind: CronJob\nmetadata: {name: wrapped}\nspec:\n"
                "  schedule: \"0 * * * *\"\n  jobTemplate:\n    spec:\n      template:\n", "        "),
}
# Where a pod's spec sits in each shape: findings must point there or below.
SPEC = {"Pod": "spec", "Deployment": "spec.template.spec",
        "CronJob": "spec.jobTemplate.spec.template.spec"}


def wrap(shape, src, dst):
    os.makedirs(dst, exist_ok=True)
    for path in sorted(glob.glob(os.path.join(src, "*.yaml"))):
        with open(path) as f:
            text = f.read()
        if shape != "Pod":
            head, indent = HEADS[shape]
            # The fixtures are block YAML with apiVersion, kind, metadata and spec at the top;
            # metadata and spec become the template's.
            body = [indent + line if line else line for line in text.splitlines()
                    if not line.startswith(("apiVersion:", "kind:"))]
            text = head + "\n".join(body) + "\n"
        with open(os.path.join(dst, os.path.basename(path)), "w") as f:
            f.write(text)


def inside(path, spec):
    return path in ("", spec) or path.startswith(spec + ".")


def verdicts(level, want, shape, folder):
    doc = json.load(sys.stdin)
    files = sorted(glob.glob(os.path.join(folder, "*.yaml")))
    if doc.get("objects") != len(files) or doc.get("inputErrors"):
        print(f"bad {level}/{want}/* {level}/{want} as {shape}s: checked {doc.get('objects')} "
              f"objects of {len(files)} files (input errors: {doc.get('inputErrors')})")
    denies = {}
    for f in doc["findings"]:
        if f["action"] == "deny":
            denies.setdefault(os.path.basename(f["file"]), []).append(f)
    for path in files:
        base = os.path.basename(path)
        name = base[:-len(".yaml")]
        key = f"{level}/{want}/{name}"
        what = f"{key}.yaml" + ("" if shape == "Pod" else f" as a {shape}")
        mine = denies.get(base, [])
        got = " ".join(sorted({f["rule"] for f in mine})) or "nothing"
        if want == "pass":
            if mine:
                print(f"bad {key} {what}: expected no denial, got {got}")
            else:
                print(f"ok {key} {what}")
            continue
        rule = f"pod-security-{level}/{re.sub(r'[0-9]+$', '', name)}"
        hits = [f for f in mine if f["rule"] == rule]
        if not hits:
            print(f"bad {key} {what}: expected a denial from {rule}, got {got}")
        elif not all(inside(f.get("path", ""), SPEC[shape]) for f in hits):
            print(f"bad {key} {what}: finding path {hits[0].get('path')} is not in {SPEC[shape]}")
        else:
            print(f"ok {key} {what}")


if __name__ == "__main__":
    if sys.argv[1] == "wrap":
        wrap(*sys.argv[2:5])
    elif sys.argv[1] == "verdicts":
        verdicts(*sys.argv[2:6])
    else:
        sys.exit(f"pss_fixtures.py: unknown command {sys.argv[1]}")
