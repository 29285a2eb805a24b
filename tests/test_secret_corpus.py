"""The secret corpus: real secret shapes never reach a golden, ordinary values are never changed.

``SHAPES`` holds realistic fake secrets built here, deterministically, in each provider's
published format (the formats of gitleaks' default rules, detect-secrets' plugins and
GitHub's secret-scanning partner patterns); none is a real secret. A format that needs
its keyword context to be told from random text (a Datadog key is 32 hex digits) comes
with that context in its template, as gitleaks' keyword rules require it.

Each shape is planted five ways (in free text, under an innocuous key, in a failed
step's error, as a dict key, under its own environment-variable name) and must not show
in the normalized golden JSON nor in ``TraceDiff.render()`` / ``render(verbose=True)``.
``ORDINARY`` values must come out of normalization exactly as they do with redaction off.
Every value rule must stay linear on 100 KB of adversarial input.
"""

from __future__ import annotations

import base64
import json
import random
import re
import signal
import string
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import pytest

from pytest_tracediff import NormalizeOptions, Step, StepStatus, Trace
from pytest_tracediff.normalize import secret_rules as rules
from pytest_tracediff.normalize.redact import DEFAULT_SECRET_PATTERNS, NONE, default_rules, key_kind, redact_text

if sys.version_info >= (3, 11):
    from re import _constants as sre_constants
    from re import _parser as sre_parse
else:  # pragma: no cover - Python 3.10
    import sre_constants
    import sre_parse

ALNUM = string.ascii_letters + string.digits
HEX = "0123456789abcdef"
UPHEX = "0123456789ABCDEF"
UPNUM = string.ascii_uppercase + string.digits
LOWNUM = string.ascii_lowercase + string.digits
URLSAFE = ALNUM + "_-"
B64 = ALNUM + "+/"
DIGITS = string.digits
Part = str | tuple[str, int]


def fmt(*parts: Part) -> Callable[[random.Random], str]:
    """A secret maker: literal parts as they are, ``(charset, n)`` parts drawn at random."""

    def make(rng: random.Random) -> str:
        return "".join(p if isinstance(p, str) else "".join(rng.choice(p[0]) for _ in range(p[1])) for p in parts)

    return make


def uuid4(rng: random.Random) -> str:
    h = "".join(rng.choice(HEX) for _ in range(32))
    return f"{h[:8]}-{h[8:12]}-4{h[13:16]}-a{h[17:20]}-{h[20:]}"


def with_uuid(prefix: str) -> Callable[[random.Random], str]:
    return lambda rng: prefix + uuid4(rng)


def basic(rng: random.Random) -> str:
    return base64.b64encode(f"deploy:{fmt((ALNUM, 14))(rng)}".encode()).decode()


def words(rng: random.Random) -> str:
    return " ".join(rng.choice(("correct", "horse", "battery", "staple", "purple", "otter")) for _ in range(4)) + str(
        rng.randrange(10, 99)
    )


@dataclass(frozen=True)
class Shape:
    name: str
    make: Callable[[random.Random], str]
    template: str = "§"  # where the secret sits: its keyword context, a URL, a header
    env: str = ""  # its environment-variable name; derived from the name when empty

    def secret(self, variant: int = 0) -> str:
        return self.make(random.Random(f"{self.name}/{variant}"))

    def planted(self, variant: int = 0) -> str:
        return self.template.replace("§", self.secret(variant))

    @property
    def env_name(self) -> str:
        return self.env or self.name.upper().replace("-", "_") + "_TOKEN"


PEM = "-----BEGIN {0}-----\n§\n-----END {0}-----"
PPK = (
    "PuTTY-User-Key-File-3: ssh-ed25519\nEncryption: none\nComment: ci\nPublic-Lines: 2\n"
    "AAAAC3NzaC1lZDI1NTE5AAAAIOk1\nZm9v\nPrivate-Lines: 1\n§\nPrivate-MAC: 0f1e2d3c"
)

