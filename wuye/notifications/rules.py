"""Delivery retry rules: pure calculations, no ORM and no clock."""

import datetime as dt

from .choices import OutboxStatus

# A message is tried this many times in all; after the last failure it is dead and someone must look at it.
MAX_ATTEMPTS = 6
RETRY_FIRST_DELAY = dt.timedelta(minutes=1)
RETRY_MAX_DELAY = dt.timedelta(hours=1)
# How long a claimed message stays with its deliverer. Longer than any channel's network timeout, so a message is
# only re-claimed when its deliverer died.
CLAIM_LEASE = dt.timedelta(minutes=5)


def retry_delay(attempts: int) -> dt.timedelta:
    """Wait before the next try after `attempts` failed tries: 1, 2, 4, 8 … minutes, at most an hour."""
    if attempts < 1:
        raise ValueError("retry_delay() needs at least one failed attempt")
    # Capping the exponent keeps the multiplication small however large `attempts` gets.
    return min(RETRY_MAX_DELAY, RETRY_FIRST_DELAY * 2 ** min(attempts - 1, 20))


def status_after_failure(attempts: int, max_attempts: int = MAX_ATTEMPTS) -> str:
    """After a failed try (`attempts` counts it): retry later, or give up."""
    return OutboxStatus.DEAD if attempts >= max_attempts else OutboxStatus.FAILED
