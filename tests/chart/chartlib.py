"""chartlib: what the chart tests can do without a helm binary.

Two tools over charts/sealgate/templates:

- strip(text): the template's static YAML, every {{ }} action removed. Lines that hold only
  actions go (control flow, includes); an action inside a line becomes a placeholder token
  that names the expression, so that two places rendering the same expression get the same
  token. The brief's check: every template's static YAML parses.

- Renderer: a small evaluator for the subset of Go templates and Sprig that this chart uses
  (if/else/range/with/define, variables, pipelines and about forty functions). It raises
  Unsupported on anything else, so a template that grows past the subset fails the test
  loudly instead of being checked wrongly. It is not helm: users' CI runs `helm lint` and
  `helm template`; this lets the suite check what the chart renders on a machine without it.
"""

import base64
import copy
import hashlib
import json
import re

import yaml


class Unsupported(Exception):
    pass


class TemplateError(Exception):
    pass


# ---- stripping --------------------------------------------------------------------------

_COMMENT = re.compile(r"\{\{-?\s*/\*.*?\*/\s*-?\}\}", re.S)
_RAW = re.compile(r"\{\{-?\s*`([^`]*)`\s*-?\}\}")
_ACTION = re.compile(r"\{\{-?(.*?)-?\}\}", re.S)


def token(expr):
    """The placeholder an inline action becomes: stable for the same expression."""
    norm = " ".join(expr.split())
    return "H" + hashlib.sha1(norm.encode()).hexdigest()[:10]


def strip(text):
    """Remove template actions; return (yaml_text, {token: expression})."""
    names = {}
    text = _COMMENT.sub("", text)
    text = _RAW.sub(lambda m: m.group(1).replace("{{", "<<").replace("}}", ">>"), text)
    out = []
    for line in text.split("\n"):
        if line.strip() and _ACTION.sub("", line).strip() == "":
            continue  # a line of actions only: control flow or generated blocks
        def sub(m):
            expr = m.group(1).strip()
            t = token(expr)
            names[t] = expr
            return t
        out.append(_ACTION.sub(sub, line))
    return "\n".join(out), names


# ---- rendering --------------------------------------------------------------------------

def _lex(src):
    """Split template text into ('text', s) and ('action', expr) items, applying trim markers."""
    items = []
    pos = 0
    while True:
        i = src.find("{{", pos)
        if i < 0:
            items.append(["text", src[pos:]])
            break
        items.append(["text", src[pos:i]])
        j = i + 2
        trim_left = src.startswith("{{-", i) and src[i + 3:i + 4] in (" ", "\t", "\n")
        if trim_left:
            j += 1
        if src.startswith("/*", j if src[j] != " " else j + 1):
            # a comment ends at */ followed by }} (or " -}}"), whatever it holds
            c = src.find("*/", j)
            if c < 0:
                raise TemplateError("unclosed comment at offset %d" % i)
            k = src.find("}}", c)
            if trim_left:
                items[-1][1] = items[-1][1].rstrip(" \t\r\n")
            pos = k + 2
            if src[c + 2:k].strip() == "-":
                while pos < len(src) and src[pos] in " \t\r\n":
                    pos += 1
            continue
        # find the closing }} outside string literals
        k = j
        quote = None
        while k < len(src):
            c = src[k]
            if quote:
                if c == "\\" and quote == '"':
                    k += 2
                    continue
                if c == quote:
                    quote = None
            elif c in ('"', "`"):
                quote = c
            elif src.startswith("}}", k):
                break
            k += 1
        else:
            raise TemplateError("unclosed action at offset %d" % i)
        body = src[j:k]
        trim_right = body.endswith(" -") or body.endswith("\t-") or body.endswith("\n-")
        if trim_right:
            body = body[:-1]
        if trim_left:
            items[-1][1] = items[-1][1].rstrip(" \t\r\n")
        items.append(["action", body.strip(), trim_right])
        pos = k + 2
        if trim_right:
            while pos < len(src) and src[pos] in " \t\r\n":
                pos += 1
    return [tuple(x[:2]) for x in items]


