"""Local development stack: setup, emulator launch, demo data, test and benchmark runners.

Nothing here is deployed; `functions/` is the deployable code.
"""
