"""Enforcement: may this vehicle be fined here, now? Answered for officers' handhelds.

- `decision`   pure: the plate status projection's shape, its construction from sessions and
               passes, and the answer (status, shouldFine, summary) at a given instant;
- `store`      Firestore: rebuilding projections, the check and whitelist queries, check log;
- `routes`     the /api/enforcement/... blueprint and /api/openapi.json;
- `triggers`   the projection's maintenance on session, pass and driver-profile writes.

docs/enforcement.md states the rules for officers and integrators.
"""
