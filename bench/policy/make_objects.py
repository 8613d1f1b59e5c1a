"""make_objects.py: the benchmark's inputs. From a kubectl-made Deployment (with
`kubectl set resources`), add probes, a securityContext and env as a typical production
Deployment has, and write it as JSON, plus a YAML stream of N copies with distinct names."""
import json
import sys


def block(v, ind=0):
    """Block-style YAML, as kubectl writes it (no dependency on PyYAML)."""
    pad = "  " * ind
    out = []
    if isinstance(v, dict):
        for k, x in v.items():
            if isinstance(x, (dict, list)) and x:
                out.append(f"{pad}{k}:")
                out.extend(block(x, ind + (0 if isinstance(x, list) else 1)))
            else:
                out.append(f"{pad}{k}: {scalar(x)}")
    else:
        for x in v:
            if isinstance(x, (dict, list)) and x:
                sub = block(x, ind + 1)
                out.append(f"{pad}- {sub[0].strip()}")
                out.extend(sub[1:])
            else:
                out.append(f"{pad}- {scalar(x)}")
    return out


def scalar(x):
    if isinstance(x, dict):
        return "{}"
    if isinstance(x, list):
        return "[]"
    if x is None:
        return "null"
    if isinstance(x, bool):
        return "true" if x else "false"
    if isinstance(x, (int, float)):
        return str(x)
    return json.dumps(x)


def main():
    src, out_json, out_yaml, n = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
    d = json.load(open(src))
    spec = d["spec"]["template"]["spec"]
    spec["securityContext"] = {"runAsNonRoot": True, "runAsUser": 10001,
                               "seccompProfile": {"type": "RuntimeDefault"}}
    c = spec["containers"][0]
    c["securityContext"] = {"allowPrivilegeEscalation": False, "readOnlyRootFilesystem": True,
                            "capabilities": {"drop": ["ALL"]}}
    c["readinessProbe"] = {"httpGet": {"path": "/healthz", "port": 8080}, "periodSeconds": 10}
    c["livenessProbe"] = {"httpGet": {"path": "/healthz", "port": 8080},
                          "initialDelaySeconds": 5}
    c["env"] = [{"name": "LOG_LEVEL", "value": "info"}, {"name": "PORT", "value": "8080"}]
    json.dump(d, open(out_json, "w"), indent=2)
    with open(out_yaml, "w") as f:
        for i in range(n):
            d["metadata"]["name"] = f"web-{i}"
            f.write("---\n" + "\n".join(block(d)) + "\n")


main()