SHAPES: tuple[Shape, ...] = (
    # AI providers
    Shape("openai-legacy", fmt("sk-", (ALNUM, 48)), env="OPENAI_API_KEY"),
    Shape("openai-project", fmt("sk-proj-", (URLSAFE, 74), "T3BlbkFJ", (URLSAFE, 74)), env="OPENAI_API_KEY"),
    Shape("openai-service-account", fmt("sk-svcacct-", (URLSAFE, 74), "T3BlbkFJ", (URLSAFE, 74))),
    Shape("openai-admin", fmt("sk-admin-", (URLSAFE, 74), "T3BlbkFJ", (URLSAFE, 74)), env="OPENAI_ADMIN_KEY"),
    Shape("deepseek", fmt("sk-", (HEX, 32)), env="DEEPSEEK_API_KEY"),
    Shape("anthropic-api", fmt("sk-ant-api03-", (URLSAFE, 93), "AA"), env="ANTHROPIC_API_KEY"),
    Shape("anthropic-admin", fmt("sk-ant-admin01-", (URLSAFE, 93), "AA")),
    Shape("openrouter", fmt("sk-or-v1-", (HEX, 64)), env="OPENROUTER_API_KEY"),
    Shape("langfuse-secret", with_uuid("sk-lf-"), env="LANGFUSE_SECRET_KEY"),
    Shape("elevenlabs", fmt("sk_", (HEX, 48)), env="ELEVENLABS_API_KEY"),
    Shape("xai", fmt("xai-", (ALNUM, 80)), env="XAI_API_KEY"),
    Shape("perplexity", fmt("pplx-", (ALNUM, 48)), env="PERPLEXITY_API_KEY"),
    Shape("groq", fmt("gsk_", (ALNUM, 52)), env="GROQ_API_KEY"),
    Shape("replicate", fmt("r8_", (ALNUM, 37)), env="REPLICATE_API_TOKEN"),
    Shape("huggingface-user", fmt("hf_", (ALNUM, 34)), env="HF_TOKEN"),
    Shape("huggingface-org", fmt("api_org_", (ALNUM, 34))),
    Shape("langsmith-pat", fmt("lsv2_pt_", (HEX, 32), "_", (HEX, 10)), env="LANGSMITH_API_KEY"),
    Shape("langsmith-service", fmt("lsv2_sk_", (HEX, 32), "_", (HEX, 10))),
    Shape("pinecone", fmt("pcsk_", (ALNUM, 6), "_", (ALNUM, 62)), env="PINECONE_API_KEY"),
    Shape("nvidia", fmt("nvapi-", (URLSAFE, 64)), env="NVIDIA_API_KEY"),
    Shape("tavily", fmt("tvly-dev-", (ALNUM, 32)), env="TAVILY_API_KEY"),
    Shape("firecrawl", fmt("fc-", (HEX, 32)), env="FIRECRAWL_API_KEY"),
    Shape("jina", fmt("jina_", (URLSAFE, 60)), env="JINA_API_KEY"),
    Shape("cerebras", fmt("csk-", (LOWNUM, 48)), env="CEREBRAS_API_KEY"),
    Shape("fireworks", fmt("fw_", (ALNUM, 24)), env="FIREWORKS_API_KEY"),
    Shape("noukai", fmt("nk_live_", (ALNUM, 32)), env="NOUKAI_API_KEY"),
    Shape("gemini", fmt("AIza", (URLSAFE, 35)), env="GEMINI_API_KEY"),
    Shape("google-oauth-access", fmt("ya29.", (URLSAFE, 120))),
    Shape("google-client-secret", fmt("GOCSPX-", (URLSAFE, 28)), env="GOOGLE_CLIENT_SECRET"),
    Shape("google-refresh", fmt("1//0", (URLSAFE, 96)), env="GOOGLE_REFRESH_TOKEN"),
    Shape("mistral", fmt((ALNUM, 32)), "MISTRAL_API_KEY=§", env="MISTRAL_API_KEY"),
    Shape("cohere", fmt((ALNUM, 40)), "COHERE_API_KEY: §", env="CO_API_KEY"),
    Shape("together", fmt((HEX, 64)), "together_api_key = '§'", env="TOGETHER_API_KEY"),
    Shape("deepgram", fmt((HEX, 40)), "DEEPGRAM_API_KEY=§", env="DEEPGRAM_API_KEY"),
    Shape("azure-openai", fmt((HEX, 32)), '{"azure_openai_api_key": "§"}', env="AZURE_OPENAI_API_KEY"),
    Shape("wandb", fmt((HEX, 40)), "WANDB_API_KEY=§", env="WANDB_API_KEY"),
    Shape("voyage", fmt("pa-", (URLSAFE, 43)), "VOYAGE_API_KEY=§", env="VOYAGE_API_KEY"),
    Shape("exa", uuid4, "EXA_API_KEY=§", env="EXA_API_KEY"),
    Shape("serpapi", fmt((HEX, 64)), "serpapi api_key: §", env="SERPAPI_API_KEY"),
    # Cloud and infrastructure
    Shape("aws-access-key-id", fmt("AKIA", (UPNUM, 16)), env="AWS_ACCESS_KEY_ID"),
    Shape("aws-sts-key-id", fmt("ASIA", (UPNUM, 16))),
    Shape("aws-secret-access-key", fmt((B64, 40)), "aws_secret_access_key = §", env="AWS_SECRET_ACCESS_KEY"),
    Shape("aws-session-token", fmt("IQoJb3JpZ2luX2Vj", (B64, 300), "="), env="AWS_SESSION_TOKEN"),
    Shape("aws-session-token-legacy", fmt("FwoGZXIvYXdz", (B64, 280)), env="AWS_SECURITY_TOKEN"),
    Shape("aws-bedrock", fmt("ABSK", (B64, 132)), env="AWS_BEARER_TOKEN_BEDROCK"),
    Shape(
        "azure-storage-key",
        fmt((B64, 86), "=="),
        "DefaultEndpointsProtocol=https;AccountName=acct;AccountKey=§;EndpointSuffix=core.windows.net",
        env="AZURE_STORAGE_KEY",
    ),
    Shape("azure-cosmos-key", fmt((B64, 86), "=="), "AccountEndpoint=https://x.documents.azure.com:443/;AccountKey=§;"),
    Shape(
        "azure-ad-client-secret", fmt((ALNUM, 3), (DIGITS, 1), "Q~", (URLSAFE + "~.", 34)), env="AZURE_CLIENT_SECRET"
    ),
    Shape(
        "azure-sas",
        fmt((B64, 43), "%3D"),
        "https://acct.blob.core.windows.net/c/b.txt?sv=2022-11-02&sr=b&sig=§",
        env="AZURE_SAS",
    ),
    Shape(
        "azure-devops-pat", fmt((string.ascii_lowercase + "234567", 52)), "AZURE_DEVOPS_PAT=§", env="AZURE_DEVOPS_PAT"
    ),
    Shape("alibaba-key-id", fmt("LTAI", (ALNUM, 20))),
    Shape(
        "alibaba-secret", fmt((ALNUM, 30)), "ALIBABA_CLOUD_ACCESS_KEY_SECRET=§", env="ALIBABA_CLOUD_ACCESS_KEY_SECRET"
    ),
    Shape("yandex", fmt("AQVN", (URLSAFE, 36))),
    Shape("digitalocean-pat", fmt("dop_v1_", (HEX, 64)), env="DIGITALOCEAN_TOKEN"),
    Shape("digitalocean-oauth", fmt("doo_v1_", (HEX, 64))),
    Shape("databricks", fmt("dapi", (HEX, 32)), env="DATABRICKS_TOKEN"),
    Shape("heroku-v2", fmt("HRKU-AA", (URLSAFE, 58)), env="HEROKU_API_KEY"),
    Shape("heroku-legacy", uuid4, "HEROKU_API_KEY=§", env="HEROKU_API_KEY"),
    Shape("cloudflare-token", fmt((URLSAFE, 40)), "CLOUDFLARE_API_TOKEN=§", env="CLOUDFLARE_API_TOKEN"),
    Shape("cloudflare-global-key", fmt((HEX, 37)), "cloudflare_api_key: §", env="CF_API_KEY"),
    Shape("cloudflare-origin-ca", fmt("v1.0-", (HEX, 24), "-", (HEX, 146)), env="CF_ORIGIN_CA_KEY"),
    Shape("vault-service", fmt("hvs.", (URLSAFE, 90)), env="VAULT_TOKEN"),
    Shape("vault-batch", fmt("hvb.", (URLSAFE, 138))),
    Shape("vault-legacy", fmt("s.", (ALNUM, 24)), "VAULT_TOKEN=§", env="VAULT_TOKEN"),
    Shape("terraform-cloud", fmt((LOWNUM, 14), ".atlasv1.", (LOWNUM, 67)), env="TFE_TOKEN"),
    Shape("doppler-service", fmt("dp.st.dev.", (ALNUM, 43)), env="DOPPLER_TOKEN"),
    Shape("doppler-personal", fmt("dp.pt.", (ALNUM, 43))),
    Shape("pulumi", fmt("pul-", (HEX, 40)), env="PULUMI_ACCESS_TOKEN"),
    Shape("planetscale", fmt("pscale_tkn_", (URLSAFE, 43)), env="PLANETSCALE_SERVICE_TOKEN"),
    Shape("supabase-pat", fmt("sbp_", (HEX, 40)), env="SUPABASE_ACCESS_TOKEN"),
    Shape("supabase-secret", fmt("sb_secret_", (URLSAFE, 31))),
    Shape("flyio", fmt("fo1_", (URLSAFE, 43)), env="FLY_API_TOKEN"),
    Shape("render", fmt("rnd_", (ALNUM, 32)), env="RENDER_API_KEY"),
    Shape("netlify", fmt("nfp_", (ALNUM, 36)), env="NETLIFY_AUTH_TOKEN"),
    Shape("tailscale", fmt("tskey-auth-", (ALNUM, 17), "-", (ALNUM, 33)), env="TS_AUTHKEY"),
    Shape("dynatrace", fmt("dt0c01.", (UPNUM, 24), ".", (UPNUM, 64)), env="DT_API_TOKEN"),
    Shape("newrelic-user", fmt("NRAK-", (UPNUM, 27)), env="NEW_RELIC_API_KEY"),
    Shape("newrelic-browser", fmt("NRJS-", (HEX, 19))),
    Shape("newrelic-license", fmt((HEX, 36), "NRAL"), env="NEW_RELIC_LICENSE_KEY"),
    Shape("newrelic-insert", fmt("NRII-", (URLSAFE, 32))),
    Shape("grafana-service-account", fmt("glsa_", (ALNUM, 32), "_", (HEX, 8)), env="GRAFANA_SERVICE_ACCOUNT_TOKEN"),
    Shape("grafana-cloud", fmt("glc_", (ALNUM, 96), "=="), env="GRAFANA_CLOUD_TOKEN"),
    Shape("grafana-api-key", fmt("eyJrIjoi", (ALNUM, 80)), env="GRAFANA_API_KEY"),
    Shape(
        "sentry-dsn", fmt("https://", (HEX, 32), "@o", (DIGITS, 6), ".ingest.sentry.io/", (DIGITS, 7)), env="SENTRY_DSN"
    ),
    Shape("sentry-user-token", fmt("sntryu_", (HEX, 64)), env="SENTRY_AUTH_TOKEN"),
    Shape("sentry-org-token", fmt("sntrys_eyJ", (B64, 120))),
    Shape("datadog-api-key", fmt((HEX, 32)), "DD_API_KEY=§", env="DD_API_KEY"),
    Shape("datadog-app-key", fmt((HEX, 40)), "datadog app key: §", env="DD_APP_KEY"),
    Shape("octopus", fmt("API-", (UPNUM, 26)), env="OCTOPUS_API_KEY"),
    Shape("sonarqube", fmt("squ_", (HEX, 40)), env="SONAR_TOKEN"),
    Shape("buildkite", fmt("bkua_", (HEX, 40)), env="BUILDKITE_API_TOKEN"),
    Shape("infracost", fmt("ico-", (ALNUM, 32)), env="INFRACOST_API_KEY"),
    Shape("harness", fmt("pat.", (URLSAFE, 22), ".", (HEX, 24), ".", (ALNUM, 20)), env="HARNESS_API_KEY"),
    Shape("onepassword-service", fmt("ops_eyJ", (B64, 300)), env="OP_SERVICE_ACCOUNT_TOKEN"),
    Shape("openshift", fmt("sha256~", (URLSAFE, 43))),
    Shape("circleci", fmt((HEX, 40)), "CIRCLE_TOKEN=§", env="CIRCLE_TOKEN"),
    Shape("travis", fmt((ALNUM, 22)), "TRAVIS_TOKEN: §", env="TRAVIS_TOKEN"),
    Shape("snyk", uuid4, "SNYK_TOKEN=§", env="SNYK_TOKEN"),
    Shape("okta", fmt("00", (URLSAFE, 40)), "OKTA_API_TOKEN=§", env="OKTA_API_TOKEN"),
    Shape("okta-ssws", fmt("00", (URLSAFE, 40)), "Authorization: SSWS §"),
    Shape("auth0-client-secret", fmt((URLSAFE, 64)), "AUTH0_CLIENT_SECRET=§", env="AUTH0_CLIENT_SECRET"),
    Shape("launchdarkly", with_uuid("sdk-"), "LAUNCHDARKLY_SDK_KEY=§", env="LAUNCHDARKLY_SDK_KEY"),
    Shape("algolia-admin", fmt((HEX, 32)), "ALGOLIA_ADMIN_KEY=§", env="ALGOLIA_ADMIN_KEY"),
    Shape("fastly", fmt((URLSAFE, 32)), "FASTLY_API_TOKEN=§", env="FASTLY_API_TOKEN"),
    # Source hosting and package registries
    Shape("github-classic", fmt("ghp_", (ALNUM, 36)), env="GITHUB_TOKEN"),
    Shape("github-oauth", fmt("gho_", (ALNUM, 36))),
    Shape("github-user-to-server", fmt("ghu_", (ALNUM, 36))),
    Shape("github-server-to-server", fmt("ghs_", (ALNUM, 36))),
    Shape("github-refresh", fmt("ghr_", (ALNUM, 76))),
    Shape("github-fine-grained", fmt("github_pat_11", (UPNUM, 20), "_", (ALNUM, 59)), env="GH_TOKEN"),
    Shape("gitlab-pat", fmt("glpat-", (URLSAFE, 20)), env="GITLAB_TOKEN"),
    Shape("gitlab-runner", fmt("glrt-t1_", (URLSAFE, 20)), env="CI_RUNNER_TOKEN"),
    Shape("gitlab-deploy", fmt("gldt-", (URLSAFE, 20)), env="CI_DEPLOY_PASSWORD"),
    Shape("gitlab-pipeline-trigger", fmt("glptt-", (HEX, 40))),
    Shape("gitlab-ci-build", fmt("glcbt-64_", (URLSAFE, 20))),
    Shape("gitlab-feed", fmt("glft-", (URLSAFE, 20))),
    Shape("gitlab-oauth-secret", fmt("gloas-", (HEX, 64))),
    Shape("gitlab-runner-registration", fmt("GR1348941", (URLSAFE, 20))),
    Shape("gitlab-incoming-mail", fmt("glimt-", (ALNUM, 25))),
    Shape("gitlab-agent", fmt("glagent-", (URLSAFE, 50))),
    Shape("bitbucket-app-password", fmt("ATBB", (ALNUM, 32)), env="BITBUCKET_APP_PASSWORD"),
    Shape("atlassian-api-token", fmt("ATATT3xFfGF0", (URLSAFE, 170), "=", (UPHEX, 8)), env="ATLASSIAN_API_TOKEN"),
    Shape("jira-legacy", fmt((ALNUM, 24)), "JIRA_API_TOKEN=§", env="JIRA_API_TOKEN"),
    Shape("npm", fmt("npm_", (ALNUM, 36)), env="NPM_TOKEN"),
    Shape("pypi", fmt("pypi-AgEIcHlwaS5vcmc", (URLSAFE, 70)), env="PYPI_TOKEN"),
    Shape("rubygems", fmt("rubygems_", (HEX, 48)), env="GEM_HOST_API_KEY"),
    Shape("nuget", fmt("oy2", (LOWNUM, 43)), env="NUGET_API_KEY"),
    Shape("clojars", fmt("CLOJARS_", (LOWNUM, 60))),
    Shape("docker-hub", fmt("dckr_pat_", (URLSAFE, 27)), env="DOCKERHUB_TOKEN"),
    Shape("jfrog", fmt("AKCp", (ALNUM, 69)), env="JFROG_API_KEY"),
    Shape("packagist", fmt("packagist_uut_", (HEX, 68))),
    Shape("readme", fmt("rdme_", (LOWNUM, 70)), env="README_API_KEY"),
    Shape("prefect", fmt("pnu_", (ALNUM, 36)), env="PREFECT_API_KEY"),
    # Messaging and collaboration
    Shape("slack-bot", fmt("xoxb-", (DIGITS, 13), "-", (DIGITS, 13), "-", (ALNUM, 24)), env="SLACK_BOT_TOKEN"),
    Shape("slack-user", fmt("xoxp-", (DIGITS, 13), "-", (DIGITS, 13), "-", (DIGITS, 13), "-", (HEX, 32))),
    Shape("slack-app", fmt("xapp-1-", (UPNUM, 11), "-", (DIGITS, 13), "-", (HEX, 64)), env="SLACK_APP_TOKEN"),
    Shape("slack-config-refresh", fmt("xoxe.xoxp-1-", (ALNUM, 146))),
    Shape(
        "slack-webhook",
        fmt("https://hooks.slack.com/services/T", (UPNUM, 8), "/B", (UPNUM, 8), "/", (ALNUM, 24)),
        env="SLACK_WEBHOOK_URL",
    ),
    Shape("slack-workflow", fmt("https://hooks.slack.com/workflows/T", (UPNUM, 8), "/A", (UPNUM, 8), "/", (ALNUM, 24))),
    Shape("discord-bot", fmt("M", (ALNUM, 23), ".", (URLSAFE, 6), ".", (URLSAFE, 27)), env="DISCORD_BOT_TOKEN"),
    Shape(
        "discord-webhook",
        fmt("https://discord.com/api/webhooks/", (DIGITS, 18), "/", (URLSAFE, 68)),
        env="DISCORD_WEBHOOK",
    ),
    Shape(
        "teams-webhook",
        lambda rng: f"webhook.office.com/webhookb2/{uuid4(rng)}@{uuid4(rng)}/IncomingWebhook/{fmt((HEX, 32))(rng)}",
        "https://acme.§",
    ),
    Shape("telegram-bot", fmt((DIGITS, 10), ":AA", (URLSAFE, 33)), env="TELEGRAM_BOT_TOKEN"),
    Shape("twilio-api-key", fmt("SK", (HEX, 32)), env="TWILIO_API_KEY"),
    Shape("twilio-auth-token", fmt((HEX, 32)), "TWILIO_AUTH_TOKEN=§", env="TWILIO_AUTH_TOKEN"),
    Shape("twilio-auth-prose", fmt((HEX, 32)), "twilio auth token: §"),
    Shape("sendgrid", fmt("SG.", (URLSAFE, 22), ".", (URLSAFE, 43)), env="SENDGRID_API_KEY"),
    Shape("brevo", fmt("xkeysib-", (HEX, 64), "-", (ALNUM, 16)), env="BREVO_API_KEY"),
    Shape("mailgun", fmt("key-", (HEX, 32)), env="MAILGUN_API_KEY"),
    Shape(
        "mailgun-signing-key",
        fmt((HEX, 32), "-", (HEX, 8), "-", (HEX, 8)),
        "MAILGUN_WEBHOOK_SIGNING_KEY=§",
        env="MAILGUN_WEBHOOK_SIGNING_KEY",
    ),
    Shape("mailchimp", fmt((HEX, 32), "-us", (DIGITS, 2)), env="MAILCHIMP_API_KEY"),
    Shape("linear", fmt("lin_api_", (ALNUM, 40)), env="LINEAR_API_KEY"),
    Shape("notion", fmt("ntn_", (DIGITS, 11), (ALNUM, 35)), env="NOTION_TOKEN"),
    Shape("notion-legacy", fmt("secret_", (ALNUM, 43))),
    Shape("postman", fmt("PMAK-", (HEX, 24), "-", (HEX, 34)), env="POSTMAN_API_KEY"),
    Shape("airtable", fmt("pat", (ALNUM, 14), ".", (HEX, 64)), env="AIRTABLE_API_KEY"),
    Shape("contentful", fmt("CFPAT-", (URLSAFE, 43)), env="CONTENTFUL_MANAGEMENT_TOKEN"),
    Shape("typeform", fmt("tfp_", (URLSAFE, 59)), env="TYPEFORM_TOKEN"),
    Shape("frameio", fmt("fio-u-", (URLSAFE, 64))),
    Shape("hubspot", with_uuid("pat-na1-"), env="HUBSPOT_ACCESS_TOKEN"),
    Shape("segment", fmt("sgp_", (ALNUM, 64))),
    Shape("adafruit", fmt("aio_", (ALNUM, 28)), env="ADAFRUIT_IO_KEY"),
    Shape("dropbox", fmt("sl.", (URLSAFE, 140)), env="DROPBOX_ACCESS_TOKEN"),
    Shape("twitter-bearer", fmt("AAAAAAAAAAAAAAAAAAAAA", (ALNUM, 80)), env="TWITTER_BEARER_TOKEN"),
    Shape("facebook", fmt("EAAG", (ALNUM, 150)), env="FACEBOOK_ACCESS_TOKEN"),
    Shape("mapbox-secret", fmt("sk.eyJ", (URLSAFE, 60), ".", (URLSAFE, 22)), env="MAPBOX_SECRET_TOKEN"),
    Shape("zendesk", fmt((ALNUM, 40)), "ZENDESK_API_TOKEN=§", env="ZENDESK_API_TOKEN"),
    Shape("intercom", fmt((B64, 60), "="), "INTERCOM_ACCESS_TOKEN=§", env="INTERCOM_ACCESS_TOKEN"),
    Shape("asana", fmt("2/", (DIGITS, 16), "/", (DIGITS, 16), ":", (HEX, 32)), "ASANA_ACCESS_TOKEN=§"),
    Shape("pagerduty", fmt("u+", (URLSAFE, 18)), "PAGERDUTY_API_KEY=§", env="PAGERDUTY_API_KEY"),
    # Payments
    Shape("stripe-live", fmt("sk_live_51", (ALNUM, 97)), env="STRIPE_SECRET_KEY"),
    Shape("stripe-test", fmt("sk_test_51", (ALNUM, 97))),
    Shape("stripe-restricted", fmt("rk_live_51", (ALNUM, 97))),
    Shape("stripe-webhook", fmt("whsec_", (ALNUM, 32)), env="STRIPE_WEBHOOK_SECRET"),
    Shape("square-access", fmt("EAAA", (URLSAFE, 60)), env="SQUARE_ACCESS_TOKEN"),
    Shape("square-oauth-secret", fmt("sq0csp-", (URLSAFE, 43))),
    Shape("braintree", fmt("access_token$production$", (LOWNUM, 16), "$", (HEX, 32)), env="BRAINTREE_ACCESS_TOKEN"),
    Shape("shopify-admin", fmt("shpat_", (HEX, 32)), env="SHOPIFY_ACCESS_TOKEN"),
    Shape("shopify-shared-secret", fmt("shpss_", (HEX, 32))),
    Shape("plaid", with_uuid("access-production-"), env="PLAID_ACCESS_TOKEN"),
    Shape("duffel", fmt("duffel_live_", (URLSAFE, 43))),
    Shape("easypost", fmt("EZAK", (ALNUM, 54)), env="EASYPOST_API_KEY"),
    Shape("flutterwave", fmt("FLWSECK_TEST-", ("abcdefgh0123456789", 32), "-X")),
    Shape("shippo", fmt("shippo_live_", (HEX, 40)), env="SHIPPO_API_TOKEN"),
    Shape("paypal-client-secret", fmt((URLSAFE, 80)), "PAYPAL_CLIENT_SECRET=§", env="PAYPAL_CLIENT_SECRET"),
    # Generic formats: keys, URLs, headers, configuration
    Shape(
        "jwt",
        fmt("eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJ", (URLSAFE, 60), ".", (URLSAFE, 43)),
        env="JWT_TOKEN",
    ),
    Shape("pem-rsa", fmt("MIIEow", (B64, 64), "\n", (B64, 64)), PEM.format("RSA PRIVATE KEY")),
    Shape("pem-pkcs8", fmt("MIIEvQ", (B64, 64), "\n", (B64, 40)), PEM.format("PRIVATE KEY")),
    Shape("pem-ec", fmt("MHcCAQEE", (B64, 60)), PEM.format("EC PRIVATE KEY")),
    Shape("pem-openssh", fmt("b3BlbnNzaC1rZXktdjEAAAAA", (B64, 60)), PEM.format("OPENSSH PRIVATE KEY")),
    Shape(
        "pem-pgp",
        fmt("lQOYBF", (B64, 60)),
        "-----BEGIN PGP PRIVATE KEY BLOCK-----\n\n§\n-----END PGP PRIVATE KEY BLOCK-----",
    ),
    Shape("putty", fmt("AAAAI", (B64, 59)), PPK),
    Shape("age", fmt("AGE-SECRET-KEY-1", (UPNUM, 58))),
    Shape(
        "url-postgres-slash",
        fmt((ALNUM, 8), "/", (ALNUM, 8)),
        "postgres://app:§@db.internal:5432/app",
        env="DATABASE_URL",
    ),
    Shape("url-mysql", fmt((ALNUM, 16)), "mysql://root:§@10.0.0.5/shop", env="MYSQL_URL"),
    Shape("url-redis", fmt((ALNUM, 16)), "redis://:§@cache.local:6379/0", env="REDIS_URL"),
    Shape("url-mongodb-srv", fmt((ALNUM, 16)), "mongodb+srv://app:§@cluster0.ab1cd.mongodb.net/db", env="MONGODB_URI"),
    Shape("url-amqp", fmt((ALNUM, 16)), "amqp://guest:§@rabbit:5672/", env="CELERY_BROKER_URL"),
    Shape("url-https-basic", fmt((ALNUM, 14)), "https://deploy:§@git.example.com/repo.git"),
    Shape("netrc", fmt((ALNUM, 16)), "machine api.example.com login bob password §"),
    Shape("netrc-multiline", fmt((ALNUM, 16)), "machine api.example.com\n  login bob\n  password §\n"),
    Shape("password-kv", fmt((ALNUM, 12), "!"), "password=§", env="PASSWORD"),
    Shape("env-db-password", fmt((ALNUM, 14)), "DB_PASSWORD=§", env="DB_PASSWORD"),
    Shape("client-secret-colon", fmt((HEX, 20)), "client_secret: §", env="CLIENT_SECRET"),
    Shape("json-password", words, '{"user": "bob", "password": "§"}'),
    Shape("repr-token", fmt("at-", (ALNUM, 14)), "{'access_token': '§', 'expires_in': 3600}"),
    Shape("cookie-header", fmt((HEX, 32)), "Cookie: sessionid=§; csrftoken=abc", env="COOKIE"),
    Shape("authorization-token", fmt((HEX, 40)), "Authorization: Token §"),
    Shape("bearer", fmt((URLSAFE, 32)), "Bearer §"),
    Shape("basic-auth", basic, "Basic §"),
    Shape(
        "s3-presigned",
        fmt((HEX, 64)),
        "https://bucket.s3.amazonaws.com/r.csv?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Signature=§",
    ),
    Shape("cli-password", fmt((ALNUM, 12)), "mysql -u root --password § shop"),
    Shape("cli-api-key", fmt((ALNUM, 24)), "tool --api-key=§ --verbose"),
    Shape("docker-config-auth", basic, '{"auths": {"ghcr.io": {"auth": "§"}}}'),
    Shape("x-api-key-header", fmt((ALNUM, 32)), "X-API-Key: §"),
    Shape("private-token-header", fmt((URLSAFE, 24)), "PRIVATE-TOKEN: §"),
    Shape("django-secret-key", fmt((ALNUM + "!@#$%^&*(-_=+)", 50)), "SECRET_KEY = '§'", env="DJANGO_SECRET_KEY"),
    Shape("rails-secret-key-base", fmt((HEX, 128)), "SECRET_KEY_BASE=§", env="SECRET_KEY_BASE"),
    Shape("jdbc-password", fmt((ALNUM, 16)), "jdbc:postgresql://db:5432/app?user=app&password=§"),
    Shape("webhook-signature", fmt((HEX, 64)), "X-Hub-Signature-256: sha256=§"),
)
IDS = [shape.name for shape in SHAPES]
WINDOW = 10  # any 10 consecutive characters of a secret showing up counts as a leak
PLANTS = ("free text", "innocuous key", "failed step error", "dict key", "env-var key")


