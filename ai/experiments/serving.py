"""The experiments' read side, what requests, blocks, APIs and the admin call: which experiments run,
which variant a shopper gets, recording that they were shown it, and the admin's start / pause / finish.

Asking which variant applies records nothing (a cache key may be built from the answer): a surface that
shows its variant calls ``record_exposure`` (``record_search_exposure`` for search) each time it is shown.

Anonymous visitors: variant = a hash of (experiment key, visitor id) placed on the variants'
cumulative weights; nothing is stored, and the same id always lands in the same place. Customers: the
variant persisted in ``ExperimentAssignment``, created the first time from the hash of the visitor id
they had (at login, or on first need), so logging in changes nothing and the variant follows them to
other devices. Bots and shoppers who ask not to be tracked (DNT, Sec-GPC) get the control and are never
counted: no exposure is recorded, so none of their events enters a metric.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import re
import time
import uuid
from dataclasses import dataclass, replace

from django.core.cache import cache
from django.db import IntegrityError, transaction
from django.http import HttpRequest
from django.utils import timezone

from ai.experiments.models import STORE_WIDE_SURFACES, Experiment, ExperimentAssignment, SearchStrategy, Surface
from commerce.customers.services import customer_for
from commerce.events.models import EventType
from commerce.events.services import record

DEFINITION_KEY = "experiments:definition:{}"
DEFINITION_BY_ID_KEY = "experiments:definition-id:{}"
RUNNING_KEY = "experiments:running:all"
STORE_WIDE_KEY = "experiments:running:store-wide"
ASSIGNMENT_KEY = "experiments:assignment:{}:{}"
EXPOSED_KEY = "experiments:exposed:{}:{}:{}"
SHOWN_KEY = "experiments:shown:{}:{}"  # (unit, beacon surface) → the experiment shown there
# Short: a started, paused or edited experiment reaches every process within a minute even if the
# save-time invalidation (receivers) missed one; reading it costs one Redis GET per surface.
DEFINITION_TTL = 60
ASSIGNMENT_TTL = 24 * 3600
# How long a process trusts its own copy of which store-wide experiments run: every page asks (prices,
# search blocks), and with none running this spares each one a Redis GET (0.2 ms of a 15 ms page). A start
# or stop reaches the other processes this much later; the process that made it sees it at once.
STORE_WIDE_LOCAL_SECONDS = 5.0
_store_wide = {"until": 0.0, "running": {}}
# Likewise for the experiment a page block names (by id): each view of the block asks.
DEFINITION_LOCAL_SECONDS = 5.0
_by_id: dict[int, tuple[float, ExperimentDefinition | None]] = {}
EXPOSURE_DEDUPE_TTL = 26 * 3600  # outlives the calendar day it is keyed on, in any time zone
# How long after a surface was shown under an experiment the browser's impressions and clicks from it
# still get the variant (a tab left open); a re-render renews it.
SHOWN_TTL = 24 * 3600
HASH_SPACE = 16 ** 15  # 60 bits of the SHA-256: uniform, and exact in a float's 53-bit mantissa after division
# Crawlers, link previews, monitors and headless browsers. A heuristic: what it misses is spread evenly
# over the variants (the hash ignores the user agent), so it adds noise, never bias.
BOT_USER_AGENT = re.compile(
    r"bot\b|bot/|crawl|spider|slurp|scrape|headless|phantomjs|lighthouse|pagespeed|gtmetrix|pingdom|"
    r"uptime|monitor|preview|facebookexternalhit|embedly|whatsapp|curl/|wget/|python-requests|"
    r"python-urllib|aiohttp|httpx|go-http-client|okhttp|java/|libwww|httpclient|^$",
    re.IGNORECASE,
)


@dataclass(frozen=True)
class VariantChoice:
    """What a surface needs of its variant (a cached snapshot, not the model row)."""

    experiment: str
    key: str
    strategy: str
    is_control: bool
    weight: int
    counted: bool = True  # False for bots and opted-out shoppers: shown the control, never measured

    @property
    def tag(self) -> dict[str, str]:
        """The ``experiments`` value of events produced under this variant (none when not counted)."""
        return {self.experiment: self.key} if self.counted else {}


@dataclass(frozen=True)
class ExperimentDefinition:
    key: str
    surface: str
    starts_at: dt.datetime
    ends_at: dt.datetime | None
    variants: tuple[VariantChoice, ...]

    @property
    def control(self) -> VariantChoice:
        return next(variant for variant in self.variants if variant.is_control)

    def is_live(self, now: dt.datetime) -> bool:
        return self.starts_at <= now and (self.ends_at is None or now < self.ends_at)


@dataclass(frozen=True)
class Unit:
    """Who is assigned: the visitor id always, the customer when logged in; ``excluded`` when a bot or
    opted out of tracking."""

    visitor_id: uuid.UUID | None
    customer_id: int | None = None
    excluded: bool = False


# --- who ------------------------------------------------------------------------------------------


def is_bot(user_agent: str) -> bool:
    return bool(BOT_USER_AGENT.search(user_agent.strip()))


def opted_out(request: HttpRequest) -> bool:
    return request.headers.get("DNT") == "1" or request.headers.get("Sec-GPC") == "1"


def unit_for(request_or_shopper) -> Unit:
    """The unit of a request (headers decide exclusion) or of anything with ``customer`` and
    ``visitor_id`` (a ``commerce.orders.services.Shopper``: no headers, so never excluded)."""
    if isinstance(request_or_shopper, HttpRequest):
        request = request_or_shopper
        customer = customer_for(getattr(request, "user", None))
        return Unit(visitor_id=getattr(request, "visitor_id", None), customer_id=customer.pk if customer else None,
                    excluded=is_bot(request.headers.get("User-Agent", "")) or opted_out(request))
    customer = request_or_shopper.customer
    return Unit(visitor_id=request_or_shopper.visitor_id, customer_id=customer.pk if customer else None)


def _unit_key(unit: Unit) -> str:
    return f"c{unit.customer_id}" if unit.customer_id is not None else f"v{unit.visitor_id}"


# --- definitions ------------------------------------------------------------------------------------


def definition(experiment_key: str) -> ExperimentDefinition | None:
    """The running experiment ``experiment_key`` (cached), or None if it is not running."""
    return _running_definition(DEFINITION_KEY.format(experiment_key), key=experiment_key)


def definition_for_id(experiment_id: int) -> ExperimentDefinition | None:
    """``definition`` by the experiment's id, as a block's stored data names it; cached in Redis and for
    ``DEFINITION_LOCAL_SECONDS`` in the process."""
    now = time.monotonic()
    until, found = _by_id.get(experiment_id, (0.0, None))
    if until <= now:
        found = _running_definition(DEFINITION_BY_ID_KEY.format(experiment_id), pk=experiment_id)
        _by_id[experiment_id] = (now + DEFINITION_LOCAL_SECONDS, found)
    return found


def _running_definition(cache_key: str, **lookup) -> ExperimentDefinition | None:
    cached = cache.get(cache_key)
    if cached is None:
        experiment = (Experiment.objects.filter(status=Experiment.Status.RUNNING, **lookup)
                      .prefetch_related("variants").first())
        cached = _snapshot(experiment) if experiment else False  # False: "not running", cached too
        cache.set(cache_key, cached, DEFINITION_TTL)
    return cached or None


def running_key(surface: str) -> str | None:
    """The key of the running experiment on a store-wide surface (search, pricing), cached in Redis and
    for ``STORE_WIDE_LOCAL_SECONDS`` in the process."""
    now = time.monotonic()
    if _store_wide["until"] <= now:
        running = cache.get(STORE_WIDE_KEY)
        if running is None:
            running = dict(Experiment.objects.filter(surface__in=STORE_WIDE_SURFACES,
                                                     status=Experiment.Status.RUNNING).values_list("surface", "key"))
            cache.set(STORE_WIDE_KEY, running, DEFINITION_TTL)
        _store_wide.update(until=now + STORE_WIDE_LOCAL_SECONDS, running=running)
    return _store_wide["running"].get(surface)


def running_keys() -> list[str]:
    """The keys of every running experiment, cached."""
    keys = cache.get(RUNNING_KEY)
    if keys is None:
        keys = list(Experiment.objects.filter(status=Experiment.Status.RUNNING).values_list("key", flat=True))
        cache.set(RUNNING_KEY, keys, DEFINITION_TTL)
    return keys


def forget(experiment: Experiment) -> None:
    """Drop the cached definition after a change (save, start, pause, finish)."""
    cache.delete_many([DEFINITION_KEY.format(experiment.key), DEFINITION_BY_ID_KEY.format(experiment.pk)])
    forget_running()


def forget_running() -> None:
    """Drop what is known of which experiments run, in Redis and in this process."""
    cache.delete_many([STORE_WIDE_KEY, RUNNING_KEY])
    _store_wide["until"] = 0.0
    _by_id.clear()


def _snapshot(experiment: Experiment) -> ExperimentDefinition:
    variants = tuple(VariantChoice(experiment.key, v.key, v.strategy, v.is_control, v.weight)
                     for v in sorted(experiment.variants.all(), key=lambda v: (v.sort_order or 0, v.pk or 0)))
    return ExperimentDefinition(experiment.key, experiment.surface, experiment.starts_at, experiment.ends_at, variants)


# --- assignment -----------------------------------------------------------------------------------


def hash_point(experiment_key: str, unit_id) -> float:
    """A uniform point in [0, 1) fixed by (experiment, unit); independent across experiments."""
    digest = hashlib.sha256(f"{experiment_key}:{unit_id}".encode()).hexdigest()
    return int(digest[:15], 16) / HASH_SPACE


def pick(variants: tuple[VariantChoice, ...] | list[VariantChoice], point: float) -> VariantChoice:
    """The variant whose slice of the cumulative weights contains ``point``."""
    total = sum(variant.weight for variant in variants)
    threshold = point * total
    cumulative = 0
    for variant in variants:
        cumulative += variant.weight
        if threshold < cumulative:
            return variant
    return variants[-1]


def hashed_variant(experiment: ExperimentDefinition, unit_id) -> VariantChoice:
    return pick(experiment.variants, hash_point(experiment.key, unit_id))


def persisted_variant(experiment: ExperimentDefinition, customer_id: int, visitor_id) -> VariantChoice:
    """The customer's stored variant, stored now (from the visitor id they have) if they have none."""
    by_key = {variant.key: variant for variant in experiment.variants}
    cache_key = ASSIGNMENT_KEY.format(experiment.key, customer_id)
    stored = cache.get(cache_key)
    if stored is None:
        stored = ExperimentAssignment.objects.filter(experiment__key=experiment.key, customer_id=customer_id
                                                     ).values_list("variant_key", flat=True).first()
        if stored is None:
            stored = hashed_variant(experiment, visitor_id or f"customer:{customer_id}").key
            stored = _store_assignment(experiment.key, customer_id, stored)
        cache.set(cache_key, stored, ASSIGNMENT_TTL)
    # A variant removed from a running experiment (not advised) sends its customers to the control.
    return by_key.get(stored, experiment.control)


