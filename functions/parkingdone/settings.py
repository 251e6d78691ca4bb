"""Legal and business settings: the values set by law or decided by the business, in one
place, each with why it is what it is.

Deployment settings and secrets (project, region, the emulator) are in config.py. A value
here is a default: an operator's or facility's own document may set its own where the
model says so (tenants.py).
"""

from __future__ import annotations

from datetime import timedelta

# --- Money ----------------------------------------------------------------------------------

# The currency of a new operator or facility.
DEFAULT_CURRENCY = "EUR"
# Finnish general VAT rate since 1 September 2024: 25.5 %, in basis points. Receipts show the
# VAT contained in the gross price at the operator's rate.
VAT_RATE_BPS = 2550
# The platform's share of each card payment (5 %), taken as the Stripe application fee.
PLATFORM_FEE_BPS = 500
# A stay's fee above this (minor units: 100.00 €) is never charged automatically; it waits
# for a person (the facility may set its own threshold).
REVIEW_THRESHOLD_MINOR = 10_000
# Seconds after a stay closes before it is charged, so late camera events can still re-pair
# it (the facility may set its own window; 0 charges at once).
CHARGE_SETTLE_SECONDS = 120
# The longest a settle task that arrived before its stay's charge time waits in its handler;
# an earlier arrival is retried by Cloud Tasks instead (after 30 s, then 60 s, so a 120 s
# window is charged on time). The Cloud Tasks emulator dispatches at once, whatever the delay
# (production honours it): this keeps a waiting task well inside the emulator's 60 s dispatch
# deadline, which otherwise dispatches the task again beside the one still waiting.
SETTLE_TASK_MAX_WAIT_SECONDS = 30
# Settled charges at a time (the task queue's rate limit). A waiting task holds one of the
# Functions emulator's 50 invocation slots, which every function shares: 50 of them stopped
# the webhook itself for up to the settle window. In production: charges at the provider at
# once.
SETTLE_TASK_MAX_CONCURRENT = 10
# Push tasks at a time (free-period reminders, push retries). A reminder is a read and a push,
# tens of milliseconds: 5 at a time deliver far more than any car park's entries. The Cloud
# Tasks emulator dispatches a reminder the moment it is scheduled and the Functions emulator
# starts a Python worker (seconds of CPU) for each concurrent task: at 50, back-to-back entries
# of registered drivers started 24 workers in their first 12 s and the webhook's answers took
# 0.5-0.9 s meanwhile.
PUSH_TASK_MAX_CONCURRENT = 5
# A wallet top-up from the app: at least 5.00 and at most 200.00 at a time (card fees make
# smaller top-ups poor value; larger ones are prepayment the operator must carry), and a
# wallet holds at most 500.00 (minor units).
WALLET_TOPUP_MIN_MINOR = 500
WALLET_TOPUP_MAX_MINOR = 20_000
WALLET_MAX_BALANCE_MINOR = 50_000
# The most staff may credit to a wallet in one goodwill credit (100.00).
WALLET_CREDIT_MAX_MINOR = 10_000

# The dashboard's figures are kept in this many shard documents per operator (per month for
# the daily figures), so that no one document takes every stay's increment: at 60 stays/s
# (about three figure changes each) a shard takes about 11 increments/s. A render reads every
# shard: raising it spreads writes and costs reads (docs/admin-dashboard.md).
FIGURE_SHARDS = 16
# The dashboard's activity feed: items kept per figure shard and shown (newest first). Each
# shard keeps its newest ones, so the newest of all are always among the shards'.
ACTIVITY_FEED_ITEMS = 15
# Under load, stay changes reach the figures through the figures pump (admin/figures_pump.py),
# not one by one in the session trigger: the session trigger asks for a pump run at most once
# per window per operator; the run starts when the window has ended and counts every change
# since its watermark; every read goes back FIGURES_PUMP_OVERLAP_SECONDS before the newest
# stamp read (a commit can land after a later-stamped one).
# A session trigger receiving more events a second than this is busy (sessions/trigger_load.py):
# it leaves the figures to the pump. Below it, it counts them itself (about 70 ms on the
# emulator): an entry alone costs two invocations, an exit three.
SESSION_TRIGGER_QUIET_PER_SECOND = 2
# ... or when an event reaches it more than this long after its write: a backlog.
SESSION_TRIGGER_LAG_SECONDS = 1.0
FIGURES_PUMP_WINDOW_SECONDS = 2
FIGURES_PUMP_OVERLAP_SECONDS = 1
FIGURES_PUMP_PAGE = 100  # stays per transaction
FIGURES_PUMP_LEASE_SECONDS = 20  # one run per operator at a time; renewed after every page

# --- Time -----------------------------------------------------------------------------------

# The time zone of a new facility. A facility has one time zone: its tariff versions must
# name the same one (prices, officers' summaries and pass validity all read it).
DEFAULT_TIME_ZONE = "Europe/Helsinki"

# --- Stays ----------------------------------------------------------------------------------

# Minutes after the free period (or the end of a pass or payment) before an officer may fine.
ENFORCEMENT_GRACE_MINUTES = 10
# The longest stay charged automatically (a week); longer ones are flagged for review.
MAX_STAY_MINUTES = 7 * 24 * 60
# A second camera read of the same entry within this window is the same entry.
ENTRY_DEBOUNCE_SECONDS = 120

# --- Languages ------------------------------------------------------------------------------

# What staff and officers of a new operator read. Drivers read their own language (users/).
OPERATOR_LANGUAGE = "fi"

# --- Retention (legal) ----------------------------------------------------------------------

# How long an officer's plate check is kept by default: 24 months rolling, as session data
# (the product's data retention terms). The retention sweep follows each operator's own
# stays policy (retention.py); the TTL on `expiresAt` is only a backstop, set past the
# longest stays policy allowed (36 months) so it never removes a check the policy keeps.
CHECK_LOG_RETENTION = timedelta(days=730)
CHECK_LOG_TTL_BACKSTOP = timedelta(days=37 * 31)

# --- Support ----------------------------------------------------------------------------------

# How soon a driver's ticket gets its first answer from the operator's staff, by priority (the
# operator may set its own in operators/{id}.supportSla, in minutes).
SUPPORT_FIRST_RESPONSE = {"critical": timedelta(hours=1), "normal": timedelta(hours=24)}
# The operators' own line to ParkingDone: the service promise to our clients (critical within
# 1 hour, normal within 24 hours); the same for every operator.
PARKINGDONE_FIRST_RESPONSE = {"critical": timedelta(hours=1), "normal": timedelta(hours=24)}
# A resolved ticket nobody writes to any more is closed after this (closedAt starts its
# retention period).
SUPPORT_AUTO_CLOSE = timedelta(days=7)
# The figures on the tickets page cover tickets first answered within this window.
SUPPORT_FIGURES_WINDOW = timedelta(days=30)
