"""The sidecar's HTTP API (/v1, signed) and health check."""

from __future__ import annotations

import hashlib
import json
import logging
from collections import Counter
from typing import Any

from flask import Response, current_app, request
from flask.views import MethodView
from flask_smorest import Blueprint

from .. import __version__
from ..bulk import BulkLine, BulkRefunds, JobView, outcome
from ..detection import Block, Detection, Mode, OrderFacts, recorded_mode
from ..errors import NotFound, RefunderError
from ..ledger.audit import Actor
from ..ledger.models import AuditEvent, Refund
from ..messages import define
from ..money import Money
from ..payments import Registration
from ..providers import detect
from ..providers.base import PaymentClaim, PaymentNotAtProvider, WebhookRequest
from ..quote import Item, Proposal, quote
from ..reads import PaymentView
from ..refunds import RefundRequest
from ..rules import RefundPolicy
from ..service import RefundService
from ..woocommerce import WooCommerceBooks, WooCommerceRefund
from . import schemas as s
from .auth import signed_target
from .inputs import StrictParser

log = logging.getLogger(__name__)

v1 = Blueprint("v1", __name__, url_prefix="/v1", description="Signed API used by the WordPress plugin.")
v1.ARGUMENTS_PARSER = StrictParser()
public = Blueprint("public", __name__, description="Unsigned endpoints.")
webhooks = Blueprint("webhooks", __name__, url_prefix="/webhooks",
                     description="Provider webhooks, each verified by the provider's own signature.")

SIGNED: list[dict[str, list[str]]] = [{"RefunderTimestamp": [], "RefunderNonce": [], "RefunderSignature": []}]


def service() -> RefundService:
    return current_app.extensions["refunder"]


def _actor(data: dict[str, str]) -> Actor:
    return Actor(id=data["id"], name=data["name"])


def money_out(m: Money) -> dict[str, Any]:
    return m.as_object()


def reason_out(block: Block | None) -> dict[str, Any] | None:
    return {"code": block.code, "message": block.message, "params": block.params} if block else None


def payment_out(view: PaymentView) -> dict[str, Any]:
    p, b, can = view.payment, view.balance, view.capabilities
    return {
        "id": p.id, "provider": p.provider, "provider_label": view.provider_label,
        "reference": p.reference, "order_id": p.order_id, "currency": p.currency, "mode": p.mode,
        "gateway": p.gateway,
        "captured": money_out(b.captured), "refunded": money_out(b.refunded),
        "in_flight": money_out(b.in_flight), "refundable": money_out(b.refundable),
        "paid_at": p.paid_at, "refund_deadline": view.deadline,
        "refund_window_open": view.window_open, "checked_at": p.checked_at,
        "capabilities": {
            "provider_refund": can.provider_refund, "reason": reason_out(can.blocked),
            "partial_refund": can.partial, "line_refund": can.lines, "bank_transfer": can.bank_transfer,
            "default_via": can.default_via, "needs_bank_reference": can.needs_bank_reference,
        },
    }


def problem_out(error: RefunderError) -> dict[str, Any]:
    """A problem inside an answer (a quote's): what the call itself would have answered."""
    return {"code": error.code, "status": error.status, "title": error.title, "detail": error.message,
            "params": error.params}


def detection_out(found: Detection) -> dict[str, Any]:
    return {"provider": found.provider, "reference": found.reference, "provider_data": found.provider_data,
            "mode": found.mode, "rule": found.rule, "refundable": found.block is None,
            "reason": reason_out(found.block)}


def detection_in(data: dict[str, Any]) -> Detection:
    """An explicit provider (the refunder_payment_source filter) wins; otherwise the order's facts decide."""
    facts = OrderFacts(order_id=data["order_id"], **data["facts"]) if data["facts"] is not None else None
    if data["provider"]:
        mode = Mode(data["mode"]) if data["mode"] else recorded_mode(facts) if facts else Mode.UNKNOWN
        return Detection(data["provider"], data["reference"], data["provider_data"], mode, rule="explicit")
    assert facts is not None
    return detect(facts)


def refund_out(r: Refund) -> dict[str, Any]:
    return {
        "id": r.id, "payment_id": r.payment_id, "amount": money_out(r.amount),
        "status": r.status, "reason": r.reason, "reason_internal": r.reason_internal,
        "actor": {"id": r.actor_id, "name": r.actor_name},
        "lines": r.lines, "bank_reference": r.bank_reference, "provider_reference": r.provider_reference,
        "failure": {"code": r.failure_code, "message": r.failure_message, "params": r.failure_params or {}}
        if r.failure_code else None,
        "via": r.via, "kind": r.kind, "wc_refund_id": r.wc_refund_id,
        "created_at": r.created_at, "updated_at": r.updated_at, "finalized_at": r.finalized_at,
    }


