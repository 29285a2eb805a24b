"""Secret redaction: what keeps passwords, tokens and keys out of goldens, diffs and reports.

Runs inside normalization, before the volatile maskers, so that everything built from
a normalized trace (goldens, diffs, failure output) is redacted. Two kinds of rule:

* key rules, on dict keys split into words (``DD_APP_KEY`` -> dd, app, key): a *strong*
  key (``password``, ``api_key``, ``SENTRY_DSN``, ``DATABASE_URL``) hides its whole
  value as ``"<redacted>"``; a *weak* key (``token``, ``key``, ``auth``, ``signature``)
  hides it only when the value looks like a secret (long, mixed, high entropy), so a
  token id ``464`` or a logprob token ``" the"`` stays. Words that describe a secret
  without holding it (``password_policy``, ``secret_count``, ``eos_token``) are not
  secret keys. ``None``, booleans and ``""`` are kept (they hold no secret), and so is
  a JSON schema (``"api_key": {"type": "string"}``);
* value rules, searched in every string (values, keys, error messages): provider
  token formats (``secret_rules.TOKEN_RULES``) become ``"<redacted:kind>"``; private
  key blocks, URL credentials, ``Bearer`` credentials, headers, query parameters,
  command-line flags, ``.netrc`` lines and ``label: value`` pairs keep their label and
  end in ``"<redacted>"``. A labelled value is judged like a dict value: never a JSON
  object or array, never prose (``Invalid password: must be ...``).

Every rule is linear-time: bounded character-class repeats after a literal, no nested
repeats (checked by ``tests/test_secret_corpus.py``). No rule changes a placeholder,
so redaction is idempotent, and a new secret of the same shape gives the same golden.
A labelled value that starts with ``<`` counts as already redacted, and values stop
at ``…``: so a placeholder cut short by truncation (which runs after redaction) is
left as it is.
"""

from __future__ import annotations

import functools
import math
import re
from collections.abc import Callable, Iterable
from typing import Any

from ..model.canonical import REDACTED
from . import secret_rules as rules
from .memo import Memo

NONE, WEAK, STRONG = 0, 1, 2
_WORDS = re.compile(r"[A-Z]+(?![a-z])|[A-Z]?[a-z]+|\d+")


@functools.lru_cache(maxsize=8192)
def key_kind(key: str) -> int:
    """``NONE``, ``WEAK`` or ``STRONG``: how much a key or label says its value is a secret."""
    if key in rules.NOT_SECRET_KEYS or len(key) > 80:
        return NONE
    words = [w.lower() for w in _WORDS.findall(key)]
    # api_key_2, X-Hub-Signature-256: up to 3 digits after the secret word (the text
    # trigger looks behind a fixed width); a longer number makes it no secret's label.
    while words and words[-1].isdigit() and len(words[-1]) <= 3:
        words.pop()
    if not words:
        return NONE
    last, prev = words[-1], (words[-2] if len(words) > 1 else "")
    if last == "id" and prev == "session":
        return WEAK
    if last in ("url", "uri"):
        return STRONG if prev in rules.SECRET_URL_WORDS else NONE
    if last in ("string", "str") and prev in ("connection", "conn"):
        return STRONG
    if last in rules.METADATA_WORDS:
        return NONE
    if last in rules.STRONG_WORDS or last.endswith(("password", "passwd", "secret", "apikey")):
        return STRONG
    env_style = "_" in key and key.isupper()
    if last == "key":
        if prev in rules.NOT_SECRET_BEFORE_KEY:
            return NONE
        if prev in rules.KEY_QUALIFIERS or "secret" in words or "private" in words or env_style:
            return STRONG
        return WEAK
    if last.endswith("token"):
        if prev in rules.NOT_SECRET_BEFORE_TOKEN:
            return NONE
        return STRONG if prev in rules.TOKEN_QUALIFIERS or env_style else WEAK
    if last in rules.WEAK_WORDS:
        return STRONG if env_style or prev in ("basic", "http", "proxy") else WEAK
    if last == "base" and prev == "key":  # Rails' SECRET_KEY_BASE
        return STRONG
    return NONE


