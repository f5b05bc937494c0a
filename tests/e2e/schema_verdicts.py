#!/usr/bin/env python3
"""schema_verdicts.py: finch-mock's verdicts against the contract's schema.

Generates request bodies from a seed (every field's valid and invalid shapes,
and random email addresses), asks python3-jsonschema whether the contract's
CreateConnectSessionRequest schema accepts each one, POSTs each to a running
finch-mock, and fails on any body where the two disagree.

The schema is the seed's (tests/data/connect-sessions.openapi.yaml) with only
what JSON Schema itself cannot read made explicit, each a rule the contract
states:
  - "nullable: true" (an OpenAPI 3.0 keyword that 3.1 dropped) becomes
    type [T, "null"];
  - "format: email" is checked, as RFC 5321's Mailbox (JSON Schema 2020-12,
    7.3.2), by rfc5321_mailbox() below, written from the RFC's ABNF and not
    from validate.c; jsonschema's own "email" check only looks for an '@';
  - products never holds both deduction and benefits (the schema's prose);
  - a recordkeeping object comes only with the recordkeeping product (its
    description).
The products and the recordkeeping object of finch-api-node 9.12.0 and 10.5.0
were added to the seed's schema by hand.

usage: schema_verdicts.py SCHEMA.yaml MOCK_URL [SEED] [COUNT]
The credentials come from FINCH_CLIENT_ID and FINCH_CLIENT_SECRET.
"""
import base64
import copy
import http.client
import json
import os
import random
import re
import sys
import urllib.parse

import jsonschema
import yaml

# --- RFC 5321 4.1.2 Mailbox, from the ABNF ----------------------------------
ATEXT = r"[A-Za-z0-9!#$%&'*+\-/=?^_`{|}~]"
DOT_STRING = rf"{ATEXT}+(?:\.{ATEXT}+)*"
QUOTED_STRING = r'"(?:[\x20\x21\x23-\x5b\x5d-\x7e]|\\[\x20-\x7e])*"'
LET_DIG = r"[A-Za-z0-9]"
SUB_DOMAIN = rf"{LET_DIG}(?:[A-Za-z0-9-]*{LET_DIG})?"
# 2.3.5: only fully-qualified domain names, so at least one dot
DOMAIN = rf"{SUB_DOMAIN}(?:\.{SUB_DOMAIN})+"
SNUM = r"[0-9]{1,3}"
IPV4 = rf"{SNUM}\.{SNUM}\.{SNUM}\.{SNUM}"
HEX = r"[0-9A-Fa-f]{1,4}"


def ipv4_ok(s):
    m = re.fullmatch(IPV4, s)
    return bool(m) and all(int(p) <= 255 for p in s.split("."))


def hex_groups(s):
    """Number of IPv6-hex groups joined by ':' in s, or None."""
    if s == "":
        return 0
    parts = s.split(":")
    return len(parts) if all(re.fullmatch(HEX, p) for p in parts) else None


def ipv6_ok(s):
    """4.1.3 IPv6-addr: IPv6-full / IPv6-comp / IPv6v4-full / IPv6v4-comp."""
    v4 = None
    m = re.fullmatch(r"(.*:)(" + IPV4 + r")", s)
    if m and ipv4_ok(m.group(2)):
        v4 = m.group(2)
        s = m.group(1)
        # IPv6v4-full ends "hex:" before the address, IPv6v4-comp "::" or "hex:"
        if not s.endswith("::"):
            s = s[:-1]
    elif "." in s:
        return False
    if s.count("::") > 1:
        return False
    if "::" in s:
        left, right = s.split("::")
        nl, nr = hex_groups(left), hex_groups(right)
        if nl is None or nr is None:
            return False
        return nl + nr <= (4 if v4 else 6)
    n = hex_groups(s)
    return n == (6 if v4 else 8)


def address_literal_ok(s):
    if not (s.startswith("[") and s.endswith("]")):
        return False
    inner = s[1:-1]
    if ipv4_ok(inner):
        return True
    if inner[:5].lower() == "ipv6:":  # ABNF strings are case-insensitive
        return ipv6_ok(inner[5:])
    # General-address-literal: its tag must be registered; only IPv6 is
    return False


def rfc5321_mailbox(s):
    if not isinstance(s, str):
        return True  # format applies to strings only
    if len(s.encode("utf-8")) > 254:  # 4.5.3.1.3: a path of 256 with "<>"
        return False
    m = re.fullmatch(rf"({DOT_STRING}|{QUOTED_STRING})@(.+)", s, re.ASCII | re.DOTALL)
    if not m:
        return False
    local, domain = m.group(1), m.group(2)
    if len(local) > 64:  # 4.5.3.1.1
        return False
    if domain.startswith("["):
        return address_literal_ok(domain)
    if not re.fullmatch(DOMAIN, domain, re.ASCII):
        return False
    return all(len(label) <= 63 for label in domain.split("."))  # RFC 1035