def event_out(e: AuditEvent) -> dict[str, Any]:
    return {
        "id": e.id, "at": e.at, "action": e.action, "actor": {"id": e.actor_id, "name": e.actor_name},
        "refund_id": e.refund_id, "reason": e.reason, "provider_reference": e.provider_reference,
        "amount": money_out(Money(e.amount_minor, e.currency)) if e.currency and e.amount_minor is not None else None,
        "detail": e.detail,
    }


def bulk() -> BulkRefunds:
    return current_app.extensions["refunder_bulk"]


def bulk_lines(data: dict[str, Any]) -> list[BulkLine]:
    return [BulkLine(order_id=line["order_id"], payment_id=line["payment_id"], amount=line["amount"])
            for line in data["lines"]]


def job_out(view: JobView) -> dict[str, Any]:
    job = view.job
    shown = [(item, refund, payment, outcome(item, refund)) for item, refund, payment in view.items]
    counts = Counter(result for *_, result in shown)
    return {
        "id": job.id, "status": job.status, "reason": job.reason,
        "actor": {"id": job.actor_id, "name": job.actor_name}, "counts": dict(counts), "total": len(shown),
        "finished": sum(n for result, n in counts.items() if result in ("refunded", "failed", "skipped")),
        "created_at": job.created_at, "finished_at": job.finished_at,
        "items": [{
            "order_id": item.order_id, "payment_id": item.payment_id, "outcome": result,
            "amount": _item_amount(item, refund, payment),
            "refund_id": refund.id if refund else None,
            "message": (refund.failure_message if refund else None) or item.message,
        } for item, refund, payment, result in shown],
    }


def _item_amount(item: Any, refund: Refund | None, payment: Any) -> dict[str, Any] | None:
    minor = refund.amount_minor if refund is not None else item.amount_minor
    return money_out(Money(minor, payment.currency)) if payment is not None and minor is not None else None


def fingerprint() -> str:
    """Same method, path and JSON body (whatever its spacing or key order) give the same fingerprint."""
    canonical = json.dumps(
        {"method": request.method, "path": request.path, "body": request.get_json(silent=True)},
        sort_keys=True, separators=(",", ":"),
    )
    return hashlib.sha256(canonical.encode()).hexdigest()


READY_TIMEOUT = 2.0  # seconds the readiness check gives the ledger
WEBHOOK_NOT_FOUND = define("webhook_not_found", "No webhook for provider {provider} here.", status=NotFound.status,
                           provider="paypal")


def health() -> dict[str, Any]:
    return {"status": "ok", "version": __version__, "providers": sorted(service().providers),
            "provider_budget": service().budget}


@public.route("/health")
class Health(MethodView):
    @public.response(200, s.HealthSchema)
    def get(self) -> dict[str, Any]:
        """Liveness (unsigned): the process answers. Touches no database, so it answers at once, always."""
        return health()


@public.route("/health/ready")
class Ready(MethodView):
    @public.response(200, s.HealthSchema)
    def get(self) -> dict[str, Any]:
        """Readiness (unsigned): the ledger answers a read within seconds; 503 ledger_unavailable if not."""
        service().db.ready(READY_TIMEOUT)
        return health()


@v1.route("/ping")
class Ping(MethodView):
    @v1.doc(security=SIGNED)
    @v1.response(200, s.HealthSchema)
    def get(self) -> dict[str, Any]:
        """Signed health check: proves the shared secret and clocks agree ("test connection")."""
        return health()


@v1.route("/payments")
class Payments(MethodView):
    @v1.doc(security=SIGNED)
    @v1.arguments(s.PaymentRegistrationSchema)
    @v1.response(200, s.PaymentRegisteredSchema)
    def post(self, data: dict[str, Any]) -> dict[str, Any]:
        """Register a payment (or refresh it) from the order's payment facts, or an explicit provider.

        Answers which provider took the money and whether it can refund it (detection), the amounts, and
        what can be done now (capabilities).
        """
        found = detection_in(data)
        claim = PaymentClaim(reference=found.reference, order_id=data["order_id"], captured=data["captured"],
                             paid_at=data["paid_at"], provider_data=found.provider_data)
        registration = Registration(mode=found.mode, block=found.block, rule=found.rule,
                                    gateway=data["facts"]["gateway"] if data["facts"] else None)
        view = service().payments.register_payment(found.provider, claim, _actor(data["actor"]), registration)
        if data["document"] is not None:  # the order's facts, for its credit notes
            current_app.extensions["refunder_notes"].remember_document(view.payment.id, data["document"])
        return {**payment_out(view), "detection": detection_out(found)}