def windows(secret: str) -> set[str]:
    if len(secret) <= WINDOW:
        return {secret}
    return {secret[i : i + WINDOW] for i in range(len(secret) - WINDOW + 1)}


def leaked(text: str, *secrets: str) -> bool:
    return any(w in text for secret in secrets for w in windows(secret))


def strings(data: Any) -> Iterator[str]:
    """Every key and string of parsed JSON: a secret's newlines are escaped in the text."""
    if isinstance(data, dict):
        for key, value in data.items():
            yield key
            yield from strings(value)
    elif isinstance(data, list):
        for item in data:
            yield from strings(item)
    elif isinstance(data, str):
        yield data


def plant(where: str, shape: Shape, variant: int = 0) -> Step:
    text = shape.planted(variant)
    if where == "free text":
        return Step(step_id="chat", output={"message": f"user asked to use {text} for the call, retrying later"})
    if where == "innocuous key":
        return Step(step_id="call", input={"request": {"note": text, "n": 1}})
    if where == "failed step error":
        code = 401 + variant
        return Step(
            step_id="fetch", status=StepStatus.FAILED, failure_class="RuntimeError", error=f"({code}) rejected {text}"
        )
    if where == "dict key":
        return Step(step_id="index", output={text: 1})
    return Step(step_id="env", attributes={"env": {shape.env_name: text}})


