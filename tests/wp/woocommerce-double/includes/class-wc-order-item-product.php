<?php
/** A line of an order: name, quantity, line total and tax, as decimal strings like WooCommerce. */
class WC_Order_Item_Product {
	private $id;
	private $data;

	public function __construct( $id, array $data ) {
		$this->id   = (int) $id;
		$this->data = $data;
	}

	public function get_id() {
		return $this->id;
	}

	public function get_type() {
		return 'line_item';
	}

	public function get_name() {
		return $this->data['name'];
	}

	public function get_quantity() {
		return (int) $this->data['quantity'];
	}

	public function get_total() {
		return (string) $this->data['total'];
	}

	/** Tax per rate id, like WooCommerce: array( 'total' => array( rate_id => amount ), 'subtotal' => ... ). */
	public function get_taxes() {
		return $this->data['taxes'] ?? array( 'total' => array(), 'subtotal' => array() );
	}

	public function get_total_tax() {
		return (string) ( $this->data['total_tax'] ?? '0' );
	}
}
