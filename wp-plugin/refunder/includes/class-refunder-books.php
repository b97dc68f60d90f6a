<?php
/**
 * WooCommerce's books: each Refunder refund that is refunded is in WooCommerce exactly once, as one
 * WooCommerce refund (wc_create_refund, refund_payment false) carrying the keys _refunder_refund_id and
 * _refunder_provider_refund_id; one that failed after it was refunded has its WooCommerce refund removed.
 *
 * Exactly once across PHP processes: the record is claimed with a compare-and-set on the refund's row
 * (Refunder_Store::claim), and the owner first looks for a WooCommerce refund already carrying the key, by
 * SQL in the order storage WooCommerce uses (HPOS tables or posts), past every cache: a record made by an
 * owner that died before it could say so, or a gateway plugin's record adopted as Refunder's. A record that
 * fails is retried in the background with backoff and shown on the order until it succeeds.
 *
 * @package Refunder
 */

defined( 'ABSPATH' ) || exit;

final class Refunder_Books {

	const REFUND_KEY    = '_refunder_refund_id';
	const PROVIDER_KEY  = '_refunder_provider_refund_id';
	const INCOMPLETE    = '_refunder_incomplete'; // on Refunder's WooCommerce refund until wc_create_refund's last save
	const RETRY_FIRST   = 60;
	const RETRY_LONGEST = 3600;

	/** @var string|null The refund whose WooCommerce refund this request is removing (its own reversal). */
	private static $reversing = null;

	/** @var array|null The refund whose WooCommerce refund this request is creating. */
	private static $recording = null;

	public static function register() {
		add_action( 'woocommerce_before_order_refund_object_save', array( __CLASS__, 'mark' ) );
		add_action( 'woocommerce_create_refund', array( __CLASS__, 'tag' ), 5, 2 );
		add_filter( 'woocommerce_pre_delete_order_refund', array( __CLASS__, 'keep' ), 10, 2 );
	}

	/**
	 * Stores the service's answer about a refund of the order and brings WooCommerce's books in line with it.
	 *
	 * @param WC_Order|int $order          The order.
	 * @param array        $refund         The refund as the service returned it.
	 * @param string|null  $provider_label Who sends the money back, when known.
	 * @return array The refund as the table has it afterwards.
	 */
	public static function remember( $order, array $refund, $provider_label = null ) {
		$order_id = $order instanceof WC_Order ? $order->get_id() : (int) $order;
		Refunder_Store::save( $order_id, $refund, $provider_label );
		$entry = Refunder_Store::get( $refund['id'] );
		self::settle( $entry );
		$entry = Refunder_Store::get( $refund['id'] );
		Refunder_Stripe::remembered( $entry );
		if ( self::unsettled( $entry ) ) {
			Refunder_Follow_Up::watch();
		}
		return $entry;
	}

	/** Not final, or WooCommerce's books do not show it as they should yet (failed records retry on their own). */
	public static function unsettled( array $entry ) {
		if ( ! in_array( $entry['status'], Refunder_Store::FINAL, true ) ) {
			return true;
		}
		return 'refunded' === $entry['status']
			? in_array( $entry['record_state'], array( Refunder_Store::NONE, Refunder_Store::CLAIMED ), true )
			: Refunder_Store::RECORDED === $entry['record_state'];
	}

	/** Refunder's money WooCommerce's books do not show yet: in flight, or refunded and not recorded. */
	public static function outside_the_books( array $entry ) {
		return 'failed' !== $entry['status'] && Refunder_Store::RECORDED !== $entry['record_state'];
	}

	/**
	 * Records a refunded refund in WooCommerce, or reverses one that failed after it was recorded; then, once it is
	 * final, any booking of the order held back until it was (Refunder_Held_Rest).
	 */
	public static function settle( array $entry ) {
		if ( 'refunded' === $entry['status'] && Refunder_Store::RECORDED !== $entry['record_state'] && Refunder_Store::REVERSED !== $entry['record_state'] ) {
			self::record( $entry );
		} elseif ( 'failed' === $entry['status'] && Refunder_Store::RECORDED === $entry['record_state'] ) {
			self::reverse( $entry );
		}
		if ( in_array( $entry['status'], Refunder_Store::FINAL, true ) ) {
			Refunder_Held_Rest::check( $entry['order_id'] );
		}
	}

