"""Secret rule data for ``redact.py``: provider token formats and the words of secret keys.

Plain data, written for this project. Each token family follows the published format in
a public rule set, named in its third field: ``gitleaks`` (the ``rule id`` in gitleaks'
default ``gitleaks.toml``), ``detect-secrets`` (a plugin of Yelp's detect-secrets 1.5) or
``github`` (a GitHub secret-scanning partner pattern). Formats that have no fixed prefix
(a Datadog key is 32 hex digits, a Mistral key 32 letters and digits) are left to the
labelled-value rule in ``redact.py``, as gitleaks leaves them to their keyword context.

Every regex is a literal prefix followed by bounded character-class repeats, never one
repeat inside another: ``tests/test_secret_corpus.py`` checks this on the parsed
patterns and feeds each rule 100 KB of adversarial input, so matching stays linear.
"""

from __future__ import annotations

_B64 = r"A-Za-z0-9+/"
_URLSAFE = r"A-Za-z0-9_-"

TOKEN_RULES: tuple[tuple[str, str, str], ...] = (
    # AI providers
    ("anthropic-key", r"sk-ant-(?:api|admin|sid|oat)\d\d-[A-Za-z0-9_-]{20,250}", "gitleaks: anthropic-api-key"),
    ("openrouter-key", r"sk-or-v1-[a-f0-9]{64}", "github: OpenRouter"),
    ("langfuse-key", r"sk-lf-[a-f0-9-]{36}", "github: Langfuse"),
    (
        "openai-key",
        r"sk-(?:proj-|svcacct-|admin-|None-)?(?=[A-Za-z0-9_-]{0,250}?\d)[A-Za-z0-9_-]{20,250}",
        "gitleaks: openai-api-key",
    ),
    ("elevenlabs-key", r"sk_[a-f0-9]{48}", "github: ElevenLabs"),
    ("xai-key", r"xai-[A-Za-z0-9]{70,90}", "gitleaks: xai-api-key"),
    ("perplexity-key", r"pplx-[A-Za-z0-9]{40,56}", "gitleaks: perplexity-api-key"),
    ("groq-key", r"gsk_[A-Za-z0-9]{48,56}", "github: Groq"),
    ("replicate-token", r"r8_[A-Za-z0-9]{37,40}", "github: Replicate"),
    ("huggingface-token", r"hf_[A-Za-z0-9]{30,40}", "gitleaks: huggingface-access-token"),
    ("huggingface-org-token", r"api_org_[A-Za-z0-9]{30,40}", "gitleaks: huggingface-organization-api-token"),
    ("langsmith-key", r"lsv2_(?:pt|sk)_[a-f0-9]{32}_[a-f0-9]{10}", "github: LangChain"),
    ("pinecone-key", r"pcsk_[A-Za-z0-9_]{40,110}", "github: Pinecone"),
    ("nvidia-key", r"nvapi-[A-Za-z0-9_-]{60,70}", "github: NVIDIA"),
    ("tavily-key", r"tvly-(?:dev-|prod-)?[A-Za-z0-9]{24,40}", "github: Tavily"),
    ("firecrawl-key", r"fc-[a-f0-9]{32}", "github: Firecrawl"),
    ("jina-key", r"jina_[A-Za-z0-9_-]{50,70}", "github: Jina AI"),
    ("cerebras-key", r"csk-[a-z0-9]{48}", "github: Cerebras"),
    ("fireworks-key", r"fw_[A-Za-z0-9]{24,32}", "github: Fireworks AI"),
    ("noukai-key", r"nk_(?:live_|test_)?(?=[A-Za-z0-9_-]{0,64}?\d)[A-Za-z0-9_-]{16,64}", "noukai SDK docs"),
    ("google-api-key", r"AIza[0-9A-Za-z_-]{35}", "gitleaks: gcp-api-key"),
    (
        "google-oauth",
        r"ya29\.[0-9A-Za-z_-]{20,2048}|GOCSPX-[0-9A-Za-z_-]{20,40}|1//0[0-9A-Za-z_-]{40,512}",
        "github: Google OAuth",
    ),
    # Cloud and infrastructure
    ("aws-key-id", r"(?:AKIA|ASIA|ABIA|ACCA|A3T[A-Z0-9])[A-Z0-9]{16}", "gitleaks: aws-access-token"),
    (
        "aws-session-token",
        r"(?:IQoJb3JpZ2luX2Vj|FwoGZXIvYXdz|FQoGZXIvYXdz)[A-Za-z0-9+/=]{60,4096}",
        "github: AWS temporary credentials",
    ),
    ("aws-bedrock-key", r"ABSK[A-Za-z0-9+/]{100,300}={0,2}", "github: Amazon Bedrock"),
    ("azure-ad-client-secret", r"[A-Za-z0-9_~.]{3}\dQ~[A-Za-z0-9_~.-]{31,34}", "gitleaks: azure-ad-client-secret"),
    ("alibaba-key-id", r"LTAI[A-Za-z0-9]{20}", "gitleaks: alibaba-access-key-id"),
    ("yandex-key", r"AQVN[A-Za-z0-9_-]{35,38}|YC[A-Za-z0-9_-]{38}", "gitleaks: yandex-api-key"),
    ("digitalocean-token", r"do[opr]_v1_[a-f0-9]{64}", "gitleaks: digitalocean-pat"),
    ("databricks-token", r"dapi[a-f0-9]{32}(?:-\d)?", "gitleaks: databricks-api-token"),
    ("heroku-key", r"HRKU-AA[A-Za-z0-9_-]{58}", "gitleaks: heroku-api-key-v2"),
    ("cloudflare-origin-ca-key", r"v1\.0-[a-f0-9]{24}-[a-f0-9]{146}", "gitleaks: cloudflare-origin-ca-key"),
    ("vault-token", r"hv[sbr]\.[A-Za-z0-9_-]{24,250}", "gitleaks: vault-service-token"),
    ("terraform-token", r"[a-z0-9]{14}\.atlasv1\.[a-z0-9_=-]{60,70}", "gitleaks: hashicorp-tf-api-token"),
    (
        "doppler-token",
        r"dp\.(?:pt|st|sa|ct|scim|audit)\.(?:[a-z0-9_-]{1,40}\.)?[A-Za-z0-9]{40,44}",
        "gitleaks: doppler-api-token",
    ),
    ("pulumi-token", r"pul-[a-f0-9]{40}", "gitleaks: pulumi-api-token"),
    ("planetscale-token", r"pscale_(?:tkn|oauth|pw)_[A-Za-z0-9=._-]{32,64}", "gitleaks: planetscale-api-token"),
    ("supabase-key", r"sbp_[a-f0-9]{40}|sb_secret_[A-Za-z0-9_-]{31,64}", "github: Supabase"),
    ("fly-token", r"fo1_[A-Za-z0-9_-]{43}|fm[12][ar]?_[A-Za-z0-9+/=_-]{100,1024}", "gitleaks: flyio-access-token"),
    ("render-key", r"rnd_[A-Za-z0-9]{32}", "github: Render"),
    ("netlify-token", r"nfp_[A-Za-z0-9]{36}", "github: Netlify"),
    ("tailscale-key", r"tskey-[a-z]{0,8}-?[A-Za-z0-9]{10,20}-[A-Za-z0-9]{20,40}", "github: Tailscale"),
    ("dynatrace-token", r"dt0c01\.[A-Z0-9]{24}\.[A-Z0-9]{64}", "gitleaks: dynatrace-api-token"),
    ("new-relic-key", r"NR(?:AK|JS|II|AA)-[A-Za-z0-9_-]{19,32}|[a-f0-9]{36}NRAL", "gitleaks: new-relic-user-api-key"),
    (
        "grafana-token",
        r"glsa_[A-Za-z0-9]{32}_[A-Fa-f0-9]{8}|glc_[A-Za-z0-9+/]{32,400}={0,2}|eyJrIjoi[A-Za-z0-9]{70,400}={0,2}",
        "gitleaks: grafana-service-account-token",
    ),
    ("sentry-token", r"sntry[us]_[A-Za-z0-9+/=_.-]{64,400}", "gitleaks: sentry-user-token"),
    ("sentry-dsn", r"https?://[a-f0-9]{32}@[a-z0-9.-]{0,64}sentry\.io/\d{1,20}", "github: Sentry DSN"),
    ("octopus-key", r"API-[A-Z0-9]{26}", "gitleaks: octopus-deploy-api-key"),
    ("sonar-token", r"sq[pua]_[a-f0-9]{40}", "gitleaks: sonar-api-token"),
    ("buildkite-token", r"bkua_[a-f0-9]{40}", "github: Buildkite"),
    ("infracost-key", r"ico-[A-Za-z0-9]{32}", "gitleaks: infracost-api-token"),
    ("harness-token", r"pat\.[A-Za-z0-9_-]{22}\.[a-f0-9]{24}\.[A-Za-z0-9]{20}", "gitleaks: harness-api-key"),
    ("onepassword-token", r"ops_eyJ[A-Za-z0-9+/=_-]{250,4096}", "gitleaks: 1password-service-account-token"),
    ("openshift-token", r"sha256~[A-Za-z0-9_-]{43}", "gitleaks: openshift-user-token"),
    # Source hosting and package registries
    ("github-token", r"gh[pousr]_[A-Za-z0-9]{36,255}|github_pat_[A-Za-z0-9_]{22,255}", "gitleaks: github-pat"),
    (
        "gitlab-token",
        r"gl(?:pat|dt|rt|ptt|cbt|imt|ft|oas|soat|ffct|agent|wt|cs)-[A-Za-z0-9_.-]{20,80}|GR1348941[A-Za-z0-9_-]{20}",
        "gitleaks: gitlab-pat",
    ),
    ("bitbucket-token", r"ATBB[A-Za-z0-9_=.-]{32,64}|ATCTT3[A-Za-z0-9_=.-]{150,250}", "github: Bitbucket"),
    ("atlassian-token", r"ATATT3[A-Za-z0-9_=.-]{150,250}", "gitleaks: atlassian-api-token"),
    ("npm-token", r"npm_[A-Za-z0-9]{36}", "gitleaks: npm-access-token"),
    ("pypi-token", r"pypi-AgE[A-Za-z0-9_-]{50,1024}", "gitleaks: pypi-upload-token"),
    ("rubygems-token", r"rubygems_[a-f0-9]{48}", "gitleaks: rubygems-api-token"),
    ("nuget-key", r"oy2[a-z0-9]{43}", "gitleaks: nuget-api-key"),
    ("clojars-token", r"CLOJARS_[a-z0-9]{60}", "gitleaks: clojars-api-token"),
    ("docker-token", r"dckr_pat_[A-Za-z0-9_-]{27,40}", "github: Docker"),
    ("jfrog-key", r"AKCp[A-Za-z0-9]{69}|cmVmdGtu[A-Za-z0-9]{56}", "detect-secrets: ArtifactoryDetector"),
    ("packagist-token", r"packagist_[ou][ou]t_[a-f0-9]{68}", "gitleaks: private-packagist-token"),
    ("readme-key", r"rdme_[a-z0-9]{70}", "gitleaks: readme-api-token"),
    ("prefect-key", r"pnu_[A-Za-z0-9]{36}", "gitleaks: prefect-api-token"),
    # Messaging and collaboration
    (
        "slack-token",
        r"xox[abprse]-[A-Za-z0-9-]{10,250}|xoxe\.xox[bp]-\d-[A-Za-z0-9]{100,300}|xapp-\d-[A-Za-z0-9-]{10,250}",
        "gitleaks: slack-bot-token",
    ),
    (
        "slack-webhook",
        r"https://hooks\.slack\.com/(?:services|workflows|triggers)/[A-Za-z0-9+/_-]{20,250}",
        "gitleaks: slack-webhook-url",
    ),
    (
        "discord-webhook",
        r"https://(?:ptb\.|canary\.)?discord(?:app)?\.com/api/webhooks/\d{10,20}/[A-Za-z0-9_-]{40,100}",
        "github: Discord",
    ),
    (
        "discord-bot-token",
        r"[MNO][A-Za-z0-9_-]{23,27}\.[A-Za-z0-9_-]{6,7}\.[A-Za-z0-9_-]{27,40}",
        "detect-secrets: DiscordBotTokenDetector",
    ),
    ("teams-webhook", r"webhook\.office\.com/webhookb2/[A-Za-z0-9@/_-]{40,400}", "gitleaks: microsoft-teams-webhook"),
    ("telegram-bot-token", r"\d{5,16}:A[A-Za-z0-9_-]{34}", "detect-secrets: TelegramBotTokenDetector"),
    ("twilio-key", r"SK[0-9a-fA-F]{32}", "gitleaks: twilio-api-key"),
    ("sendgrid-key", r"SG\.[A-Za-z0-9_-]{16,32}\.[A-Za-z0-9_-]{16,64}", "gitleaks: sendgrid-api-token"),
    ("brevo-key", r"xkeysib-[a-f0-9]{64}-[A-Za-z0-9]{16}", "gitleaks: sendinblue-api-token"),
    ("mailgun-key", r"key-[a-f0-9]{32}", "gitleaks: mailgun-private-api-token"),
    ("mailchimp-key", r"[0-9a-f]{32}-us\d{1,2}", "detect-secrets: MailchimpDetector"),
    ("linear-key", r"lin_api_[A-Za-z0-9]{40}|lin_oauth_[a-f0-9]{64}", "gitleaks: linear-api-key"),
    ("notion-token", r"ntn_\d{11}[A-Za-z0-9]{35}|secret_[A-Za-z0-9]{43}", "github: Notion"),
    ("postman-key", r"PMA[KT]-[a-f0-9]{24}-[a-f0-9]{34}", "gitleaks: postman-api-token"),
    ("airtable-token", r"pat[A-Za-z0-9]{14}\.[a-f0-9]{64}", "github: Airtable"),
    ("contentful-token", r"CFPAT-[A-Za-z0-9_-]{43}", "github: Contentful"),
    ("typeform-token", r"tfp_[A-Za-z0-9_.=-]{59}", "gitleaks: typeform-api-token"),
    ("frameio-token", r"fio-u-[A-Za-z0-9_=-]{64}", "gitleaks: frameio-api-token"),
    ("hubspot-token", r"pat-(?:na|eu)\d-[a-f0-9-]{36}", "github: HubSpot"),
    ("segment-token", r"sgp_[A-Za-z0-9]{64}", "github: Segment"),
    ("adafruit-key", r"aio_[A-Za-z0-9]{28}", "github: Adafruit IO"),
    ("dropbox-token", r"sl\.(?:u\.)?[A-Za-z0-9_-]{130,1500}", "gitleaks: dropbox-short-lived-api-token"),
    ("twitter-bearer", r"AAAAAAAAAAAAAAAAAAAAA[A-Za-z0-9%]{30,150}", "github: Twitter"),
    ("facebook-token", r"EAA[BCDGIMQUZ][A-Za-z0-9]{60,400}", "gitleaks: facebook-access-token"),
    ("mapbox-token", r"sk\.eyJ[A-Za-z0-9_-]{50,400}\.[A-Za-z0-9_-]{20,50}", "gitleaks: mapbox-api-token"),
    # Payments
    (
        "stripe-key",
        r"(?:sk|rk)_(?:live|test)_[A-Za-z0-9]{10,250}|whsec_[A-Za-z0-9]{16,64}",
        "gitleaks: stripe-access-token",
    ),
    ("square-token", r"sq0(?:atp|csp)-[A-Za-z0-9_-]{22,60}|EAAA[A-Za-z0-9_+=-]{60}", "gitleaks: square-access-token"),
    ("braintree-token", r"access_token\$(?:production|sandbox)\$[0-9a-z]{16}\$[0-9a-f]{32}", "github: Braintree"),
    ("shopify-token", r"shp(?:at|ss|ca|pa)_[a-fA-F0-9]{32}", "gitleaks: shopify-access-token"),
    ("plaid-token", r"access-(?:sandbox|development|production)-[a-f0-9-]{36}", "gitleaks: plaid-api-token"),
    ("duffel-token", r"duffel_(?:test|live)_[A-Za-z0-9_=-]{43}", "gitleaks: duffel-api-token"),
    ("easypost-key", r"EZ[AT]K[A-Za-z0-9]{54}", "gitleaks: easypost-api-token"),
    ("flutterwave-key", r"FLW(?:PUB|SEC)K_TEST-[a-h0-9]{32}-X", "gitleaks: flutterwave-secret-key"),
    ("shippo-token", r"shippo_(?:live|test)_[a-f0-9]{40}", "gitleaks: shippo-api-token"),
    # Generic formats
    ("jwt", r"eyJ[A-Za-z0-9_-]{8,4096}\.[A-Za-z0-9_-]{8,4096}\.[A-Za-z0-9_-]{0,4096}", "gitleaks: jwt"),
    ("age-key", r"AGE-SECRET-KEY-1[0-9A-Z]{58}", "gitleaks: age-secret-key"),
)
"""``(name, regex, source)``: a token's whole text; the regex engine adds the boundaries."""


