<?php
/**
 * Plugin Name:       Refunder
 * Plugin URI:        https://github.com/refunder/refunder
 * Description:       Refund a booking's customer from the WooCommerce order screen, through the provider that took the money (Vipps MobilePay, Stripe, BT Pay, Mollie) or as a recorded bank transfer.
 * Version:           0.1.0
 * Requires at least: 6.1
 * Requires PHP:      7.4
 * Author:            Refunder
 * License:           GPL-2.0-or-later
 * Text Domain:       refunder
 * Domain Path:       /languages
 * WC requires at least: 7.9
 *
 * @package Refunder
 */

defined( 'ABSPATH' ) || exit;

define( 'REFUNDER_VERSION', '0.1.0' );
define( 'REFUNDER_FILE', __FILE__ );
define( 'REFUNDER_CAPABILITY', 'refunder_refund_orders' );

require_once __DIR__ . '/includes/class-refunder-log.php';
require_once __DIR__ . '/includes/class-refunder-money.php';
require_once __DIR__ . '/includes/class-refunder-messages.php';
require_once __DIR__ . '/includes/class-refunder-order-notes.php';
require_once __DIR__ . '/includes/class-refunder-signer.php';
require_once __DIR__ . '/includes/class-refunder-settings.php';
require_once __DIR__ . '/includes/class-refunder-client.php';
require_once __DIR__ . '/includes/class-refunder-payment-source.php';
require_once __DIR__ . '/includes/class-refunder-payment-mode.php';
require_once __DIR__ . '/includes/class-refunder-payments.php';
require_once __DIR__ . '/includes/class-refunder-store.php';
require_once __DIR__ . '/includes/class-refunder-books.php';
require_once __DIR__ . '/includes/class-refunder-follow-up.php';
require_once __DIR__ . '/includes/class-refunder-status-guard.php';
require_once __DIR__ . '/includes/class-refunder-held-rest.php';
require_once __DIR__ . '/includes/class-refunder-stripe.php';
require_once __DIR__ . '/includes/class-refunder-woocommerce-refunds.php';
require_once __DIR__ . '/includes/class-refunder-notices.php';
require_once __DIR__ . '/includes/class-refunder-registration.php';
require_once __DIR__ . '/includes/class-refunder-reviews.php';
require_once __DIR__ . '/includes/class-refunder-ajax.php';
require_once __DIR__ . '/includes/class-refunder-order-panel.php';
require_once __DIR__ . '/includes/class-refunder-bulk.php';
require_once __DIR__ . '/includes/class-refunder-bulk-jobs.php';
require_once __DIR__ . '/includes/class-refunder-bulk-report.php';
require_once __DIR__ . '/includes/class-refunder-bulk-page.php';
require_once __DIR__ . '/includes/class-refunder-bulk-actions.php';
require_once __DIR__ . '/includes/class-refunder-event-orders.php';
require_once __DIR__ . '/includes/class-refunder-credit-notes.php';
require_once __DIR__ . '/includes/class-refunder-journal.php';
require_once __DIR__ . '/includes/class-refunder-plugin.php';

register_activation_hook( __FILE__, array( 'Refunder_Plugin', 'activate' ) );
register_deactivation_hook( __FILE__, array( 'Refunder_Plugin', 'deactivate' ) );
add_action( 'plugins_loaded', array( 'Refunder_Plugin', 'boot' ) );
add_action(
	'before_woocommerce_init',
	function () {
		if ( class_exists( '\Automattic\WooCommerce\Utilities\FeaturesUtil' ) ) {
			\Automattic\WooCommerce\Utilities\FeaturesUtil::declare_compatibility( 'custom_order_tables', __FILE__, true );
		}
	}
);