	private static function record( array $entry ) {
		$claim = Refunder_Store::claim( $entry['id'] );
		if ( ! $claim ) {
			return; // another process is recording it, it is recorded already, or a failed record is not due yet.
		}
		try {
			$found = self::find( $entry['order_id'], $entry['id'], $entry['provider_reference'] );
			$existing = $found ? wc_get_order( $found ) : null;
			if ( $existing && '' !== (string) $existing->get_meta( self::INCOMPLETE ) ) {
				$existing->delete( true ); // an earlier attempt died inside wc_create_refund: it is made again, in full.
				$found = 0;
			}
			if ( $found ) { // an earlier owner that died before saying so, or a gateway's record of this refund.
				self::tag_existing( $existing, $entry );
				Refunder_Store::recorded( $entry['id'], $claim, $found );
				return;
			}
			$order = wc_get_order( $entry['order_id'] );
			if ( ! $order ) {
				throw new RuntimeException( __( 'The order no longer exists.', 'refunder' ) );
			}
			$held = self::not_recordable( $order, $entry );
			if ( $held ) {
				throw new RuntimeException( $held );
			}
			self::$recording = $entry;
			try {
				$refund = self::create( $order, $entry );
			} finally {
				self::$recording = null;
			}
			if ( is_wp_error( $refund ) ) {
				throw new RuntimeException( $refund->get_error_message() );
			}
			Refunder_Store::recorded( $entry['id'], $claim, $refund->get_id() );
			self::note( $order, $entry, $entry['attempts'] > 0 );
		} catch ( Throwable $e ) {
			self::record_failed( $entry, $claim, $e->getMessage() );
		}
	}

	/** @return WC_Order_Refund|WP_Error WooCommerce's record of the refund, with no gateway call. */
	private static function create( WC_Order $order, array $entry ) {
		return wc_create_refund(
			array(
				'order_id'                    => $order->get_id(),
				'amount'                      => Refunder_Money::to_decimal( $entry['amount'], $entry['exponent'] ),
				'reason'                      => $entry['reason'],
				'line_items'                  => self::line_items( $order, $entry ),
				'refund_payment'              => false, // the money already went back through the Refunder service.
				'restock_items'               => false,
				'refunder_refund_id'          => $entry['id'], // the keys, saved with the refund (tag()); the credit note's too.
				'refunder_provider_refund_id' => $entry['provider_reference'],
			)
		);
	}

	/** Why WooCommerce must not record this refund on this order now, or ''. */
	private static function not_recordable( WC_Order $order, array $entry ) {
		if ( null === $entry['exponent'] ) { // a row kept by an older version: the service's next answer says it.
			return __( 'The service has not yet said how many decimals the refund\'s currency has.', 'refunder' );
		}
		if ( 0 === strpos( $order->get_payment_method(), 'mollie_wc_gateway_' ) && 'authorized' === $order->get_meta( '_mollie_payment_status' ) ) {
			// Mollie voids the whole authorization on any WooCommerce refund of a later-capture payment.
			return __( 'The Mollie payment is only authorized (captured later): a WooCommerce refund now would make the Mollie plugin void the whole authorization. It is recorded once the payment is captured.', 'refunder' );
		}
		return '';
	}

	private static function record_failed( array $entry, $claim, $error ) {
		$attempts = (int) ( Refunder_Store::get( $entry['id'] )['attempts'] ?? 1 );
		$delay    = min( self::RETRY_LONGEST, self::RETRY_FIRST * 2 ** max( 0, $attempts - 1 ) );
		Refunder_Store::failed( $entry['id'], $claim, $error, $delay );
		Refunder_Follow_Up::retry_record( $entry['id'], $delay );
		Refunder_Log::warning( sprintf( 'refund %s (order %d) not recorded in WooCommerce, attempt %d, next in %d s: %s', $entry['id'], $entry['order_id'], $attempts, $delay, $error ) );
		$order = wc_get_order( $entry['order_id'] );
		if ( $order && 1 === $attempts ) {
			Refunder_Order_Notes::add(
				$order,
				/* translators: 1: amount, 2: provider, 3: error */
				sprintf( __( 'Refunder: %1$s was refunded through %2$s, but WooCommerce did not record it: %3$s Refunder tries again in the background until it is recorded.', 'refunder' ), Refunder_Money::text( $entry['amount'], $entry['currency'], $entry['exponent'] ), self::provider( $entry ), rtrim( $error, '.' ) . '.' ),
				$entry['actor_id']
			);
		}
	}

	/** The order note of a recorded refund: who, why and the provider's reference (and when it took retries). */
	private static function note( WC_Order $order, array $entry, $retried ) {
		Refunder_Order_Notes::add(
			$order,
			sprintf(
				/* translators: 1: amount, 2: provider, 3: person, 4: provider's reference, 5: reason */
				__( 'Refunder: %1$s refunded through %2$s by %3$s (reference %4$s). Reason: %5$s', 'refunder' ),
				Refunder_Money::text( $entry['amount'], $entry['currency'], $entry['exponent'] ),
				self::provider( $entry ),
				$entry['actor'],
				$entry['provider_reference'] ?: '–',
				$entry['reason']
			) . ( $retried ? ' ' . __( 'WooCommerce has now recorded it.', 'refunder' ) : '' ),
			$entry['actor_id']
		);
	}