def _store_assignment(experiment_key: str, customer_id: int, variant_key: str) -> str:
    """Insert the assignment unless one exists (two devices at once); returns the one that won."""
    try:
        with transaction.atomic():
            experiment_id = Experiment.objects.values_list("pk", flat=True).get(key=experiment_key)
            ExperimentAssignment.objects.create(experiment_id=experiment_id, customer_id=customer_id,
                                                variant_key=variant_key)
        return variant_key
    except IntegrityError:
        return ExperimentAssignment.objects.values_list("variant_key", flat=True).get(
            experiment__key=experiment_key, customer_id=customer_id)


def assign_at_login(customer_id: int, visitor_id) -> int:
    """Fix the customer's variant in every running experiment from the visitor id they browsed with,
    so what they saw anonymously is what they keep. Existing assignments win. Returns rows created."""
    rows = []
    for experiment in Experiment.objects.filter(status=Experiment.Status.RUNNING).prefetch_related("variants"):
        snapshot = _snapshot(experiment)
        rows.append(ExperimentAssignment(experiment=experiment, customer_id=customer_id,
                                         variant_key=hashed_variant(snapshot, visitor_id).key))
        cache.delete(ASSIGNMENT_KEY.format(experiment.key, customer_id))
    return len(ExperimentAssignment.objects.bulk_create(rows, ignore_conflicts=True))