def _entropy(text: str) -> float:
    """Shannon entropy in bits per character."""
    size = len(text)
    return -sum(n / size * math.log2(n / size) for n in map(text.count, set(text)))


def looks_random(value: str) -> bool:
    """A long token mixing kinds of characters with high entropy: what a weak key's
    secret looks like, and what a word, a number or a sentence does not."""
    size = len(value)
    if size < 8 or size > 8192 or value.startswith("<") or any(c.isspace() for c in value):
        return False
    digits = any(c.isdigit() for c in value)
    lower = any(c.islower() for c in value)
    upper = any(c.isupper() for c in value)
    if not ((digits and (lower or upper)) or (size >= 16 and lower and upper)):
        return False
    return _entropy(value) >= min(3.0, 0.75 * math.log2(size))


def _looks_credential(value: str) -> bool:
    """After ``password: `` in prose: a digit, a symbol or an inner capital, not a word."""
    if len(value) < 6 or value.startswith("<"):
        return False
    return any(not c.isalpha() for c in value) or any(c.isupper() for c in value[1:])


def _is_schema(value: Any) -> bool:
    """A JSON-schema dict: the description of a parameter named ``api_key``, not its value."""
    return (
        type(value) is dict
        and bool(value)
        and all(isinstance(k, str) and k in rules.SCHEMA_WORDS for k in value)
        and any(k in value for k in ("type", "anyOf", "oneOf", "allOf", "$ref", "enum", "const"))
    )


def _weak_value_is_secret(value: Any) -> bool:
    """Whether the value of a weak key (``token``, ``auth``) is a secret: not ``464``."""
    if isinstance(value, str):
        return looks_random(value)
    if isinstance(value, (list, tuple)):  # an ("user", "password") auth pair
        return any(isinstance(item, str) and item for item in value)
    return isinstance(value, (bytes, bytearray))


def _placeholder_inside(value: Any) -> bool:
    return type(value) is str and REDACTED[:-1] in value


def hide(value: Any, key: str | None = None) -> Any:
    """What the value of a secret's key becomes: ``"<redacted>"``, unless it holds nothing.

    With the ``key``, a weak default key (``token``) keeps a value that is no secret.
    """
    if value is None or value is True or value is False or (type(value) is str and not value):
        return value
    if key is not None and key_kind(key) == WEAK and (_placeholder_inside(value) or not _weak_value_is_secret(value)):
        return value  # no secret, or one the text rules already replaced (idempotence)
    if _is_schema(value):
        return value
    return REDACTED


# api_key=None, password: ********, api_key=SecretStr('**********'): nothing to hide.
_NOT_A_VALUE = re.compile(r"None|null|nil|NULL|undefined|true|false|True|False|\*+|Secret(?:Str|Bytes)\(")


def _judged(label: str, value: str, style: str) -> bool:
    """Whether ``label`` then ``value`` (``quoted``, ``tight`` as in ``a=b``, or
    ``spaced`` as in ``a: b``) shows a secret."""
    kind = key_kind(label)
    if kind == NONE or _NOT_A_VALUE.fullmatch(value):
        return False
    if kind == STRONG:
        return style != "spaced" or _looks_credential(value)
    return looks_random(value)


# -- value rules ---------------------------------------------------------------------

_STOP = "\u2026"  # a value cut by truncation ends here
_SCHEME = r"(?:Bearer|BEARER|Basic|BASIC)"
# An authorization credential: 8+ characters with a digit, a symbol or an inner capital,
# so that prose ("Basic authentication") is left alone.
_CREDENTIAL = r"(?=[A-Za-z0-9._~+/=-]{8})(?=[A-Za-z0-9._~+/-]{0,1024}?[0-9+/=_-]|[A-Za-z0-9]{0,1024}?[a-z0-9][A-Z])"
# A label ends in a letter or digit, as the trigger's lookbehinds expect ("password.=" is none).
_LABEL = r"(?P<label>[A-Za-z_$](?:[A-Za-z0-9_.$-]{0,62}[A-Za-z0-9])?)"
_QUOTED = rf"(?:\\[^\"'{_STOP}]|[^\"'\\\r\n{_STOP}]){{1,4096}}"
_UNQUOTED = rf"(?![<{{\[])(?:(?i:bearer|basic)[ \t]{{1,16}})?[^\s\"'\\,;&)}}\]{_STOP}]{{1,4096}}"