_TOK = re.compile(r"""\s*(?:
    (?P<str>"(?:[^"\\]|\\.)*") |
    (?P<raw>`[^`]*`) |
    (?P<num>-?\d+(?:\.\d+)?) |
    (?P<assign>:=|=) |
    (?P<punct>[|(),]) |
    (?P<var>\$[A-Za-z0-9_]*(?:\.[A-Za-z0-9_]+)*) |
    (?P<field>(?:\.[A-Za-z0-9_]+)+|\.) |
    (?P<ident>[A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z0-9_]+)*)
)""", re.X)


def _tokens(expr):
    toks = []
    pos = 0
    expr = expr.strip()
    while pos < len(expr):
        m = _TOK.match(expr, pos)
        if not m or m.end() == pos:
            raise Unsupported("cannot read %r at %r" % (expr, expr[pos:]))
        kind = m.lastgroup
        if kind == "field" and m.start(kind) > 0 and expr[m.start(kind) - 1] == ")":
            kind = "chainfield"  # (x).field, with no space between
        toks.append((kind, m.group(kind)))
        pos = m.end()
        while pos < len(expr) and expr[pos].isspace():
            pos += 1
    return toks


class Node:
    def __init__(self, kind, arg=None):
        self.kind, self.arg = kind, arg
        self.body, self.orelse = [], []


def _parse(items):
    root = Node("root")
    stack = [(root, root.body)]
    for kind, val in items:
        node, cur = stack[-1]
        if kind == "text":
            cur.append(("text", val))
            continue
        if val.startswith("/*"):
            continue
        word = val.split(None, 1)[0] if val else ""
        rest = val[len(word):].strip()
        if word in ("if", "range", "with", "define"):
            n = Node(word, rest)
            cur.append(("node", n))
            stack.append((n, n.body))
        elif word == "else":
            if node.kind == "root":
                raise TemplateError("else outside a block")
            stack[-1] = (node, node.orelse)
            if rest.startswith("if "):
                # else if: an if inside the else branch, closed by the same end
                inner = Node("if", rest[3:].strip())
                inner.chained = True
                node.orelse.append(("node", inner))
                stack.append((inner, inner.body))
        elif word == "end":
            if node.kind == "root":
                raise TemplateError("end without a block")
            n, _ = stack.pop()
            while getattr(n, "chained", False):
                n, _ = stack.pop()
        elif word in ("template", "block", "break", "continue"):
            raise Unsupported("action %r" % word)
        else:
            cur.append(("expr", val))
    if len(stack) != 1:
        raise TemplateError("unclosed %s" % stack[-1][0].kind)
    return root


class Scope:
    """Template variables: := declares in this block, = assigns where it was declared."""

    def __init__(self, parent=None, **init):
        self.parent, self.vars = parent, dict(init)

    def get(self, name):
        s = self
        while s is not None:
            if name in s.vars:
                return s.vars[name]
            s = s.parent
        raise TemplateError("undefined variable %s" % name)

    def declare(self, name, val):
        self.vars[name] = val

    def assign(self, name, val):
        s = self
        while s is not None:
            if name in s.vars:
                s.vars[name] = val
                return
            s = s.parent
        raise TemplateError("assignment to undeclared %s" % name)


def _truthy(v):
    if v is None or v is False:
        return False
    if isinstance(v, (int, float)) and not isinstance(v, bool):
        return v != 0
    if isinstance(v, (str, list, dict, tuple)):
        return len(v) > 0
    return True


def _go_str(v):
    if v is None:
        return "<no value>"
    if v is True:
        return "true"
    if v is False:
        return "false"
    if isinstance(v, float) and v.is_integer():
        return str(int(v))
    if isinstance(v, dict):
        return "map[" + " ".join("%s:%s" % (k, _go_str(v[k])) for k in sorted(v)) + "]"
    if isinstance(v, list):
        return "[" + " ".join(_go_str(x) for x in v) + "]"
    return str(v)


def _to_yaml(v):
    if v is None or v == {} or v == []:
        return "{}" if v == {} else ("[]" if v == [] else "null")
    return yaml.safe_dump(v, default_flow_style=False, sort_keys=True).rstrip("\n")