def leaks_of(shape: Shape, where: str) -> list[str]:
    """Where the shape's secret shows: the golden, the diff's renderings."""
    first, second = shape.secret(0), shape.secret(1)
    expected = Trace(steps=[plant(where, shape, 0)])
    actual = Trace(steps=[plant(where, shape, 1), Step(step_id="notify", output={"sent": True})])
    golden = expected.normalized().to_json()
    diff = expected.diff(actual)
    outputs = {
        "golden": golden + "\n".join(strings(json.loads(golden))),
        "render()": diff.render(),
        "render(verbose=True)": diff.render(verbose=True),
    }
    return [name for name, text in outputs.items() if leaked(text, first, second)]


def test_the_corpus_is_large_and_its_shapes_distinct() -> None:
    assert len(SHAPES) >= 150
    assert len(set(IDS)) == len(SHAPES)
    secrets = [shape.secret() for shape in SHAPES]
    assert len(set(secrets)) == len(secrets)
    assert all(shape.secret(0) != shape.secret(1) for shape in SHAPES)
    assert all(shape.secret(0) == shape.secret(0) for shape in SHAPES), "deterministic"


@pytest.mark.parametrize("shape", SHAPES, ids=IDS)
def test_no_shape_leaks_from_any_plant(shape: Shape) -> None:
    found = {where: leaks for where in PLANTS if (leaks := leaks_of(shape, where))}
    assert found == {}


