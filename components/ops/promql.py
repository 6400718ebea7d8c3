"""Reads the metric names out of a PromQL expression, so tests can hold every dashboard panel
and alert rule to the metric catalogs.

Not a parser: a tokenizer that knows enough PromQL to tell a metric name from everything else
that looks like an identifier — function and aggregation names, label names and values inside
``{...}``, label lists after ``by``/``without``/``on``/``ignoring``/``group_left``/
``group_right``, keywords, string literals, ranges and subqueries (``[5m]``, ``[1h:1m]``),
durations, numbers and Grafana's ``$variables``. A ``{__name__="x"}`` matcher names ``x``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

# Metric names may contain colons (recording rules, vLLM's ``vllm:*``, llama.cpp's ``llamacpp:*``).
_IDENT = re.compile(r"[A-Za-z_:][A-Za-z0-9_:]*")
# Numbers, hex, exponents and durations (``5m``, ``1h30m``, ``250ms``) are one token.
_NUMBER = re.compile(r"0[xX][0-9A-Fa-f]+|(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?[A-Za-z0-9_]*")
# Grafana template variables: ``$var``, ``${var}``, ``${var:format}``, ``[[var]]`` is not PromQL.
_VARIABLE = re.compile(r"\$\{[^}]*\}|\$[A-Za-z0-9_]+")
_STRING_QUOTES = "\"'`"
_OPERATOR_CHARS = set("+-*/%^=!<>~,@")

# Lower-cased: PromQL matches keywords case-insensitively.
KEYWORDS = frozenset({"and", "or", "unless", "atan2", "offset", "bool", "by", "without", "on",
                      "ignoring", "group_left", "group_right", "inf", "nan"})
_LABEL_LIST_KEYWORDS = frozenset({"by", "without", "on", "ignoring", "group_left", "group_right"})
AGGREGATIONS = frozenset({"sum", "min", "max", "avg", "group", "stddev", "stdvar", "count", "count_values",
                          "bottomk", "topk", "quantile", "limitk", "limit_ratio"})


@dataclass(frozen=True)
class Token:
    kind: str    # "ident", "string", "number", "variable", "punct", "op"
    text: str


def _string_end(expr: str, start: int) -> int:
    """Index just past the string literal opening at ``start`` (-1 when it never closes)."""
    quote = expr[start]
    i = start + 1
    while i < len(expr):
        ch = expr[i]
        if ch == "\\" and quote != "`":
            i += 2
            continue
        if ch == quote:
            return i + 1
        i += 1
    return -1


def tokens(expr: str) -> list[Token]:
    """Splits ``expr`` into tokens; raises ValueError on an unterminated string or a stray character."""
    out: list[Token] = []
    i = 0
    while i < len(expr):
        ch = expr[i]
        if ch.isspace():
            i += 1
        elif ch == "#":
            nl = expr.find("\n", i)
            i = len(expr) if nl < 0 else nl + 1
        elif ch in _STRING_QUOTES:
            end = _string_end(expr, i)
            if end < 0:
                raise ValueError(f"unterminated string literal at offset {i}: {expr[i:i + 30]!r}")
            out.append(Token("string", expr[i:end]))
            i = end
        elif ch == "$":
            m = _VARIABLE.match(expr, i)
            if not m:
                raise ValueError(f"stray '$' at offset {i}")
            out.append(Token("variable", m.group()))
            i = m.end()
        elif ch.isdigit() or (ch == "." and i + 1 < len(expr) and expr[i + 1].isdigit()):
            m = _NUMBER.match(expr, i)
            assert m is not None
            out.append(Token("number", m.group()))
            i = m.end()
        elif ch.isalpha() or ch in "_:":
            m = _IDENT.match(expr, i)
            assert m is not None
            out.append(Token("ident", m.group()))
            i = m.end()
        elif ch in "(){}[]":
            out.append(Token("punct", ch))
            i += 1
        elif ch in _OPERATOR_CHARS:
            out.append(Token("op", ch))
            i += 1
        else:
            raise ValueError(f"unexpected character {ch!r} at offset {i}")
    return out


def _closing(toks: list[Token], start: int) -> int:
    """Index of the bracket closing the one at ``start`` (len(toks) when it never closes)."""
    pairs = {"(": ")", "{": "}", "[": "]"}
    stack = [pairs[toks[start].text]]
    i = start + 1
    while i < len(toks) and stack:
        t = toks[i]
        if t.kind == "punct":
            if t.text in pairs:
                stack.append(pairs[t.text])
            elif t.text == stack[-1]:
                stack.pop()
        i += 1
    return i - 1 if not stack else len(toks)


def _names_in_matchers(toks: list[Token]) -> set[str]:
    """``__name__="x"`` inside a selector's braces names metric ``x``."""
    out: set[str] = set()
    for i in range(len(toks) - 2):
        # ``=`` directly followed by the string: equality (``=~``, ``!=`` and ``!~`` name no one metric).
        if (toks[i].kind == "ident" and toks[i].text == "__name__" and toks[i + 1].text == "="
                and toks[i + 2].kind == "string"):
            out.add(toks[i + 2].text[1:-1])
    return out


def _next(toks: list[Token], i: int) -> Token | None:
    return toks[i] if i < len(toks) else None


def metric_names(expr: str) -> set[str]:
    """Every metric name ``expr`` selects."""
    toks = tokens(expr)
    names: set[str] = set()
    i = 0
    while i < len(toks):
        t = toks[i]
        if t.kind == "punct" and t.text in "{[":
            end = _closing(toks, i)
            if t.text == "{":
                names |= _names_in_matchers(toks[i + 1:end])
            i = end + 1
            continue
        if t.kind != "ident":
            i += 1
            continue
        lowered = t.text.lower()
        nxt = _next(toks, i + 1)
        if lowered in _LABEL_LIST_KEYWORDS:
            # ``by (a, b)``, ``on(pod)``, ``group_left(node)``: label names, not metrics.
            if nxt is not None and nxt.text == "(":
                i = _closing(toks, i + 1) + 1
            else:
                i += 1
            continue
        if lowered in KEYWORDS:
            i += 1
            continue
        if nxt is not None and nxt.text == "(":
            i += 1      # a function call
            continue
        if t.text in AGGREGATIONS and nxt is not None and nxt.kind == "ident" and nxt.text.lower() in ("by", "without"):
            i += 1      # ``sum by (x) (...)``
            continue
        names.add(t.text)
        i += 1
    return names


def problems(expr: str) -> list[str]:
    """Cheap sanity checks: non-empty, tokenizes, brackets balanced and correctly nested."""
    if not expr.strip():
        return ["empty expression"]
    try:
        toks = tokens(expr)
    except ValueError as e:
        return [str(e)]
    pairs = {")": "(", "}": "{", "]": "["}
    stack: list[str] = []
    for t in toks:
        if t.kind != "punct":
            continue
        if t.text in "({[":
            stack.append(t.text)
        elif not stack or stack[-1] != pairs[t.text]:
            return [f"unbalanced {t.text!r}"]
        else:
            stack.pop()
    return [f"unclosed {stack[-1]!r}"] if stack else []
