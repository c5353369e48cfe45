"""Kept for importers of ``app.main``: the app factory lives in :mod:`app.web.app`."""

from app.web.app import create_app, create_app_from_environment

__all__ = ["create_app", "create_app_from_environment"]