@pytest.mark.parametrize("shape", [s for s in SHAPES if s.template == "§"], ids=lambda s: s.name)
def test_token_shapes_are_named_by_their_placeholder(shape: Shape) -> None:
    """A bare token is told by its format: its placeholder names the kind (``<redacted:github-token>``)."""
    assert re.fullmatch(r"<redacted:[a-z0-9-]+>", redact_text(shape.secret())), shape.name


# -- ordinary values -------------------------------------------------------------------

OPENAI_TOOL = {
    "type": "function",
    "function": {
        "name": "fetch_weather",
        "description": "Weather for a city; needs the caller's key.",
        "parameters": {
            "type": "object",
            "properties": {
                "city": {"type": "string"},
                "api_key": {"type": "string", "description": "Key for the weather API"},
                "password": {"anyOf": [{"type": "string"}, {"type": "null"}], "default": None},
                "token": {"type": "integer", "description": "a token id"},
            },
            "required": ["city", "api_key"],
            "additionalProperties": False,
        },
        "strict": True,
    },
}
PYDANTIC_AI_TOOL = {
    "name": "login",
    "description": "Log a user in.",
    "parameters_json_schema": {
        "additionalProperties": False,
        "properties": {
            "username": {"type": "string"},
            "password": {"format": "password", "type": "string", "writeOnly": True},
            "api_key": {"$ref": "#/$defs/SecretKey"},
        },
        "required": ["username", "password"],
        "type": "object",
    },
    "outer_typed_dict_key": None,
    "strict": None,
    "kind": "function",
}
HAYSTACK_TOOL = {
    "type": "haystack.tools.tool.Tool",
    "data": {
        "name": "search",
        "description": "Search the docs.",
        "parameters": {
            "type": "object",
            "properties": {"query": {"type": "string"}, "token": {"type": "string", "description": "auth token"}},
            "required": ["query"],
        },
        "function": "docs.search",
    },
}
TOOLS = (OPENAI_TOOL, PYDANTIC_AI_TOOL, HAYSTACK_TOOL)