# -- secret keys and labels ------------------------------------------------------------
# A key or label is split into words (``DD_APP_KEY`` -> dd, app, key); its last word
# decides, with the word before it.

STRONG_WORDS = frozenset(
    {
        *("password", "passwd", "passphrase", "passcode", "pwd", "secret", "secrets", "apikey"),
        *("credential", "credentials", "creds", "authorization", "cookie", "cookies", "dsn"),
        *("privatekey", "secretkey", "accesskey", "accesstoken", "authtoken", "apitoken", "bearertoken"),
        *("refreshtoken", "idtoken", "sessiontoken", "clientsecret", "connectionstring", "connstr", "authkey"),
    }
)
"""Last words whose key holds a secret, whatever the value looks like."""

WEAK_WORDS = frozenset(
    {"token", "key", "auth", "signature", "sig", "sessionid", "jsessionid", "phpsessid", "pat", "sas", "webhook"}
)
"""Last words whose key holds a secret only when the value looks like one (``token: 464``)."""

KEY_QUALIFIERS = frozenset(
    {
        *("api", "app", "access", "secret", "private", "client", "encryption", "signing", "master"),
        *("subscription", "account", "admin", "license", "service", "auth", "write", "deploy", "ssh"),
        *("gpg", "pgp", "session", "consumer", "webhook", "root", "storage", "shared", "x", "user"),
        *("mgmt", "management", "ingest", "ingestion", "search", "rest", "server", "sdk", "live", "test"),
        *("application", "developer", "personal", "org", "organization", "project", "hmac", "jwt"),
    }
)
"""Words that make ``*_key`` a secret whatever its value (``DD_APP_KEY``, ``signing_key``)."""

