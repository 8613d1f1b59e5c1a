# findings.py: read `sealgate check -o json` on stdin; print one line per finding,
# "ACTION RULE_ID PATH", so shell tests can grep verdicts without a JSON tool of their own.
import json
import sys


def walk(node, out):
    if isinstance(node, dict):
        rule = node.get("rule") or node.get("rule_id") or node.get("id")
        action = node.get("action")
        if isinstance(rule, str) and isinstance(action, str):
            out.append((action, rule, node.get("path") or "-"))
        for value in node.values():
            walk(value, out)
    elif isinstance(node, list):
        for value in node:
            walk(value, out)


def main():
    text = sys.stdin.read()
    if not text.strip():
        return 0
    try:
        doc = json.loads(text)
    except json.JSONDecodeError as e:
        print(f"findings.py: output is not JSON: {e}", file=sys.stderr)
        return 2
    found = []
    walk(doc, found)
    for action, rule, path in found:
        print(action, rule, path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