# One alternation of every token format. No group inside: the regex engine then skips an
# alternative on its first literal at once (a named group per rule makes it ~15x slower);
# the rare match is told apart afterwards.
_TOKENS = rf"(?<![A-Za-z0-9])(?:{'|'.join(rx for _, rx, _ in rules.TOKEN_RULES)})"


_LITERAL_PREFIX = re.compile(r"(?:[A-Za-z0-9_~$-]|\\[.$])+(?![?*+{])")


def _branches(regex: str) -> list[str]:
    """The top-level alternatives of ``regex``."""
    parts, depth, in_class, start, i = [], 0, False, 0, 0
    while i < len(regex):
        char = regex[i]
        if char == "\\":
            i += 1
        elif in_class:
            in_class = char != "]"
        elif char == "[":
            in_class = True
        elif char in "()":
            depth += 1 if char == "(" else -1
        elif char == "|" and depth == 0:
            parts.append(regex[start:i])
            start = i + 1
        i += 1
    return [*parts, regex[start:]]


def _token_gate() -> list[str]:
    """Trigger alternatives for the token formats, each starting at a character that is not
    a lowercase letter (``-(?<=sk-)``, ``AKIA``): the regex engine's first-character
    check then skips prose, which is mostly lowercase letters and spaces."""
    pieces: list[str] = []
    for name, regex, _ in rules.TOKEN_RULES:
        if name in rules.TOKEN_GATES:
            pieces.extend(rules.TOKEN_GATES[name])
            continue
        for branch in _branches(regex):
            match = _LITERAL_PREFIX.match(branch)
            literal = re.sub(r"\\(.)", r"\1", match.group(0)) if match else ""
            # Anchor at a separator ("sk-", "hvs.") or else at a capital or digit ("AKIA"): rarer
            # in prose than letters.
            anchors = [i for i, char in enumerate(literal) if char in "-_.:/~$"]
            anchors += [i for i, char in enumerate(literal) if not char.islower()]
            if len(literal) < 3 or not anchors:
                raise ValueError(f"secret rule {name!r}: its prefix is short or lowercase, give it a TOKEN_GATES entry")
            anchor = anchors[0]
            before, rest = re.escape(literal[: anchor + 1]), re.escape(literal[anchor + 1 :])
            pieces.append(f"{re.escape(literal[anchor])}(?<={before}){rest}" if anchor else before + rest)
    # One alternative per first character: at a position where one of them stands, the
    # engine then tries a few alternatives, not all of them.
    by_first: dict[str, list[str]] = {}
    for piece in pieces:
        size = 2 if piece.startswith("\\") else 1
        by_first.setdefault(re.escape(re.sub(r"\\(.)", r"\1", piece[:size])), []).append(piece[size:])
    return [f"{first}(?:{'|'.join(rests)})" for first, rests in by_first.items()]


@functools.lru_cache(maxsize=1)
def _token_kinds() -> tuple[tuple[Callable[[str], Any], str], ...]:
    return tuple((re.compile(rx).fullmatch, f"<redacted:{name}>") for name, rx, _ in rules.TOKEN_RULES)


def _token(match: re.Match[str]) -> str:
    text = match.group(0)
    return next((placeholder for fullmatch, placeholder in _token_kinds() if fullmatch(text)), "<redacted:token>")


def _keep(placeholder: str) -> Callable[[re.Match[str]], str]:
    def replace(match: re.Match[str]) -> str:
        return match.group("keep") + placeholder

    return replace


def _assignment(match: re.Match[str]) -> str:
    """``label: value``: redacted when the label and the value say it is a secret."""
    if match.group("q"):
        style = "quoted"
    elif match.group("sep") == ":" or match.group("sp1") or match.group("sp2"):
        style = "spaced"
    else:
        style = "tight"
    if _judged(match.group("label"), match.group("value"), style):
        return match.group("keep") + REDACTED
    return match.group(0)


