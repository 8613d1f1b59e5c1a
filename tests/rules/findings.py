# findings.py: read `sealgate check -o json` on stdin ({"findings": [{rule, action, path, ...}]});
# print one line per finding, "ACTION RULE_ID PATH FILE" (PATH "-" for the object itself), so
# shell tests can compare verdicts with awk and grep.
import json
import sys


def main():
    text = sys.stdin.read()
    if not text.strip():
        print("findings.py: no output from sealgate check", file=sys.stderr)
        return 2
    try:
        doc = json.loads(text)
        findings = doc["findings"]
    except (json.JSONDecodeError, KeyError, TypeError) as e:
        print(f"findings.py: not the JSON of sealgate check: {e}", file=sys.stderr)
        return 2
    for f in findings:
        print(f["action"], f["rule"], f.get("path") or "-", f.get("file") or "-")
    return 0


if __name__ == "__main__":
    sys.exit(main())
