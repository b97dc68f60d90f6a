<?php
/** The Plugins row links to the settings; only order-managing roles get the permission; notes name who acted. */
class SettingsAndNotesTest extends Refunder_TestCase {

	public function test_the_plugins_row_links_to_the_settings_for_those_who_may_change_them() {
		$links = apply_filters( 'plugin_action_links_' . plugin_basename( REFUNDER_FILE ), array( 'deactivate' => '<a>Deactivate</a>' ) );
		$this->assertSame( array( 'settings', 'deactivate' ), array_keys( $links ) );
		$this->assertStringContainsString( 'options-general.php?page=refunder', $links['settings'] );
		wp_set_current_user( $this->user( 'shop_manager' ) );
		$this->assertSame( array( 'deactivate' ), array_keys( apply_filters( 'plugin_action_links_' . plugin_basename( REFUNDER_FILE ), array( 'deactivate' => '<a>Deactivate</a>' ) ) ) );
	}

	public function test_only_roles_that_manage_orders_are_offered_the_permission() {
		if ( ! get_role( 'customer' ) ) {
			add_role( 'customer', 'Customer', array( 'read' => true ) ); // as WooCommerce creates it
		}
		$roles = Refunder_Settings::grantable_roles();
		$this->assertArrayHasKey( 'shop_manager', $roles );
		foreach ( array( 'administrator', 'customer', 'subscriber', 'author', 'contributor' ) as $role ) {
			$this->assertArrayNotHasKey( $role, $roles, $role );
		}
		ob_start();
		Refunder_Settings::render();
		$page = ob_get_clean();
		$this->assertStringContainsString( 'value="shop_manager"', $page );
		$this->assertStringNotContainsString( 'value="customer"', $page );
		$this->assertStringNotContainsString( 'value="subscriber"', $page );
	}

	public function test_order_notes_are_by_the_staff_member_who_acted() {
		$order   = $this->order();
		$manager = $this->user( 'shop_manager' );
		wp_set_current_user( $manager );
		$now = get_comment( Refunder_Order_Notes::add( $order, 'Refunded at the counter.' ) );
		$this->assertSame( 'Shop_manager user', $now->comment_author );

		wp_set_current_user( 0 ); // WP-Cron, Action Scheduler: no one is logged in, the note names who asked.
		$later = get_comment( Refunder_Order_Notes::add( $order, 'The provider confirmed it.', $manager ) );
		$this->assertSame( array( 'Shop_manager user', (string) $manager ), array( $later->comment_author, $later->user_id ) );
		$this->assertSame( get_userdata( $manager )->user_email, $later->comment_author_email );

		$nobody = get_comment( Refunder_Order_Notes::add( $order, 'Found at the provider.' ) );
		$this->assertSame( 'WooCommerce', $nobody->comment_author );
		$contents = wp_list_pluck( wc_get_order_notes( array( 'order_id' => $order->get_id() ) ), 'content' );
		$this->assertContains( 'The provider confirmed it.', $contents );
	}
}
