"""marshmallow schemas for every request and response of the sidecar API."""

from __future__ import annotations

from typing import Any

from marshmallow import INCLUDE, Schema, ValidationError, fields, post_load, validate, validates_schema

from ..currencies import EXPONENTS
from ..errors import AMOUNT_NOT_EXACT, InvalidRequest
from ..money import MAX_MINOR, InexactAmount, Money
from ..woocommerce import SOURCES as WOOCOMMERCE_SOURCES
from .bookkeeping_schemas import DECIMAL, OrderDocumentSchema
from .inputs import Text

_PRINTABLE = validate.Regexp(r"^[\x21-\x7e]+$", error="Use printable ASCII without spaces.")
_KEY = validate.Regexp(r"^[\x21-\x2b\x2d-\x7e]{8,255}$",
                       error="Use 8 to 255 printable ASCII characters without spaces or commas.")


def _text(max_len: int, *validators: validate.Validator, **kwargs: Any) -> Text:
    return Text(validate=[validate.Length(min=1, max=max_len), *validators], **kwargs)


class MinorUnits(fields.Integer):
    """A whole number of minor units (øre, cents); floats, strings and booleans are refused."""

    def __init__(self, minimum: int, **kwargs: Any) -> None:
        message = (
            "Must be a positive whole number of minor units, e.g. 2500 for 25.00 NOK."
            if minimum > 0 else "Must be a whole number of minor units, zero or more."
        )
        super().__init__(strict=True, validate=validate.Range(min=minimum, max=MAX_MINOR, error=message),
                         error_messages={"invalid": message}, **kwargs)


class MoneySchema(Schema):
    value = MinorUnits(1, required=True, metadata={"description": "Integer minor units (2500 = 25.00 NOK)."})
    currency = fields.String(
        required=True, validate=validate.OneOf(sorted(EXPONENTS), error="Not an ISO 4217 currency code."),
        metadata={"example": "NOK"},
    )
    exponent = fields.Integer(strict=True, load_default=None, metadata={
        "description": "The currency's minor-unit digits (NOK 2, JPY 0, KWD 3), in every answer; optional in a "
                       "request, where it must be the currency's.", "example": 2})

    @validates_schema
    def currency_exponent(self, data: dict[str, Any], **_: Any) -> None:
        if data.get("exponent") is not None and data.get("currency") in EXPONENTS \
                and data["exponent"] != EXPONENTS[data["currency"]]:
            raise ValidationError(f"{data['currency']} has {EXPONENTS[data['currency']]} minor-unit digits.",
                                  "exponent")

    @post_load
    def make(self, data: dict[str, Any], **_: Any) -> Money:
        return Money(data["value"], data["currency"])


class BalanceMoneySchema(MoneySchema):
    value = MinorUnits(0, required=True)


class MoneyInSchema(MoneySchema):
    """Money in a request: minor units (`value`), or the decimal string WooCommerce writes (`decimal`), read
    here with the currency's ISO 4217 digits, so the plugin needs no currency table."""

    minimum = 1
    value = MinorUnits(1, load_default=None, metadata={"description": "Integer minor units (2500 = 25.00 NOK)."})
    decimal = fields.String(load_default=None, validate=validate.Regexp(
        r"^(0|[1-9][0-9]{0,15})(\.[0-9]{1,12})?$", error="A decimal amount such as \"250.00\"."), metadata={
        "description": "Instead of value: the amount as WooCommerce writes it (\"1500.00\" JPY, \"12.5\" NOK). "
                       "Digits beyond the currency's must be zeros (else 422 amount_not_exact).",
        "example": "250.00"})

    @validates_schema
    def value_or_decimal(self, data: dict[str, Any], **_: Any) -> None:
        if (data.get("value") is None) == (data.get("decimal") is None):
            raise ValidationError("Give either value (minor units) or decimal.", "value")

    @post_load
    def make(self, data: dict[str, Any], **_: Any) -> Money:
        if data["value"] is not None:
            return Money(data["value"], data["currency"])
        money = Money.exact(data["decimal"], data["currency"])  # InexactAmount: see MoneyIn
        if not self.minimum <= money.minor <= MAX_MINOR:
            raise ValidationError("More than zero, and no more than a booking can be." if self.minimum
                                  else "No more than a booking can be.", "decimal")
        return money