def _printf(fmt, *args):
    out, ai, i = [], 0, 0
    while i < len(fmt):
        c = fmt[i]
        if c == "%" and i + 1 < len(fmt):
            v = fmt[i + 1]
            if v == "%":
                out.append("%")
            elif v in "sdvq":
                a = args[ai]
                ai += 1
                out.append(json.dumps(a) if v == "q" else _go_str(a))
            else:
                raise Unsupported("printf verb %%%s" % v)
            i += 2
            continue
        out.append(c)
        i += 1
    return "".join(out)


class Renderer:
    """Render chart templates for given values. `lookups` answers the lookup function."""

    def __init__(self, chart, values, release="sealgate", namespace="sealgate", templates=None,
                 lookups=None):
        self.top = {
            "Values": values,
            "Chart": {"Name": chart["name"], "Version": chart["version"],
                      "AppVersion": chart.get("appVersion", "")},
            "Release": {"Name": release, "Namespace": namespace, "Service": "Helm",
                        "IsInstall": True, "IsUpgrade": False},
            "Template": {"BasePath": "sealgate/templates"},
            "Capabilities": {},
        }
        self.templates = templates or {}
        self.lookups = lookups or {}
        self.defines = {}
        for name, src in self.templates.items():
            self._collect_defines(_parse(_lex(src)))

    def _collect_defines(self, root):
        for kind, v in root.body:
            if kind == "node" and v.kind == "define":
                name = json.loads(v.arg)
                self.defines[name] = v

    def render(self, name):
        root = _parse(_lex(self.templates[name]))
        out = []
        self._exec(root.body, self.top, Scope(**{"$": self.top}), out)
        return "".join(out)

    def include(self, name, dot):
        base = self.top["Template"]["BasePath"] + "/"
        if name.startswith(base) and name[len(base):] in self.templates:
            return self.render(name[len(base):])
        if name not in self.defines:
            raise TemplateError("no template %r" % name)
        out = []
        self._exec(self.defines[name].body, dot, Scope(**{"$": dot}), out)
        return "".join(out)

    # statements
    def _exec(self, nodes, dot, scope, out):
        for kind, v in nodes:
            if kind == "text":
                out.append(v)
            elif kind == "expr":
                val = self._pipeline(v, dot, scope, allow_assign=True)
                if val is not _NOOUT:
                    out.append(_go_str(val))
            elif v.kind == "define":
                continue
            elif v.kind == "if":
                branch = v.body if _truthy(self._pipeline(v.arg, dot, scope)) else v.orelse
                self._exec(branch, dot, Scope(scope), out)
            elif v.kind == "with":
                val = self._pipeline(v.arg, dot, scope)
                if _truthy(val):
                    self._exec(v.body, val, Scope(scope), out)
                else:
                    self._exec(v.orelse, dot, Scope(scope), out)
            elif v.kind == "range":
                self._range(v, dot, scope, out)

    def _range(self, node, dot, scope, out):
        arg = node.arg
        names = []
        m = re.match(r"^(\$\w+)\s*(?:,\s*(\$\w+)\s*)?:=\s*(.*)$", arg, re.S)
        if m:
            names = [n for n in (m.group(1), m.group(2)) if n]
            arg = m.group(3)
        coll = self._pipeline(arg, dot, scope)
        if isinstance(coll, dict):
            pairs = [(k, coll[k]) for k in sorted(coll)]
        elif isinstance(coll, (list, tuple)):
            pairs = list(enumerate(coll))
        elif coll is None:
            pairs = []
        elif isinstance(coll, int):
            pairs = [(i, i) for i in range(coll)]
        else:
            raise TemplateError("range over %r" % (coll,))
        if not pairs:
            self._exec(node.orelse, dot, Scope(scope), out)
        for k, v in pairs:
            s = Scope(scope)
            if len(names) == 2:
                s.declare(names[0], k)
                s.declare(names[1], v)
            elif len(names) == 1:
                s.declare(names[0], v)
            self._exec(node.body, v, s, out)

    # expressions
    def _pipeline(self, expr, dot, scope, allow_assign=False):
        toks = _tokens(expr)
        if len(toks) >= 2 and toks[0][0] == "var" and toks[1][0] == "assign":
            if not allow_assign:
                raise Unsupported("assignment in %r" % expr)
            val = self._eval_pipe(toks[2:], dot, scope)
            if toks[1][1] == ":=":
                scope.declare(toks[0][1], val)
            else:
                scope.assign(toks[0][1], val)
            return _NOOUT
        return self._eval_pipe(toks, dot, scope)

    def _eval_pipe(self, toks, dot, scope):
        cmds, cur, depth = [], [], 0
        for t in toks:
            if t == ("punct", "(") :
                depth += 1
            elif t == ("punct", ")"):
                depth -= 1
            if t == ("punct", "|") and depth == 0:
                cmds.append(cur)
                cur = []
            else:
                cur.append(t)
        cmds.append(cur)
        val = _NOARG
        for cmd in cmds:
            val = self._command(cmd, dot, scope, val)
        return val

    def _split_args(self, toks):
        args, i = [], 0
        while i < len(toks):
            if toks[i] == ("punct", "("):
                depth, j = 1, i + 1
                while depth:
                    if toks[j] == ("punct", "("):
                        depth += 1
                    elif toks[j] == ("punct", ")"):
                        depth -= 1
                    j += 1
                group = toks[i + 1:j - 1]
                # a field chain right after the parenthesis: (x).field
                if j < len(toks) and toks[j][0] == "chainfield":
                    args.append(("chain", group, toks[j][1]))
                    j += 1
                else:
                    args.append(("group", group))
                i = j
            else:
                args.append(toks[i])
                i += 1
        return args

    def _command(self, toks, dot, scope, piped):
        args = self._split_args(toks)
        if not args:
            raise TemplateError("empty command")
        head = args[0]
        if head[0] == "ident" and head[1] not in ("true", "false", "nil"):
            fn = head[1]
            vals = [self._operand(a, dot, scope) for a in args[1:]]
            if piped is not _NOARG:
                vals.append(piped)
            return self._call(fn, vals, dot)
        if len(args) != 1:
            raise TemplateError("cannot call %r" % (head,))
        if piped is not _NOARG:
            raise TemplateError("cannot pipe into a value")
        return self._operand(head, dot, scope)

    def _operand(self, a, dot, scope):
        kind = a[0]
        if kind == "group":
            return self._eval_pipe(a[1], dot, scope)
        if kind == "chain":
            return _field(self._eval_pipe(a[1], dot, scope), a[2])
        val = a[1]
        if kind == "str":
            return json.loads(val)
        if kind == "raw":
            return val[1:-1]
        if kind == "num":
            return float(val) if "." in val else int(val)
        if kind == "ident":
            if val in ("true", "false"):
                return val == "true"
            if val == "nil":
                return None
            return self._call(val, [], dot)
        if kind == "field":
            return dot if val == "." else _field(dot, val)
        if kind == "var":
            name, _, rest = val.partition(".")
            v = scope.get(name)
            return _field(v, "." + rest) if rest else v
        raise TemplateError("unexpected %r" % (a,))

    def _call(self, fn, a, dot):
        f = getattr(self, "fn_" + fn, None)
        if f is None:
            raise Unsupported("function %r" % fn)
        return f(*a)

    # functions: the Go template builtins and the Sprig/Helm ones this chart uses
    def fn_include(self, name, dot):
        return self.include(name, dot)

    def fn_lookup(self, api, kind, ns, name):
        return copy.deepcopy(self.lookups.get((api, kind, ns, name), {}))

    def fn_and(self, *a):
        for x in a:
            if not _truthy(x):
                return x
        return a[-1]

    def fn_or(self, *a):
        for x in a:
            if _truthy(x):
                return x
        return a[-1]

    def fn_not(self, a): return not _truthy(a)
    def fn_eq(self, a, *b): return any(a == x for x in b)
    def fn_ne(self, a, b): return a != b
    def fn_default(self, d, v=None): return v if _truthy(v) else d
    def fn_empty(self, v): return not _truthy(v)
    def fn_quote(self, *a): return " ".join(json.dumps(_go_str(x) if x is not None else "") for x in a)
    def fn_toYaml(self, v): return _to_yaml(v)
    def fn_toJson(self, v): return json.dumps(v, separators=(",", ":"))
    def fn_fromJsonArray(self, s): return json.loads(s)
    def fn_nindent(self, n, s): return "\n" + self.fn_indent(n, s)
    def fn_indent(self, n, s): return "\n".join(" " * n + l for l in s.split("\n"))
    def fn_trunc(self, n, s): return s[:n] if n >= 0 else s[n:]
    def fn_trimSuffix(self, suf, s): return s[:-len(suf)] if suf and s.endswith(suf) else s
    def fn_contains(self, sub, s): return sub in s
    def fn_replace(self, old, new, s): return s.replace(old, new)
    def fn_printf(self, fmt, *a): return _printf(fmt, *a)
    def fn_print(self, *a): return "".join(_go_str(x) for x in a)
    def fn_list(self, *a): return list(a)
    def fn_dict(self, *a): return {a[i]: a[i + 1] for i in range(0, len(a), 2)}
    def fn_hasKey(self, d, k): return isinstance(d, dict) and k in d
    def fn_get(self, d, k): return d.get(k, "") if isinstance(d, dict) else ""
    def fn_concat(self, *ls): return [x for l in ls for x in (l or [])]
    def fn_append(self, l, v): return list(l or []) + [v]
    def fn_int(self, v): return int(float(v)) if v not in (None, "") else 0
    def fn_min(self, *a): return min(int(x) for x in a)
    def fn_sub(self, a, b): return int(a) - int(b)
    def fn_b64enc(self, s): return base64.b64encode(s.encode()).decode()
    def fn_sha256sum(self, s): return hashlib.sha256(s.encode()).hexdigest()

    def fn_uniq(self, l):
        out = []
        for x in l:
            if x not in out:
                out.append(x)
        return out

    def fn_index(self, d, *keys):
        for k in keys:
            if isinstance(d, dict):
                if k not in d:
                    return None
                d = d[k]
            elif isinstance(d, list):
                d = d[k]
            else:
                raise TemplateError("index of %r" % (d,))
        return d

    # Certificates: real PEM is not the point here; the renderer returns marked stand-ins so
    # that tests can follow which CA lands where.
    def fn_genCA(self, cn, days):
        return {"Cert": "-----BEGIN CERTIFICATE-----\nCA:%s\n-----END CERTIFICATE-----\n" % cn,
                "Key": "-----BEGIN RSA PRIVATE KEY-----\nCAKEY:%s\n-----END RSA PRIVATE KEY-----\n" % cn}

    def fn_genSignedCert(self, cn, ips, names, days, ca):
        issuer = ca["Cert"].split("\n")[1]
        return {"Cert": "-----BEGIN CERTIFICATE-----\nLEAF:%s:SAN=%s:BY=%s\n-----END CERTIFICATE-----\n"
                        % (cn, ",".join(names), issuer),
                "Key": "-----BEGIN RSA PRIVATE KEY-----\nLEAFKEY:%s\n-----END RSA PRIVATE KEY-----\n" % cn}


