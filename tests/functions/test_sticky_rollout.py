"""Flags roll out all at once (docs/aws-rules.md, AppConfig): stickiness comes from the hash.

AppConfig moves execution environments, not users, to a new flag version; a user's
requests land on many environments. With the percent only ever going up between
flag versions, and the router's bucket monotonic in the percent, a user in the canary
before a ramp is in it in every environment, old or new flags alike: nobody who was
on the candidate goes back to the control while a ramp rolls out.
"""

from __future__ import annotations

from cutover_runtime.assignment import assign
from hypothesis import given
from hypothesis import strategies as st

percents = st.floats(min_value=0, max_value=100, allow_nan=False)


@given(salt=st.text(max_size=40), user=st.text(min_size=1, max_size=64), low=percents, high=percents)
def test_a_users_assignment_never_flips_back_when_the_percent_goes_up(salt, user, low, high):
    low, high = sorted((low, high))
    if assign(salt, user, low).canary:
        assert assign(salt, user, high).canary


@given(user=st.text(min_size=1, max_size=64),
       environments=st.lists(st.booleans(), min_size=1, max_size=50))
def test_during_a_ramp_a_canary_user_is_served_by_the_candidate_in_every_environment(user, environments):
    # GIVEN a ramp from 5% to 25%, some execution environments already on the new flags
    salt, old, new = "huntaze-2025-10", 5, 25
    seen = {assign(salt, user, new if updated else old).canary for updated in environments}
    # THEN a user in the canary before the ramp is in it everywhere; anyone else may be
    # in it only where the new flags arrived (one agent poll interval at most)
    if assign(salt, user, old).canary:
        assert seen == {True}
    elif not assign(salt, user, new).canary:
        assert seen == {False}