TOKEN_QUALIFIERS = frozenset(
    {
        *("access", "refresh", "id", "auth", "bearer", "api", "session", "csrf", "xsrf", "oauth"),
        *("bot", "github", "gitlab", "slack", "personal", "security", "app", "client", "service"),
        *("deploy", "registration", "runner", "npm", "pypi", "hf", "secret", "private", "user"),
        *("webhook", "identity", "jwt", "sas", "admin", "write", "read", "upload", "publish"),
    }
)
"""Words that make ``*_token`` a secret whatever its value (``access_token``, ``X-Auth-Token``)."""

NOT_SECRET_BEFORE_TOKEN = frozenset(
    {
        *("eos", "bos", "pad", "unk", "sep", "cls", "mask", "start", "end", "stop", "special", "eot"),
        *("max", "min", "total", "prompt", "completion", "input", "output", "num", "n", "cached"),
        *("reasoning", "last", "first", "next", "prev", "previous", "decoder", "image", "audio"),
    }
)
"""Tokenizer special tokens and usage counters: ``eos_token``, ``max_token``."""

NOT_SECRET_BEFORE_KEY = frozenset(
    {
        *("primary", "foreign", "partition", "sort", "cache", "idempotency", "dedup", "dedupe", "object"),
        *("row", "lookup", "map", "dict", "group", "hot", "shortcut", "public", "pub", "range", "hash"),
        *("routing", "shard", "index", "unique", "composite", "natural", "surrogate", "message", "i18n"),
        *("translation", "sort", "cursor", "state", "metadata", "field", "column", "table", "dict"),
    }
)
"""``*_key`` that names a record or a lookup, not a secret: ``primary_key``, ``cache_key``."""