class BalanceMoneyInSchema(MoneyInSchema):
    minimum = 0
    value = MinorUnits(0, load_default=None, metadata={"description": "Integer minor units (2500 = 25.00 NOK)."})


class MoneyIn(fields.Nested):
    """A MoneyInSchema field: a decimal with more digits than its currency has is refused with its own code."""

    def _deserialize(self, value: Any, attr: str | None, data: Any, partial: Any = None, **kwargs: Any) -> Any:
        try:
            return super()._deserialize(value, attr, data, partial, **kwargs)
        except InexactAmount as exc:
            field = f"{self.data_key or self.name}.decimal"
            raise InvalidRequest(AMOUNT_NOT_EXACT, field=field, errors={field: [str(exc)]}, amount=exc.amount,
                                 currency=exc.currency, exponent=exc.exponent) from None


class ActorSchema(Schema):
    id = _text(64, required=True, metadata={"description": "WordPress user id."})
    name = _text(200, required=True, metadata={"description": "Display name or login of the user."})


class LineSchema(Schema):
    item_id = _text(64, required=True)
    name = _text(200, required=True)
    quantity = fields.Integer(strict=True, required=True, validate=validate.Range(min=1, max=100_000))
    amount = MinorUnits(1, required=True)


_MODES = ["live", "test", "unknown"]
_VIAS = ["provider", "bank_transfer"]


class PaymentFactsSchema(Schema):
    """How WooCommerce says the order was paid; the sidecar works out the provider from it."""

    gateway = Text(load_default="", validate=validate.Length(max=64),
                   metadata={"description": "The order's payment method (gateway id).", "example": "vipps"})
    gateway_title = Text(load_default="", validate=validate.Length(max=200))
    transaction_id = Text(load_default="", validate=validate.Length(max=200))
    meta = fields.Dict(keys=Text(validate=validate.Length(min=1, max=64)),
                       values=Text(multiline=True, validate=validate.Length(max=200)), load_default=dict,
                       validate=validate.Length(max=100),
                       metadata={"description": "The gateway plugins' order meta (_vipps_*, _stripe_*, _mollie_*, "
                                                "_refunder_payment_mode ...), values as strings.",
                                 "example": {"_vipps_api": "epayment", "_vipps_orderid": "Woo00012"}})


class PaymentRegistrationSchema(Schema):
    """Either the order's facts (the sidecar detects the provider), or an explicit provider and reference
    (a booking system's answer through the plugin's refunder_payment_source filter), which wins."""

    facts = fields.Nested(PaymentFactsSchema, load_default=None)
    provider = Text(load_default=None, validate=validate.Regexp(r"^[a-z_]{2,32}$"), metadata={"example": "simulator"})
    reference = _text(100, _PRINTABLE, load_default=None)
    mode = fields.String(load_default=None, validate=validate.OneOf(_MODES),
                         metadata={"description": "With an explicit provider: the payment's mode, when known."})
    order_id = _text(64, _PRINTABLE, required=True)
    captured = MoneyIn(BalanceMoneyInSchema, required=True,
                       metadata={"description": "What the order says was paid; the provider's figure wins."})
    paid_at = fields.AwareDateTime(required=True)
    provider_data = fields.Dict(keys=Text(validate=validate.Length(max=64)),
                                values=Text(validate=validate.Length(max=200)),
                                load_default=dict, validate=validate.Length(max=20))
    actor = fields.Nested(ActorSchema, required=True)
    document = fields.Nested(OrderDocumentSchema, load_default=None, allow_none=True,
                             metadata={"description": "The order's facts for its credit notes (seller, buyer, lines)."})

    @validates_schema
    def facts_or_provider(self, data: dict[str, Any], **_: Any) -> None:
        if data.get("provider") and not data.get("reference"):
            raise ValidationError("Give the payment reference with the provider.", "reference")
        if not data.get("provider") and data.get("facts") is None:
            raise ValidationError("Send the order's payment facts, or a provider and reference.", "facts")