@v1.route("/payments/<string:payment_id>")
class PaymentItem(MethodView):
    @v1.doc(security=SIGNED)
    @v1.response(200, s.PaymentSchema)
    def get(self, payment_id: str) -> dict[str, Any]:
        """Captured, refunded, in-flight and refundable amounts of one payment, from the ledger alone (no provider
        is asked: checked_at says when the provider last confirmed them; refresh asks it)."""
        return payment_out(service().reads.payment_view(payment_id))


@v1.route("/payments/<string:payment_id>/refresh")
class PaymentRefresh(MethodView):
    @v1.doc(security=SIGNED)
    @v1.response(200, s.PaymentSchema)
    @v1.alt_response(504, schema=s.ProblemSchema, description="provider_not_answering: the provider did not answer "
                     "within the time budget; nothing was changed (the ledger's figures and checked_at stand).")
    def post(self, payment_id: str) -> dict[str, Any]:
        """Check with the provider now ("Check with provider"): captured amount, payment time and its refunds,
        those made elsewhere included, within the time budget (provider_budget). Sets checked_at."""
        return payment_out(service().payments.refresh_payment(payment_id))


@v1.route("/payments/<string:payment_id>/refunds")
class PaymentRefunds(MethodView):
    @v1.doc(security=SIGNED)
    @v1.response(200, s.RefundListSchema)
    def get(self, payment_id: str) -> dict[str, Any]:
        """Refunds of one payment, oldest first."""
        return {"refunds": [refund_out(r) for r in service().reads.list_refunds(payment_id=payment_id)]}

    @v1.doc(security=SIGNED)
    @v1.arguments(s.IdempotencyHeaderSchema, location="headers")
    @v1.arguments(s.RefundCreateSchema)
    @v1.response(201, s.RefundSchema)
    @v1.alt_response(200, schema=s.RefundSchema, description="Idempotent replay: the refund this key made.")
    def post(self, headers: dict[str, str], data: dict[str, Any], payment_id: str) -> Any:
        """Refund all or part of a payment. The same Idempotency-Key and body return the first result."""
        lines = [dict(line) for line in data["lines"]]
        req = RefundRequest(amount=data["amount"], reason=data["reason"].strip(), actor=_actor(data["actor"]),
                            lines=lines, bank_reference=data["bank_reference"],
                            reason_internal=data["reason_internal"], via=data["via"])
        refund, created = service().refunds.create_refund(payment_id, req, headers["idempotency_key"], fingerprint())
        return refund_out(refund), (201 if created else 200), {"Idempotent-Replayed": str(not created).lower()}


@v1.route("/payments/<string:payment_id>/quote")
class PaymentQuote(MethodView):
    @v1.doc(security=SIGNED)
    @v1.arguments(s.QuoteRequestSchema)
    @v1.response(200, s.QuoteSchema)
    def post(self, data: dict[str, Any], payment_id: str) -> dict[str, Any]:
        """What a proposed refund would be, and every reason it cannot go ahead (nothing is recorded).

        The amount (everything refundable, an amount, or items as WooCommerce stores its lines: the lines with
        their net and VAT worked out exactly), the balance, the refund window, what the provider supports,
        whether a bank reference is needed, and each refusal as a coded problem with its params.
        """
        svc = service()
        view = svc.reads.payment_view(payment_id)
        provider = svc.providers.get(view.payment.provider)
        proposal = Proposal(refund=data["refund"], amount=data["amount"], via=data["via"],
                            items=[Item(**item) for item in data["items"]])
        found = quote(proposal, balance=view.balance, capabilities=view.capabilities,
                      provider_label=view.provider_label, paid_at=view.payment.paid_at, now=svc.clock(),
                      policy=provider.policy if provider else RefundPolicy())
        p, b, can = view.payment, view.balance, view.capabilities
        return {
            "payment_id": p.id, "provider": p.provider, "provider_label": view.provider_label, "mode": p.mode,
            "via": found.via, "refund": proposal.refund, "amount": money_out(found.amount),
            "lines": [{"item_id": line.item_id, "name": line.name, "quantity": line.quantity,
                       "amount": money_out(line.amount), "net": money_out(line.net), "tax": money_out(line.tax)}
                      for line in found.lines],
            "captured": money_out(b.captured), "refunded": money_out(b.refunded),
            "in_flight": money_out(b.in_flight), "refundable": money_out(b.refundable),
            "remaining": money_out(found.remaining),
            "refund_deadline": view.deadline, "refund_window_open": view.window_open,
            "partial_refund": can.partial, "line_refund": can.lines,
            "needs_bank_reference": found.needs_bank_reference,
            "allowed": not found.problems, "problems": [problem_out(problem) for problem in found.problems],
        }


