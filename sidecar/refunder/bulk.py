"""Bulk refunds: every booking of a cancelled event, refunded one by one at each provider's pace.

A job is planned (what can be refunded, and why not), recorded with its items, then worked through by
`refunder worker`. Each item has its own idempotency key (job id + position) and its amount is stored
before it is sent, so a worker that dies anywhere resumes without refunding twice. Only a sending the
provider refused as busy (nothing happened) is tried again, later and under a new key.
"""

from __future__ import annotations

import csv
import io
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import select

from . import rules
from .capabilities import VIA_PROVIDER
from .detection import REFUND_WINDOW_EXPIRED
from .errors import IdempotencyConflict, NotFound, RefunderError, TooManyRefunds
from .ledger.models import BulkItem, BulkJob, Payment, Refund
from .ledger.pace import book_slot
from .messages import define
from .money import Money
from .providers.http import ProviderBusy
from .refunds import Actor, RefundRequest, RefundService, new_id

log = logging.getLogger(__name__)

LEASE = timedelta(minutes=5)  # a claimed item is retried after this if its worker vanished
RETRY_LATER = timedelta(seconds=61)  # a payment's per-minute limit was reached
BUSY_RETRY = timedelta(seconds=30)  # the provider refused as busy (after its own quick retries)
BUSY_ATTEMPTS = 5  # sendings of one item before "busy" is its outcome
BULK_NOT_FOUND = define("bulk_refund_not_found", "No bulk refund {job_id} is recorded.", status=NotFound.status,
                        job_id="bulk_0123456789abcdef01234567")


@dataclass(frozen=True)
class BulkLine:
    order_id: str
    payment_id: str | None
    amount: Money | None  # None: everything still refundable


@dataclass(frozen=True)
class PlanLine:
    line: BulkLine
    provider: str | None
    amount: Money | None
    problem: str | None  # why it cannot be refunded; None when it can


@dataclass(frozen=True)
class JobView:
    job: BulkJob
    items: list[tuple[BulkItem, Refund | None, Payment | None]]