# --- the schema ----------------------------------------------------------------
def load_schema(path):
    with open(path, encoding="utf-8") as f:
        doc = yaml.safe_load(f)
    schemas = doc["components"]["schemas"]

    def resolve(node):
        if isinstance(node, dict):
            if "$ref" in node:
                return resolve(copy.deepcopy(schemas[node["$ref"].rsplit("/", 1)[1]]))
            node = {k: resolve(v) for k, v in node.items()}
            if node.pop("nullable", False):
                node["type"] = [node["type"], "null"]
            return node
        if isinstance(node, list):
            return [resolve(v) for v in node]
        return node

    schema = resolve(schemas["CreateConnectSessionRequest"])
    schema["not"] = {
        "required": ["products"],
        "properties": {
            "products": {
                "type": "array",
                "allOf": [{"contains": {"const": "deduction"}},
                          {"contains": {"const": "benefits"}}],
            }
        },
    }
    schema["if"] = {"required": ["recordkeeping"],
                    "properties": {"recordkeeping": {"type": "object"}}}
    schema["then"] = {"properties": {"products": {
        "type": "array", "contains": {"const": "recordkeeping"}}}}
    checker = jsonschema.FormatChecker(formats=())
    checker.checks("email")(rfc5321_mailbox)
    return jsonschema.Draft202012Validator(schema, format_checker=checker)


# --- the bodies ----------------------------------------------------------------
MISSING = object()

EMAILS = [
    "a@b.co", "first.last+tag@example.com", "a..b@x.com", ".a@x.com", "a.@x.com",
    "hr@-acme.com", "hr@acme-.com", "hr@acme_x.com", "hr@localhost", "hr@x.com.",
    '"john doe"@x.com', '""@x.com', '"a\\"b"@x.com', '"a"b@x.com', '"abc@x.com',
    "hr@[192.0.2.1]", "hr@[256.1.1.1]", "hr@[IPv6:2001:db8::1]", "hr@[ipv6:::]",
    "hr@[IPv6:1:2:3:4:5:6:7::]", "hr@[IPv6:::ffff:1.2.3.4]", "hr@[x-tag:abc]",
    "j\u00f6rg@example.de", "hr@b\u00fccher.de", "hr@xn--bcher-kva.de", "", " a@x.com",
    "a@b@c.com", "@x.com", "a@", "a" * 64 + "@x.com", "a" * 65 + "@x.com",
    "hr@" + "d" * 63 + ".com", "hr@" + "d" * 64 + ".com",
    "a" * 64 + "@" + "d" * 63 + "." + "d" * 63 + "." + "d" * 57 + ".com",
    "a" * 64 + "@" + "d" * 63 + "." + "d" * 63 + "." + "d" * 58 + ".com",
    "a\tb@x.com", "a@x\u007f.com", None, 5, ["a@b.co"],
]

CHOICES = {
    "customer_id": ["a", "", "x" * 255, "x" * 256, "\u00e9" * 255, "\u00e9" * 256,
                    "\U0001f426" * 255, "\U0001f426" * 256, " ", "a\tb", 7, None, True, [],
                    MISSING],
    "customer_name": ["Acme", "", "n" * 255, "n" * 256, "M\u00fcller GmbH", 1.5, None,
                      MISSING],
    "customer_email": EMAILS + [MISSING],
    "products": [["company"], [], ["company", "company"], ["deduction", "benefits"],
                 ["benefits", "ssn", "deduction"], ["deduction"], ["Company"], ["x"],
                 "company", None, [1], [None],
                 ["benefits", "company", "directory", "documents", "employment",
                  "individual", "payment", "pay_statement", "ssn"],
                 ["recordkeeping"], ["plans", "plans_dependents", "plans_enrollments"],
                 ["plans_x"], ["Plans"], MISSING],
    "redirect_uri": [None, "", "https://x.example/cb", "not a uri", 5, [], MISSING],
    "minutes_to_expire": [None, 1, 1.0, 1.5, 0, 0.5, 0.999, 129600, 129600.0, 129599.5,
                          129600.5, 129601, -1, 100000, 1e300, 10 ** 30, "60", True, [],
                          MISSING],
    "sandbox": [None, "finch", "provider", "", "FINCH", "true", True, 1, MISSING],
    "manual": [None, True, False, "true", 1, 0, MISSING],
    "integration": [None, {}, {"provider": "gusto"}, {"provider": ""}, {"provider": None},
                    {"provider": 5}, {"provider": "g", "auth_method": None},
                    {"provider": "g", "auth_method": "assisted"},
                    {"provider": "g", "auth_method": "credential"},
                    {"provider": "g", "auth_method": "oauth"},
                    {"provider": "g", "auth_method": "api_token"},
                    {"provider": "g", "auth_method": "sso"},
                    {"provider": "g", "auth_method": 3}, {"auth_method": "oauth"},
                    {"provider": "g", "extra": 1}, "gusto", [], MISSING],
    "recordkeeping": [None, {}, {"recordkeeper": "voya"}, {"recordkeeper": "Voya"},
                      {"recordkeeper": "empower", "plan_id": "p1"},
                      {"recordkeeper": "fidelity", "plan_id": None},
                      {"recordkeeper": "transamerica", "plan_id": ""},
                      {"recordkeeper": "vanguard"}, {"recordkeeper": None},
                      {"plan_id": "p1"}, {"recordkeeper": "voya", "plan_id": 5},
                      "voya", [], MISSING],
    "extra_member": [1, "x", None, MISSING],
}