ORDINARY_FIELDS: dict[str, Any] = {
    "secretary": "Ms. Jones",
    "secret_count": 3,
    "token": 464,
    "eos_token": "</s>",
    "pad_token": "<pad>",
    "bos_token": "<s>",
    "auth": "oauth2",
    "signature": "def f(x: int) -> str",
    "credential_type": "service_account",
    "password_policy": {"min_length": 12, "require_digit": True},
    "password_reset_sent_at": "yesterday",
    "PWD": "/home/bob/project",
    "max_tokens": 100,
    "total_tokens": 1532,
    "tokenizer": "cl100k_base",
    "token_type": "Bearer",
    "primary_key": "id",
    "cache_key": "user:123:profile",
    "keyword": "shoes",
    "password_set": True,
    "api_key": None,
    "secret": "",
    "logprobs": [{"token": " the", "logprob": -0.01, "bytes": [32, 116, 104, 101]}],
    "token_ids": [464, 2068, 7586],
    "key": "name",
    "auth_type": "bearer",
    "authorization_url": "https://accounts.example.com/o/oauth2/auth",
    "token_url": "https://oauth2.example.com/token",
    "credentials_file": "/etc/app/creds.json",
    "secret_name": "prod-db-password",
    "commit": "9fceb02d0ae598e95dc970b74767f19372d61af8",
    "digest": "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
    "request_id": "123e4567-e89b-12d3-a456-426614174000",
    "model": "gpt-4o-mini-2024-07-18",
    "tools": list(TOOLS),
}
ORDINARY_TEXTS: tuple[str, ...] = (
    "Invalid password: must be at least 12 chars",
    "token: expired",
    "Authorization: required for this endpoint",
    '{"token": 464}',
    *(json.dumps(tool) for tool in TOOLS),
    *(json.dumps(json.dumps(tool)) for tool in TOOLS),  # a tool schema inside a JSON string
    "max_tokens=100, total_tokens: 42, max_token=7",
    "Basic authentication is enabled",
    "the key: value pair",
    "a 'token' is a unit of text",
    "https://example.com/docs?page=2&lang=en",
    "git@github.com:org/repo.git",
    "see -----BEGIN CERTIFICATE----- below",
    "task-1234567890abcdefghij and chunk_1234567890abcdefgh",
    "Password reset email sent to bob@example.com",
    "secret: the meaning of life",
    "Please enter your API key: it starts with sk-",
    "commit 9fceb02d0ae598e95dc970b74767f19372d61af8 fixed it",
    "image sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
    "https://host:8080/docs/user@example.com",
    "The signature: def f(x: int) -> str",
    "auth: oauth2 via Google",
    "token count: 1532",
    "session_id: 42",
    "Use --password-file /etc/pw to pass it",
    "ChatOpenAI(model='gpt-4o', api_key=None, temperature=0)",
    "ChatOpenAI(api_key=SecretStr('**********'))",
    "password: ********",
    "run 123e4567-e89b-12d3-a456-426614174000 finished",
    "the tokenizer splits internationalization into 3 tokens",
    "Authorization header missing",
    "secretary: Ms. Jones",
)


