"""The rehearsal: the whole release on one machine, in simulated time."""