def woocommerce() -> WooCommerceBooks:
    return current_app.extensions["refunder_woocommerce"]


@v1.route("/payments/<string:payment_id>/woocommerce-refunds")
class WooCommerceRefunds(MethodView):
    @v1.doc(security=SIGNED)
    @v1.arguments(s.WooCommerceRefundSchema)
    @v1.response(201, s.RefundSchema)
    @v1.alt_response(200, schema=s.RefundSchema, description="Known already: the record of this WooCommerce refund, "
                                                             "or the Refunder refund its provider id belongs to.")
    def post(self, data: dict[str, Any], payment_id: str) -> Any:
        """A refund WooCommerce recorded by itself: counted once (idempotent per WooCommerce refund), linked to
        the provider's refund where there is one."""
        report = WooCommerceRefund(
            wc_refund_id=data["wc_refund_id"], amount=data["amount"], reason=data["reason"].strip(),
            actor=_actor(data["actor"]), gateway_refund=data["gateway_refund"], source=data["source"],
            provider_refund_id=data["provider_refund_id"])
        refund, created = woocommerce().record(payment_id, report)
        return refund_out(refund), (201 if created else 200)


@v1.route("/payments/<string:payment_id>/woocommerce-refunds/<string:wc_refund_id>/deleted")
class WooCommerceRefundDeleted(MethodView):
    @v1.doc(security=SIGNED)
    @v1.response(200, s.RefundSchema)
    def post(self, payment_id: str, wc_refund_id: str) -> dict[str, Any]:
        """WooCommerce deleted its refund: a booking no gateway paid no longer counts."""
        return refund_out(woocommerce().deleted(payment_id, wc_refund_id, Actor("wordpress", "WordPress")))


@v1.route("/refund-changes")
class RefundChanges(MethodView):
    @v1.doc(security=SIGNED)
    @v1.arguments(s.ChangesQuerySchema, location="query")
    @v1.response(200, s.RefundChangesSchema)
    def get(self, query: dict[str, Any]) -> dict[str, Any]:
        """Refunds changed since a time, with their orders: how WordPress follows the ledger in one call."""
        changed, until = woocommerce().changes(query["since"], query["limit"])
        return {"refunds": [{**refund_out(r), "order_id": order_id} for r, order_id in changed], "until": until}


@v1.route("/payments/<string:payment_id>/events")
class PaymentEvents(MethodView):
    @v1.doc(security=SIGNED)
    @v1.response(200, s.EventListSchema)
    def get(self, payment_id: str) -> dict[str, Any]:
        """Audit trail of one payment: who did what, when, why, with which provider reference."""
        return {"events": [event_out(e) for e in service().reads.events(payment_id)]}


@v1.route("/refunds")
class Refunds(MethodView):
    @v1.doc(security=SIGNED)
    @v1.arguments(s.OrderQuerySchema, location="query")
    @v1.response(200, s.RefundListSchema)
    def get(self, query: dict[str, str]) -> dict[str, Any]:
        """Refunds of an order (all its payments), oldest first."""
        return {"refunds": [refund_out(r) for r in service().reads.list_refunds(order_id=query["order_id"])]}


@v1.route("/refunds/<string:refund_id>")
class RefundItem(MethodView):
    @v1.doc(security=SIGNED)
    @v1.response(200, s.RefundSchema)
    def get(self, refund_id: str) -> dict[str, Any]:
        """One refund as the ledger has it."""
        return refund_out(service().reads.get_refund(refund_id))


@v1.route("/refunds/<string:refund_id>/refresh")
class RefundRefresh(MethodView):
    @v1.doc(security=SIGNED)
    @v1.response(200, s.RefundSchema)
    def post(self, refund_id: str) -> dict[str, Any]:
        """Ask the provider for the state of a refund that is not final yet (unless it is being sent right now).

        One the provider never got, whose sender is gone, is sent again with its own idempotency key."""
        return refund_out(service().reconciler.refresh_refund(refund_id))