EMAIL_ALPHABET = "aZ09._-+@\"\\[]: !é\t()"


def random_email(rng):
    """A short string near the grammar's edges."""
    parts = []
    for _ in range(rng.randint(1, 4)):
        kind = rng.random()
        if kind < 0.5:
            parts.append(rng.choice(["a", "bc", "x.y", "-", ".", "_", "\"", "\\\"",
                                     "[1.2.3.4]", "[IPv6:", "::1", "]", "a-b",
                                     "1.2.3.4", "xn--d", "@", "ab.cd"]))
        else:
            parts.append("".join(rng.choice(EMAIL_ALPHABET)
                                 for _ in range(rng.randint(1, 5))))
    local = "".join(parts)
    if rng.random() < 0.25:  # a Quoted-string, its quotes and backslashes escaped or not
        inner = local.replace("\\", "\\\\") if rng.random() < 0.7 else local
        inner = inner.replace('"', '\\"') if rng.random() < 0.7 else inner
        local = '"' + inner + '"'
    return local + rng.choice(["@x.com", "@", "@a-b.c", "@[1.2.3.4]", "@[IPv6:1::2]",
                               "@x_y.z", "@-x.y", "@x.y.", "@x..y", "@localhost", ""])


def with_value(body, field, v):
    """body with field set to v, or without it for MISSING."""
    b = dict(body)
    if v is MISSING:
        b.pop(field, None)
    else:
        b[field] = copy.deepcopy(v)
    return b


def bodies(seed, count):
    rng = random.Random(seed)
    base = {"customer_id": "c", "customer_name": "Acme", "products": ["company"]}
    # every value of every field once, on a valid body
    for field, values in CHOICES.items():
        for v in values:
            yield with_value(base, field, v)
    # the recordkeeping object with its product too
    for v in CHOICES["recordkeeping"]:
        yield with_value(dict(base, products=["recordkeeping", "plans"]), "recordkeeping", v)
    for _ in range(count):
        b = base
        for field in rng.sample(sorted(CHOICES), rng.randint(1, 4)):
            b = with_value(b, field, rng.choice(CHOICES[field]))
        yield b
    for _ in range(count):
        yield dict(base, customer_email=random_email(rng))
    for top in ([], "str", 1, None, [base]):
        yield top


def main():
    schema_path, url = sys.argv[1], sys.argv[2]
    seed = int(sys.argv[3]) if len(sys.argv) > 3 else 1
    count = int(sys.argv[4]) if len(sys.argv) > 4 else 1500
    validator = load_schema(schema_path)
    u = urllib.parse.urlsplit(url)
    conn = http.client.HTTPConnection(u.hostname, u.port, timeout=30)
    auth = base64.b64encode(("%s:%s" % (os.environ["FINCH_CLIENT_ID"],
                                        os.environ["FINCH_CLIENT_SECRET"])).encode()).decode()
    headers = {"Authorization": "Basic " + auth, "Finch-API-Version": "2020-09-17",
               "Content-Type": "application/json"}
    n = accepted = mismatches = 0
    for i, body in enumerate(bodies(seed, count)):
        if isinstance(body, dict) and isinstance(body.get("customer_id"), str) and \
                body["customer_id"] == "c":
            body["customer_id"] = "c%d" % i  # a fresh customer: 201, not "exists"
        text = json.dumps(body, ensure_ascii=False)
        errors = list(validator.iter_errors(body))
        schema_ok = not errors
        conn.request("POST", "/connect/sessions", body=text.encode("utf-8"), headers=headers)
        resp = conn.getresponse()
        answer = resp.read().decode("utf-8", "replace")
        if resp.status == 201:
            mock_ok = True
        elif resp.status == 400:
            code = json.loads(answer).get("finch_code")
            if code not in ("invalid_request", "connection_already_exists"):
                sys.exit("unexpected 400 for %s: %s" % (text, answer))
            mock_ok = code == "connection_already_exists"
        else:
            sys.exit("unexpected HTTP %d for %s: %s" % (resp.status, text, answer))
        n += 1
        accepted += schema_ok
        if schema_ok != mock_ok:
            mismatches += 1
            print("MISMATCH: %s\n  schema: %s\n  finch-mock: %d %s" % (
                text[:300], "accepts" if schema_ok else errors[0].message[:200],
                resp.status, answer[:200]))
    print("%d bodies (seed %d): the schema accepts %d and rejects %d; finch-mock "
          "disagrees on %d" % (n, seed, accepted, n - accepted, mismatches))
    return 1 if mismatches else 0


if __name__ == "__main__":
    sys.exit(main())