def _tight(match: re.Match[str]) -> str:
    """``?sig=...``, ``--api-key ...``: a parameter named like a secret holds one."""
    if key_kind(match.group("label")) != NONE:
        return match.group("keep") + REDACTED
    return match.group(0)


_HEADER_SCHEME = re.compile(rf"(?i:{rules.AUTH_SCHEMES})[ \t]")


def _header(match: re.Match[str]) -> str:
    """``Authorization: <scheme> <credential>`` or ``Cookie: a=b``, not ``Authorization: required``."""
    value = match.group("value")
    first = value.split(None, 1)[0] if value.strip() else ""
    if _HEADER_SCHEME.match(value) or _looks_credential(first) or "=" in first:
        return match.group("keep") + REDACTED
    return match.group(0)


# (regex, replacement), applied in this order.
_RULE_SOURCES: tuple[tuple[str, Callable[[re.Match[str]], str]], ...] = (
    # PEM / PGP private key blocks, or what is left of one that was cut short.
    (
        r"(?P<keep>)-----BEGIN[A-Z0-9 ]{0,40}PRIVATE KEY(?: BLOCK)?-----[\s\S]*?"
        r"(?:-----END[A-Z0-9 ]{0,40}PRIVATE KEY(?: BLOCK)?-----|\Z)",
        _keep("<redacted:private-key>"),
    ),
    # PuTTY .ppk: the private lines after their header.
    (r"(?P<keep>Private-Lines: ?\d{1,4}\r?\n)[A-Za-z0-9+/=\r\n]{1,65536}", _keep("<redacted:putty-private-key>")),
    (_TOKENS, _token),
    # scheme://user:password@host -> scheme://<redacted>@host; not host:port/path@x.
    (
        r"(?P<keep>\b[A-Za-z][A-Za-z0-9+.-]{0,31}://)[^\s/?#@<>\"':]{0,256}:(?!\d{1,5}(?:[/?#]|$))"
        r"[^\s@<>\"']{1,512}(?=@)",
        _keep(REDACTED),
    ),
    # scheme://TOKEN@host (DSNs): a user part that is a long random token.
    (
        r"(?P<keep>\b[A-Za-z][A-Za-z0-9+.-]{0,31}://)(?=[A-Za-z0-9_-]{0,128}?\d)[A-Za-z0-9_-]{20,128}(?=@)",
        _keep(REDACTED),
    ),
    # .netrc: machine host login user password secret
    (
        rf"(?P<keep>\blogin[ \t\r\n]{{1,16}}[^\s]{{1,256}}[ \t\r\n]{{1,16}}password[ \t\r\n]{{1,16}})"
        rf"(?![<\s])[^\s{_STOP}]{{1,1024}}",
        _keep(REDACTED),
    ),
    # "Bearer <redacted>", "Basic <redacted>"
    (rf"(?P<keep>\b{_SCHEME}[ \t]{{1,16}}){_CREDENTIAL}[A-Za-z0-9._~+/-]{{1,4096}}={{0,3}}", _keep(REDACTED)),
    # Header lines: everything after "Authorization:" or "Cookie:" up to the end of the line.
    (
        r"(?P<keep>(?<![A-Za-z0-9_-])(?i:(?:proxy-)?authorization|(?:set-)?cookie)(?:\\?[\"'])?[ \t]?[:=][ \t]{0,16}"
        rf"(?:\\?[\"'])?)(?P<value>(?![\s<])[^\"'\\\r\n{_STOP}]{{1,8192}})",
        _header,
    ),
    # Signatures and tokens in URL query strings (presigned S3 / Azure SAS URLs, OAuth).
    (rf"(?P<keep>[?&](?P<label>[A-Za-z][\w.-]{{0,40}})=)(?P<value>[^&#\s\"'<>{_STOP}]{{1,4096}})", _tight),
    # Command lines: --password hunter2, --api-key=abc
    (
        rf"(?P<keep>(?<![\w-])--(?P<label>[A-Za-z][\w-]{{0,40}})(?:[ \t]{{1,8}}|=))"
        rf"(?P<value>(?![-<])[^\s\"'<{_STOP}]{{1,1024}})",
        _tight,
    ),
    # LABEL=VALUE, LABEL: VALUE, "label": "value" in free text, logs, reprs and JSON text.
    (
        rf"(?<![A-Za-z0-9_.$-])(?P<keep>{_LABEL}(?:\\?[\"'])?(?P<sp1>[ \t]?)(?P<sep>:(?!:)|=>|=(?!=))"
        rf"(?P<sp2>[ \t]{{0,16}})(?P<q>\\?[\"'])?)(?!<)(?P<value>(?(q){_QUOTED}|{_UNQUOTED}))",
        _assignment,
    ),
)

