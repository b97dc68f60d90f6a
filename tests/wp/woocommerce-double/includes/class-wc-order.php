<?php
/** An order stored as a shop_order post with meta, with the WC_Order methods the plugin uses. */
class WC_Order {
	protected $id;
	protected $changes = array();

	public function __construct( $id ) {
		$this->id = (int) $id;
	}

	public function get_id() {
		return $this->id;
	}

	public function get_order_number() {
		return (string) $this->id;
	}

	public function get_currency() {
		return get_post_meta( $this->id, '_order_currency', true ) ?: 'NOK';
	}

	public function get_total() {
		return (string) get_post_meta( $this->id, '_order_total', true );
	}

	public function get_payment_method() {
		return (string) get_post_meta( $this->id, '_payment_method', true );
	}

	public function get_payment_method_title() {
		return (string) get_post_meta( $this->id, '_payment_method_title', true );
	}

	public function get_transaction_id() {
		return (string) get_post_meta( $this->id, '_transaction_id', true );
	}

	public function get_edit_order_url() {
		return 'yes' === get_option( 'woocommerce_custom_orders_table_enabled' )
			? admin_url( 'admin.php?page=wc-orders&action=edit&id=' . $this->id )
			: admin_url( 'post.php?post=' . $this->id . '&action=edit' );
	}

	public function __call( $name, $args ) {
		if ( preg_match( '/^get_billing_(first_name|last_name|company|address_1|address_2|postcode|city|country)$/', $name, $m ) ) {
			return (string) get_post_meta( $this->id, '_billing_' . $m[1], true );
		}
		throw new BadMethodCallException( "WC_Order::$name is not in the WooCommerce double" );
	}

	public function get_formatted_billing_full_name() {
		return trim( $this->get_billing_first_name() . ' ' . $this->get_billing_last_name() );
	}

	public function get_billing_email() {
		return (string) get_post_meta( $this->id, '_billing_email', true );
	}

	public function get_status() {
		return preg_replace( '/^wc-/', '', get_post_status( $this->id ) );
	}

	public function get_date_paid() {
		$paid = get_post_meta( $this->id, '_date_paid', true );
		return $paid ? new DateTimeImmutable( '@' . (int) $paid ) : null;
	}

	public function get_date_created() {
		return new DateTimeImmutable( get_post_field( 'post_date_gmt', $this->id ) . ' UTC' );
	}

	public function get_meta( $key, $single = true ) {
		if ( array_key_exists( $key, $this->changes ) ) {
			return $this->changes[ $key ];
		}
		return get_post_meta( $this->id, $key, $single );
	}

	public function set_transaction_id( $id ) {
		$this->changes['_transaction_id'] = (string) $id;
	}

	/** Every meta entry, as objects with key and value (WC_Meta_Data has them as properties too). */
	public function get_meta_data() {
		$all = array();
		foreach ( array_keys( (array) get_post_meta( $this->id ) ) as $key ) {
			$all[ $key ] = get_post_meta( $this->id, $key, true );
		}
		foreach ( $this->changes as $key => $value ) {
			$all[ $key ] = $value;
		}
		return array_map( fn( $key, $value ) => (object) array( 'key' => $key, 'value' => $value ), array_keys( $all ), array_values( $all ) );
	}

	public function update_meta_data( $key, $value ) {
		$this->changes[ $key ] = $value;
	}

	public function delete_meta_data( $key ) {
		$this->changes[ $key ] = null;
	}

	/** As WC_Abstract_Order::save: woocommerce_before_{order|order_refund}_object_save, then the changes written. */
	public function save() {
		do_action( 'woocommerce_before_' . ( $this instanceof WC_Order_Refund ? 'order_refund' : 'order' ) . '_object_save', $this, null );
		foreach ( $this->changes as $key => $value ) {
			if ( null === $value ) {
				delete_post_meta( $this->id, $key );
			} else {
				update_post_meta( $this->id, $key, $value );
			}
		}
		$this->changes = array();
		return $this->id;
	}

