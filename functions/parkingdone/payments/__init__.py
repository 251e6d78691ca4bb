"""Payments: fees at exit, charging through the operator's payment provider, ledger,
receipts, passes, refunds, the invoice workflow and the Stripe webhook.

Module map:
- provider.py         the PSP interface (charge, refund, setup) and the platform fee rule
- stripe_provider.py  Stripe Connect destination charges; emulator recording of Connect params
- charging.py         closed session → fee → claim → charge → outcome → receipt → push
- retry.py            Pub/Sub publisher and subscriber for transient provider failures
- receipts.py         per-operator sequential numbers, VAT
- passes.py           pass products, purchase, activation, revenue per facility
- refunds.py          full and partial refunds
- invoices.py         to_invoice → invoiced → paid | cancelled
- webhook.py          POST /api/stripe/webhook
- callables.py        callable functions for the driver app and operator admins
"""