METADATA_WORDS = frozenset(
    {
        *("type", "types", "kind", "policy", "policies", "count", "counts", "length", "len", "size"),
        *("min", "max", "limit", "limits", "set", "is", "has", "at", "date", "time", "timestamp", "ts"),
        *("expires", "expiry", "expiration", "expired", "ttl", "age", "name", "names", "id", "ids"),
        *("arn", "ref", "refs", "reference", "path", "file", "filename", "dir", "env", "var", "header"),
        *("field", "fields", "param", "params", "parameter", "label", "labels", "description", "desc"),
        *("hint", "prompt", "placeholder", "help", "required", "enabled", "disabled", "optional"),
        *("present", "provided", "configured", "exists", "valid", "invalid", "validation", "version"),
        *("rotation", "rotated", "strength", "score", "status", "state", "mode", "format", "scheme"),
        *("method", "methods", "provider", "providers", "source", "store", "manager", "backend"),
        *("url", "uri", "endpoint", "host", "server", "domain", "scope", "scopes", "audience", "issuer"),
        *("algorithm", "alg", "usage", "budget", "encoding", "encoder", "estimate", "reset", "regex"),
        *("pattern", "rule", "rules", "error", "errors", "message", "requirements", "visible", "masked"),
        *("redacted", "changed", "updated", "created", "sent", "index", "idx", "location", "class"),
        *("counter", "tokens", "keys", "prefix", "suffix", "last4", "hint", "sha", "hash", "fingerprint"),
    }
)
"""Last words that describe a secret without holding it: ``password_policy``, ``token_type``."""