	/** @return WC_Order_Item_Product[] keyed by item id */
	public function get_items( $type = 'line_item' ) {
		$items = array();
		if ( ! in_array( 'line_item', (array) $type, true ) ) {
			return $items; // the double's orders have product lines only
		}
		foreach ( (array) get_post_meta( $this->id, '_wc_double_items', true ) as $item_id => $data ) {
			$items[ $item_id ] = new WC_Order_Item_Product( $item_id, $data );
		}
		return $items;
	}

	/** Like WooCommerce: by the current user when added by one who may edit orders, else by "WooCommerce". */
	public function add_order_note( $note, $is_customer_note = 0, $added_by_user = false ) {
		$user = is_user_logged_in() && current_user_can( 'edit_shop_orders', $this->id ) && $added_by_user ? wp_get_current_user() : null;
		$data = apply_filters(
			'woocommerce_new_order_note_data',
			array(
				'comment_post_ID'      => $this->id,
				'comment_author'       => $user ? $user->display_name : 'WooCommerce',
				'comment_author_email' => $user ? $user->user_email : 'woocommerce@localhost',
				'comment_content'      => $note,
				'comment_type'         => 'order_note',
				'comment_agent'        => 'WooCommerce',
				'comment_approved'     => 1,
			),
			array( 'order_id' => $this->id, 'is_customer_note' => $is_customer_note )
		);
		return wp_insert_comment( $data );
	}

	/** @return WC_Order_Refund[] */
	public function get_refunds() {
		$refunds = array();
		foreach ( get_posts( array( 'post_type' => 'shop_order_refund', 'post_parent' => $this->id, 'numberposts' => -1, 'post_status' => 'any', 'orderby' => 'ID', 'order' => 'ASC' ) ) as $post ) {
			$refunds[] = new WC_Order_Refund( $post->ID );
		}
		return $refunds;
	}

	public function get_total_refunded() {
		$cents = 0;
		foreach ( $this->get_refunds() as $refund ) {
			$cents += (int) round( 100 * (float) $refund->get_amount() );
		}
		return $cents / 100; // a float, like WooCommerce
	}

	/** Like WooCommerce: how many of the item were refunded, as a negative number. */
	public function get_qty_refunded_for_item( $item_id ) {
		$qty = 0;
		foreach ( $this->get_refunds() as $refund ) {
			$qty -= (int) ( ( (array) get_post_meta( $refund->get_id(), '_refunded_line_items', true ) )[ $item_id ]['qty'] ?? 0 );
		}
		return $qty;
	}

	/** Like WooCommerce: the line's total, with its tax when asked, rounded to the shop's decimals. */
	public function get_line_total( $item, $inc_tax = false, $round = true ) {
		$total = (float) $item->get_total() + ( $inc_tax ? (float) $item->get_total_tax() : 0 );
		return $round ? round( $total, 2 ) : $total;
	}

	/** Meta only, like WooCommerce's WC_Data::save_meta_data(). */
	public function save_meta_data() {
		$this->save();
	}

	public function get_remaining_refund_amount() {
		return number_format( (float) $this->get_total() - (float) $this->get_total_refunded(), 2, '.', '' );
	}
}

/** A refund: a shop_order_refund post under its order. */
class WC_Order_Refund extends WC_Order {
	public function get_parent_id() {
		return (int) get_post_field( 'post_parent', $this->id );
	}

	public function get_refunded_by() {
		return (int) get_post_meta( $this->id, '_refunded_by', true );
	}

	/** Deletes the refund unless woocommerce_pre_delete_order_refund says otherwise (as WC_Data::delete). */
	public function delete( $force_delete = false ) {
		$check = apply_filters( 'woocommerce_pre_delete_order_refund', null, $this, $force_delete );
		if ( null !== $check ) {
			return $check;
		}
		wp_delete_post( $this->id, true );
		$this->id = 0;
		return true;
	}

	public function get_amount() {
		return (string) get_post_meta( $this->id, '_refund_amount', true );
	}

	public function get_reason() {
		return (string) get_post_meta( $this->id, '_refund_reason', true );
	}

	public function get_refunded_payment() {
		return (bool) get_post_meta( $this->id, '_refunded_payment', true );
	}
}