class RefundCreateSchema(Schema):
    amount = fields.Nested(MoneySchema, required=True)
    reason = Text(multiline=True, required=True, validate=validate.Length(min=1, max=500))
    actor = fields.Nested(ActorSchema, required=True)
    lines = fields.List(fields.Nested(LineSchema), load_default=list, validate=validate.Length(max=200))
    bank_reference = Text(load_default=None, allow_none=True, validate=validate.Length(min=1, max=100))
    reason_internal = fields.Boolean(load_default=False,
                                     metadata={"description": "Keep the reason off the credit note and e-mail."})
    via = fields.String(load_default=None, allow_none=True, validate=validate.OneOf(_VIAS), metadata={
        "description": "provider: sent through the payment's provider; bank_transfer: staff paid it back by bank "
                       "transfer (needs bank_reference; never sent anywhere). Default: the payment's default_via."})

    @validates_schema
    def reason_has_words(self, data: dict[str, Any], **_: Any) -> None:
        if not data.get("reason", "x").strip():
            raise ValidationError("Give the reason for the refund.", "reason")


class QuoteItemSchema(Schema):
    """An order line as WooCommerce stores it, and how many of its units to refund."""

    item_id = _text(64, required=True)
    name = _text(200, required=True)
    quantity = fields.Integer(strict=True, required=True, validate=validate.Range(min=1, max=100_000),
                              metadata={"description": "Units ordered."})
    total = fields.String(required=True, validate=DECIMAL, metadata={
        "description": "The line's total without tax as WooCommerce stores it (\"800\", \"63.999999\").",
        "example": "800.00"})
    total_tax = fields.String(required=True, validate=DECIMAL, metadata={"example": "200.00"})
    refund_quantity = fields.Integer(strict=True, required=True, validate=validate.Range(min=0, max=100_000),
                                     metadata={"description": "Units to refund now (0: not this line)."})
    refunded_quantity = fields.Integer(strict=True, load_default=0, validate=validate.Range(min=0, max=100_000),
                                       metadata={"description": "Units refunded before."})


class QuoteRequestSchema(Schema):
    refund = fields.String(required=True, validate=validate.OneOf(["full", "amount", "items"]), metadata={
        "description": "full: everything still refundable; amount: `amount`; items: the `items` with a "
                       "refund_quantity."})
    amount = fields.Nested(MoneySchema, load_default=None)
    items = fields.List(fields.Nested(QuoteItemSchema), load_default=list, validate=validate.Length(max=200))
    via = fields.String(load_default=None, allow_none=True, validate=validate.OneOf(_VIAS),
                        metadata={"description": "Default: the payment's default_via."})

    @validates_schema
    def what_to_refund(self, data: dict[str, Any], **_: Any) -> None:
        if data.get("refund") == "amount" and data.get("amount") is None:
            raise ValidationError("Give the amount to refund.", "amount")
        if data.get("refund") == "items" and not data.get("items"):
            raise ValidationError("Give the order's items, with the quantities to refund.", "items")


class BulkLineSchema(Schema):
    order_id = _text(64, required=True)
    payment_id = Text(load_default=None, allow_none=True, validate=validate.Length(min=1, max=40))
    amount = fields.Nested(MoneySchema, load_default=None, allow_none=True,
                           metadata={"description": "Leave out to refund everything still refundable."})


class BulkPlanRequestSchema(Schema):
    lines = fields.List(fields.Nested(BulkLineSchema), required=True, validate=validate.Length(min=1, max=2000))


class BulkStartRequestSchema(BulkPlanRequestSchema):
    reason = Text(multiline=True, required=True, validate=validate.Length(min=1, max=500))
    actor = fields.Nested(ActorSchema, required=True)


class ReasonSchema(Schema):
    code = fields.String(metadata={"description": "Stable, for translation (tests/vectors/problems.json)."})
    message = fields.String(metadata={"description": "Plain English, the fallback."})
    params = fields.Dict(metadata={"description": "What the message mentions (provider, method, deadline ...)."})


