"""What one HTTP request carries from stage to stage, and to Strawberry's hooks in the view.

One object per request, kept in ``request.state.exchange``: the only way from the pipeline to the hooks
Strawberry calls while it runs (``get_context``, ``get_sub_response``, ``process_result``,
``create_response``), and from them back to the pipeline, which stores only answers without errors.
"""

from __future__ import annotations

from dataclasses import dataclass

from app.web.pipeline.cost import Meter
from app.web.pipeline.encode import MediaType
from app.web.pipeline.identify import Caller


@dataclass(slots=True)
class Exchange:
    media_type: MediaType
    """The negotiated response type (the view's ``negotiate``)."""
    meter: Meter
    """This request's rate-limit charges (stage 4)."""
    caller: Caller | None = None
    """Who calls, once stage 2 identified them; None: Strawberry's context identifies them if it must."""
    has_errors: bool = False
    """Strawberry's result had errors (it is not stored in the cache)."""
    not_cacheable: bool = False
    """A resolver said its answer can change without a change-log entry (it is not stored in the cache)."""
    request_error: bool = False
    """It failed before execution (parse, validation, variables, cost, rate limit): 4xx for
    graphql-response+json."""
    internal_error: bool = False
    """That failure was ours: 500 for graphql-response+json."""

    def mark_not_cacheable(self) -> None:
        self.not_cacheable = True
