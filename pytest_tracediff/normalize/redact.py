"""Secret redaction: what keeps passwords, tokens and keys out of goldens, diffs and reports.

Runs inside normalization, before the volatile maskers, so that everything built from
a normalized trace (goldens, diffs, failure output) is redacted. Two kinds of rule:

* key rules, case-insensitive regexes searched in dict keys: the whole value of a
  matching key becomes ``"<redacted>"`` (``None``, booleans and ``""`` are kept: they
  hold no secret, and keeping them keeps "the token is now unset" visible);
* value rules, regexes searched in every string (values, keys, error messages): only
  the matching part is replaced, by a placeholder naming the kind of secret
  (``"<redacted:jwt>"``), or by ``"<redacted>"`` after a label that is kept
  (``"password=<redacted>"``, ``"Bearer <redacted>"``, ``"https://<redacted>@host"``).

No rule changes a placeholder, so redaction is idempotent, and a new secret of the same
shape gives the same golden. A labelled value that starts with ``<`` counts as already
redacted, and values stop at ``…``: so a placeholder cut short by truncation (which runs
after redaction) is left as it is.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable, Iterable
from typing import Any

from ..model.canonical import REDACTED

DEFAULT_SECRET_KEYS: tuple[str, ...] = (
    r"pass(?:word|wd|phrase)",
    r"pwd$",
    r"secret",
    # access_token, authToken, X-CSRF-Token, token; never a usage counter (total_tokens, max_token).
    r"^(?!(?:max|min|total|prompt|completion|input|output|num|n|cached|reasoning)[-_ .]?token$).*token$",
    r"api[-_ .]?key",
    r"(?:private|access|account|client|encryption|signing|master|subscription)[-_ .]?key",
    r"authorization",
    r"cookie",
    r"credential",
    r"sess(?:ion)?[-_ .]?id$",
    r"signature(?:[-_ .]?\d+)?$",  # X-Hub-Signature-256
    r"^(?:auth|basic[-_ .]?auth|http[-_ .]?auth)$",
)
"""Dict keys whose whole value is a secret, searched case-insensitively."""

_LABELS = (
    r"pass(?:word|wd|phrase)|pwd|secret|token|credentials?|apikey"
    r"|(?:api|private|access|account|client|encryption|signing|master|secret)[-_ ]?key"
)
_QUERY_LABELS = (  # case-sensitive, as in the URLs that carry them
    r"sig|signature|Signature|[Xx]-[Aa]mz-(?:Signature|Security-Token|Credential|signature|security-token|credential)"
    r"|access_token|id_token|refresh_token|token|api_key|apikey|client_secret|password"
)
_FLAG_LABELS = r"password|passwd|passphrase|secret|token|api-key|apikey|access-key|private-key"
_SCHEME = r"(?:Bearer|BEARER|Basic|BASIC)"
# An authorization credential: 8+ characters with a digit, a symbol or an inner capital,
# so that prose ("Basic authentication") is left alone.
_CREDENTIAL = r"(?=[A-Za-z0-9._~+/=-]{8})(?=[A-Za-z0-9._~+/-]*[0-9+/=_-]|[A-Za-z0-9]*[a-z0-9][A-Z])"
_COUNTER = re.compile(r"(?:max|min|total|prompt|completion|input|output|num|n|cached|reasoning)[-_]?$", re.I)

DEFAULT_SECRET_PATTERNS: tuple[tuple[str, str], ...] = (
    # PEM / PGP private key blocks, or what is left of one that was cut short.
    (
        r"-----BEGIN[A-Z0-9 ]{0,40}PRIVATE KEY(?: BLOCK)?-----[\s\S]*?"
        r"(?:-----END[A-Z0-9 ]{0,40}PRIVATE KEY(?: BLOCK)?-----|\Z)",
        "<redacted:private-key>",
    ),
    (r"\beyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]*", "<redacted:jwt>"),
    (r"\bsk-ant-[A-Za-z0-9_-]{16,}", "<redacted:anthropic-key>"),
    (r"\bsk-(?=[A-Za-z0-9_-]*\d)[A-Za-z0-9_-]{20,}", "<redacted:openai-key>"),
    (r"\b(?:sk|rk)_(?:live|test)_[A-Za-z0-9]{10,}|\bwhsec_[A-Za-z0-9]{16,}", "<redacted:stripe-key>"),
    (r"\bnk_(?:live_|test_)?(?=[A-Za-z0-9_-]*\d)[A-Za-z0-9_-]{16,}", "<redacted:noukai-key>"),
    (r"\b(?:AKIA|ASIA)[A-Z0-9]{16}\b", "<redacted:aws-key-id>"),
    (r"\bgh[pousr]_[A-Za-z0-9]{20,}|\bgithub_pat_[A-Za-z0-9_]{20,}", "<redacted:github-token>"),
    (r"\bglpat-[A-Za-z0-9_-]{20,}", "<redacted:gitlab-token>"),
    (r"\bxox[abprse]-[A-Za-z0-9-]{10,}|\bxapp-\d-[A-Za-z0-9-]{10,}", "<redacted:slack-token>"),
    (r"\bhttps://hooks\.slack\.com/services/[A-Za-z0-9/_-]+", "<redacted:slack-webhook>"),
    (r"\bAIza[0-9A-Za-z_-]{35}", "<redacted:google-api-key>"),
    (r"\bya29\.[0-9A-Za-z_-]{20,}|\bGOCSPX-[0-9A-Za-z_-]{20,}", "<redacted:google-oauth>"),
    (r"\bhf_[A-Za-z0-9]{30,}", "<redacted:huggingface-token>"),
    (r"\bnpm_[A-Za-z0-9]{36}\b|\bpypi-AgE[A-Za-z0-9_-]{50,}", "<redacted:package-token>"),
    (r"\bSG\.[A-Za-z0-9_-]{16,}\.[A-Za-z0-9_-]{16,}", "<redacted:sendgrid-key>"),
    (r"\bSK[0-9a-fA-F]{32}\b", "<redacted:twilio-key>"),
    (r"\bdo[opr]_v1_[a-f0-9]{64}", "<redacted:digitalocean-token>"),
    (r"\bshp(?:at|ss|ca|pa)_[a-fA-F0-9]{32}", "<redacted:shopify-token>"),
    (r"\bAGE-SECRET-KEY-1[0-9A-Z]{58}", "<redacted:age-key>"),
    # scheme://user:password@host -> scheme://<redacted>@host
    (r"(?P<keep>\b[A-Za-z][A-Za-z0-9+.-]{0,31}://)[^\s/?#@<>\"':]*:[^\s/?#@<>\"']+(?=@)", REDACTED),
    # "Bearer <redacted>", "Basic <redacted>"
    (rf"(?P<keep>\b{_SCHEME}[ \t]+){_CREDENTIAL}[A-Za-z0-9._~+/-]+=*", REDACTED),
    # Header lines: everything after "Authorization:" or "Cookie:" up to the end of the line.
    (
        r"(?P<keep>(?:[Aa]uthorization|AUTHORIZATION|[Cc]ookie|COOKIE)(?:\\?[\"'])?[ \t]?[:=][ \t]*(?:\\?[\"'])?)"
        r"(?![\s<])[^\"'\\\r\n\u2026]+",
        REDACTED,
    ),
    # Signatures and tokens in URL query strings (presigned S3 / Azure SAS URLs, OAuth).
    (rf"(?P<keep>[?&](?:{_QUERY_LABELS})=)[^&#\s\"'<>\u2026]+", REDACTED),
    # Command lines: --password hunter2, --api-key abc
    (rf"(?P<keep>(?<![\w-])--[\w-]*?(?i:{_FLAG_LABELS})[ \t]+)(?!-)[^\s\"'<\u2026]+", REDACTED),
    # LABEL=VALUE, LABEL: VALUE, "label": "value" in free text, logs, reprs and JSON text.
    (
        rf"(?P<keep>(?P<label>(?i:{_LABELS}))(?:\\?[\"'])?[ \t]?(?::(?!:)|=(?!=))[ \t]*(?P<q>\\?[\"'])?)"
        rf"(?!<)(?(q)(?:\\[^\"'\u2026]|[^\"'\\\r\n\u2026])+|(?:(?i:bearer|basic)[ \t]+)?[^\s\"'\\,;&)}}\]\u2026]+)",
        REDACTED,
    ),
)
"""``(regex, placeholder)`` pairs, applied in this order; a ``keep`` group is kept."""


def _width(regex: str) -> int:
    """Characters matched by a regex made of literals, escapes and ``[...]`` classes only."""
    width, i = 0, 0
    while i < len(regex):
        if regex[i] == "[":
            i = regex.index("]", i + 2)
        elif regex[i] == "\\":
            i += 1
        width, i = width + 1, i + 1
    return width


def _lookbehinds(tails: Iterable[str]) -> str:
    """``(?<=...)`` alternatives for ``tails``, grouped by width as ``re`` requires."""
    by_width: dict[int, list[str]] = {}
    for tail in tails:
        by_width.setdefault(_width(tail), []).append(tail)
    return "|".join(f"(?<={'|'.join(group)})" for _, group in sorted(by_width.items()))


def _build_trigger() -> str:
    """One search that every default rule's match also matches; most strings fail it fast.

    Every alternative starts with a literal character, so the regex engine skips all
    positions holding none of those characters; lookbehinds then check the context.
    """
    # Ends of the labels before a ":" or "=" (password, passwd, pwd, secret_key, ...), in
    # lower, UPPER, Capitalized and camelCase: case-sensitive alternatives are rejected
    # on their first character, case-insensitive ones are not (several times slower).
    ends = [
        *("pwd", "PWD", "Pwd", "word", "WORD", "Word", "sswd", "SSWD", "hrase", "HRASE"),
        *("cret", "CRET", "oken", "OKEN", "ntial", "NTIAL", "tials", "TIALS"),
        *("[a-z_ -]key", "[A-Z_ -]KEY", "[a-z_ -]Key", "ookie", "OOKIE", "ization", "IZATION"),
    ]
    plain = _lookbehinds(end + "[:=]" for end in ends)
    between = ("[\"']", "\\\\[\"']", "[ \t]", "[\"'][ \t]", "\\\\[\"'][ \t]")
    quoted = _lookbehinds(end + gap + "[:=]" for end in ends for gap in between)
    # A cheap look at the one character before the ":" or "=" first.
    label_sep = rf"(?:(?<=[dDeEtTnNlLsSyY][:=])(?:{plain})|(?<=[\"' \t][:=])(?:{quoted}))"
    return "|".join(
        (
            r"-(?:----BEGIN|(?<=[a-zA-Z]-)(?:(?<=\bsk-)|(?<=\bglpat-)|(?<=\bGOCSPX-)|(?<=\bpypi-)|(?<=\bxapp-)"
            r"|(?<=\bxox[abprse]-))"
            rf"|(?<=--)(?<![\w-]--)(?=[\w-]*?(?i:{_FLAG_LABELS})[ \t]))",
            r"_(?:(?<=k_live_)|(?<=k_test_)|(?<=\bwhsec_)|(?<=\bnk_)|(?<=\bgh[pousr]_)|(?<=\bgithub_pat_)"
            r"|(?<=\bhf_)|(?<=\bnpm_)|(?<=do[opr]_v1_)|(?<=\bshp[a-z][a-z]_))",
            r"J(?<=\beyJ)",
            r"\.(?:(?<=\bya29\.)|(?<=\bSG\.))",
            r"A(?:KIA|SIA|Iza|GE-SECRET-KEY)",
            r"SK[0-9a-fA-F]{32}",
            rf"B(?:earer|EARER|asic|ASIC)[ \t]+{_CREDENTIAL}",
            r":(?://[^\s/?#@]*@|//hooks\.slack\.com)",
            rf":{label_sep}",
            rf"={label_sep}",
            rf"\?(?=(?:{_QUERY_LABELS})=)",
            rf"&(?=(?:{_QUERY_LABELS})=)",
        )
    )


_SHORTEST_DEFAULT_MATCH = 5  # "pwd=x"
# Without a space or a symbol only AKIA..., AIza... and SK... can match, all of 20+ characters.
_SHORTEST_PLAIN_MATCH = 20


def _replacer(placeholder: str) -> Callable[[re.Match[str]], str]:
    """Replacement of one match: the ``keep`` group, then the placeholder.

    In a user pattern with a group named ``secret``, only that group is replaced.
    """

    def replace(match: re.Match[str]) -> str:
        groups = match.re.groupindex
        if "secret" in groups and match.start("secret") != -1:
            offset, whole = match.start(), match.group(0)
            return whole[: match.start("secret") - offset] + placeholder + whole[match.end("secret") - offset :]
        if (  # max_token=5, total-token: 12 are usage counters, not secrets
            "label" in groups
            and match.group("label").lower() == "token"
            and _COUNTER.search(match.string, max(0, match.start() - 12), match.start())
        ):
            return match.group(0)
        keep = match.group("keep") if "keep" in groups else None
        return placeholder if keep is None else keep + placeholder

    return replace


@functools.lru_cache(maxsize=1)
def _trigger() -> re.Pattern[str]:
    return re.compile(_build_trigger())


@functools.lru_cache(maxsize=64)
def text_redactor(extra: tuple[str, ...] = (), *, defaults: bool = True) -> Callable[[str], str] | None:
    """``str -> str`` that redacts secrets; ``None`` when there is nothing to redact.

    ``extra`` regexes are applied after the defaults; each match becomes ``"<redacted>"``
    (only its ``secret`` group, if it has one).
    """
    rules = [(re.compile(rx).sub, _replacer(placeholder)) for rx, placeholder in DEFAULT_SECRET_PATTERNS]
    subs = rules if defaults else []
    user_subs = [(re.compile(rx).sub, _replacer(REDACTED)) for rx in extra]
    if not subs and not user_subs:
        return None
    # One search tells the rare strings that may hold a secret from the rest; only those
    # pay for the rules, applied one after the other in their order.
    search = _trigger().search
    shortest, plain = _SHORTEST_DEFAULT_MATCH, _SHORTEST_PLAIN_MATCH

    def redact_defaults(text: str) -> str:
        size = len(text)
        if size < shortest or (size < plain and text.isalnum()) or search(text) is None:
            return text  # cheap first: most keys are short words
        for sub, replace in subs:
            text = sub(replace, text)
        return text

    if not user_subs:
        return redact_defaults

    def redact(text: str) -> str:
        if subs:
            text = redact_defaults(text)
        for sub, replace in user_subs:
            text = sub(replace, text)
        return text

    return redact


class _KeyCache(dict[str, bool]):
    """key -> is it a secret's key; looked up with the dict's own ``__getitem__``."""

    __slots__ = ("_search",)
    _LIMIT = 50_000

    def __init__(self, search: Callable[[str], Any]) -> None:
        super().__init__()
        self._search = search

    def __missing__(self, key: str) -> bool:
        found = self._search(key) is not None
        if len(self) < self._LIMIT:
            self[key] = found
        return found


@functools.lru_cache(maxsize=64)
def key_matcher(extra: tuple[str, ...] = (), *, defaults: bool = True) -> Callable[[str], bool] | None:
    """``key -> bool``: whether a dict key holds a secret; ``None`` when no rule is set.

    Default and ``extra`` key regexes are searched case-insensitively.
    """
    patterns = (*(DEFAULT_SECRET_KEYS if defaults else ()), *extra)
    if not patterns:
        return None
    combined = re.compile("|".join(f"(?:{rx})" for rx in patterns), re.IGNORECASE)
    return _KeyCache(combined.search).__getitem__


def redact_text(text: str) -> str:
    """``text`` with the default value rules applied."""
    redact = text_redactor()
    assert redact is not None
    return redact(text)
