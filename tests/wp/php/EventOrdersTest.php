<?php
/** "All bookings of one event" answered from WooCommerce Bookings without any code from the site. */

class EventOrdersTest extends Refunder_TestCase {

	public static function setUpBeforeClass(): void {
		if ( ! class_exists( 'WC_Booking_Data_Store' ) ) {
			require_once dirname( __DIR__ ) . '/bookings-double/class-wc-booking-data-store.php';
		}
	}

	private function booking( int $order_id, int $product_id, string $start, string $end, string $status = 'paid', bool $all_day = false ): void {
		wp_insert_post(
			array(
				'post_type'   => 'wc_booking',
				'post_status' => $status,
				'post_parent' => $order_id,
				'post_title'  => 'Booking',
				'meta_input'  => array(
					'_booking_product_id' => $product_id,
					'_booking_start'      => $start,
					'_booking_end'        => $end,
					'_booking_all_day'    => $all_day ? '1' : '0',
				),
			)
		);
	}

	public function test_paid_bookings_of_the_product_on_that_day_give_their_orders(): void {
		$product = 900000 + wp_rand( 1, 99999 ); // no other test's bookings can match
		$evening = $this->order()->get_id();
		$all_day = $this->order()->get_id();
		$two     = $this->order()->get_id();
		$this->booking( $evening, $product, '20261205190000', '20261205220000' );
		$this->booking( $all_day, $product, '20261205000000', '20261205000000', 'confirmed', true );
		$this->booking( $two, $product, '20261205100000', '20261205110000', 'complete' );
		$this->booking( $two, $product, '20261205120000', '20261205130000' ); // one order, two bookings
		$this->booking( $this->order()->get_id(), $product, '20261206000000', '20261206010000' ); // next day
		$this->booking( $this->order()->get_id(), $product, '20261204230000', '20261204235959' ); // day before
		$this->booking( $this->order()->get_id(), $product + 1, '20261205190000', '20261205220000' ); // other product
		$this->booking( $this->order()->get_id(), $product, '20261205190000', '20261205220000', 'cancelled' );
		$this->booking( $this->order()->get_id(), $product, '20261205190000', '20261205220000', 'unpaid' );

		$found = Refunder_Bulk::event_orders( $product, '2026-12-05' );
		sort( $found );
		$this->assertSame( array( $evening, $all_day, $two ), $found );
		$this->assertSame( array(), Refunder_Bulk::event_orders( $product, '2026-12-07' ) );
	}

	public function test_a_booking_spanning_the_day_counts(): void {
		$product = 900000 + wp_rand( 1, 99999 );
		$order   = $this->order()->get_id();
		$this->booking( $order, $product, '20261204120000', '20261206120000' );
		$this->assertSame( array( $order ), Refunder_Bulk::event_orders( $product, '2026-12-05' ) );
	}

	public function test_another_booking_system_adds_its_own_answer(): void {
		$product = 900000 + wp_rand( 1, 99999 );
		$booked  = $this->order()->get_id();
		$other   = $this->order()->get_id();
		$this->booking( $booked, $product, '20261205190000', '20261205220000' );
		$add = function ( $ids ) use ( $other, $booked ) {
			return array_merge( $ids, array( $other, $booked ) );
		};
		add_filter( 'refunder_event_orders', $add );
		$found = Refunder_Bulk::event_orders( $product, '2026-12-05' );
		remove_filter( 'refunder_event_orders', $add );
		$this->assertSame( array( $booked, $other ), $found );
	}
}
