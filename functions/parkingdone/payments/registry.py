"""Which payment provider this process uses (the interface is in provider.py).

Kept apart from the interface so that an implementation (stripe_provider.py) imports the
interface and the registry imports the implementation, never the other way round.
"""

from __future__ import annotations

from parkingdone.payments.provider import PaymentProvider

_provider: PaymentProvider | None = None


def get_provider() -> PaymentProvider:
    """The process's provider; created on first use (no network at import time)."""
    global _provider
    if _provider is None:
        from parkingdone.payments.stripe_provider import StripeProvider

        _provider = StripeProvider.from_config()
    return _provider


def set_provider(provider: PaymentProvider | None) -> None:
    """Swap the provider (another PSP, or a recording one in a benchmark)."""
    global _provider
    _provider = provider
