"""Bulk refunds: every booking of a cancelled event, refunded at each provider's pace, all providers at once.

A job is planned (what can be refunded, and why not), recorded with its items, then worked through by
`refunder worker`: one pacer thread per provider claims its next item and hands it to a sender thread;
once the sender has recorded the refund, the pacer books its slot in the provider's schedule (ledger.pace,
shared by every worker) and, at the slot, lets it ask the provider. Up to the provider's window (in_flight:
rate × latency) are under way at once, so the limit, not the latency, sets the pace. Each item has its own
idempotency key (job id + position) and its amount is stored before it is sent, so a worker that dies
anywhere resumes without refunding twice. Only a sending the provider refused as busy (nothing happened) is
tried again, later and under a new key.
"""

from __future__ import annotations

import csv
import io
import logging
import threading
import time
from collections.abc import Callable
from concurrent.futures import Executor, ThreadPoolExecutor
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from sqlalchemy import select

from . import rules
from .capabilities import VIA_PROVIDER
from .detection import REFUND_WINDOW_EXPIRED, Block, Mode
from .errors import IdempotencyConflict, NotFound, RefunderError, TooManyRefunds
from .in_flight import InFlight
from .ledger.audit import Actor
from .ledger.models import BulkItem, BulkJob, Payment, Refund, new_id
from .ledger.pace import book_slot
from .messages import define
from .money import Money
from .providers.budget import provider_budget
from .providers.http import ProviderBusy
from .refunds import RefundRequest
from .service import RefundService

log = logging.getLogger(__name__)

LEASE = timedelta(minutes=5)  # a claimed item is retried after this if its worker vanished
RETRY_LATER = timedelta(seconds=61)  # a payment's per-minute limit was reached
BUSY_RETRY = timedelta(seconds=30)  # the provider refused as busy (after its own quick retries)
BUSY_ATTEMPTS = 5  # sendings of one item before "busy" is its outcome
IN_FLIGHT = 32  # refunds one worker keeps under way, all providers together (REFUNDER_BULK_IN_FLIGHT)
BULK_NOT_FOUND = define("bulk_refund_not_found", "No bulk refund {job_id} is recorded.", status=NotFound.status,
                        job_id="bulk_0123456789abcdef01234567")
NO_PAYMENT = Block(define("bulk_no_payment", "Refunder has no payment for this order yet: open the order once."))


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
    problem: Block | None  # why it cannot be refunded (a code and its params); None when it can


class _Turn:
    """A sender's turn at the provider: it says when its refund is recorded; its pacer says go at its slot."""

    def __init__(self) -> None:
        self.ready, self.go = threading.Event(), threading.Event()
        self.sending = False
        self.went = 0.0  # time.monotonic() when it went: the provider's answer time starts here

    def at_slot(self) -> None:
        self.sending = True
        self.ready.set()
        self.go.wait()
        self.went = time.monotonic()


@dataclass(frozen=True)
class JobView:
    job: BulkJob
    items: list[tuple[BulkItem, Refund | None, Payment | None]]


