<?php
/**
 * A failure the plugin swallows reaches WooCommerce's log once, under the source "refunder": seen by every log
 * handler WooCommerce runs (the filter woocommerce_logger_log_message) and in its log file.
 */
class LogTest extends Refunder_TestCase {

	/** @var array<int, array<int, array{0: string, 1: string, 2: array}>> Handler => its lines (message, level, context). */
	private $handled = array();

	protected function setUp(): void {
		parent::setUp();
		add_filter( 'woocommerce_logger_log_message', array( $this, 'handled' ), 10, 4 );
	}

	protected function tearDown(): void {
		remove_filter( 'woocommerce_logger_log_message', array( $this, 'handled' ), 10 );
		parent::tearDown();
	}

	public function handled( $message, $level, $context, $handler ) {
		$this->handled[ spl_object_id( $handler ) ][] = array( $message, $level, $context );
		return $message;
	}

	public function test_a_progress_the_service_refuses_is_logged_once_with_source_refunder() {
		$job    = 'bulk_' . strtolower( wp_generate_password( 24, false ) );
		$result = Refunder_Bulk_Jobs::progress( $job ); // the service knows no such job: 404, shown, not thrown.
		$this->assertInstanceOf( WP_Error::class, $result );
		$this->assertSame( 'bulk_refund_not_found', $result->get_error_code() );

		$this->assertNotEmpty( $this->handled, 'WooCommerce logged nothing' );
		foreach ( $this->handled as $lines ) {
			$ours = array_values( array_filter( $lines, fn( $l ) => false !== strpos( $l[0], $job ) ) );
			$this->assertCount( 1, $ours, 'each log handler sees the failure once' );
			list( $message, $level, $context ) = $ours[0];
			$this->assertSame( 'warning', $level );
			$this->assertSame( 'refunder', $context['source'] );
			$this->assertSame( "Refunder: bulk refund progress $job: No bulk refund $job is recorded. [bulk_refund_not_found]", $message );
		}
		$files = glob( wp_upload_dir()['basedir'] . '/wc-logs/refunder-*.log' );
		$kept  = preg_grep( '/' . preg_quote( $job, '/' ) . '/', array_merge( ...array_map( 'file', $files ) ) );
		$this->assertCount( 1, $kept, 'one line in the log file of source refunder' );
		$this->assertStringContainsString( 'WARNING', strtoupper( reset( $kept ) ) );
	}
}