DEFAULT_SECRET_PATTERNS: tuple[str, ...] = tuple(rx for rx, _ in _RULE_SOURCES)
"""The default value rules' regexes, in the order they are applied."""


def _atoms(regex: str) -> list[str]:
    """The one-character parts of a regex made of literals, escapes and ``[...]`` classes."""
    atoms, i = [], 0
    while i < len(regex):
        end = regex.index("]", i + 2) + 1 if regex[i] == "[" else i + 2 if regex[i] == "\\" else i + 1
        atoms.append(regex[i:end])
        i = end
    return atoms


def _lookbehinds(tails: Iterable[str]) -> str:
    """``(?<=...)`` alternatives for ``tails``, grouped by width as ``re`` requires."""
    by_width: dict[int, list[str]] = {}
    for tail in tails:
        by_width.setdefault(len(_atoms(tail)), []).append(tail)
    return "|".join(f"(?<={'|'.join(group)})" for _, group in sorted(by_width.items()))


def _cases(*tails: str) -> list[str]:
    return [case for tail in tails for case in dict.fromkeys((tail, tail.upper(), tail.capitalize()))]


def _build_trigger() -> str:
    """One search that every default rule's match also matches; most strings fail it fast.

    Alternatives start with a literal, so the regex engine rejects most positions on
    their first character; lookbehinds then check the context.
    """
    # Ends of the labels before a ":" or "=": password, pwd, secret, token, api_key, ...
    ends = [
        *_cases("word", "sswd", "pwd", "hrase", "code", "cret", "crets", "ikey", "ntial", "ntials", "reds"),
        *_cases("ization", "ookie", "ookies", "dsn", "oken", "auth", "ture", "sig", "ssid", "onid", "pat", "url"),
        *_cases("uri", "ring", "nstr", "n_str", "ion_id", "key", "sas", "hook"),
        *("[a-z_ -]key", "[A-Z_ -]KEY", "[a-z_ -]Key", "sessionId", "SessionId", "y_base", "Y_BASE", "yBase"),
    ]
    # signature256, X-Hub-Signature-256, api_key_2: a number after the secret word.
    ends += [f"[dehilnrsty]{sep}{'[0-9]' * n}" for sep in ("", "-", "_") for n in (1, 2, 3)]
    ends += [f"[DEHILNRSTY]{sep}{'[0-9]' * n}" for sep in ("", "-", "_") for n in (1, 2, 3)]
    # Per gap between the label and the ":" or "=" (none, a quote, a space), a cheap look
    # at the label's last two characters first, then at the whole of its end.
    gaps = ("", "[\"']", "\\\\[\"']", "[ \t]", "[\"'][ \t]", "\\\\[\"'][ \t]")
    last_two = "|".join(sorted({"".join(_atoms(end)[-2:]) for end in ends}))
    label_sep = "|".join(
        f"(?<=(?:{last_two}){gap}[:=])(?:{_lookbehinds(end + gap + '[:=]' for end in ends)})" for gap in gaps
    )
    secretish = r"(?i:pass|secret|token|key|auth|cred|pwd|sig)"
    # Every alternative starts with one literal character: only then does the regex
    # engine skip, in C, the positions where none of them stands (a class such as
    # "[:=]" first makes the whole search several times slower).
    return "|".join(
        (
            *_token_gate(),
            r"-----BEGIN",
            r"Private-Lines",
            r"://[^\s@<>\"']{1,600}@",
            r"login[ \t\r\n]",
            r"B(?:earer|EARER|asic|ASIC)[ \t]",
            rf":(?:{label_sep})",
            rf"=(?:{label_sep})",
            *(rf"{sep}(?=[\w.-]{{0,40}}?{secretish}[\w.-]{{0,20}}=)" for sep in ("\\?", "&")),
            rf"--(?=[\w-]{{0,40}}?{secretish})",
        )
    )


