"""Secrets never reach a golden, a diff or a report.

The corpus below holds 52 distinct secret shapes (realistic fakes). Each is planted at
every depth a trace offers (top-level value, nested under an innocuous key, in a list,
in a sentence, in an error message, as a dict key, under a sensitive key, in a
``(header, value)`` tuple, in step and run attributes, in the run's source) and must
not leak into the normalized JSON, the verbose diff rendering or the diff's JSON list:
0 leaks allowed (``test_the_corpus_size_is_stated`` keeps this count honest).
"""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pytest_tracediff import NormalizeOptions, Step, StepStatus, Tokens, Trace
from pytest_tracediff.model.canonical import REDACTED
from pytest_tracediff.normalize.redact import default_rules, key_matcher, redact_text

pytest_plugins = ["pytester"]

# (name, template, secret): the planted text is the template with "§" replaced by the
# secret; only the secret has to disappear (labels such as "password=" may stay).
SHAPES: list[tuple[str, str, str]] = [
    ("openai-legacy", "§", "sk-4fJ8kL2mN9pQ3rS6tU1vW5xY7zA0bC2dE4fG6hI8jK0lM1nO"),
    ("openai-project", "§", "sk-proj-Ab3dEf6hIj9kLm2nOp5qRs8tUv1wXy4z_Ab3dEf6hIj9kLm2nOp5q-Rs8tUv1wXy4z"),
    ("anthropic", "§", "sk-ant-api03-Zx9Yw8Vu7Ts6Rq5Po4Nm3Lk2Jh1Gf0EdCbA-zyXwVuTsRqPoNmLkJiHgFeDcBa_0123456789AA"),
    ("noukai", "§", "nk_live_7Hq2Lw9Xc4Vb8Nm1Zs6Df3Gh5Jk0"),
    ("aws-access-key-id", "§", "AKIAIOSFODNN7EXAMPLE"),
    ("aws-sts-key-id", "§", "ASIAY34FZKBOKMUTVV7A"),
    ("aws-secret-labelled", "aws_secret_access_key=§", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"),
    (
        "jwt",
        "§",
        "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIxMjM0NTY3ODkwIiwibmFtZSI6IkphbmUgRG9lIn0"
        ".SflKxwRJSMeKKF2QT4fwpMeJf36POk6yJV_adQssw5c",
    ),
    ("bearer", "Bearer §", "q8Zr2Lx7Nw4Tp1Ks9Vm3"),
    ("basic-auth", "Basic §", "YWxhZGRpbjpvcGVuc2VzYW1lMTIz"),
    (
        "pem-rsa",
        "-----BEGIN RSA PRIVATE KEY-----\n§\n-----END RSA PRIVATE KEY-----",
        "MIIEowIBAAKCAQEA7Qx9RzP1t3mYwK2nLq8vB5cD0eF\nHg4Jk6Lm8No0Pq2Rs4Tu6Vw8Xy0Za2Bc4De6Fg8Hi0Jk",
    ),
    (
        "pem-pkcs8",
        "-----BEGIN PRIVATE KEY-----\n§\n-----END PRIVATE KEY-----",
        "MIIEvQIBADANBgkqhkiG9w0BAQEFAASCBKcwggSjAgEAAoIBAQC7",
    ),
    (
        "pem-openssh",
        "-----BEGIN OPENSSH PRIVATE KEY-----\n§\n-----END OPENSSH PRIVATE KEY-----",
        "b3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAEbm9uZQAAAAAAAAABAAAAMwAAAAtzc2gtZW",
    ),
    (
        "pem-pgp",
        "-----BEGIN PGP PRIVATE KEY BLOCK-----\n\n§\n-----END PGP PRIVATE KEY BLOCK-----",
        "lQOYBF0jYx8BCADHx4Zq9rT1nW3mK5pL7sV2bN8cX0fG4hJ6",
    ),
    ("github-classic", "§", "ghp_16C7e42F292c6912E7710c838347Ae178B4a"),
    ("github-oauth", "§", "gho_aB3dE6gH9jK2mN5pQ8sT1vW4yZ7bC0eF3hI6"),
    ("github-app", "§", "ghs_Zk9Lm2Np5Qr8St1Uv4Wx7Yz0Ab3Cd6Ef9Gh2"),
    (
        "github-fine-grained",
        "§",
        "github_pat_11ABCDEFG0123456789abc_DEFghiJKLmnoPQRstuVWXyz0123456789abcdefGHIJKLmnopQRS",
    ),
    ("gitlab", "§", "glpat-xR7vK2mQ9pL4sT8wN3yB"),
    ("slack-bot", "§", "xoxb-2048123-4096456-a1B2c3D4e5F6g7H8i9J0k1L2"),
    ("slack-user", "§", "xoxp-1234567890-0987654321-1122334455-abcdef0123456789abcdef0123456789"),
    ("slack-webhook", "§", "https://hooks.slack.com/services/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"),
    ("stripe-live", "§", "sk_live_51HqLyjWDarjtT1zdp7dcXYZ0123456789"),
    ("stripe-restricted", "§", "rk_live_4eC39HqLyjWDarjtT1zdp7dc"),
    ("stripe-test", "§", "sk_test_4eC39HqLyjWDarjtT1zdp7dc"),
    ("stripe-webhook", "§", "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLSLP"),
    ("google-api-key", "§", "AIzaSyDdI0hCZtE6vySjMm-WEfRq3CPzqKqqsHI"),
    ("google-oauth-token", "§", "ya29.a0AfH6SMBx7Lq2Zk9Wv3Np8Rt1Ys4Ue6Io"),
    ("google-client-secret", "§", "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"),
    ("huggingface", "§", "hf_AbCdEfGhIjKlMnOpQrStUvWxYz01234567"),
    ("npm", "§", "npm_a1B2c3D4e5F6g7H8i9J0k1L2m3N4o5P6q7R8"),
    ("pypi", "§", "pypi-AgEIcHlwaS5vcmcCJGE4ZjYxYjQ4LTQ2YzEtNDg1Zi1hYjk0LTc3OWQ5YzA2YmZkNgACKlszLCJ"),
    ("sendgrid", "§", "SG.aBcDeFgHiJkLmNoPqRsTuV.wXyZ0123456789aBcDeFgHiJkLmNoPqRsTuVwXyZ012"),
    ("twilio", "§", "SK0123456789abcdef0123456789abcdef"),
    ("digitalocean", "§", "dop_v1_" + "0123456789abcdef" * 4),
    ("shopify", "§", "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"),
    ("age", "§", "AGE-SECRET-KEY-1" + ("QYZ3JH8W2VX7KLM4NPR9STU6ABC5DEF0GH" * 2)[:58]),
    ("url-postgres", "postgres://app_user:§@db.internal:5432/app", "Sup3rS3cretPw"),
    ("url-redis", "redis://:§@cache.local:6379/0", "R3disPassw0rdXyz"),
    ("url-https", "https://deploy:§@git.example.com/repo.git", "gh0stPa55word"),
    ("password-kv", "password=§", "Tr0ub4dor_3xyz!"),
    ("env-password", "DB_PASSWORD=§", "Pl4netExpress99"),
    ("secret-colon", "client_secret: §", "8d7c6b5a4f3e2d1c0b9a"),
    ("api-key-kv", "api_key=§", "Zq8Wm3Rt7Yp2Kx9Lv4"),
    ("json-password", '{"user": "bob", "password": "§"}', "correct horse battery staple 42"),
    ("repr-token", "{'access_token': '§', 'expires_in': 3600}", "at-9Hf3Kd8Lq2Wm"),
    ("cookie-header", "Cookie: §", "sessionid=3f9a8b7c6d5e4f3a2b1c; csrftoken=Qw3Er5Ty7Ui9"),
    ("authorization-header", "Authorization: Token §", "9944b09199c62bcf9418ad846dd0e4bbdfc6ee4b"),
    (
        "s3-presigned-url",
        "https://bucket.s3.amazonaws.com/report.csv?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Signature=§",
        "f0e1d2c3b4a5968778695a4b3c2d1e0f",
    ),
    (
        "azure-sas-url",
        "https://acct.blob.core.windows.net/c/b.txt?sv=2022-11-02&sig=§",
        "Zm9vYmFyYmF6cXV4MTIzNDU2Nzg5MA%3D%3D",
    ),
    (
        "azure-connection-string",
        "DefaultEndpointsProtocol=https;AccountName=acct;AccountKey=§;EndpointSuffix=core.windows.net",
        "Xy9+Zk8/Wq7Lm6Np5Rt4Sv3Tu2Vw1==",
    ),
    ("cli-flag", "mysql -u root --password § shop", "Sh4dowM0ss"),
]
IDS = [name for name, _, _ in SHAPES]
WINDOW = 10  # any 10 consecutive characters of a secret showing up counts as a leak


def other(secret: str) -> str:
    """The same shape with different digits (a fixed prefix kept): a second, different secret."""
    prefix = re.match(r"ya29\.|do[opr]_v1_|AGE-SECRET-KEY-1|sk-ant-api\d\d-|", secret)
    start = prefix.end() if prefix else 0
    return secret[:start] + re.sub(r"\d", lambda m: str((int(m.group()) + 1) % 10), secret[start:])


def planted(template: str, secret: str) -> str:
    return template.replace("§", secret)


def windows(secret: str) -> set[str]:
    if len(secret) <= WINDOW:
        return {secret}
    return {secret[i : i + WINDOW] for i in range(len(secret) - WINDOW + 1)}


def leaks(text: str, *secrets: str) -> list[str]:
    return sorted({w for secret in secrets for w in windows(secret) if w in text})


def steps_with(text: str, error_code: int) -> list[Step]:
    """``text`` at every depth a step offers."""
    return [
        Step(step_id="top", output=text),
        Step(step_id="nested", input={"request": {"body": {"note": text}}}),
        Step(step_id="listed", output={"items": ["ok", text, 3]}),
        Step(step_id="sentence", output={"message": f"user asked to use {text} for the call, retrying later"}),
        Step(
            step_id="failing",
            status=StepStatus.FAILED,
            failure_class="RuntimeError",
            error=f"RuntimeError ({error_code}): upstream rejected {text}, giving up",
        ),
        Step(step_id="as_key", output={text: 1}),
        Step(
            step_id="sensitive",
            input={"password": text, "headers": {"Authorization": text, "X-Api-Key": text}},
            output={"pairs": [("Set-Cookie", text)]},
        ),
        Step(step_id="attrs", attributes={"note": text, "deep": {"x": [text]}}),
    ]


def trace_with(text: str, *, error_code: int = 401, extra: bool = False) -> Trace:
    steps = steps_with(text, error_code)
    if extra:  # a step only one side has: the diff shows its whole output
        steps.append(Step(step_id="notify", output={"sent_with": text, "retries": 2}))
    return Trace(
        source=f"svc {text}",
        status="failed",
        steps=steps,
        attributes={"env": {"config": text}, "run": text},
    )


# -- the corpus ------------------------------------------------------------------


def test_the_corpus_size_is_stated() -> None:
    assert len(SHAPES) >= 30
    assert len(set(IDS)) == len(SHAPES), "shape names must be distinct"
    assert f"holds {len(SHAPES)} distinct secret shapes" in " ".join((__doc__ or "").split())
    # Every shape really is a secret shape: the second example differs from the first.
    assert all(other(secret) != secret for _, _, secret in SHAPES)


@pytest.mark.parametrize(("name", "template", "secret"), SHAPES, ids=IDS)
def test_no_secret_reaches_the_golden_or_the_diff(name: str, template: str, secret: str) -> None:
    first, second = secret, other(secret)
    expected = trace_with(planted(template, first))
    actual = trace_with(planted(template, second), error_code=503, extra=True)

    golden = expected.normalized().to_json()
    diff = expected.diff(actual)
    rendered = diff.render(verbose=True)
    listed = json.dumps(diff.to_list(), ensure_ascii=False)
    assert diff, "the traces differ (an added step, another error code): the diff must show it"
    assert "notify" in rendered
    assert "503" in rendered

    found = {
        "golden": leaks(golden, first),
        "actual golden": leaks(actual.normalized().to_json(), second),
        "diff.render(verbose=True)": leaks(rendered, first, second),
        "diff.render()": leaks(diff.render(), first, second),
        "diff.to_list()": leaks(listed, first, second),
        "repr": leaks(repr(expected) + repr(expected.normalized()) + repr(diff), first),
    }
    assert {k: v for k, v in found.items() if v} == {}, f"{name} leaked"
    assert "<redacted" in golden


@pytest.mark.parametrize(("name", "template", "secret"), SHAPES, ids=IDS)
def test_redaction_is_stable(name: str, template: str, secret: str) -> None:
    once = trace_with(planted(template, secret)).normalized()
    twice = once.normalized()
    assert twice.to_json() == once.to_json()
    # A golden read back and normalized again, and a second run: byte-identical.
    assert Trace.from_json(once.to_json()).normalized().to_json() == once.to_json()
    assert trace_with(planted(template, secret)).normalized().to_json() == once.to_json()
    # Two different secrets of one shape give the same golden: nothing churns.
    assert trace_with(planted(template, other(secret))).normalized().to_json() == once.to_json()


def test_placeholders_name_the_kind_of_secret() -> None:
    assert redact_text("key sk-ant-api03-" + "a1" * 20) == "key <redacted:anthropic-key>"
    assert redact_text("AKIAIOSFODNN7EXAMPLE") == "<redacted:aws-key-id>"
    assert redact_text("postgres://u:p4ss@h/db") == "postgres://<redacted>@h/db"
    assert redact_text("Authorization: Bearer abc123DEF456") == "Authorization: <redacted>"
    assert redact_text("use Bearer abc123DEF456 now") == "use Bearer <redacted> now"
    assert redact_text('{"password": "x y z", "user": "bob"}') == '{"password": "<redacted>", "user": "bob"}'
    assert redact_text("--api-key abc123 --verbose") == "--api-key <redacted> --verbose"


def test_a_uuid_inside_a_token_does_not_split_it() -> None:
    # Redaction runs before the maskers: the UUID masker must not cut the token in two.
    text = "token=123e4567-e89b-12d3-a456-426614174000-tail and id 123e4567-e89b-12d3-a456-426614174000"
    out = Trace(steps=[Step(step_id="a", output=text)]).normalized().steps[0].output
    assert out == "token=<redacted> and id <uuid>"


# -- what is not a secret ------------------------------------------------------------


def test_usage_counters_and_harmless_text_are_kept() -> None:
    usage = {
        "prompt_tokens": 10,
        "completion_tokens": 5,
        "total_tokens": 15,
        "max_tokens": 100,
        "max_token": 7,
        "tokens": 42,
        "token_count": 3,
        "tokenizer": "cl100k_base",
        "token_type": "Bearer",
        "primary_key": "id",
        "keyword": "shoes",
        "password_set": True,
        "api_key": None,
        "secret": "",
    }
    text = [
        "max_tokens=100, total_tokens: 42, max_token=7",
        "Basic authentication is enabled",
        "the key: value pair",
        "a 'token' is a unit of text",
        "https://example.com/docs?page=2&lang=en",
        "git@github.com:org/repo.git",
        "see -----BEGIN CERTIFICATE----- below",
        "task-1234567890abcdefghij and chunk_1234567890abcdefgh",
    ]
    trace = Trace(
        steps=[Step(step_id="llm", tokens=Tokens(prompt=10, completion=5, total=15), output=usage, input=text)]
    )
    step = trace.normalized().steps[0]
    assert step.output == usage
    assert step.input == text
    assert step.tokens == Tokens(prompt=10, completion=5, total=15)


@pytest.mark.parametrize(
    "key",
    [
        *("password", "db_password", "Passwd", "pwd", "passphrase", "secret", "client_secret", "SECRET_KEY"),
        *("api_token", "access_token", "refresh_token", "id_token", "auth_token", "authToken", "X-CSRF-Token"),
        *("api_key", "apiKey", "x-api-key", "OPENAI_API_KEY", "Authorization", "Proxy-Authorization"),
        *("cookie", "Set-Cookie", "credentials", "credential", "private_key", "privateKey", "access_key"),
        *("aws_secret_access_key", "SENTRY_DSN", "DD_APP_KEY", "DATABASE_URL", "basic_auth", "GITHUB_TOKEN"),
    ],
)
def test_sensitive_keys_hide_their_whole_value(key: str) -> None:
    matcher = key_matcher()
    assert matcher is not None
    assert matcher(key)
    value = {"nested": ["anything", 42]}
    out = Trace(steps=[Step(step_id="a", input={key: value, "other": value})]).normalized().steps[0].input
    assert out == {key: REDACTED, "other": value}


@pytest.mark.parametrize(
    "key", ["token", "session_id", "sessionId", "JSESSIONID", "signature", "X-Hub-Signature-256", "auth", "key"]
)
def test_weak_keys_hide_values_that_look_like_secrets(key: str) -> None:
    matcher = key_matcher()
    assert matcher is not None
    assert matcher(key)
    secret = "sha256=9f86d081884c7d659a2feaa0c55ad015a3bf4f1b"
    kept: list[Any] = [464, " the", "oauth2", "def f(x: int) -> str", "expired", {"id": 1}, [464, 11]]
    data = {f"{key}": secret, "pair": (key, "Zk9Lm2Np5Qr8St1Uv4"), "auth_pair": {key: ["bob", "hunter2"]}}
    out = Trace(steps=[Step(step_id="a", input=data)]).normalized().steps[0].input
    assert out == {key: REDACTED, "pair": [key, REDACTED], "auth_pair": {key: REDACTED}}
    for value in kept:
        step = Trace(steps=[Step(step_id="a", input={key: value})]).normalized().steps[0]
        assert step.input[key] == Trace(steps=[Step(step_id="a", input={"x": value})]).normalized().steps[0].input["x"]


@pytest.mark.parametrize(
    "key",
    ["tokens", "max_tokens", "total_tokens", "prompt_tokens", "max_token", "token_count", "tokenizer", "keyword"],
)
def test_counter_and_harmless_keys_are_not_sensitive(key: str) -> None:
    matcher = key_matcher()
    assert matcher is not None
    assert not matcher(key)


# -- options ------------------------------------------------------------------------


def test_custom_keys_and_patterns() -> None:
    options = NormalizeOptions(
        redact_keys=(r"^ssn$", "employee.?code"),
        redact_patterns=(r"ACCT-\d{6}", r"pin=(?P<secret>\d{4})"),
    )
    trace = Trace(
        steps=[
            Step(
                step_id="a",
                input={"SSN": "123-45-6789", "employeeCode": 991, "note": "paid ACCT-123456 with pin=4321"},
                error="declined ACCT-654321",
            )
        ]
    )
    step = trace.normalized(options).steps[0]
    assert step.input == {"SSN": REDACTED, "employeeCode": REDACTED, "note": "paid <redacted> with pin=<redacted>"}
    assert step.error == "declined <redacted>"
    # The defaults are still on; without the options nothing custom is hidden.
    assert Trace(steps=[Step(step_id="a", input={"password": "x1"})]).normalized(options).steps[0].input == {
        "password": REDACTED
    }
    assert trace.normalized().steps[0].input["SSN"] == "123-45-6789"


def test_default_redaction_can_be_turned_off_custom_rules_stay() -> None:
    options = NormalizeOptions(default_redaction=False, redact_keys=("^ssn$",))
    data = {"password": "hunter2", "ssn": "123-45-6789", "note": "sk-proj-abcdefghij0123456789"}
    out = Trace(steps=[Step(step_id="a", input=data)]).normalized(options).steps[0].input
    assert out == {**data, "ssn": REDACTED}


def test_merged_options_keep_and_extend_redaction() -> None:
    base = NormalizeOptions(redact_keys=("^a$",), redact_patterns=("X-\\d+",), default_redaction=False)
    merged = base.merged(["cost"], [], redact_keys=["^b$"], redact_patterns=["Y-\\d+"])
    assert merged.redact_keys == ("^a$", "^b$")
    assert merged.redact_patterns == ("X-\\d+", "Y-\\d+")
    assert merged.default_redaction is False
    assert merged.exclude == ("cost",)
    out = Trace(steps=[Step(step_id="s", input={"a": 1, "b": 2, "c": "X-1 Y-2 password=z"})]).normalized(merged)
    assert out.steps[0].input == {"a": REDACTED, "b": REDACTED, "c": "<redacted> <redacted> password=z"}


# -- idempotence on generated text ------------------------------------------------

_PIECES = st.sampled_from(
    [
        *("password", "token", "max_", "api_key", "Authorization", "cookie", "=", ":", "::", " ", "  ", "\n"),
        *("Password", "PASSWORD", "Token", "TOKEN", "apiKey", "API_KEY", "Api-Key", "Secret", "SET-COOKIE", "pwd"),
        *('"', "'", "\\", '\\"', ",", ";", "&", "?", "@", "/", "://", "u:p@", "https", "Bearer ", "basic "),
        *("sk-", "abc123XYZ", "0123456789", "eyJhbGciOi", ".", "-----BEGIN PRIVATE KEY-----", "--", "sig="),
        *("AKIA", "ABCDEFGHIJKLMNOP", "<redacted>", "<uuid>", "123e4567-e89b-12d3-a456-426614174000", "x"),
    ]
)
_TEXTS = st.lists(_PIECES, max_size=12).map("".join)


@settings(max_examples=300, deadline=None)
@given(_TEXTS)
def test_redacting_redacted_text_changes_nothing(text: str) -> None:
    once = redact_text(text)
    assert redact_text(once) == once


@settings(max_examples=100, deadline=None)
@given(st.dictionaries(_TEXTS, _TEXTS | st.lists(_TEXTS, max_size=2), max_size=4), _TEXTS)
def test_normalizing_a_normalized_trace_changes_nothing(payload: dict[str, Any], error: str) -> None:
    trace = Trace(steps=[Step(step_id="a", input=payload, error=error or None)], attributes=payload)
    once = trace.normalized().to_json()
    assert Trace.from_json(once).normalized().to_json() == once


# -- pytest: ini options and the marker ----------------------------------------------

CONFTEST = """
import json, pathlib
import pytest

def variant():
    path = pathlib.Path(__file__).with_name("variant.json")
    return json.loads(path.read_text()) if path.exists() else {}

@pytest.fixture
def login(trace_recorder):
    v = variant()
    with trace_recorder.step("login", input={"user": "bob", "password": "hunter2-" + v.get("pw", "a")}) as s:
        s.output = {
            "session": "Bearer Zt9" + v.get("pw", "a") + "Qw7Er5Ty3Ui1",
            "internal_ref": "REF-" + v.get("pw", "a"),
            "employee_code": "E-" + v.get("pw", "a"),
            "note": "customer CUST-1234" + v.get("digit", "5") + " order ORD-987" + v.get("digit", "5"),
            "greeting": v.get("greeting", "hello"),
        }
    return trace_recorder.trace
"""

SUITE = """
import pytest

@pytest.mark.trace_snapshot(redact_keys=["^employee_code$"], redact_patterns=[r"ORD-\\d{4}"])
def test_login(login, trace_snapshot):
    assert login == trace_snapshot
"""

INI = """
[pytest]
trace_snapshot_redact_keys =
    ^internal_ref$
trace_snapshot_redact_patterns =
    CUST-\\d{5}
"""


def test_ini_and_marker_options_keep_secrets_out_of_goldens_and_failures(pytester: pytest.Pytester) -> None:
    pytester.makeconftest(CONFTEST)
    pytester.makepyfile(test_auth=SUITE)
    pytester.makeini(INI)
    pytester.runpytest("--trace-snapshot-update").assert_outcomes(passed=1)
    golden = (pytester.path / "__trace_snapshots__" / "test_auth" / "test_login.trace.json").read_text()
    secrets = ["hunter2", "Zt9a", "REF-a", "E-a", "CUST-12345", "ORD-9875"]
    assert [s for s in secrets if s in golden] == []
    step = json.loads(golden)["steps"][0]
    assert step["input"] == {"password": REDACTED, "user": "bob"}  # default key rule
    assert step["output"] == {
        "employee_code": REDACTED,  # marker key
        "greeting": "hello",
        "internal_ref": REDACTED,  # ini key
        "note": "customer <redacted> order <redacted>",  # ini pattern, marker pattern
        "session": "Bearer <redacted>",  # default pattern
    }
    pytester.runpytest().assert_outcomes(passed=1)

    # New secrets alone change nothing; a real change fails, and its report shows no secret.
    (pytester.path / "variant.json").write_text(json.dumps({"pw": "b", "digit": "6"}))
    pytester.runpytest().assert_outcomes(passed=1)
    (pytester.path / "variant.json").write_text(json.dumps({"pw": "b", "digit": "6", "greeting": "hi"}))
    result = pytester.runpytest("-vv")
    result.assert_outcomes(failed=1)
    output = result.stdout.str()
    assert "output.greeting" in output
    assert [s for s in [*secrets, "hunter2-b", "Zt9b", "REF-b", "E-b", "CUST-12346", "ORD-9876"] if s in output] == []


def test_marker_rejects_invalid_redaction_regexes(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        test_bad="""
        import pytest

        @pytest.mark.trace_snapshot(redact_patterns=["(unclosed"])
        def test_x(trace_snapshot):
            pass
        """
    )
    result = pytester.runpytest()
    result.stdout.fnmatch_lines(["*trace_snapshot(redact_patterns=...): invalid regular expression '(unclosed'*"])


def _every_rule(text: str) -> str:
    """The default value rules applied without the trigger that usually gates them."""
    for sub, replace in default_rules():
        text = sub(replace, text)
    return text


@pytest.mark.parametrize(("name", "template", "secret"), SHAPES, ids=IDS)
def test_the_trigger_lets_every_shape_through(name: str, template: str, secret: str) -> None:
    for text in (planted(template, secret), f"x {planted(template, secret)} y"):
        assert redact_text(text) == _every_rule(text) != text


@settings(max_examples=500, deadline=None)
@given(_TEXTS)
def test_the_trigger_never_hides_a_match(text: str) -> None:
    # The trigger only skips strings in which no rule would change anything.
    assert redact_text(text) == _every_rule(text)


@pytest.mark.parametrize(
    "text",
    [
        "password=hunter2 and more text here",
        "Cookie: a=b; c=d more stuff",
        "Authorization: Basic dXNlcjpwYXNz!!",
        'payload {"api_key": "Zq8 Wm3", "n": 1}',
        "GET /x?token=abc123&x=1 done",
        "run --password hunter2 now",
        "token: Bearer abc123XYZ789 ok",
        "db postgres://u:p4ss@host/db later",
        "key sk-proj-abcdefghij0123456789 tail",
    ],
)
def test_cut_values_stay_redacted_and_stable(text: str) -> None:
    # Truncation cuts after redaction, maybe inside a placeholder: the cut must neither
    # show a secret nor be redacted again on the next normalization.
    for limit in range(1, len(text) + 2):
        options = NormalizeOptions(max_string=limit)
        once = Trace(steps=[Step(step_id="a", output=text, error=text)]).normalized(options).to_json()
        assert Trace.from_json(once).normalized(options).to_json() == once, limit
        assert [s for s in ("hunter2", "a=b", "dXNlcjpwYXNz", "Zq8", "abc123", "p4ss", "abcdefghij") if s in once] == []


def test_chrome_trace_artifact_is_redacted() -> None:
    from pytest_tracediff.report.chrome import chrome_trace

    jwt = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjMifQ.abcdefghijklmnop"
    key = "sk-ant-api03-abcdefghijklmnopqrstuvwxyz012345"
    trace = Trace(
        source=f"svc {key}",
        steps=[
            Step(step_id="a", status=StepStatus.FAILED, error=f"auth failed: Bearer {jwt}", start=1.0, duration=0.5)
        ],
    )
    out = json.dumps(chrome_trace(trace))
    assert jwt not in out
    assert key not in out
    assert "auth failed" in out
