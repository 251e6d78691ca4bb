"""Payments: fees at exit, charging through the operator's payment provider, ledger,
receipts, passes, refunds, the invoice workflow and the Stripe webhook.

Module map:
- rules.py            pure: who pays what and how (plan_collection → Collection), ids, statuses
- ledger.py           the one builder of ledger entries and of the charge request they stand for
- lookups.py          operators (cached), facilities, the payment part of a driver's profile
- provider.py         the PSP interface (charge, refund, setup) and the platform fee rule
- registry.py         which provider this process uses (get_provider, set_provider)
- stripe_provider.py  Stripe Connect destination charges; emulator recording of Connect params
- charging.py         closed session → fee → claim → charge → outcome → receipt → push
- publisher.py        the Pub/Sub publisher client for retry messages
- retry.py            the retry subscriber, the payment sweep, dead-letter replay
- corrections.py      refunds or extra charges for a charged stay that later events changed
- receipts.py         per-operator sequential numbers, VAT, lines in the driver's language
- passes.py           pass products, purchase, activation, revenue per facility
- refunds.py          full and partial refunds, to the card or the driver's wallet
- wallet.py           the driver's prepaid balance per operator: top-up, stay, refund, credit
- invoices.py         to_invoice → invoiced → paid | cancelled
- webhook.py          POST /api/stripe/webhook
- callables.py        callable functions for the driver app and operator admins
"""