_SHORTEST_DEFAULT_MATCH = 5  # "pwd=x"
# Without a space or a symbol only a token of 20+ characters can match (AKIA..., dapi...).
_SHORTEST_PLAIN_MATCH = 20


@functools.lru_cache(maxsize=1)
def _trigger() -> re.Pattern[str]:
    return re.compile(_build_trigger())


@functools.lru_cache(maxsize=1)
def default_rules() -> tuple[tuple[Callable[..., str], Callable[[re.Match[str]], str]], ...]:
    """``(pattern.sub, replacement)`` of every default value rule, compiled once."""
    return tuple((re.compile(rx).sub, replace) for rx, replace in _RULE_SOURCES)


def _replacer(placeholder: str) -> Callable[[re.Match[str]], str]:
    """Replacement of a user pattern's match; with a group named ``secret``, only that group."""

    def replace(match: re.Match[str]) -> str:
        if "secret" in match.re.groupindex and match.start("secret") != -1:
            offset, whole = match.start(), match.group(0)
            return whole[: match.start("secret") - offset] + placeholder + whole[match.end("secret") - offset :]
        return placeholder

    return replace


@functools.lru_cache(maxsize=64)
def text_redactor(extra: tuple[str, ...] = (), *, defaults: bool = True) -> Callable[[str], str] | None:
    """``str -> str`` that redacts secrets; ``None`` when there is nothing to redact.

    ``extra`` regexes are applied after the defaults; each match becomes ``"<redacted>"``
    (only its ``secret`` group, if it has one).
    """
    user_subs = [(re.compile(rx).sub, _replacer(REDACTED)) for rx in extra]
    if not defaults and not user_subs:
        return None
    shortest, plain = _SHORTEST_DEFAULT_MATCH, _SHORTEST_PLAIN_MATCH

    def redact_defaults(text: str) -> str:
        size = len(text)
        if size < shortest or (size < plain and text.isalnum()):
            return text  # cheap first: most keys are short words
        # One search tells the rare strings that may hold a secret from the rest; only
        # those pay for the rules, applied one after the other in their order. Both are
        # compiled on first need (a run whose texts are all short never compiles them).
        if _trigger().search(text) is None:
            return text
        for sub, replace in default_rules():
            text = sub(replace, text)
        return text

    def redact(text: str) -> str:
        if defaults:
            text = redact_defaults(text)
        for sub, replace in user_subs:
            text = sub(replace, text)
        return text

    # Keys, roles, prompts and labels come back in every step: each is judged once.
    return Memo(redact if user_subs else redact_defaults).__getitem__


@functools.lru_cache(maxsize=64)
def key_matcher(extra: tuple[str, ...] = (), *, defaults: bool = True) -> Callable[[str], bool] | None:
    """``key -> bool``: whether a dict key may hold a secret; ``None`` when no rule is set.

    ``extra`` key regexes are searched case-insensitively; ``hide`` then judges the
    value of a weak default key.
    """
    if not defaults and not extra:
        return None
    search = re.compile("|".join(f"(?:{rx})" for rx in extra), re.IGNORECASE).search if extra else None

    def judge(key: str) -> bool:
        return (defaults and key_kind(key) != NONE) or (search is not None and search(key) is not None)

    return Memo(judge).__getitem__


def redact_text(text: str) -> str:
    """``text`` with the default value rules applied."""
    redact = text_redactor()
    assert redact is not None
    return redact(text)