def variant_for(experiment_key: str | None, request_or_shopper) -> VariantChoice | None:
    """The variant this shopper gets in the running experiment ``experiment_key``, or None when it is
    not running (the surface then does what it does without an experiment). Records no exposure: the
    surface calls ``record_exposure`` when it shows the variant. A customer's first answer is stored
    (``persisted_variant``), so that it follows them to other devices."""
    if not experiment_key:
        return None
    experiment = definition(experiment_key)
    if experiment is None or not experiment.is_live(timezone.now()):
        return None
    unit = unit_for(request_or_shopper)
    if unit.excluded or (unit.visitor_id is None and unit.customer_id is None):
        return replace(experiment.control, counted=False)
    if unit.customer_id is not None:
        return persisted_variant(experiment, unit.customer_id, unit.visitor_id)
    return hashed_variant(experiment, unit.visitor_id)


def record_exposure(variant: VariantChoice, request_or_shopper, *, surface: str = "",
                    now: dt.datetime | None = None) -> bool:
    """The shopper was shown ``variant``: an ``experiment_exposure`` event, at most one per unit,
    experiment and day (and tried once per request). ``surface``: the beacon surface the browser reports
    the variant's impressions and clicks from (``block:<id>``, ``search``), remembered on every showing so
    the server tags those events (``shown_experiment``), never the browser. Nothing for a variant not
    counted (bots, opted-out shoppers). Returns whether an event was recorded."""
    if not variant.counted:
        return False
    done = getattr(request_or_shopper, "_vitrine_exposures", None)
    if done is None and isinstance(request_or_shopper, HttpRequest):
        done = request_or_shopper._vitrine_exposures = set()
    if done is not None:
        if (variant.experiment, surface) in done:
            return False
        done.add((variant.experiment, surface))
    unit = unit_for(request_or_shopper)
    if surface:
        cache.set(SHOWN_KEY.format(_unit_key(unit), surface), variant.experiment, SHOWN_TTL)
    now = now or timezone.now()
    if not cache.add(EXPOSED_KEY.format(variant.experiment, _unit_key(unit), now.date().isoformat()), 1,
                     EXPOSURE_DEDUPE_TTL):
        return False
    record(EventType.EXPERIMENT_EXPOSURE, customer_id=unit.customer_id, visitor_id=unit.visitor_id,
           surface=f"experiment:{variant.experiment}"[:64], experiments=variant.tag, created_at=now)
    return True