class BulkPlanLineSchema(Schema):
    order_id = fields.String()
    payment_id = fields.String(allow_none=True)
    provider = fields.String(allow_none=True)
    amount = fields.Nested(BalanceMoneySchema, allow_none=True)
    problem = fields.String(allow_none=True, metadata={"description": "Why it cannot be refunded (English)."})
    reason = fields.Nested(ReasonSchema, allow_none=True,
                           metadata={"description": "The same as a code and its params, for translation."})


class BulkTotalSchema(Schema):
    provider = fields.String()
    provider_label = fields.String(metadata={"description": "The provider as people name it."})
    count = fields.Integer()
    total = fields.Nested(BalanceMoneySchema)


class BulkPlanSchema(Schema):
    lines = fields.List(fields.Nested(BulkPlanLineSchema))
    totals = fields.List(fields.Nested(BulkTotalSchema))
    refundable = fields.Integer()
    skipped = fields.Integer()


class BulkItemSchema(Schema):
    order_id = fields.String()
    payment_id = fields.String(allow_none=True)
    amount = fields.Nested(BalanceMoneySchema, allow_none=True)
    outcome = fields.String(validate=validate.OneOf(
        ["queued", "processing", "refunded", "unknown", "failed", "skipped"]))
    provider = fields.String(allow_none=True)
    provider_label = fields.String(allow_none=True, metadata={"description": "The provider as people name it."})
    refund_id = fields.String(allow_none=True)
    provider_reference = fields.String(allow_none=True)
    message = fields.String(allow_none=True, metadata={"description": "Why it failed or was skipped (English)."})
    reason = fields.Nested(ReasonSchema, allow_none=True,
                           metadata={"description": "Why it failed or was skipped: code and params to translate."})


class BulkJobSchema(Schema):
    id = fields.String()
    status = fields.String(validate=validate.OneOf(["queued", "running", "done"]))
    reason = fields.String()
    actor = fields.Nested(ActorSchema)
    counts = fields.Dict(keys=fields.String(), values=fields.Integer())
    total = fields.Integer()
    finished = fields.Integer(metadata={"description": "Items that need no more work (for a progress bar)."})
    created_at = fields.AwareDateTime()
    finished_at = fields.AwareDateTime(allow_none=True)
    items = fields.List(fields.Nested(BulkItemSchema))


class IdempotencyHeaderSchema(Schema):
    idempotency_key = fields.String(required=True, data_key="Idempotency-Key", validate=_KEY,
                                    metadata={"description": "One per reviewed refund; retries reuse it."})


class OrderQuerySchema(Schema):
    order_id = _text(64, required=True)


class CapabilitiesSchema(Schema):
    provider_refund = fields.Boolean(metadata={"description": "The provider can refund this payment now."})
    reason = fields.Nested(ReasonSchema, allow_none=True, metadata={"description": "Why not, when it cannot."})
    partial_refund = fields.Boolean(metadata={"description": "Part of the payment can be refunded."})
    line_refund = fields.Boolean(metadata={"description": "A refund can name the order lines it is for."})
    bank_transfer = fields.Boolean(metadata={"description": "A refund paid back by bank transfer can be recorded."})
    default_via = fields.String(validate=validate.OneOf(_VIAS))
    needs_bank_reference = fields.Boolean(metadata={"description": "The default way needs the transfer's reference."})


