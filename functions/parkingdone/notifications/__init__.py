"""Push notifications to the driver app: texts in one place, the FCM sender, session pushes.

The shared interface for every feature: `push(uid, kind, params) -> dict`. Callers pass
facts (facility name, amount, currency, receipt number...), never texts.
"""

from parkingdone.notifications.sender import push
from parkingdone.notifications.texts import TextError

__all__ = ["TextError", "push"]
