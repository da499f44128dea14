"""The guard: while the rollback alarm is in ALARM, every path's served canary is 0.

Level-triggered: each run (an alarm state change event or the one-minute schedule)
re-reads the alarm and what AppConfig serves, and acts on the difference.
"""