def shown_experiment(request_or_shopper, surface: str) -> str | None:
    """The key of the experiment this shopper was last shown ``surface`` under (``record_exposure``'s
    ``surface``) in the last ``SHOWN_TTL`` seconds, if any."""
    unit = unit_for(request_or_shopper)
    if unit.visitor_id is None and unit.customer_id is None:
        return None
    return cache.get(SHOWN_KEY.format(_unit_key(unit), surface))


# --- lifecycle (admin actions) --------------------------------------------------------------------


class TransitionError(ValueError):
    pass


TRANSITIONS = {
    "start": ({Experiment.Status.DRAFT, Experiment.Status.PAUSED}, Experiment.Status.RUNNING),
    "pause": ({Experiment.Status.RUNNING}, Experiment.Status.PAUSED),
    "finish": ({Experiment.Status.RUNNING, Experiment.Status.PAUSED}, Experiment.Status.FINISHED),
}


@transaction.atomic
def transition(experiment: Experiment, action: str) -> Experiment:
    """Start, pause or finish. Starting validates the experiment again and fixes its start time."""
    allowed_from, target = TRANSITIONS[action]
    experiment = Experiment.objects.select_for_update().get(pk=experiment.pk)
    if experiment.status not in allowed_from:
        raise TransitionError(f"A {experiment.get_status_display().lower()} experiment cannot be {action}ed.")
    now = timezone.now()
    if action == "start":
        experiment.full_clean()
        experiment.guardrail_note = ""  # a person chose to go on: the old breach is no longer the state
        experiment.starts_at = experiment.starts_at or now
        if experiment.ends_at is not None and experiment.ends_at <= now:
            raise TransitionError("Its end date has passed: set a later one (or none) first.")
        if (experiment.surface in STORE_WIDE_SURFACES
                and Experiment.objects.filter(surface=experiment.surface, status=Experiment.Status.RUNNING).exists()):
            raise TransitionError(f"Another {experiment.get_surface_display().lower()} experiment is running; "
                                  "pause or finish it first.")
    if action == "finish" and (experiment.ends_at is None or experiment.ends_at > now):
        experiment.ends_at = max(now, experiment.starts_at + dt.timedelta(seconds=1)) if experiment.starts_at else None
    experiment.status = target
    experiment.save(update_fields=["status", "starts_at", "ends_at", "guardrail_note", "updated_at"])
    return experiment


# --- surfaces -------------------------------------------------------------------------------------


def search_variant(request: HttpRequest) -> VariantChoice | None:
    """The shopper's variant of the running search experiment (None when none runs), asked once per
    request. Records nothing."""
    if not hasattr(request, "_vitrine_search_variant"):
        request._vitrine_search_variant = variant_for(running_key(Surface.SEARCH), request)
    return request._vitrine_search_variant


def search_options(request: HttpRequest) -> dict:
    """Keyword arguments for ``ai.search.serving.search`` under the running search experiment (none
    running: hybrid, untagged). Records nothing: what shows the results calls ``record_search_exposure``."""
    variant = search_variant(request)
    return {} if variant is None else {"keyword_only": variant.strategy == SearchStrategy.KEYWORD,
                                       "experiments": variant.tag}


def record_search_exposure(request: HttpRequest) -> bool:
    """The shopper is shown search results (the search page, the API, a search block): their exposure to
    the running search experiment. The results report their clicks from beacon surface "search"."""
    variant = search_variant(request)
    return variant is not None and record_exposure(variant, request, surface="search")