SECRET_URL_WORDS = frozenset(
    {
        *("database", "db", "redis", "mongo", "mongodb", "postgres", "postgresql", "pg", "mysql"),
        *("amqp", "broker", "rabbitmq", "celery", "cache", "sqlalchemy", "connection", "elasticsearch", "webhook"),
    }
)
"""Words that make ``*_url`` a connection string with a password: ``DATABASE_URL``."""

NOT_SECRET_KEYS = frozenset({"PWD", "OLDPWD"})
"""Exact keys that only look like a secret: ``PWD`` is the shell's working directory."""

SCHEMA_WORDS = frozenset(
    {
        *("type", "anyOf", "oneOf", "allOf", "not", "$ref", "enum", "const", "properties", "items"),
        *("required", "description", "title", "default", "format", "examples", "example", "nullable"),
        *("minLength", "maxLength", "pattern", "minimum", "maximum", "additionalProperties", "$defs"),
        *("writeOnly", "readOnly", "deprecated", "contentEncoding", "contentMediaType", "$schema"),
    }
)
"""JSON-schema keywords: a dict made of these describes a parameter named ``api_key``."""

AUTH_SCHEMES = (
    r"Bearer|Basic|Token|Digest|Negotiate|NTLM|Bot|OAuth|ApiKey|Api-Key|SSWS|GenieKey|Splunk"
    r"|AWS4-HMAC-SHA256|AWS|HMAC|MAC|DPoP|Key|Hawk"
)
"""``Authorization:`` schemes whose credential follows."""