class PaymentSchema(Schema):
    id = fields.String()
    provider = fields.String()
    provider_label = fields.String()
    reference = fields.String()
    order_id = fields.String()
    currency = fields.String()
    mode = fields.String(validate=validate.OneOf(_MODES), metadata={"description": "test: a test payment."})
    gateway = fields.String(allow_none=True, metadata={"description": "The WooCommerce payment method."})
    captured = fields.Nested(BalanceMoneySchema)
    refunded = fields.Nested(BalanceMoneySchema)
    in_flight = fields.Nested(BalanceMoneySchema)
    refundable = fields.Nested(BalanceMoneySchema)
    paid_at = fields.AwareDateTime()
    refund_deadline = fields.AwareDateTime(allow_none=True)
    refund_window_open = fields.Boolean(metadata={"description": "False once the provider's refund period ended."})
    checked_at = fields.AwareDateTime(allow_none=True, metadata={
        "description": "When the provider last gave this payment's facts and refunds (registration or refresh); "
                       "null: never (bank transfers, or not yet). The amounts are the ledger's, as of then."})
    capabilities = fields.Nested(CapabilitiesSchema)


class DetectionSchema(Schema):
    provider = fields.String()
    reference = fields.String()
    provider_data = fields.Dict()
    mode = fields.String(validate=validate.OneOf(_MODES))
    rule = fields.String(metadata={"description": "Which rule answered (explicit: WordPress named the provider)."})
    refundable = fields.Boolean(metadata={"description": "What the order shows: the provider can refund it."})
    reason = fields.Nested(ReasonSchema, allow_none=True)


class PaymentRegisteredSchema(PaymentSchema):
    detection = fields.Nested(DetectionSchema)


class QuoteLineSchema(Schema):
    item_id = fields.String()
    name = fields.String()
    quantity = fields.Integer(metadata={"description": "Units refunded."})
    amount = fields.Nested(BalanceMoneySchema, metadata={"description": "net + tax: as the customer paid."})
    net = fields.Nested(BalanceMoneySchema)
    tax = fields.Nested(BalanceMoneySchema)


class QuoteProblemSchema(Schema):
    code = fields.String(metadata={"description": "Stable (tests/vectors/problems.json)."})
    status = fields.Integer(metadata={"description": "What the refund itself would answer."})
    title = fields.String()
    detail = fields.String(metadata={"description": "The code's sentence in English, the fallback."})
    params = fields.Dict()


class QuoteSchema(Schema):
    payment_id = fields.String()
    provider = fields.String()
    provider_label = fields.String()
    mode = fields.String(validate=validate.OneOf(_MODES))
    via = fields.String(validate=validate.OneOf(_VIAS))
    refund = fields.String()
    amount = fields.Nested(BalanceMoneySchema)
    lines = fields.List(fields.Nested(QuoteLineSchema))
    captured = fields.Nested(BalanceMoneySchema)
    refunded = fields.Nested(BalanceMoneySchema)
    in_flight = fields.Nested(BalanceMoneySchema)
    refundable = fields.Nested(BalanceMoneySchema)
    remaining = fields.Nested(BalanceMoneySchema, metadata={"description": "Refundable after this refund."})
    refund_deadline = fields.AwareDateTime(allow_none=True)
    refund_window_open = fields.Boolean()
    partial_refund = fields.Boolean()
    line_refund = fields.Boolean()
    needs_bank_reference = fields.Boolean()
    allowed = fields.Boolean(metadata={"description": "No problems: the refund may go ahead as quoted."})
    problems = fields.List(fields.Nested(QuoteProblemSchema), metadata={"description": "Every reason it cannot."})


class FailureSchema(Schema):
    code = fields.String(metadata={"description": "Stable, for translation (tests/vectors/problems.json)."})
    message = fields.String(metadata={"description": "Plain English, the fallback."})
    params = fields.Dict(metadata={"description": "What the message names (money as money objects)."})


class RefundSchema(Schema):
    id = fields.String()
    payment_id = fields.String()
    amount = fields.Nested(MoneySchema)
    status = fields.String(validate=validate.OneOf(["pending", "processing", "refunded", "failed", "unknown"]))
    reason = fields.String()
    reason_internal = fields.Boolean()
    actor = fields.Nested(ActorSchema)
    lines = fields.List(fields.Nested(LineSchema))
    bank_reference = fields.String(allow_none=True)
    provider_reference = fields.String(allow_none=True)
    failure = fields.Nested(FailureSchema, allow_none=True)
    via = fields.String(validate=validate.OneOf(_VIAS), metadata={"description": "How the money went back."})
    kind = fields.String(validate=validate.OneOf(["requested", "external", "woocommerce"]),
                         metadata={"description": "external: made outside Refunder, found at the provider; "
                                                  "woocommerce: made in WooCommerce, reported by the plugin."})
    wc_refund_id = fields.String(allow_none=True, metadata={"description": "The WooCommerce refund that records it."})
    created_at = fields.AwareDateTime()
    updated_at = fields.AwareDateTime()
    finalized_at = fields.AwareDateTime(allow_none=True)


