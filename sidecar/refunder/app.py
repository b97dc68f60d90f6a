"""Flask application factory (gunicorn: refunder.app:create_app())."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from contextlib import ExitStack
from datetime import UTC, datetime
from http import HTTPStatus
from typing import Any

from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from flask import Flask, g, request
from flask_smorest import Api
from werkzeug.exceptions import HTTPException
from werkzeug.middleware.proxy_fix import ProxyFix

from . import __version__
from .api import problems
from .api.after_response import after_response
from .api.auth import make_verifier
from .api.body import WholeBody
from .api.bookkeeping_routes import bookkeeping
from .api.inputs import refuse_control_characters
from .api.problems import PROBLEM_JSON
from .api.routes import public, v1, webhooks
from .api.schemas import ProblemSchema
from .bookkeeping.service import CreditNotes
from .bulk import BulkRefunds
from .config import Settings
from .errors import ConfigurationError, RefunderError
from .ledger.database import MIGRATIONS, Database
from .providers import build_providers
from .providers.base import Provider
from .service import RefundService
from .signing import NONCE_HEADER, SIGNATURE_HEADER, TIMESTAMP_HEADER
from .woocommerce import WooCommerceBooks


def utcnow() -> datetime:
    return datetime.now(UTC)


class RefunderApi(Api):
    """flask-smorest, with errors answered and documented as RFC 9457 problem documents."""

    ERROR_SCHEMA = ProblemSchema

    def handle_http_exception(self, error: HTTPException):  # type: ignore[override]
        return problems.from_http_exception(error)

    def _register_responses(self) -> None:
        for status in HTTPStatus:
            response: dict[str, Any] = {"description": status.phrase}
            if status >= 400:
                response["content"] = {PROBLEM_JSON: {"schema": self.ERROR_SCHEMA}}
            self.spec.components.response(status.name, response, lazy=True)
        self.spec.components.response("DEFAULT_ERROR", {
            "description": "An error, as a problem document",
            "content": {PROBLEM_JSON: {"schema": self.ERROR_SCHEMA}},
        }, lazy=True)


def create_app(
    settings: Settings | None = None,
    *,
    clock: Callable[[], datetime] = utcnow,
    providers: Mapping[str, Provider] | None = None,
) -> Flask:
    settings = settings or Settings.load()
    db = Database.from_url(settings.database_url)
    _require_migrated(db)
    app = Flask("refunder")
    app.config.update(
        MAX_CONTENT_LENGTH=settings.max_request_bytes,
        API_TITLE="Refunder sidecar",
        API_VERSION=__version__,
        OPENAPI_VERSION="3.0.3",
        OPENAPI_URL_PREFIX="/",
        OPENAPI_JSON_PATH="openapi.json",
    )
    service = RefundService(db, providers if providers is not None else build_providers(settings, clock), clock,
                            settings.provider_budget)
    app.extensions["refunder"] = service
    app.extensions["refunder_bulk"] = BulkRefunds(service)
    app.extensions["refunder_woocommerce"] = WooCommerceBooks(service)
    app.extensions["refunder_notes"] = CreditNotes(db, {n: p.label for n, p in service.providers.items()},
                                                   settings.shared_secret, clock)
    verify = make_verifier(settings.shared_secret, db, clock)

    @app.before_request
    def verify_signature() -> None:
        """Before routing errors too: unsigned callers learn nothing about /v1."""
        if request.path.startswith("/v1/") or request.path == "/v1":
            g.ledger_scope = ExitStack()  # PostgreSQL: the request's nonce and transactions on one connection
            g.ledger_scope.enter_context(db.request_scope())
            verify(request)

    @app.teardown_request
    def leave_ledger_scope(_error: BaseException | None) -> None:
        """After the response (api.after_response): freeing the request's refund locks and giving its ledger
        connection back are no round trips its caller waits for."""
        scope = g.pop("ledger_scope", None)
        if scope is not None:
            after_response(scope.close)

    @app.before_request
    def refuse_control() -> None:
        refuse_control_characters(request)

    api = RefunderApi(app)
    for name, header in (("RefunderTimestamp", TIMESTAMP_HEADER), ("RefunderNonce", NONCE_HEADER),
                         ("RefunderSignature", SIGNATURE_HEADER)):
        api.spec.components.security_scheme(name, {"type": "apiKey", "in": "header", "name": header})
    api.register_blueprint(public)
    api.register_blueprint(v1)
    api.register_blueprint(webhooks)
    api.register_blueprint(bookkeeping)
    app.register_error_handler(RefunderError, problems.from_refunder_error)
    app.wsgi_app = WholeBody(app.wsgi_app, settings.max_request_bytes)  # type: ignore[method-assign]
    if settings.trusted_proxies:  # webhook signatures cover the public host the provider called
        n = settings.trusted_proxies
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=n, x_proto=n, x_host=n)  # type: ignore[method-assign]
    return app


def _require_migrated(db: Database) -> None:
    head = ScriptDirectory(str(MIGRATIONS)).get_current_head()
    with db.engine.connect() as connection:
        current = MigrationContext.configure(connection).get_current_revision()
    if current != head:
        raise ConfigurationError(
            f"The ledger database is at revision {current or 'none'}, not {head}: run `refunder migrate` first."
        )