TOKEN_GATES: dict[str, tuple[str, ...]] = {
    "aws-key-id": (r"A(?:KIA|SIA|BIA|CCA|3T)",),
    "aws-session-token": (r"IQoJb3JpZ2luX2Vj", r"F[wQ]oGZXIvYXdz"),
    "azure-ad-client-secret": (r"Q~(?<=\dQ~)",),
    "digitalocean-token": (r"_v1_(?<=do[opr]_v1_)",),
    "databricks-token": (r"dapi",),
    "vault-token": (r"\.(?<=hv[sbr]\.)",),
    "terraform-token": (r"\.atlasv1\.",),
    "fly-token": (r"_(?<=fo1_)", r"_(?<=fm[12]_)", r"_(?<=fm[12][ar]_)"),
    "new-relic-key": (r"-(?<=NR[A-Z]{2}-)", r"NRAL"),
    "sentry-token": (r"_(?<=sntry[us]_)",),
    "sentry-dsn": (r"://(?<=https://)[a-f0-9]{32}@", r"://(?<=http://)[a-f0-9]{32}@"),
    "sonar-token": (r"_(?<=sq[pua]_)",),
    "github-token": (r"_(?<=gh[pousr]_)", r"_(?<=github_)pat_"),
    "gitlab-token": (
        r"-(?<=gl[a-z]{2}-)",
        r"-(?<=gl[a-z]{3}-)",
        r"-(?<=gl[a-z]{4}-)",
        r"-(?<=gl[a-z]{5}-)",
        "GR1348941",
    ),
    "slack-token": (r"-(?<=xox[abprse]-)", r"\.(?<=xoxe\.)", r"-(?<=xapp-)"),
    "slack-webhook": (r"\.(?<=hooks\.)slack\.com/",),
    "discord-webhook": (r"/api/webhooks/",),
    "discord-bot-token": (r"\.(?<=[A-Za-z0-9_-]{23}\.)[A-Za-z0-9_-]{6,7}\.",),
    "telegram-bot-token": (r":(?<=\d{5}:)A",),
    "mailchimp-key": (r"-us(?<=[0-9a-f]{32}-us)",),
    "airtable-token": (r"\.(?<=pat[A-Za-z0-9]{14}\.)",),
    "stripe-key": (r"_(?<=[sr]k_)(?:live|test)_", r"_(?<=whsec_)"),
    "shopify-token": (r"_(?<=shp[a-z]{2}_)",),
    "google-oauth": (r"\.(?<=ya29\.)", r"GOCSPX-", r"//0(?<=1//0)"),
    "yandex-key": (r"AQVN", r"YC(?=[A-Za-z0-9_-]{38})"),
    "twilio-key": (r"SK(?=[0-9a-fA-F]{32})",),
    "easypost-key": (r"EZ[AT]K",),
}
"""Hand-written gates for the formats whose literal prefix is all lowercase or absent:
each starts with a character that is not a lowercase letter (see ``redact._token_gate``)."""