class _Sentinel:
    def __init__(self, name):
        self.name = name

    def __repr__(self):
        return self.name


_NOOUT = _Sentinel("no-output")
_NOARG = _Sentinel("no-arg")


def _field(v, chain):
    for part in chain.strip(".").split("."):
        if not part:
            continue
        if isinstance(v, dict):
            v = v.get(part)
        elif v is None:
            return None
        else:
            raise TemplateError("field %s of %r" % (part, v))
    return v


# ---- values ----------------------------------------------------------------------------

def merge(base, over):
    """Helm's coalescing of user values over defaults: maps merge, everything else replaces."""
    if isinstance(base, dict) and isinstance(over, dict):
        out = dict(base)
        for k, v in over.items():
            out[k] = merge(base[k], v) if k in base else v
        return out
    return over


def load_chart(chart_dir):
    import os
    chart = yaml.safe_load(open(os.path.join(chart_dir, "Chart.yaml")))
    values = yaml.safe_load(open(os.path.join(chart_dir, "values.yaml")))
    tdir = os.path.join(chart_dir, "templates")
    templates = {}
    for name in sorted(os.listdir(tdir)):
        if name.endswith((".yaml", ".tpl", ".txt")):
            templates[name] = open(os.path.join(tdir, name)).read()
    return chart, values, templates