def test_the_ordinary_list_is_large() -> None:
    assert len(ORDINARY_FIELDS) + len(ORDINARY_TEXTS) >= 40


def _both_ways(step: Step) -> tuple[Step, Step]:
    trace = Trace(steps=[step])
    return trace.normalized().steps[0], trace.normalized(NormalizeOptions(default_redaction=False)).steps[0]


@pytest.mark.parametrize("key", list(ORDINARY_FIELDS))
def test_ordinary_fields_are_not_changed(key: str) -> None:
    on, off = _both_ways(Step(step_id="a", input={key: ORDINARY_FIELDS[key]}))
    assert on.input == off.input


@pytest.mark.parametrize("text", ORDINARY_TEXTS)
def test_ordinary_texts_are_not_changed(text: str) -> None:
    on, off = _both_ways(Step(step_id="a", output=text, error=text))
    assert (on.output, on.error) == (off.output, off.error)


@pytest.mark.parametrize("tool", TOOLS, ids=["openai", "pydantic-ai", "haystack"])
def test_tool_schemas_as_json_text_stay_valid_and_unchanged(tool: dict[str, Any]) -> None:
    text = json.dumps(tool, indent=2)
    escaped = json.dumps({"tools": text})
    step = Trace(steps=[Step(step_id="llm", input={"tools": text, "raw": escaped})]).normalized().steps[0]
    assert json.loads(step.input["tools"]) == tool
    assert json.loads(json.loads(step.input["raw"])["tools"]) == tool


# -- linear time -----------------------------------------------------------------------

SIZE = 100_000


@contextmanager
def deadline(seconds: int) -> Iterator[None]:
    """Fail, not hang, when a match runs away (the regex engine checks signals)."""

    def expire(signum: int, frame: object) -> None:
        raise TimeoutError(f"no result within {seconds} s")

    previous = signal.signal(signal.SIGALRM, expire)
    signal.alarm(seconds)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)


def _sample(items: Any) -> str:
    """The shortest text the parsed regex ``items`` matches, about (lookarounds skipped)."""
    out = []
    for op, arg in items:
        if op == sre_constants.LITERAL:
            out.append(chr(arg))
        elif op == sre_constants.IN:
            kinds = dict((k, v) for k, v in arg if k != sre_constants.NEGATE)
            if any(k == sre_constants.NEGATE for k, _ in arg):
                out.append("a")
            elif sre_constants.LITERAL in kinds:
                out.append(chr(kinds[sre_constants.LITERAL]))
            elif sre_constants.RANGE in kinds:
                out.append(chr(kinds[sre_constants.RANGE][0]))
            else:
                out.append("a")
        elif op == sre_constants.ANY:
            out.append("a")
        elif op in (sre_constants.MAX_REPEAT, sre_constants.MIN_REPEAT):
            low, _, body = arg
            out.append(_sample(body) * max(low, 1))
        elif op == sre_constants.SUBPATTERN:
            out.append(_sample(arg[-1]))
        elif op == sre_constants.BRANCH:
            out.append(_sample(arg[1][0]))
        elif op == sre_constants.GROUPREF_EXISTS:
            out.append(_sample(arg[1]))
    return "".join(out)


def _branches(regex: str) -> list[str]:
    """A sample of each top-level alternative of ``regex``."""
    parsed: Any = sre_parse.parse(regex)
    if len(parsed) == 1 and parsed[0][0] == sre_constants.BRANCH:
        return [_sample(branch) for branch in parsed[0][1][1]]
    return [_sample(parsed)]


