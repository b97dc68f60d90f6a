"""marshmallow schemas of the bookkeeping API: the order snapshot sent with a payment, documents, the journal."""

from __future__ import annotations

from datetime import date
from typing import Any
from zoneinfo import ZoneInfo

from marshmallow import Schema, ValidationError, fields, post_load, validate, validates_schema

from .inputs import Text

DECIMAL = validate.Regexp(r"^-?[0-9]{1,13}(\.[0-9]{1,8})?$", error="A decimal amount such as \"800.00\".")
_PERCENT = validate.Regexp(r"^[0-9]{1,3}(\.[0-9]{1,4})?$", error="A percentage such as \"25.0000\".")
_KEY = validate.Regexp(r"^[A-Za-z0-9_-]{1,32}$")
_YEARS = validate.Range(min=date(2000, 1, 1), max=date(2999, 12, 31), error="A date from 2000 to 2999.")


def _text(max_len: int, **kwargs: Any) -> Text:
    return Text(validate=validate.Length(max=max_len), **kwargs)


class PartySchema(Schema):
    name = _text(200, load_default="")
    address = fields.List(_text(200), load_default=list, validate=validate.Length(max=8))
    email = _text(200, load_default="")
    organisation_number = _text(32, load_default="")


class SellerSchema(PartySchema):
    vat_registered = fields.Boolean(load_default=False, metadata={"description": "Shows \"MVA\" after the number."})
    foretaksregisteret = fields.Boolean(load_default=False,
                                        metadata={"description": "Registered in the Register of Business "
                                                                 "Enterprises (required wording for AS/ASA)."})


class OrderFactsSchema(Schema):
    number = _text(64, required=True, metadata={"description": "The order number customers see."})
    date = fields.AwareDateTime(required=True, format="iso")
    invoice_number = _text(64, load_default="", metadata={"description": "Receipt or invoice number, if any."})
    payment_method = _text(200, load_default="", metadata={"description": "WooCommerce's payment method title."})
    timezone = _text(64, load_default="Europe/Oslo")

    @post_load
    def stored_as_text(self, data: dict[str, Any], **_: Any) -> dict[str, Any]:
        return {**data, "date": data["date"].isoformat()}


class OrderLineSchema(Schema):
    item_id = _text(64, required=True)
    kind = fields.String(load_default="product", validate=validate.OneOf(["product", "shipping", "fee"]))
    name = _text(200, required=True)
    quantity = fields.Integer(strict=True, load_default=1, validate=validate.Range(min=1, max=100_000))
    total = fields.String(required=True, validate=DECIMAL,
                          metadata={"description": "Net line total as WooCommerce stores it (\"800.00\")."})
    taxes = fields.Dict(keys=fields.String(validate=_KEY), values=fields.String(validate=DECIMAL),
                        load_default=dict, validate=validate.Length(max=10),
                        metadata={"description": "Tax per rate id, as WooCommerce stores it."})


class TaxRateSchema(Schema):
    percent = fields.String(required=True, validate=_PERCENT)
    label = _text(100, load_default="")


class OrderDocumentSchema(Schema):
    """What a credit note needs to know about the order, sent when the payment is registered."""

    language = fields.String(load_default="nb_NO", validate=validate.Regexp(r"^[A-Za-z]{2,3}(_[A-Za-z]{2,4})?$"))
    order = fields.Nested(OrderFactsSchema, required=True)
    seller = fields.Nested(SellerSchema, required=True)
    buyer = fields.Nested(PartySchema, required=True)
    lines = fields.List(fields.Nested(OrderLineSchema), load_default=list, validate=validate.Length(max=200))
    tax_rates = fields.Dict(keys=fields.String(validate=_KEY), values=fields.Nested(TaxRateSchema),
                            load_default=dict, validate=validate.Length(max=20))

    @validates_schema
    def rates_are_known(self, data: dict[str, Any], **_: Any) -> None:
        unknown = {rate for line in data.get("lines", []) for rate in line.get("taxes", {})} - set(
            data.get("tax_rates", {}))
        if unknown:
            raise ValidationError(f"Tax rates {sorted(unknown)} are not in tax_rates.", "lines")


class CreditNoteSchema(Schema):
    id = fields.String()
    kind = fields.String(validate=validate.OneOf(["credit_note", "cancellation"]))
    number = fields.Integer()
    series = fields.String()
    issued_at = fields.AwareDateTime()
    gross = fields.Dict(metadata={"description": "Total of the document as a money object (value in minor units, "
                                                 "negative: cancellation; currency; exponent)."})
    cancels_id = fields.String(allow_none=True)
    sha256 = fields.String(allow_none=True, metadata={"description": "Of the stored PDF, once rendered."})
    customer_token = fields.String(metadata={"description": "For the customer's own download link (90 days)."})


class CreditNoteListSchema(Schema):
    credit_notes = fields.List(fields.Nested(CreditNoteSchema))


class TokenQuerySchema(Schema):
    token = fields.String(required=True, validate=validate.Length(min=1, max=500))


class JournalQuerySchema(Schema):
    start = fields.Date(required=True, data_key="from", validate=_YEARS)
    end = fields.Date(required=True, data_key="to", validate=_YEARS)
    format = fields.String(load_default="json", validate=validate.OneOf(["json", "csv"]))
    lang = fields.String(load_default="nb", validate=validate.OneOf(["nb", "en"]))
    timezone = fields.String(load_default="Europe/Oslo", validate=validate.Length(min=1, max=64))

    @validates_schema
    def known_zone(self, data: dict[str, Any], **_: Any) -> None:
        try:
            ZoneInfo(data.get("timezone", "UTC"))
        except (ValueError, KeyError, OSError):  # ZoneInfoNotFoundError is a KeyError
            raise ValidationError("Not a time zone such as Europe/Oslo.", "timezone") from None

    @validates_schema
    def period(self, data: dict[str, Any], **_: Any) -> None:
        if "start" in data and "end" in data:
            if data["end"] < data["start"]:
                raise ValidationError("The period ends before it starts.", "to")
            if (data["end"] - data["start"]).days > 400:
                raise ValidationError("Ask for at most 400 days at a time.", "to")


class JournalRowSchema(Schema):
    date = fields.String()
    number = fields.Integer(allow_none=True)
    kind = fields.String()
    order = fields.String()
    order_id = fields.String()
    customer = fields.String()
    currency = fields.String()
    exponent = fields.Integer(metadata={"description": "The currency's minor-unit digits (NOK 2, JPY 0)."})
    gross = fields.Integer()
    net = fields.Integer(allow_none=True)
    vat = fields.Integer(allow_none=True)
    by_rate = fields.Dict(keys=fields.String(), values=fields.Dict())
    provider = fields.String()
    provider_label = fields.String()
    reference = fields.String()
    staff = fields.String()
    reason = fields.String()
    reason_internal = fields.Boolean()
    status = fields.String()
    refund_id = fields.String()
    note_id = fields.String(allow_none=True)


class JournalTotalSchema(Schema):
    provider = fields.String()
    provider_label = fields.String()
    rate = fields.String()
    currency = fields.String()
    exponent = fields.Integer(metadata={"description": "The currency's minor-unit digits (NOK 2, JPY 0)."})
    gross = fields.Integer()
    net = fields.Integer()
    vat = fields.Integer()


class JournalSchema(Schema):
    rows = fields.List(fields.Nested(JournalRowSchema))
    by_provider = fields.List(fields.Nested(JournalTotalSchema))
    by_rate = fields.List(fields.Nested(JournalTotalSchema))
