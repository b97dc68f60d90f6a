<?php
/** Only users with the refund capability see the box and may call its actions; nonces everywhere. */
class AccessTest extends Refunder_TestCase {

	private function boxes( string $screen ): array {
		global $wp_meta_boxes;
		$wp_meta_boxes = array();
		do_action( 'add_meta_boxes', $screen, $this->order() );
		return array_keys( $wp_meta_boxes[ $screen ]['normal']['high'] ?? array() );
	}

	public function test_administrators_have_the_capability_after_activation() {
		$this->assertTrue( get_role( 'administrator' )->has_cap( REFUNDER_CAPABILITY ) );
		$this->assertFalse( get_role( 'shop_manager' )->has_cap( REFUNDER_CAPABILITY ) );
	}

	public function test_box_on_legacy_and_hpos_screens_for_those_who_may_refund() {
		$this->assertSame( array( 'refunder' ), $this->boxes( 'shop_order' ) );
		$this->assertSame( array( 'refunder' ), $this->boxes( 'woocommerce_page_wc-orders' ) );
		wp_set_current_user( $this->user( 'shop_manager' ) );
		$this->assertSame( array(), $this->boxes( 'shop_order' ) );
		$this->assertSame( array(), $this->boxes( 'woocommerce_page_wc-orders' ) );
	}

	public function test_granted_shop_manager_sees_it() {
		get_role( 'shop_manager' )->add_cap( REFUNDER_CAPABILITY );
		try {
			wp_set_current_user( $this->user( 'shop_manager' ) );
			$this->assertSame( array( 'refunder' ), $this->boxes( 'shop_order' ) );
		} finally {
			get_role( 'shop_manager' )->remove_cap( REFUNDER_CAPABILITY );
		}
	}

	/** @dataProvider actions */
	public function test_actions_refuse_users_without_the_capability( string $action ) {
		$order = $this->order();
		wp_set_current_user( $this->user( 'shop_manager' ) );
		list( $status, $json ) = $this->ajax( $action, array( 'order_id' => $order->get_id(), 'nonce' => $this->nonce( $order ), 'mode' => 'full', 'reason' => 'x' ) );
		$this->assertSame( 403, $status );
		$this->assertFalse( $json['success'] );
		$this->assertStringContainsString( 'not allowed to refund', $json['data']['message'] );
		$this->assertSame( array(), Refunder_Store::for_order( $order->get_id() ) );
	}

	/** @dataProvider actions */
	public function test_actions_refuse_a_missing_or_foreign_nonce( string $action ) {
		$order = $this->order();
		$other = $this->order();
		foreach ( array( '', 'bad', $this->nonce( $other ) ) as $nonce ) {
			list( $status, $json ) = $this->ajax( $action, array( 'order_id' => $order->get_id(), 'nonce' => $nonce, 'mode' => 'full', 'reason' => 'x' ) );
			$this->assertSame( 403, $status, $nonce );
			$this->assertStringContainsString( 'expired', $json['data']['message'] );
		}
	}

	public function actions() {
		return array( array( 'refunder_review' ), array( 'refunder_confirm' ), array( 'refunder_status' ) );
	}

	public function test_the_button_speaks_norwegian() {
		$this->assertSame( 'Refund', __( 'Refund', 'refunder' ) );
		$norwegian = fn() => 'nb_NO';
		add_filter( 'determine_locale', $norwegian );
		try {
			Refunder_Plugin::load_textdomain();
			$this->assertSame( 'Refunder', __( 'Refund', 'refunder' ) );
			$this->assertSame( 'Gi begrunnelsen for refusjonen.', __( 'Give the reason for the refund.', 'refunder' ) );
		} finally {
			remove_filter( 'determine_locale', $norwegian );
			Refunder_Plugin::load_textdomain();
		}
		$this->assertSame( 'Refund', __( 'Refund', 'refunder' ) );
	}

	public function test_panel_output_is_escaped() {
		$order = $this->order( array( 'items' => array( array( '<script>alert(1)</script>', 1, '1500.00' ) ) ) );
		Refunder_Payments::read( $order, Refunder_Client::configured() ); // known: the box shows the form at once
		ob_start();
		Refunder_Order_Panel::render( $order );
		$html = ob_get_clean();
		$this->assertStringNotContainsString( '<script>alert(1)', $html );
		$this->assertStringContainsString( '&lt;script&gt;', $html );
		$this->assertStringContainsString( 'refunder-open', $html );
	}
}