class BulkRefunds:
    def __init__(self, service: RefundService, sleep: Callable[[float], None] = time.sleep) -> None:
        self.service = service
        self.db = service.db
        self.clock = service.clock
        self.sleep = sleep

    # --- planning and starting ------------------------------------------------------------------

    def plan(self, lines: list[BulkLine]) -> list[PlanLine]:
        """What each line would refund, or in plain words why it cannot."""
        return [self._plan_line(line) for line in lines]

    def _plan_line(self, line: BulkLine) -> PlanLine:
        if line.payment_id is None:
            return PlanLine(line, None, None, "Refunder has no payment for this order yet: open the order once.")
        try:
            view = self.service.payment_view(line.payment_id)
            blocked = view.capabilities.blocked
            if blocked is not None and blocked.code != REFUND_WINDOW_EXPIRED:  # the rules explain an expired window
                return PlanLine(line, view.payment.provider, None, blocked.message)
            provider = self.service.provider(view.payment.provider)
            amount = line.amount or view.balance.refundable
            rules.check_refund(balance=view.balance, amount=amount, paid_at=view.payment.paid_at,
                               now=self.clock(), policy=provider.policy)
        except NotFound:
            return PlanLine(line, None, None, "Refunder has no payment for this order yet: open the order once.")
        except RefunderError as exc:
            return PlanLine(line, view.payment.provider, None, exc.message)
        return PlanLine(line, view.payment.provider, amount, None)

    def start(self, lines: list[BulkLine], reason: str, actor: Actor, idempotency_key: str,
              fingerprint: str) -> tuple[BulkJob, bool]:
        """Record the job (or return the one this key made). Lines that cannot be refunded are skipped."""
        with self.db.transaction() as s:
            known = s.scalars(select(BulkJob).where(BulkJob.idempotency_key == idempotency_key)).one_or_none()
            if known is not None:
                if known.fingerprint != fingerprint:
                    raise IdempotencyConflict()
                return known, False
        plan = self.plan(lines)
        now = self.clock()
        with self.db.transaction() as s:
            job = BulkJob(id=new_id("bulk"), idempotency_key=idempotency_key, fingerprint=fingerprint,
                          reason=reason, actor_id=actor.id, actor_name=actor.name, status="queued",
                          created_at=now, updated_at=now)
            s.add(job)
            s.flush()
            for position, planned in enumerate(plan):
                s.add(BulkItem(
                    job_id=job.id, position=position, order_id=planned.line.order_id,
                    payment_id=planned.line.payment_id if planned.provider else None,
                    amount_minor=planned.line.amount.minor if planned.line.amount else None,
                    status="skipped" if planned.problem else "queued", message=planned.problem, due_at=now))
            if all(p.problem for p in plan):
                job.status, job.finished_at = "done", now
        return job, True

    # --- working ----------------------------------------------------------------------------------

    def work(self, limit: int | None = None) -> int:
        """Send due items until none is left (or limit); returns how many were sent or settled."""
        done = 0
        while limit is None or done < limit:
            claimed = self._claim()
            if claimed is None:
                break
            self._send(*claimed)
            done += 1
        return done

    def _claim(self) -> tuple[int, str, Money | None] | None:
        now = self.clock()
        with self.db.transaction() as s:
            item = s.scalars(
                select(BulkItem).join(BulkJob)
                .where(BulkItem.status == "queued", BulkItem.due_at <= now)
                .order_by(BulkJob.created_at, BulkItem.job_id, BulkItem.position)
                .limit(1).with_for_update(skip_locked=True)
            ).one_or_none()
            if item is None:
                return None
            item.due_at = now + LEASE
            job = s.get_one(BulkJob, item.job_id)
            job.status, job.updated_at = "running", now
            payment = s.get_one(Payment, item.payment_id)
            return item.id, payment.provider, (Money(item.amount_minor, payment.currency)
                                               if item.amount_minor is not None else None)

    def _pace(self, provider_name: str) -> None:
        """Wait for this call's slot in the provider's schedule, which every worker shares."""
        rate = self.service.provider(provider_name).policy.max_per_second
        if rate:
            wait = (book_slot(self.db, provider_name, rate, self.clock()) - self.clock()).total_seconds()
            if wait > 0:
                self.sleep(wait)

    def _send(self, item_id: int, provider_name: str, amount: Money | None) -> None:
        with self.db.transaction() as s:
            item = s.get_one(BulkItem, item_id)
            job = s.get_one(BulkJob, item.job_id)
            payment_id, attempt, reason = item.payment_id, item.attempt, job.reason
            key = f"{job.id}:{item.position}" + (f":{attempt}" if attempt else "")
            actor = Actor(job.actor_id, job.actor_name)
        assert payment_id is not None
        if amount is None:  # "everything": fixed now, before sending, so a resumed worker sends the same
            amount = self.service.payment_view(payment_id).balance.refundable
            with self.db.transaction() as s:
                s.get_one(BulkItem, item_id).amount_minor = amount.minor
        self._pace(provider_name)
        status, refund_id, message, due = "sent", None, None, None
        try:
            request = RefundRequest(amount, reason, actor, via=VIA_PROVIDER)
            refund, _ = self.service.create_refund(payment_id, request, key, key)
            refund_id, message = refund.id, refund.failure_message
            if refund.failure_code == ProviderBusy.code and attempt + 1 < BUSY_ATTEMPTS:
                # refused before anything happened: a new key is safe, and the busy refund stays documented
                status, refund_id, due, attempt = "queued", None, self.clock() + BUSY_RETRY, attempt + 1
        except TooManyRefunds:
            status, due = "queued", self.clock() + RETRY_LATER
        except RefunderError as exc:
            status, message = "failed", exc.message
        with self.db.transaction() as s:
            item = s.get_one(BulkItem, item_id)
            item.status, item.refund_id, item.message, item.attempt = status, refund_id, message, attempt
            if due is not None:
                item.due_at = due
            job = s.get_one(BulkJob, item.job_id)
            job.updated_at = self.clock()
            left = s.scalar(select(BulkItem.id).where(BulkItem.job_id == job.id, BulkItem.status == "queued")
                            .limit(1))
            if left is None:
                job.status, job.finished_at = "done", self.clock()

    # --- reading ----------------------------------------------------------------------------------

    def view(self, job_id: str) -> JobView:
        with self.db.reading() as s:
            job = s.get(BulkJob, job_id)
            if job is None:
                raise NotFound(BULK_NOT_FOUND, job_id=job_id)
            rows = s.execute(
                select(BulkItem, Refund, Payment)
                .outerjoin(Refund, BulkItem.refund_id == Refund.id)
                .outerjoin(Payment, BulkItem.payment_id == Payment.id)
                .where(BulkItem.job_id == job_id).order_by(BulkItem.position)
            ).all()
            return JobView(job, [(item, refund, payment) for item, refund, payment in rows])

    def report_csv(self, job_id: str) -> str:
        """One line per booking: refunded, processing, failed or skipped, with amounts and reasons."""
        view = self.view(job_id)
        out = io.StringIO()
        writer = csv.writer(out)
        writer.writerow(["order_id", "payment_id", "provider", "currency", "amount", "outcome", "refund_id",
                         "provider_reference", "reason"])
        for item, refund, payment in view.items:
            currency = payment.currency if payment else ""
            minor = refund.amount_minor if refund else item.amount_minor
            writer.writerow([
                item.order_id, item.payment_id or "", payment.provider if payment else "", currency,
                Money(minor, currency).decimal_string() if minor is not None and currency else "",
                outcome(item, refund), refund.id if refund else "",
                refund.provider_reference or "" if refund else "", item.message or "",
            ])
        return out.getvalue()


def outcome(item: BulkItem, refund: Refund | None) -> str:
    """An item's outcome in one word: queued, refunded, processing, unknown, failed or skipped."""
    if refund is not None:
        return {"pending": "processing"}.get(refund.status, refund.status)
    return item.status if item.status in ("queued", "skipped", "failed") else "processing"
