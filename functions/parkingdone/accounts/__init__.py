"""Driver accounts: vehicles, push tokens, staff roles and GDPR requests.

Each module holds the logic as plain functions over (db, caller, request model), so tests
call them directly; `callables` adapts them to Firebase callable functions.
"""
