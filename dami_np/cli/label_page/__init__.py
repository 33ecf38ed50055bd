"""``dami label``: a local labeling page, one card per pick, the active-learning loop in a browser.

The server (``_server``, the standard library's HTTP server) serves static files of this package
and a small JSON API to one ``LabelSession`` (``_session``): the batch of picks on screen, the
answers so far and the undo stack.  Every answer is written to the table at once by the code of
``dami merge`` (``_table_labels``); when a batch is done the next one is picked by ``dami select``
(``_rounds``), warm-started from the previous batch's saved model.
"""

from __future__ import annotations

from ._session import LabelSession, SessionError

__all__ = ["LabelSession", "SessionError"]