	public static function provider( array $entry ) {
		return $entry['provider_label'] ?: __( 'the payment provider', 'refunder' );
	}

	/**
	 * On woocommerce_create_refund (the refund has its id here and is saved after): the keys of Refunder's refund.
	 *
	 * @param WC_Order_Refund $refund The refund being created.
	 * @param array           $args   wc_create_refund's arguments.
	 */
	public static function tag( $refund, $args ) {
		if ( ! empty( $args['refunder_refund_id'] ) ) {
			$refund->update_meta_data( self::REFUND_KEY, (string) $args['refunder_refund_id'] );
			$refund->delete_meta_data( self::INCOMPLETE ); // saved next, complete
		}
		if ( ! empty( $args['refunder_provider_refund_id'] ) ) {
			$refund->update_meta_data( self::PROVIDER_KEY, (string) $args['refunder_provider_refund_id'] );
		}
	}

	/**
	 * Before each save of the WooCommerce refund this request is creating for Refunder: wc_create_refund saves
	 * it (its amount included) before woocommerce_create_refund, so the keys go on at its first save, marked
	 * incomplete until its last. A process that dies in between leaves a refund the next attempt replaces.
	 *
	 * @param WC_Order_Refund $refund The refund being saved.
	 */
	public static function mark( $refund ) {
		$entry = self::$recording;
		if ( $entry && (int) $refund->get_parent_id() === (int) $entry['order_id'] && '' === (string) $refund->get_meta( self::REFUND_KEY ) ) {
			self::put_keys( $refund, $entry );
			$refund->update_meta_data( self::INCOMPLETE, '1' );
		}
	}

	/** @param WC_Order_Refund|false|null $refund A WooCommerce refund found for $entry (not loadable: left alone). */
	private static function tag_existing( $refund, array $entry ) {
		if ( $refund && $refund->get_meta( self::REFUND_KEY ) !== $entry['id'] ) {
			self::put_keys( $refund, $entry );
			$refund->save();
		}
	}

	/** Refunder's keys for $entry on a WooCommerce refund, saved with it by the caller. */
	private static function put_keys( WC_Order_Refund $refund, array $entry ) {
		$refund->update_meta_data( self::REFUND_KEY, $entry['id'] );
		if ( $entry['provider_reference'] ) {
			$refund->update_meta_data( self::PROVIDER_KEY, $entry['provider_reference'] );
		}
	}

	/**
	 * The WooCommerce refund of the order that carries this Refunder refund id or provider refund id, read
	 * by SQL from the order storage WooCommerce uses (HPOS tables or posts), past every cache.
	 *
	 * @return int The WooCommerce refund's id, or 0.
	 */
	public static function find( $order_id, $refund_id, $provider_refund_id = '' ) {
		global $wpdb;
		$keys = '( m.meta_key = %s AND m.meta_value = %s )';
		$args = array( (int) $order_id, self::REFUND_KEY, $refund_id );
		if ( '' !== (string) $provider_refund_id ) {
			$keys .= ' OR ( m.meta_key = %s AND m.meta_value = %s )';
			array_push( $args, self::PROVIDER_KEY, (string) $provider_refund_id );
		}
		$sql  = Refunder_Store::hpos()
			? "SELECT r.id FROM {$wpdb->prefix}wc_orders r JOIN {$wpdb->prefix}wc_orders_meta m ON m.order_id = r.id WHERE r.parent_order_id = %d AND r.type = 'shop_order_refund' AND ( $keys ) ORDER BY r.id LIMIT 1"
			: "SELECT r.ID FROM {$wpdb->posts} r JOIN {$wpdb->postmeta} m ON m.post_id = r.ID WHERE r.post_parent = %d AND r.post_type = 'shop_order_refund' AND ( $keys ) ORDER BY r.ID LIMIT 1";
		return (int) $wpdb->get_var( $wpdb->prepare( $sql, $args ) ); // phpcs:ignore WordPress.DB
	}

	/** The refunded lines as wc_create_refund books them (net and tax shares of each item). */
	private static function line_items( WC_Order $order, array $entry ) {
		$line_items = array();
		$items      = $order->get_items();
		foreach ( $entry['lines'] as $line ) {
			$item = $items[ (int) $line['item_id'] ] ?? null;
			if ( $item ) {
				$line_items[ $item->get_id() ] = self::refunded_line( $item, (int) $line['quantity'], $entry['exponent'] );
			}
		}
		return $line_items;
	}