class RefundListSchema(Schema):
    refunds = fields.List(fields.Nested(RefundSchema))


class ChangedRefundSchema(RefundSchema):
    order_id = fields.String(metadata={"description": "The order of the refund's payment."})


class RefundChangesSchema(Schema):
    refunds = fields.List(fields.Nested(ChangedRefundSchema), metadata={"description": "Oldest change first."})
    until = fields.AwareDateTime(metadata={"description": "Ask from here next time (less a margin)."})


class ChangesQuerySchema(Schema):
    since = fields.AwareDateTime(required=True, metadata={"description": "Refunds changed at or after this time."})
    limit = fields.Integer(strict=False, load_default=500, validate=validate.Range(min=1, max=1000))


class WooCommerceRefundSchema(Schema):
    """A refund WooCommerce recorded by itself (not made by Refunder): it counts against what is refundable."""

    wc_refund_id = _text(20, validate.Regexp(r"^[0-9]{1,20}$"), required=True,
                         metadata={"description": "The WooCommerce refund's id: one record each."})
    amount = MoneyIn(MoneyInSchema, required=True, metadata={"description": "As WooCommerce recorded it."})
    reason = Text(multiline=True, required=True, validate=validate.Length(min=1, max=500))
    actor = fields.Nested(ActorSchema, required=True)
    gateway_refund = fields.Boolean(required=True, metadata={"description": "A gateway moved the money."})
    source = fields.String(required=True, validate=validate.OneOf(list(WOOCOMMERCE_SOURCES)), metadata={
        "description": "manual (staff), gateway (Refund via <gateway>, or a gateway on a status change), "
                       "stripe_webhook, mollie_webhook (the gateway's webhook), status_change (WooCommerce "
                       "booked the rest on the Refunded status; no money moved)"})
    provider_refund_id = _text(100, _PRINTABLE, load_default=None,
                               metadata={"description": "The provider's refund id, when the gateway gave one."})


class EventSchema(Schema):
    id = fields.Integer()
    at = fields.AwareDateTime()
    action = fields.String()
    actor = fields.Nested(ActorSchema)
    refund_id = fields.String(allow_none=True)
    amount = fields.Nested(BalanceMoneySchema, allow_none=True)
    reason = fields.String(allow_none=True)
    provider_reference = fields.String(allow_none=True)
    detail = fields.Dict()


class EventListSchema(Schema):
    events = fields.List(fields.Nested(EventSchema))


class HealthSchema(Schema):
    status = fields.String()
    version = fields.String()
    providers = fields.List(fields.String())
    provider_budget = fields.Float(metadata={
        "description": "Seconds one provider interaction may take (REFUNDER_PROVIDER_BUDGET): a refund is answered "
                       "within it plus the sidecar's own work. Wait at least 15 s longer."})


class WebhookResultSchema(Schema):
    received = fields.Integer(metadata={"description": "Refund updates the webhook carried."})
    applied = fields.Integer(metadata={"description": "Updates that named one of our refunds."})


class ProblemSchema(Schema):
    """RFC 9457 problem document: `code` is stable (tests/vectors/problems.json lists every one), `params` what
    its sentence names (money as money objects), `detail` the sentence in English.

    Extension members for machines say more about some problems (field, errors, refund_id, reason).
    """

    class Meta:
        unknown = INCLUDE

    type = fields.String()
    title = fields.String()
    status = fields.Integer()
    code = fields.String()
    detail = fields.String()
    params = fields.Dict()
    errors = fields.Dict(metadata={"description": "Field-level messages for invalid input."})
