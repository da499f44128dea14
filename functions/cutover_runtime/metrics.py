"""The metrics the functions emit (docs/contracts.md §5): namespace, dimensions and every
metric name, defined once.

The router and the candidate emit them (`telemetry.MetricBatch`); the generator's alarms
and dashboard, `cutover analyze`/`monitor`, the analysis input format and the rehearsal's
CloudWatch read them from here, so a renamed metric cannot leave an alarm watching
nothing.
"""

from __future__ import annotations

# `CUTOVER_METRICS_NAMESPACE` when the spec does not set one.
DEFAULT_NAMESPACE = "Cutover"

# Dimensions: every count per (Release, Path); the router's latency also per Route.
RELEASE = "Release"
PATH = "Path"
ROUTE = "Route"
COUNT_DIMENSIONS = (RELEASE, PATH)
LATENCY_DIMENSIONS = (RELEASE, PATH, ROUTE)
# The values of the Route dimension: where a request was routed.
CONTROL_ROUTE = "control"
CANARY_ROUTE = "canary"
ROUTES = (CONTROL_ROUTE, CANARY_ROUTE)

# The router.
REQUESTS = "Requests"
ERRORS = "Errors"
LATENCY = "Latency"  # Milliseconds, dimensions LATENCY_DIMENSIONS
CANARY_REQUESTS = "CanaryRequests"
CANARY_ERRORS = "CanaryErrors"
CANARY_FALLBACKS = "CanaryFallbacks"
SHADOW_DISPATCHED = "ShadowDispatched"
SHADOW_DISPATCH_FAILURES = "ShadowDispatchFailures"
# The candidate.
CANARY_READS = "CanaryReads"
CANARY_READ_ERRORS = "CanaryReadErrors"
SHADOW_COMPARISONS = "ShadowComparisons"
SHADOW_MISMATCHES = "ShadowMismatches"
SHADOW_ERRORS = "ShadowErrors"
SHADOW_TIMEOUTS = "ShadowTimeouts"
SHADOW_INCONCLUSIVE = "ShadowInconclusive"

# The counts the analysis reads (cutover.metrics/1), in its order. ShadowInconclusive is
# emitted for people to look at; no rule judges it.
COUNTS = (
    REQUESTS, ERRORS, CANARY_REQUESTS, CANARY_ERRORS, CANARY_FALLBACKS,
    CANARY_READS, CANARY_READ_ERRORS,
    SHADOW_COMPARISONS, SHADOW_MISMATCHES, SHADOW_ERRORS, SHADOW_TIMEOUTS,
    SHADOW_DISPATCHED, SHADOW_DISPATCH_FAILURES,
)  # fmt: skip
# Every count a function emits.
EMITTED = (*COUNTS, SHADOW_INCONCLUSIVE)
