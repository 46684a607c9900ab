"""The design document's XACT example plugins, copied verbatim (section "4. Example Plugins").

Only the imports are this project's: everything else is the document's code,
so that it keeps working as written. Its style differs from the shipped
plugins' on purpose: a ``result`` parameter, ``await self.send_to_topic(...)``
with the key as third positional argument, a plain dict config read with
``self.config.get`` and ``result.model_dump()`` payloads.
"""

from seed_style_plugins.esx_processor import EsxProcessorPlugin
from seed_style_plugins.failure_alerter import FailureAlerterPlugin
from seed_style_plugins.status_router import StatusSubtypeRouterPlugin

__all__ = ["EsxProcessorPlugin", "FailureAlerterPlugin", "StatusSubtypeRouterPlugin"]