	/**
	 * The net and tax shares of a refunded line, as WooCommerce books them.
	 *
	 * @param int $exponent The currency's digits as the service said them for this refund.
	 */
	private static function refunded_line( $item, $qty, $exponent ) {
		$whole = max( 1, (int) $item->get_quantity() );
		$share = fn( $amount ) => Refunder_Money::to_decimal( Refunder_Money::share( Refunder_Money::round_to_minor( $amount, $exponent ), $qty, $whole ), $exponent );
		$taxes = array();
		foreach ( $item->get_taxes()['total'] ?? array() as $rate => $tax ) {
			$taxes[ $rate ] = $share( $tax );
		}
		return array(
			'qty'          => $qty,
			'refund_total' => $share( $item->get_total() ),
			'refund_tax'   => $taxes,
		);
	}

	/**
	 * Refunded, then failed (a card refund that bounced; the service changes it only on the provider's word):
	 * the WooCommerce refund is removed, as the Stripe plugin does for its failed refunds, with a note.
	 */
	private static function reverse( array $entry ) {
		if ( ! Refunder_Store::reversed( $entry['id'] ) ) {
			return; // reversed by another process already.
		}
		$refund = $entry['wc_refund_id'] ? wc_get_order( $entry['wc_refund_id'] ) : null;
		if ( $refund instanceof WC_Order_Refund ) {
			self::$reversing = $entry['id'];
			try {
				$refund->delete( true );
			} finally {
				self::$reversing = null;
			}
		}
		Refunder_Log::warning( sprintf( 'refund %s (order %d) failed after it was refunded; WooCommerce refund %d removed.', $entry['id'], $entry['order_id'], $entry['wc_refund_id'] ) );
		$order = wc_get_order( $entry['order_id'] );
		if ( $order ) {
			Refunder_Order_Notes::add(
				$order,
				sprintf(
					/* translators: 1: amount, 2: provider, 3: the provider's reason */
					__( 'Refunder: the refund of %1$s through %2$s failed after it had been refunded (%3$s). Its WooCommerce refund was removed: the customer did not get this money back. Refund again, or by bank transfer.', 'refunder' ),
					Refunder_Money::text( $entry['amount'], $entry['currency'], $entry['exponent'] ),
					self::provider( $entry ),
					rtrim( $entry['failure'] ?: __( 'no reason given', 'refunder' ), '.' )
				),
				$entry['actor_id']
			);
		}
	}

	/**
	 * A WooCommerce refund that records a Refunder refund stays while the service says it is refunded: its own
	 * reversal removes it, and the Stripe plugin may remove it when Stripe says that very refund failed.
	 *
	 * @param mixed           $check  null: go ahead.
	 * @param WC_Order_Refund $refund The refund about to be deleted.
	 */
	public static function keep( $check, $refund ) {
		$id = (string) $refund->get_meta( self::REFUND_KEY );
		if ( null !== $check || '' === $id || self::$reversing === $id || Refunder_Stripe::deletes( $refund ) ) {
			return $check;
		}
		$entry = Refunder_Store::get( $id );
		if ( ! $entry || 'failed' === $entry['status'] || Refunder_Store::RECORDED !== $entry['record_state'] || $entry['wc_refund_id'] !== $refund->get_id() ) {
			return $check; // not (yet) its record: e.g. WooCommerce dropping a refund whose creation failed.
		}
		$order = wc_get_order( $refund->get_parent_id() );
		if ( $order ) {
			Refunder_Order_Notes::add(
				$order,
				/* translators: 1: WooCommerce refund number, 2: amount, 3: provider */
				sprintf( __( 'Refunder kept WooCommerce refund #%1$d: it records %2$s that Refunder refunded through %3$s, and that money has gone back to the customer. Should that refund fail, Refunder removes it.', 'refunder' ), $refund->get_id(), Refunder_Money::text( $entry['amount'], $entry['currency'], $entry['exponent'] ), self::provider( $entry ) )
			);
		}
		return false;
	}

	/**
	 * What WooCommerce shows left to refund, less Refunder's money it does not record yet (in flight, or
	 * refunded and not yet recorded): Refunder never offers more than this.
	 *
	 * @param WC_Order $order    The order.
	 * @param int      $exponent The digits of the order's currency, as the service said them for its payment.
	 * @return int Minor units.
	 */
	public static function woocommerce_left( WC_Order $order, $exponent ) {
		$left = Refunder_Money::round_to_minor( $order->get_total(), $exponent ) - Refunder_Money::round_to_minor( $order->get_total_refunded(), $exponent );
		foreach ( Refunder_Store::for_order( $order->get_id() ) as $entry ) {
			if ( 'failed' !== $entry['status'] && ! in_array( $entry['record_state'], array( Refunder_Store::RECORDED, Refunder_Store::REVERSED ), true ) ) {
				$left -= $entry['amount'];
			}
		}
		return max( 0, $left );
	}
}
