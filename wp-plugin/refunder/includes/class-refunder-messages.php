<?php
/**
 * The admin's language for everything the Refunder service says: a stable code and its params become a
 * translated sentence, money as WooCommerce formats it. Codes this table does not know (a newer service)
 * show the service's English sentence.
 *
 * The service lists every code with an example of its params in tests/vectors/problems.json; the table
 * is filterable like WooCommerce Stripe's localized messages.
 *
 * @package Refunder
 */

defined( 'ABSPATH' ) || exit;

final class Refunder_Messages {

	/**
	 * Code => [sentence with numbered placeholders, the params that fill them in order].
	 *
	 * @return array<string, array{0: string, 1: string[]}>
	 */
	public static function table() {
		$table = array(
			'amount_not_exact' => array(
				/* translators: 1: amount as WooCommerce stores it, 2: currency code, 3: the currency's number of decimals */
				__( '%1$s is not an exact amount in %2$s, which has %3$s decimals.', 'refunder' ),
				array( 'amount', 'currency', 'exponent' ),
			),
			'amount_not_positive' => array(
				__( 'The refund amount must be more than zero.', 'refunder' ),
				array(),
			),
			'amount_too_large' => array(
				/* translators: 1: payment provider */
				__( '%1$s says the amount is more than is left to refund on this payment.', 'refunder' ),
				array( 'provider' ),
			),
			'bad_request' => array(
				__( 'The request could not be read. Send JSON with Content-Type application/json.', 'refunder' ),
				array(),
			),
			'bank_reference_missing' => array(
				__( 'A refund paid back by bank transfer needs the transfer\'s reference, so the refund can be traced.', 'refunder' ),
				array(),
			),
			'body_unreadable' => array(
				__( 'The request body could not be read (broken chunked encoding or cut short).', 'refunder' ),
				array(),
			),
			'bulk_no_payment' => array(
				__( 'Refunder has no payment for this order yet: open the order once.', 'refunder' ),
				array(),
			),
			'bulk_refund_not_found' => array(
				/* translators: 1: bulk refund id */
				__( 'No bulk refund %1$s is recorded.', 'refunder' ),
				array( 'job_id' ),
			),
			'card_declined' => array(
				/* translators: 1: payment provider */
				__( '%1$s says the customer\'s card issuer declined the refund. Refund the customer by bank transfer instead.', 'refunder' ),
				array( 'provider' ),
			),
			'control_character' => array(
				/* translators: 1: field name */
				__( '%1$s holds a control character (such as NUL or a line break): control characters are not allowed here.', 'refunder' ),
				array( 'field' ),
			),
			'credit_note_not_found' => array(
				/* translators: 1: credit note id */
				__( 'No credit note %1$s is issued.', 'refunder' ),
				array( 'credit_note_id' ),
			),
			'credit_note_not_issued' => array(
				/* translators: 1: refund id */
				__( 'No credit note has been issued for refund %1$s (yet): it is issued when the money has gone back, for payments registered with the order\'s details.', 'refunder' ),
				array( 'refund_id' ),
			),
			'currency_mismatch' => array(
				/* translators: 1: currency code, 2: currency code */
				__( 'The payment is in %1$s, the refund was asked in %2$s.', 'refunder' ),
				array( 'payment_currency', 'currency' ),
			),
			'deleted_in_woocommerce' => array(
				__( 'The refund was deleted in WooCommerce; it no longer counts.', 'refunder' ),
				array(),
			),
			'duplicate_header' => array(
				/* translators: 1: field name */
				__( 'Send exactly one %1$s header (a key holds no commas).', 'refunder' ),
				array( 'field' ),
			),
			'exceeds_refundable' => array(
				/* translators: 1: amount, 2: amount captured, 3: amount already refunded, 4: amount being refunded */
				__( 'At most %1$s can be refunded: %2$s captured, %3$s already refunded, %4$s being refunded.', 'refunder' ),
				array( 'refundable', 'captured', 'refunded', 'in_flight' ),
			),
			'expectation_failed' => array(
				__( 'The request\'s Expect header cannot be met.', 'refunder' ),
				array(),
			),
			'headers_too_large' => array(
				__( 'The request has more headers, or longer ones, than the sidecar accepts.', 'refunder' ),
				array(),
			),
			'http_error' => array(
				/* translators: 1: HTTP status code */
				__( 'The sidecar answered HTTP %1$s.', 'refunder' ),
				array( 'http_status' ),
			),
			'http_invalid' => array(
				__( 'The request is not valid HTTP/1.1.', 'refunder' ),
				array(),
			),
			'idempotency_conflict' => array(
				__( 'This idempotency key was already used for a different request. Start a new review to refund again.', 'refunder' ),
				array(),
			),
			'internal_error' => array(
				__( 'The sidecar hit an unexpected error; its log says more. If this was a refund, ask again with the same request to see what became of it: it cannot refund twice.', 'refunder' ),
				array(),
			),
			'invalid_request' => array(
				/* translators: 1: field names */
				__( 'Some fields are missing or not valid: %1$s.', 'refunder' ),
				array( 'fields' ),
			),
			'json_invalid' => array(
				/* translators: 1: what is wrong, in the parser's words */
				__( 'The request body is not valid JSON: %1$s. Send JSON with Content-Type application/json.', 'refunder' ),
				array( 'problem' ),
			),
			'ledger_unavailable' => array(
				__( 'The sidecar cannot reach its ledger database right now, so nothing was done. Try again in a minute.', 'refunder' ),
				array(),
			),
			'line_refund_not_supported' => array(
				/* translators: 1: payment provider */
				__( '%1$s cannot refund items one by one for this payment: refund an amount instead.', 'refunder' ),
				array( 'provider' ),
			),
			'lines_do_not_add_up' => array(
				__( 'The refunded lines do not add up to the refund amount.', 'refunder' ),
				array(),
			),
			'link_expired' => array(
				__( 'This link has expired. Ask the shop for a new copy of the credit note.', 'refunder' ),
				array(),
			),
			'link_invalid' => array(
				__( 'This link is not valid.', 'refunder' ),
				array(),
			),
			'method_not_allowed' => array(
				__( 'This address does not accept that method.', 'refunder' ),
				array(),
			),
			'method_not_refundable' => array(
				/* translators: 1: payment provider, 2: payment method */
				__( '%1$s cannot refund payments made with %2$s. Refund the customer by bank transfer.', 'refunder' ),
				array( 'provider', 'method_name' ),
			),
			'mode_ambiguous' => array(
				/* translators: 1: payment provider, 2: payment reference */
				__( '%1$s has a payment %2$s among both its test and its live payments, and the order does not say which one this is. Refunder will not guess: refund the customer by bank transfer.', 'refunder' ),
				array( 'provider', 'reference' ),
			),
			'mode_not_configured' => array(
				/* translators: 1: test or live, 2: payment provider, 3: setting names */
				__( 'This is a %1$s %2$s payment, and the Refunder service has no %1$s credentials for %2$s (%3$s).', 'refunder' ),
				array( 'mode', 'provider', 'settings' ),
			),
			'mode_unknown' => array(
				/* translators: 1: payment provider */
				__( 'Refunder cannot tell whether this was a test or a live %1$s payment, so it will not send a refund with either set of keys. Refund the customer by bank transfer.', 'refunder' ),
				array( 'provider' ),
			),
			'mollie_canceled' => array(
				/* translators: 1: payment provider */
				__( '%1$s reports the refund canceled; no money was sent. Refund the customer by bank transfer instead.', 'refunder' ),
				array( 'provider' ),
			),
			'mollie_failed' => array(
				/* translators: 1: payment provider */
				__( '%1$s reports the refund failed; no money was sent. Refund the customer by bank transfer instead.', 'refunder' ),
				array( 'provider' ),
			),
			'mollie_line_not_shipped' => array(
				/* translators: 1: payment provider, 2: item name, 3: the line's status at Mollie */
				__( '%1$s cannot refund "%2$s" yet: it is %3$s, not shipped or captured. Cancel the line in Mollie instead (nothing was taken for it).', 'refunder' ),
				array( 'provider', 'item', 'line_status' ),
			),
			'mollie_nothing_captured' => array(
				__( 'Nothing has been captured on this payment, so there is nothing to refund. Klarna and other pay-later payments can be refunded only after they are captured. Capture the payment in Mollie first, or cancel it there.', 'refunder' ),
				array(),
			),
			'mollie_order_without_payment' => array(
				/* translators: 1: payment provider, 2: order number */
				__( '%1$s shows no payment for order %2$s; nothing can be refunded through it.', 'refunder' ),
				array( 'provider', 'order' ),
			),
			'no_items_chosen' => array(
				__( 'Choose at least one item to refund.', 'refunder' ),
				array(),
			),
			'no_provider' => array(
				/* translators: 1: payment method */
				__( 'Not paid through a payment provider Refunder knows (%1$s): transfer the money yourself, then record the refund on the order.', 'refunder' ),
				array( 'gateway' ),
			),
			'no_provider_reference' => array(
				/* translators: 1: payment provider */
				__( 'The order has no %1$s payment reference, so %1$s cannot be asked to refund it. Refund the customer by bank transfer if they paid.', 'refunder' ),
				array( 'provider' ),
			),
			'not_captured' => array(
				/* translators: 1: payment provider */
				__( 'The payment is only authorized at %1$s, not captured: there is no money to refund. Capture it, or cancel the authorization in %1$s.', 'refunder' ),
				array( 'provider' ),
			),
			'not_found' => array(
				__( 'There is nothing at this address.', 'refunder' ),
				array(),
			),
			'nothing_captured' => array(
				__( 'Nothing has been captured on this payment, so there is nothing to refund.', 'refunder' ),
				array(),
			),
			'nothing_refundable' => array(
				/* translators: 1: amount already refunded, 2: amount being refunded */
				__( 'Nothing is left to refund on this payment: %1$s already refunded, %2$s being refunded.', 'refunder' ),
				array( 'refunded', 'in_flight' ),
			),
			'order_paid_at_implausible' => array(
				/* translators: 1: date, 2: date */
				__( 'The order gives the payment time %1$s, which cannot be right: a payment refunded here was made between %2$s and now.', 'refunder' ),
				array( 'paid_at', 'earliest' ),
			),
			'outcome_unknown' => array(
				__( 'The outcome is not known yet; it is being checked with the provider.', 'refunder' ),
				array(),
			),
			'paid_by_bank_transfer' => array(
				/* translators: 1: payment provider */
				__( 'The customer paid by bank transfer in Vipps Checkout; %1$s cannot refund a bank transfer. Refund the customer by bank transfer.', 'refunder' ),
				array( 'provider' ),
			),
			'partial_refund_not_supported' => array(
				/* translators: 1: payment provider, 2: amount */
				__( '%1$s can refund this payment only in full (%2$s).', 'refunder' ),
				array( 'provider', 'refundable' ),
			),
			'payment_conflict' => array(
				/* translators: 1: order number, 2: order number */
				__( 'This payment is already recorded for order %1$s, not order %2$s.', 'refunder' ),
				array( 'recorded_order', 'order' ),
			),
			'payment_currency_conflict' => array(
				/* translators: 1: currency code, 2: payment provider, 3: currency code */
				__( 'The order is in %1$s but %2$s has the payment in %3$s.', 'refunder' ),
				array( 'order_currency', 'provider', 'provider_currency' ),
			),
			'payment_mode_conflict' => array(
				/* translators: 1: test or live, 2: test or live */
				__( 'This payment was recorded as a %1$s payment; the order now says %2$s.', 'refunder' ),
				array( 'recorded_mode', 'mode' ),
			),
			'payment_not_at_provider' => array(
				/* translators: 1: payment provider, 2: payment reference */
				__( '%1$s has no payment %2$s.', 'refunder' ),
				array( 'provider', 'reference' ),
			),
			'payment_not_found' => array(
				/* translators: 1: payment id */
				__( 'No payment %1$s is recorded.', 'refunder' ),
				array( 'payment_id' ),
			),
			'provider_auth_failed' => array(
				/* translators: 1: payment provider */
				__( '%1$s refused the Refunder service\'s credentials. Check its %1$s settings.', 'refunder' ),
				array( 'provider' ),
			),
			'provider_busy' => array(
				/* translators: 1: payment provider */
				__( '%1$s is busy or limiting changes to this payment. Nothing was refunded; try again in a minute.', 'refunder' ),
				array( 'provider' ),
			),
			'provider_cannot_refund' => array(
				/* translators: 1: why, a sentence */
				__( '%1$s', 'refunder' ),
				array( 'reason' ),
			),
			'provider_declined' => array(
				/* translators: 1: payment provider, 2: HTTP status code, 3: the provider's own words */
				__( '%1$s refused the refund (HTTP %2$s): %3$s', 'refunder' ),
				array( 'provider', 'http_status', 'said' ),
			),
			'provider_not_answering' => array(
				/* translators: 1: payment provider, 2: number of seconds */
				__( '%1$s did not answer within %2$s seconds, so nothing was changed. Try again in a minute.', 'refunder' ),
				array( 'provider', 'budget_seconds' ),
			),
			'provider_not_asked' => array(
				/* translators: 1: payment provider */
				__( '%1$s was not asked: the time Refunder waits for it ran out before the call. Nothing was refunded; try again.', 'refunder' ),
				array( 'provider' ),
			),
			'provider_not_enabled' => array(
				/* translators: 1: payment provider */
				__( 'The payment provider %1$s is not enabled in the Refunder service. Refund the customer by bank transfer, or enable it.', 'refunder' ),
				array( 'provider' ),
			),
			'provider_not_supported' => array(
				/* translators: 1: payment provider */
				__( '%1$s payments cannot be refunded through Refunder. Refund the customer by bank transfer, or in %1$s\'s own portal.', 'refunder' ),
				array( 'provider' ),
			),
			'provider_paid_at_implausible' => array(
				/* translators: 1: payment provider, 2: date, 3: date */
				__( '%1$s gives the payment time %2$s, which cannot be right: a payment refunded here was made between %3$s and now.', 'refunder' ),
				array( 'provider', 'paid_at', 'earliest' ),
			),
			'provider_refused_permanently' => array(
				/* translators: 1: payment provider, 2: the provider's reason, a sentence */
				__( '%1$s refused the last refund for a reason that will not change: %2$s', 'refunder' ),
				array( 'provider', 'failure' ),
			),
			'provider_sign_in_unanswered' => array(
				/* translators: 1: payment provider */
				__( '%1$s did not answer when Refunder signed in to it. Nothing was refunded; try again.', 'refunder' ),
				array( 'provider' ),
			),
			'provider_unknown' => array(
				/* translators: 1: payment provider */
				__( 'Refunder knows no payment provider %1$s.', 'refunder' ),
				array( 'provider' ),
			),
			'provider_unreachable' => array(
				/* translators: 1: payment provider */
				__( '%1$s did not answer clearly. Whether the money moved is not known yet; the refund will be checked with the provider.', 'refunder' ),
				array( 'provider' ),
			),
			'proxy_forbidden' => array(
				__( 'Proxy headers are not accepted from this address.', 'refunder' ),
				array(),
			),
			'quantity_exceeds_ordered' => array(
				/* translators: 1: item name, 2: number ordered, 3: number refunded before */
				__( 'You cannot refund more of "%1$s" than is left of it: %2$s ordered, %3$s refunded before.', 'refunder' ),
				array( 'item', 'quantity', 'refunded_quantity' ),
			),
			'refund_not_at_provider' => array(
				/* translators: 1: payment provider, 2: refund id */
				__( '%1$s has no refund made with key %2$s.', 'refunder' ),
				array( 'provider', 'refund_id' ),
			),
			'refund_not_found' => array(
				/* translators: 1: refund id */
				__( 'No refund %1$s is recorded.', 'refunder' ),
				array( 'refund_id' ),
			),
			'refund_outcome_pending' => array(
				/* translators: 1: payment provider */
				__( 'The refund was sent to %1$s, but the sidecar\'s ledger failed before it could record the answer. Its outcome is being checked with the provider. Ask again in a minute (Refund again with the same review): it cannot refund twice.', 'refunder' ),
				array( 'provider' ),
			),
			'refund_window_expired' => array(
				/* translators: 1: payment provider, 2: date */
				__( 'Refunds through %1$s were possible until %2$s; that period has ended. Refund the customer by bank transfer instead.', 'refunder' ),
				array( 'provider', 'deadline' ),
			),
			'request_replayed' => array(
				__( 'This request was already received (same nonce); it was not processed again.', 'refunder' ),
				array(),
			),
			'request_too_large' => array(
				/* translators: 1: number of bytes */
				__( 'The request body is larger than the sidecar accepts (%1$s bytes).', 'refunder' ),
				array( 'max_bytes' ),
			),
			'same_as_refunder_refund' => array(
				/* translators: 1: Refunder refund id */
				__( 'The same money as Refunder\'s refund %1$s: it counts once.', 'refunder' ),
				array( 'refund_id' ),
			),
			'server_misconfigured' => array(
				__( 'The sidecar\'s HTTP server is not configured correctly.', 'refunder' ),
				array(),
			),
			'service_unavailable' => array(
				__( 'The Refunder service did not answer in time. Nothing is known about this request yet; try again in a moment.', 'refunder' ),
				array(),
			),
			'since_invalid' => array(
				/* translators: 1: field name */
				__( '%1$s is not a time the ledger can compare.', 'refunder' ),
				array( 'field' ),
			),
			'signature_expired' => array(
				/* translators: 1: number of seconds */
				__( 'The request timestamp is more than %1$s seconds away from the sidecar\'s clock. Check the clocks of both servers.', 'refunder' ),
				array( 'max_skew_seconds' ),
			),
			'signature_invalid' => array(
				__( 'The request signature does not match. Check the shared secret on both sides.', 'refunder' ),
				array(),
			),
			'signature_malformed' => array(
				__( 'The signature headers are malformed.', 'refunder' ),
				array(),
			),
			'signature_missing' => array(
				__( 'The request is not signed: timestamp, nonce and signature headers are required.', 'refunder' ),
				array(),
			),
			'signature_outdated' => array(
				__( 'This request carries an Idempotency-Key, which signature v1 does not cover: sign it with v2. Update the Refunder plugin.', 'refunder' ),
				array(),
			),
			'stripe_amount_too_large' => array(
				/* translators: 1: payment provider */
				__( '%1$s says the amount is more than is left to refund on this payment.', 'refunder' ),
				array( 'provider' ),
			),
			'stripe_canceled' => array(
				/* translators: 1: payment provider */
				__( 'The refund was cancelled in %1$s; no money was sent.', 'refunder' ),
				array( 'provider' ),
			),
			'stripe_charge_already_refunded' => array(
				/* translators: 1: payment provider */
				__( '%1$s says this payment is already fully refunded.', 'refunder' ),
				array( 'provider' ),
			),
			'stripe_charge_disputed' => array(
				/* translators: 1: payment provider */
				__( 'The customer has disputed this payment; %1$s allows no refund while the dispute is open.', 'refunder' ),
				array( 'provider' ),
			),
			'stripe_charge_expired_for_refund' => array(
				/* translators: 1: payment provider */
				__( '%1$s says this payment is too old to refund by card. Refund the customer by bank transfer instead.', 'refunder' ),
				array( 'provider' ),
			),
			'stripe_charge_for_pending_refund_disputed' => array(
				/* translators: 1: payment provider */
				__( '%1$s could not refund: the customer disputed the payment. Refund the customer by bank transfer instead.', 'refunder' ),
				array( 'provider' ),
			),
			'stripe_connect_account_missing' => array(
				/* translators: 1: payment provider */
				__( 'A direct %1$s charge needs provider_data.account (acct_...).', 'refunder' ),
				array( 'provider' ),
			),
			'stripe_connect_charge_type_missing' => array(
				/* translators: 1: payment provider */
				__( 'A %1$s payment needs provider_data.charge_type "direct" or "destination".', 'refunder' ),
				array( 'provider' ),
			),
			'stripe_declined' => array(
				/* translators: 1: payment provider */
				__( '%1$s could not refund: the customer\'s bank declined the refund. Refund the customer by bank transfer instead.', 'refunder' ),
				array( 'provider' ),
			),
			'stripe_expired_or_canceled_card' => array(
				/* translators: 1: payment provider */
				__( '%1$s could not refund: the customer\'s card has expired or was cancelled. Refund the customer by bank transfer instead.', 'refunder' ),
				array( 'provider' ),
			),
			'stripe_insufficient_funds' => array(
				/* translators: 1: payment provider */
				__( '%1$s could not refund: the Stripe balance was too low to cover the refund. Refund the customer by bank transfer instead.', 'refunder' ),
				array( 'provider' ),
			),
			'stripe_lost_or_stolen_card' => array(
				/* translators: 1: payment provider */
				__( '%1$s could not refund: the customer\'s card was reported lost or stolen. Refund the customer by bank transfer instead.', 'refunder' ),
				array( 'provider' ),
			),
			'stripe_merchant_request' => array(
				/* translators: 1: payment provider */
				__( '%1$s could not refund: it was cancelled on request. Refund the customer by bank transfer instead.', 'refunder' ),
				array( 'provider' ),
			),
			'stripe_reference_invalid' => array(
				/* translators: 1: payment provider */
				__( 'A %1$s payment reference starts with pi_ (PaymentIntent) or ch_/py_ (Charge).', 'refunder' ),
				array( 'provider' ),
			),
			'stripe_refund_failed' => array(
				/* translators: 1: payment provider, 2: Stripe's failure reason */
				__( '%1$s could not refund (%2$s). Refund the customer by bank transfer instead.', 'refunder' ),
				array( 'provider', 'failure_reason' ),
			),
			'too_many_refunds' => array(
				/* translators: 1: number */
				__( 'The provider accepts at most %1$s changes a minute to one payment. Wait a minute and try again; nothing was refunded.', 'refunder' ),
				array( 'max_per_minute' ),
			),
			'unknown_payment_api' => array(
				/* translators: 1: payment provider, 2: the payment API the order names */
				__( 'The order says %1$s took it through an API Refunder does not know (%2$s). Refund the customer by bank transfer.', 'refunder' ),
				array( 'provider', 'api' ),
			),
			'unsupported_media_type' => array(
				__( 'Send JSON with Content-Type application/json.', 'refunder' ),
				array(),
			),
			'unsupported_transfer_coding' => array(
				__( 'The request\'s Transfer-Encoding is not supported; send the body with a Content-Length or chunked.', 'refunder' ),
				array(),
			),
			'uri_too_long' => array(
				__( 'The request\'s address is longer than the sidecar accepts.', 'refunder' ),
				array(),
			),
			'vipps_5090' => array(
				/* translators: 1: payment provider */
				__( '%1$s does not know this payment reference.', 'refunder' ),
				array( 'provider' ),
			),
			'vipps_6150' => array(
				/* translators: 1: payment provider */
				__( '%1$s says the amount is more than is left to refund on this payment.', 'refunder' ),
				array( 'provider' ),
			),
			'vipps_6180' => array(
				/* translators: 1: payment provider */
				__( '%1$s says this payment is already fully refunded.', 'refunder' ),
				array( 'provider' ),
			),
			'vipps_6220' => array(
				/* translators: 1: payment provider */
				__( '%1$s refunds are possible only within 365 days of the payment. Refund the customer by bank transfer instead.', 'refunder' ),
				array( 'provider' ),
			),
			'vipps_ecom_71' => array(
				/* translators: 1: payment provider */
				__( '%1$s says the amount is more than is left to refund on this order.', 'refunder' ),
				array( 'provider' ),
			),
			'vipps_ecom_93' => array(
				/* translators: 1: payment provider */
				__( '%1$s does not allow this refund on this order (it belongs to another sales unit or is not captured).', 'refunder' ),
				array( 'provider' ),
			),
			'vipps_ecom_95' => array(
				/* translators: 1: payment provider */
				__( '%1$s refunds are possible only within 365 days of the payment. Refund the customer by bank transfer instead.', 'refunder' ),
				array( 'provider' ),
			),
			'vipps_ecom_refund_failed' => array(
				/* translators: 1: payment provider */
				__( '%1$s reports the refund failed.', 'refunder' ),
				array( 'provider' ),
			),
			'vipps_refund_failed' => array(
				/* translators: 1: payment provider */
				__( '%1$s reports the refund failed.', 'refunder' ),
				array( 'provider' ),
			),
			'webhook_account_missing' => array(
				__( 'An event sent to the connected accounts\' endpoint names its account.', 'refunder' ),
				array(),
			),
			'webhook_endpoint_not_found' => array(
				/* translators: 1: payment provider, 2: webhook endpoint */
				__( '%1$s has no webhook endpoint %2$s.', 'refunder' ),
				array( 'provider', 'endpoint' ),
			),
			'webhook_malformed' => array(
				/* translators: 1: payment provider, 2: what is wrong, in the parser's words */
				__( 'The %1$s webhook is not an event %1$s sends (%2$s).', 'refunder' ),
				array( 'provider', 'problem' ),
			),
			'webhook_not_found' => array(
				/* translators: 1: payment provider */
				__( 'No webhook for provider %1$s here.', 'refunder' ),
				array( 'provider' ),
			),
			'webhook_not_sent' => array(
				/* translators: 1: payment provider */
				__( '%1$s sends no webhooks.', 'refunder' ),
				array( 'provider' ),
			),
			'webhook_rejected' => array(
				/* translators: 1: payment provider */
				__( 'The %1$s webhook signature does not match.', 'refunder' ),
				array( 'provider' ),
			),
			'webhook_secret_missing' => array(
				/* translators: 1: payment provider, 2: setting name */
				__( 'No %1$s webhook secret is configured (%2$s).', 'refunder' ),
				array( 'provider', 'setting' ),
			),
			'webhook_stale' => array(
				/* translators: 1: payment provider */
				__( 'The %1$s webhook is not dated within 5 minutes of the sidecar\'s clock.', 'refunder' ),
				array( 'provider' ),
			),
			'webhook_unsigned' => array(
				/* translators: 1: payment provider */
				__( 'The %1$s webhook carries no signature, or not all of it.', 'refunder' ),
				array( 'provider' ),
			),
			'woocommerce_refund_not_found' => array(
				/* translators: 1: WooCommerce refund id, 2: payment id */
				__( 'No WooCommerce refund %1$s is recorded for payment %2$s.', 'refunder' ),
				array( 'wc_refund_id', 'payment_id' ),
			),
		);
		/**
		 * Filters the sentences the Refunder service's codes are shown in.
		 *
		 * @since 0.2.0
		 *
		 * @param array $table Code => array( sentence with %1$s placeholders, param names in order ).
		 */
		return apply_filters( 'refunder_localized_messages', $table );
	}