@v1.route("/bulk-refunds/plan")
class BulkPlan(MethodView):
    @v1.doc(security=SIGNED)
    @v1.arguments(s.BulkPlanRequestSchema)
    @v1.response(200, s.BulkPlanSchema)
    def post(self, data: dict[str, Any]) -> dict[str, Any]:
        """Review a bulk refund: what each booking would get back, totals per provider, and what cannot be."""
        plan = bulk().plan(bulk_lines(data))
        totals: dict[tuple[str, str], list[int]] = {}
        for line in plan:
            if line.amount is not None and line.provider is not None:
                entry = totals.setdefault((line.provider, line.amount.currency), [0, 0])
                entry[0] += 1
                entry[1] += line.amount.minor
        return {
            "lines": [{"order_id": p.line.order_id, "payment_id": p.line.payment_id, "provider": p.provider,
                       "amount": money_out(p.amount) if p.amount else None,
                       "problem": p.problem.message if p.problem else None, "reason": reason_out(p.problem)}
                      for p in plan],
            "totals": [{"provider": provider, "count": count, "total": money_out(Money(minor, currency))}
                       for (provider, currency), (count, minor) in sorted(totals.items())],
            "refundable": sum(1 for p in plan if p.problem is None),
            "skipped": sum(1 for p in plan if p.problem is not None),
        }


@v1.route("/bulk-refunds")
class BulkStart(MethodView):
    @v1.doc(security=SIGNED)
    @v1.arguments(s.IdempotencyHeaderSchema, location="headers")
    @v1.arguments(s.BulkStartRequestSchema)
    @v1.response(201, s.BulkJobSchema)
    @v1.alt_response(200, schema=s.BulkJobSchema, description="Idempotent replay: the job this key started.")
    def post(self, headers: dict[str, str], data: dict[str, Any]) -> Any:
        """Start refunding many bookings; `refunder worker` works through them at each provider's pace."""
        job, created = bulk().start(bulk_lines(data), data["reason"].strip(), _actor(data["actor"]),
                                    headers["idempotency_key"], fingerprint())
        return job_out(bulk().view(job.id)), (201 if created else 200)


@v1.route("/bulk-refunds/<string:job_id>")
class BulkJobItem(MethodView):
    @v1.doc(security=SIGNED)
    @v1.response(200, s.BulkJobSchema)
    def get(self, job_id: str) -> dict[str, Any]:
        """Progress of a bulk refund, item by item."""
        return job_out(bulk().view(job_id))


@v1.route("/bulk-refunds/<string:job_id>/report.csv")
class BulkReport(MethodView):
    @v1.doc(security=SIGNED, responses={"200": {"description": "CSV report",
                                                "content": {"text/csv": {"schema": {"type": "string"}}}}})
    def get(self, job_id: str) -> Response:
        """Final report: refunded, processing, failed and skipped bookings with amounts and reasons."""
        return Response(bulk().report_csv(job_id), mimetype="text/csv",
                        headers={"Content-Disposition": f'attachment; filename="{job_id}.csv"'})


@webhooks.route("/<string:provider>")
class ProviderWebhook(MethodView):
    @webhooks.response(200, s.WebhookResultSchema)
    def post(self, provider: str, endpoint: str = "") -> dict[str, int]:
        """A provider tells us a refund moved. Verified, then applied; repeats and late arrivals are harmless."""
        svc = service()
        if provider not in svc.providers:
            raise NotFound(WEBHOOK_NOT_FOUND, provider=provider)
        received = WebhookRequest(method=request.method, url=f"{request.scheme}://{request.host}{signed_target(request)}",
                                  headers=dict(request.headers), body=request.get_data(), endpoint=endpoint)
        try:
            updates = svc.providers[provider].webhook_updates(received)
        except PaymentNotAtProvider as exc:  # not a payment of this account: a 4xx would be retried for days
            log.info("%s webhook about a payment the provider does not know, ignored: %s", provider, exc.message)
            updates = []
        return {"received": len(updates), "applied": svc.reconciler.apply_updates(provider, updates)}


@webhooks.route("/<string:provider>/<string:endpoint>")
class ProviderWebhookEndpoint(ProviderWebhook):
    """A provider's second webhook endpoint with a signing secret of its own (Stripe Connect: `accounts`)."""
