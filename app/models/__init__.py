"""SQLAlchemy models; importing this package registers every table on ``Base.metadata``."""

from app.models.access import ApiToken, Change, ChangeCounter
from app.models.boundary import MunicipalityBoundary
from app.models.fusion import Fusion, FusionMunicipality
from app.models.initiative import (
    Initiative,
    InitiativeTheme,
    Involvement,
    ReportedFigure,
    UnresolvedMention,
)
from app.models.participant import Membership, Municipality, MunicipalityAlias, Organization, Participant
from app.models.provenance import Citation, DatasetLoad, SourceDocument
from app.models.webhook import Webhook, WebhookDelivery

__all__ = [
    "ApiToken",
    "Change",
    "ChangeCounter",
    "Citation",
    "DatasetLoad",
    "Fusion",
    "FusionMunicipality",
    "Initiative",
    "InitiativeTheme",
    "Involvement",
    "Membership",
    "Municipality",
    "MunicipalityAlias",
    "MunicipalityBoundary",
    "Organization",
    "Participant",
    "ReportedFigure",
    "SourceDocument",
    "UnresolvedMention",
    "Webhook",
    "WebhookDelivery",
]