	/**
	 * A problem document, a reason or a failure (code, params and detail or message) in the admin's language.
	 *
	 * @param array $said As the service answered it.
	 * @return string Plain text: escape it where it is shown.
	 */
	public static function of( array $said ) {
		$english = (string) ( $said['detail'] ?? $said['message'] ?? '' );
		return self::message( (string) ( $said['code'] ?? '' ), (array) ( $said['params'] ?? array() ), $english );
	}

	/**
	 * The code's sentence with its params; $english (the service's own sentence) for a code the table does not
	 * know or params it lacks.
	 */
	public static function message( $code, array $params, $english ) {
		$entry = self::table()[ $code ] ?? null;
		if ( ! is_array( $entry ) ) {
			return '' !== $english ? $english : $code;
		}
		$values = array();
		foreach ( $entry[1] as $name ) {
			if ( ! array_key_exists( $name, $params ) ) {
				return '' !== $english ? $english : $code;
			}
			$values[] = self::param( $name, $params[ $name ] );
		}
		return vsprintf( $entry[0], $values );
	}

	/** One param as people read it: money through wc_price, dates in the site's format, nested reasons translated. */
	private static function param( $name, $value ) {
		if ( is_array( $value ) && isset( $value['value'], $value['currency'], $value['exponent'] ) ) {
			return Refunder_Money::said( $value );
		}
		if ( is_array( $value ) && isset( $value['code'] ) ) {
			return self::message( (string) $value['code'], (array) ( $value['params'] ?? array() ), '' );
		}
		if ( is_array( $value ) ) {
			return implode( ', ', array_map( 'strval', $value ) );
		}
		if ( is_string( $value ) && preg_match( '/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}/', $value ) ) {
			$time = strtotime( $value );
			return false === $time ? $value : wp_date( get_option( 'date_format' ), $time );
		}
		$words = in_array( $name, array( 'mode', 'recorded_mode' ), true ) ? self::modes() : self::names();
		return $words[ (string) $value ] ?? (string) $value;
	}

	private static function modes() {
		return array(
			/* translators: a payment made in the provider's test environment */
			'test' => __( 'test', 'refunder' ),
			/* translators: a real payment (the provider's live environment) */
			'live' => __( 'live', 'refunder' ),
		);
	}

	/** A name the service sends (a provider's label), in the admin's language where it is a word, not a brand. */
	public static function name( $label ) {
		return self::names()[ (string) $label ] ?? (string) $label;
	}

	/** Names the service sends in English that are words, not brands (payment methods, the manual provider). */
	private static function names() {
		return array(
			'Mollie gift cards'      => __( 'Mollie gift cards', 'refunder' ),
			'Mollie vouchers'        => __( 'Mollie vouchers', 'refunder' ),
			'Mollie meal vouchers'   => __( 'Mollie meal vouchers', 'refunder' ),
			'Bank transfer (manual)' => __( 'Bank transfer (manual)', 'refunder' ),
		);
	}
}