def adversarial(sample: str) -> list[str]:
    """100 KB texts that almost match, over and over: what makes backtracking quadratic."""
    head, tail = sample[: max(1, len(sample) // 2)], sample[-1:] or "a"
    return [
        sample * (SIZE // max(1, len(sample))),
        sample[:-1] * (SIZE // max(1, len(sample) - 1)),
        head * (SIZE // len(head)),
        head + tail * SIZE,
        (sample + " ") * (SIZE // (len(sample) + 1)),
    ]


GENERIC_INPUTS = (
    "sk-" * 34_000,
    *(c * SIZE for c in "a0A-_=:./\\\"' \n<@$~%"),
    "a1" * (SIZE // 2),
    "password=" * (SIZE // 9),
    "password: " * (SIZE // 10),
    '"password": "' * (SIZE // 13),
    'x\\"password\\": \\"' * (SIZE // 17),
    "a://a:" * (SIZE // 6),
    "https://" + "a" * SIZE,
    "Bearer " * (SIZE // 7),
    "Bearer " + "a1" * SIZE,
    "--password " * (SIZE // 11),
    "?token=" * (SIZE // 7),
    "login a password " * (SIZE // 17),
    "-----BEGIN PRIVATE KEY-----" * (SIZE // 27),
    "Private-Lines: 1\n" * (SIZE // 17),
    "Authorization: " * (SIZE // 15),
    "Cookie: a" * (SIZE // 9),
    "token" * (SIZE // 5),
    "api_key_" * (SIZE // 8),
)


@pytest.mark.skipif(not hasattr(signal, "SIGALRM"), reason="needs SIGALRM")
@pytest.mark.parametrize(("name", "regex"), [(n, rx) for n, rx, _ in rules.TOKEN_RULES], ids=lambda v: str(v)[:30])
def test_each_token_rule_is_linear_on_adversarial_input(name: str, regex: str) -> None:
    for sample in _branches(regex):
        for text in adversarial(sample):
            with deadline(10):
                redact_text(text)


@pytest.mark.skipif(not hasattr(signal, "SIGALRM"), reason="needs SIGALRM")
@pytest.mark.parametrize("index", range(len(GENERIC_INPUTS)))
def test_every_rule_is_linear_on_adversarial_input(index: int) -> None:
    options = NormalizeOptions()
    with deadline(10):
        options.mask(GENERIC_INPUTS[index])


def _repeats(items: Any, inside: bool = False) -> Iterator[tuple[int, int, bool]]:
    """``(min, max, nested)`` of every repeat of a parsed regex."""
    for op, arg in items:
        if op in (sre_constants.MAX_REPEAT, sre_constants.MIN_REPEAT, getattr(sre_constants, "POSSESSIVE_REPEAT", -1)):
            low, high, body = arg
            yield low, high, inside
            yield from _repeats(body, inside or high > 1)
        elif op == sre_constants.SUBPATTERN:
            yield from _repeats(arg[-1], inside)
        elif op == sre_constants.BRANCH:
            for branch in arg[1]:
                yield from _repeats(branch, inside)
        elif op in (sre_constants.ASSERT, sre_constants.ASSERT_NOT):
            yield from _repeats(arg[1], inside)
        elif op == sre_constants.GROUPREF_EXISTS:
            for part in arg[1:]:
                if part is not None:
                    yield from _repeats(part, inside)


# The private-key block's lazy "[\s\S]*?" may run to the end; it is followed by "...|\Z",
# so it never fails after scanning, and the block's start is a 10-character literal.
UNBOUNDED_ALLOWED = {r"[\s\S]*?"}


@pytest.mark.parametrize("regex", [*DEFAULT_SECRET_PATTERNS, *(rx for _, rx, _ in rules.TOKEN_RULES)])
def test_no_rule_nests_repeats_or_repeats_without_bound(regex: str) -> None:
    parsed = sre_parse.parse(regex)
    found = list(_repeats(parsed))
    assert not [r for r in found if r[2] and r[1] > 1], "a repeat inside a repeat"
    unbounded = [r for r in found if r[1] == sre_constants.MAXREPEAT]
    assert len(unbounded) <= sum(regex.count(u) for u in UNBOUNDED_ALLOWED)


SECRET_LABELS = (
    *("password", "db_password", "Passwd", "pwd", "passphrase", "secret", "client_secret", "SECRET_KEY"),
    *("token", "access_token", "refresh_token", "id_token", "authToken", "X-CSRF-Token", "api_key", "apiKey"),
    *("x-api-key", "Authorization", "Proxy-Authorization", "cookie", "Set-Cookie", "credentials", "privateKey"),
    *("session_id", "sessionId", "JSESSIONID", "signature", "X-Hub-Signature-256", "SECRET_KEY_BASE", "auth"),
    *("signature2", "api_key_2", "DATABASE_URL", "connection_string", "basic_auth", "GITHUB_PAT", "key"),
)
# Formats told by their value alone: their names say no more than "an id", "a bedrock".
NAMES_OF_FORMATS = {"AWS_ACCESS_KEY_ID", "AWS_BEARER_TOKEN_BEDROCK"}


@pytest.mark.parametrize("label", sorted({*SECRET_LABELS, *(s.env_name for s in SHAPES)} - NAMES_OF_FORMATS))
def test_every_secret_label_is_redacted(label: str) -> None:
    """As a key, and as a label in text, past the one search that skips most strings."""
    assert key_kind(label) != NONE
    for text in (f"{label}=Zx9Yw8Vu7Ts6", f"{label}: Zx9Yw8Vu7Ts6", f'{{"{label}": "Zx9Yw8Vu7Ts6"}}'):
        assert "Zx9Yw8" not in redact_text(text), text


@pytest.mark.parametrize("shape", SHAPES, ids=IDS)
def test_the_trigger_lets_every_shape_through(shape: Shape) -> None:
    for text in (shape.planted(), f"x {shape.planted()} y", f"({shape.planted()})"):
        assert redact_text(text) == every_rule(text) != text


def every_rule(text: str) -> str:
    """The default value rules applied without the search that usually gates them."""
    for sub, replace in default_rules():
        text = sub(replace, text)
    return text


def test_hashes_are_kept_and_uuids_are_left_to_the_maskers() -> None:
    """A git SHA or a digest is no secret; a UUID is masked as volatile, not redacted."""
    sha, uuid = "9fceb02d0ae598e95dc970b74767f19372d61af8", "123e4567-e89b-12d3-a456-426614174000"
    step = Trace(steps=[Step(step_id="a", input={"commit": sha, "token": sha, "run": f"run {uuid}"})]).normalized()
    assert step.steps[0].input == {"commit": sha, "run": "run <uuid>", "token": "<redacted>"}