class BulkRefunds:
    def __init__(self, service: RefundService, sleep: Callable[[float], None] = time.sleep,
                 in_flight: int = IN_FLIGHT) -> None:
        self.service = service
        self.db = service.db
        self.clock = service.clock
        self.sleep = sleep
        self.in_flight = in_flight

    # --- planning and starting ------------------------------------------------------------------

    def plan(self, lines: list[BulkLine]) -> list[PlanLine]:
        """What each line would refund, or why it cannot (a code, its params and the English sentence)."""
        return [self._plan_line(line) for line in lines]

    def _plan_line(self, line: BulkLine) -> PlanLine:
        if line.payment_id is None:
            return PlanLine(line, None, None, NO_PAYMENT)
        try:
            view = self.service.reads.payment_view(line.payment_id)
            blocked = view.capabilities.blocked
            if blocked is not None and blocked.code != REFUND_WINDOW_EXPIRED:  # the rules explain an expired window
                return PlanLine(line, view.payment.provider, None, blocked)
            provider = self.service.provider(view.payment.provider)
            amount = line.amount or view.balance.refundable
            rules.check_refund(balance=view.balance, amount=amount, paid_at=view.payment.paid_at,
                               now=self.clock(), policy=provider.policy)
        except NotFound:
            return PlanLine(line, None, None, NO_PAYMENT)
        except RefunderError as exc:
            return PlanLine(line, view.payment.provider, None, Block(exc.code, exc.params))
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
                    status="skipped" if planned.problem else "queued", due_at=now,
                    **_reason(planned.problem)))
            if all(p.problem for p in plan):
                job.status, job.finished_at = "done", now
        return job, True

    # --- working ----------------------------------------------------------------------------------

    def work(self, limit: int | None = None) -> int:
        """Send due items until none is left (or `limit` were started); returns how many were sent or settled.

        An error (the ledger gone, a bug) stops the run: nothing more starts, what is under way finishes,
        an item claimed but not sent is given back, and the error is raised.
        """
        run = InFlight(self.in_flight, limit)
        with ThreadPoolExecutor(self.in_flight, thread_name_prefix="refunder-bulk") as senders:
            pacers = [threading.Thread(target=self._pacer, args=(name, run, senders), name=f"refunder-pace-{name}")
                      for name in self._due_providers()]
            for pacer in pacers:
                pacer.start()
            for pacer in pacers:
                pacer.join()
        if run.error is not None:
            raise run.error
        return run.finished

    def _due_providers(self) -> list[str]:
        with self.db.reading() as s:
            return list(s.scalars(
                select(Payment.provider).join(BulkItem, BulkItem.payment_id == Payment.id)
                .where(BulkItem.status == "queued", BulkItem.due_at <= self.clock()).distinct()
                .order_by(Payment.provider)))

    def _pacer(self, provider_name: str, run: InFlight, senders: Executor) -> None:
        """Claim the provider's due items one by one, each sent at its slot, while its window has room."""
        provider = self.service.providers.get(provider_name)
        rate = provider.policy.max_per_second if provider is not None else None
        while run.take(provider_name, rate):
            claimed: tuple[int, Money | None] | None = None
            try:
                claimed = self._claim(provider_name)
            except BaseException as exc:  # the run stops; the error is raised by work()
                run.fail(provider_name, exc)
                return
            if claimed is None or run.stopped:
                self._give_back(claimed)
                run.give_back(provider_name)
                return
            turn = _Turn()
            senders.submit(self._sending, claimed, provider_name, run, turn)
            turn.ready.wait()
            if turn.sending:
                try:
                    wait = self._book_slot(provider_name, rate)
                except BaseException as exc:  # the ledger failed: this one goes unpaced, nothing more starts
                    run.fail(None, exc)
                    wait = 0.0
                if wait > 0:
                    self.sleep(wait)
                turn.go.set()

    def _sending(self, claimed: tuple[int, Money | None], provider_name: str, run: InFlight, turn: _Turn) -> None:
        try:
            self._send(claimed[0], claimed[1], turn.at_slot)
        except BaseException as exc:
            run.fail(provider_name, exc)
        else:
            run.done(provider_name, time.monotonic() - turn.went if turn.sending else 0.0)
        finally:
            turn.ready.set()  # it never asked for a slot (a replay, a refusal, an error)

    def _claim(self, provider_name: str) -> tuple[int, Money | None] | None:
        """The provider's next due item, leased to this worker; its amount if fixed already."""
        now = self.clock()
        with self.db.transaction() as s:
            found = s.execute(
                select(BulkItem, Payment.currency).join(BulkJob)
                .join(Payment, BulkItem.payment_id == Payment.id)
                .where(BulkItem.status == "queued", BulkItem.due_at <= now, Payment.provider == provider_name)
                .order_by(BulkJob.created_at, BulkItem.job_id, BulkItem.position)
                .limit(1).with_for_update(skip_locked=True, of=BulkItem)
            ).one_or_none()
            if found is None:
                return None
            item, currency = found
            item.due_at = now + LEASE
            job = s.get_one(BulkJob, item.job_id)
            if job.status != "running":
                job.status, job.updated_at = "running", now
            return item.id, Money(item.amount_minor, currency) if item.amount_minor is not None else None

    def _give_back(self, claimed: tuple[int, Money | None] | None) -> None:
        """An item claimed but not sent is due again at once (not after its lease); never raises."""
        if claimed is None:
            return
        try:
            with self.db.transaction() as s:
                s.get_one(BulkItem, claimed[0]).due_at = self.clock()
        except Exception:
            log.warning("bulk item %s: could not give it back; it is due again when its lease ends", claimed[0])

    def _warm_up(self, provider_name: str, mode: Mode) -> None:
        """What the provider call needs (Vipps' access token), got before the slot: an hourly sign-in must not
        hold a paced call back until the calls after it catch up. Best effort: the call itself says what fails."""
        try:
            with provider_budget(self.service.budget):
                self.service.provider(provider_name).for_mode(mode).warm_up()
        except RefunderError as exc:
            log.info("%s: could not warm up (%s); the refund call will say", provider_name, exc.message)

    def _book_slot(self, provider_name: str, rate: float | None) -> float:
        """Seconds until this call's slot in the provider's schedule, which every worker shares."""
        if not rate:
            return 0.0
        return (book_slot(self.db, provider_name, rate, self.clock) - self.clock()).total_seconds()

    def _send(self, item_id: int, amount: Money | None, at_slot: Callable[[], object]) -> None:
        with self.db.transaction() as s:
            item = s.get_one(BulkItem, item_id)
            job = s.get_one(BulkJob, item.job_id)
            payment = s.get_one(Payment, item.payment_id)
            payment_id, attempt, reason = payment.id, item.attempt, job.reason
            key = f"{job.id}:{item.position}" + (f":{attempt}" if attempt else "")
            actor = Actor(job.actor_id, job.actor_name)
            provider_name, mode = payment.provider, Mode(payment.mode)
        if amount is None:  # "everything": fixed now, before sending, so a resumed worker sends the same
            amount = self.service.reads.payment_view(payment_id).balance.refundable
            with self.db.transaction() as s:
                s.get_one(BulkItem, item_id).amount_minor = amount.minor
        self._warm_up(provider_name, mode)
        status, refund_id, why, due = "sent", None, None, None
        try:
            request = RefundRequest(amount, reason, actor, via=VIA_PROVIDER)
            refund, _ = self.service.refunds.create_refund(payment_id, request, key, key, before_sending=at_slot)
            refund_id = refund.id
            why = Block(refund.failure_code, refund.failure_params or {}) if refund.failure_code else None
            if refund.failure_code == ProviderBusy.code and attempt + 1 < BUSY_ATTEMPTS:
                # refused before anything happened: a new key is safe, and the busy refund stays documented
                status, refund_id, due, attempt = "queued", None, self.clock() + BUSY_RETRY, attempt + 1
        except TooManyRefunds:
            status, due = "queued", self.clock() + RETRY_LATER
        except RefunderError as exc:
            status, why = "failed", Block(exc.code, exc.params)
        with self.db.transaction() as s:  # the job's lock: its last items, finishing at once, see each other
            item = s.get_one(BulkItem, item_id)
            job = s.get_one(BulkJob, item.job_id, with_for_update=True)
            item.status, item.refund_id, item.attempt = status, refund_id, attempt
            for column, value in _reason(why).items():
                setattr(item, column, value)
            if due is not None:
                item.due_at = due
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


def _reason(why: Block | None) -> dict[str, Any]:
    """A bulk item's columns for why it was skipped or failed (none: cleared)."""
    if why is None:
        return {"code": None, "params": None, "message": None}
    return {"code": why.code, "params": dict(why.params), "message": why.message}


def item_reason(item: BulkItem, refund: Refund | None) -> Block | None:
    """Why an item was skipped or its refund failed: the refund's own failure first, else the item's."""
    if refund is not None and refund.failure_code:
        return Block(refund.failure_code, refund.failure_params or {})
    return Block(item.code, item.params or {}) if item.code else None


def outcome(item: BulkItem, refund: Refund | None) -> str:
    """An item's outcome in one word: queued, refunded, processing, unknown, failed or skipped."""
    if refund is not None:
        return {"pending": "processing"}.get(refund.status, refund.status)
    return item.status if item.status in ("queued", "skipped", "failed") else "processing"
