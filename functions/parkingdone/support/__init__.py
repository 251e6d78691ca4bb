"""Support tickets with in-app chat: drivers ask their operator's staff, operators' staff ask
ParkingDone. `rules` is the pure part (statuses, SLA, numbers, search terms), `service` the
one code path every caller uses (callables, dashboard, sweep), `figures` the SLA figures."""
