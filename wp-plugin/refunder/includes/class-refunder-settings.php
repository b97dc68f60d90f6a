<?php
/**
 * Settings → Refunder: sidecar URL, shared secret (or wp-config constants), who may refund, test connection.
 *
 * @package Refunder
 */

defined( 'ABSPATH' ) || exit;

final class Refunder_Settings {

	const OPTION = 'refunder_settings';
	const PAGE   = 'refunder';

	public static function register() {
		add_action( 'admin_menu', array( __CLASS__, 'menu' ) );
		add_action( 'admin_post_refunder_save_settings', array( __CLASS__, 'save' ) );
		add_action( 'admin_post_refunder_test_connection', array( __CLASS__, 'test_connection' ) );
		add_action( 'admin_notices', array( __CLASS__, 'notices' ) );
		add_filter( 'plugin_action_links_' . plugin_basename( REFUNDER_FILE ), array( __CLASS__, 'action_links' ) );
	}

	/** Settings first on the Plugins screen's row, for those who may change them. */
	public static function action_links( $links ) {
		if ( ! current_user_can( 'manage_options' ) ) {
			return $links;
		}
		$settings = sprintf( '<a href="%1$s">%2$s</a>', esc_url( admin_url( 'options-general.php?page=' . self::PAGE ) ), esc_html__( 'Settings', 'refunder' ) );
		return array_merge( array( 'settings' => $settings ), (array) $links );
	}

	public static function url() {
		$url = defined( 'REFUNDER_SIDECAR_URL' ) ? REFUNDER_SIDECAR_URL : ( get_option( self::OPTION )['url'] ?? '' );
		return untrailingslashit( (string) $url );
	}

	public static function secret() {
		return (string) ( defined( 'REFUNDER_SHARED_SECRET' ) ? REFUNDER_SHARED_SECRET : ( get_option( self::OPTION )['secret'] ?? '' ) );
	}

	public static function is_configured() {
		return '' !== self::url() && '' !== self::secret();
	}

	public static function menu() {
		add_options_page( __( 'Refunder', 'refunder' ), __( 'Refunder', 'refunder' ), 'manage_options', self::PAGE, array( __CLASS__, 'render' ) );
	}

	/**
	 * Roles an administrator may give the refund capability to: those that manage WooCommerce orders
	 * (edit_shop_orders, e.g. Shop manager), never Customer or Subscriber; administrators always have it.
	 *
	 * @return array<string, string> role => name
	 */
	public static function grantable_roles() {
		$roles = array();
		foreach ( wp_roles()->roles as $role => $details ) {
			if ( 'administrator' !== $role && ! empty( $details['capabilities']['edit_shop_orders'] ) ) {
				$roles[ $role ] = $details['name'];
			}
		}
		/**
		 * Filters the roles the Refunder settings offer the refund permission to.
		 *
		 * @since 0.2.0
		 *
		 * @param array $roles Role => name: the roles that can edit WooCommerce orders, administrators left out.
		 */
		return apply_filters( 'refunder_grantable_roles', $roles );
	}

	public static function render() {
		if ( ! current_user_can( 'manage_options' ) ) {
			wp_die( esc_html__( 'You are not allowed to change Refunder settings.', 'refunder' ), 403 );
		}
		$action = admin_url( 'admin-post.php' );
		?>
		<div class="wrap refunder-settings">
			<h1><?php esc_html_e( 'Refunder', 'refunder' ); ?></h1>
			<form method="post" action="<?php echo esc_url( $action ); ?>">
				<input type="hidden" name="action" value="refunder_save_settings" />
				<?php wp_nonce_field( 'refunder_save_settings' ); ?>
				<table class="form-table" role="presentation">
					<tr>
						<th scope="row"><label for="refunder-url"><?php esc_html_e( 'Refunder service URL', 'refunder' ); ?></label></th>
						<td>
							<?php if ( defined( 'REFUNDER_SIDECAR_URL' ) ) : ?>
								<code><?php echo esc_html( self::url() ); ?></code> <?php esc_html_e( '(set in wp-config.php)', 'refunder' ); ?>
							<?php else : ?>
								<input type="url" class="regular-text" id="refunder-url" name="refunder_url" value="<?php echo esc_attr( self::url() ); ?>" placeholder="http://127.0.0.1:8765" />
							<?php endif; ?>
						</td>
					</tr>
					<tr>
						<th scope="row"><label for="refunder-secret"><?php esc_html_e( 'Shared secret', 'refunder' ); ?></label></th>
						<td>
							<?php if ( defined( 'REFUNDER_SHARED_SECRET' ) ) : ?>
								<?php esc_html_e( 'Set in wp-config.php (REFUNDER_SHARED_SECRET).', 'refunder' ); ?>
							<?php else : ?>
								<input type="password" class="regular-text" id="refunder-secret" name="refunder_secret" value="" autocomplete="new-password" placeholder="<?php echo esc_attr( self::secret() ? __( 'Saved – leave empty to keep it', 'refunder' ) : '' ); ?>" />
								<p class="description"><?php esc_html_e( 'The same secret as REFUNDER_SHARED_SECRET on the Refunder service, at least 32 characters.', 'refunder' ); ?></p>
							<?php endif; ?>
						</td>
					</tr>
					<tr>
						<th scope="row"><?php esc_html_e( 'Who may refund', 'refunder' ); ?></th>
						<td>
							<p><?php esc_html_e( 'Administrators can always refund. Also allow:', 'refunder' ); ?></p>
							<?php foreach ( self::grantable_roles() as $role => $name ) : ?>
								<label><input type="checkbox" name="refunder_roles[]" value="<?php echo esc_attr( $role ); ?>" <?php checked( get_role( $role ) && get_role( $role )->has_cap( REFUNDER_CAPABILITY ) ); ?> /> <?php echo esc_html( translate_user_role( $name ) ); ?></label><br />
							<?php endforeach; ?>
						</td>
					</tr>
				</table>
				<?php submit_button( __( 'Save settings', 'refunder' ) ); ?>
			</form>
			<form method="post" action="<?php echo esc_url( $action ); ?>">
				<input type="hidden" name="action" value="refunder_test_connection" />
				<?php wp_nonce_field( 'refunder_test_connection' ); ?>
				<?php submit_button( __( 'Test connection', 'refunder' ), 'secondary', 'refunder-test', false ); ?>
			</form>
		</div>
		<?php
	}

	public static function save() {
		if ( ! current_user_can( 'manage_options' ) ) {
			wp_die( esc_html__( 'You are not allowed to change Refunder settings.', 'refunder' ), 403 );
		}
		check_admin_referer( 'refunder_save_settings' );
		$current = get_option( self::OPTION, array() );
		$url     = isset( $_POST['refunder_url'] ) ? esc_url_raw( wp_unslash( $_POST['refunder_url'] ), array( 'http', 'https' ) ) : ( $current['url'] ?? '' );
		$secret  = isset( $_POST['refunder_secret'] ) ? trim( (string) wp_unslash( $_POST['refunder_secret'] ) ) : '';
		$notice  = array( 'success', __( 'Settings saved.', 'refunder' ) );
		if ( '' !== $secret && strlen( $secret ) < 32 ) {
			$notice = array( 'error', __( 'The shared secret must be at least 32 characters. It was not changed.', 'refunder' ) );
			$secret = '';
		}
		update_option( self::OPTION, array( 'url' => $url, 'secret' => '' !== $secret ? $secret : ( $current['secret'] ?? '' ) ), false );
		$allowed = isset( $_POST['refunder_roles'] ) ? array_map( 'sanitize_key', (array) wp_unslash( $_POST['refunder_roles'] ) ) : array();
		foreach ( array_keys( self::grantable_roles() ) as $role ) {
			$object = get_role( $role );
			if ( ! $object ) {
				continue;
			}
			if ( in_array( $role, $allowed, true ) ) {
				$object->add_cap( REFUNDER_CAPABILITY );
			} else {
				$object->remove_cap( REFUNDER_CAPABILITY );
			}
		}
		self::redirect_with( $notice );
	}

	public static function test_connection() {
		if ( ! current_user_can( 'manage_options' ) ) {
			wp_die( esc_html__( 'You are not allowed to change Refunder settings.', 'refunder' ), 403 );
		}
		check_admin_referer( 'refunder_test_connection' );
		$client = Refunder_Client::configured();
		$result = is_wp_error( $client ) ? $client : $client->call( 'GET', '/v1/ping' );
		if ( is_wp_error( $result ) ) {
			/* translators: %s: what went wrong, in plain words */
			self::redirect_with( array( 'error', sprintf( __( 'Connection failed: %s', 'refunder' ), $result->get_error_message() ) ) );
		}
		/* translators: 1: service version, 2: list of payment providers */
		self::redirect_with( array( 'success', sprintf( __( 'Connected to the Refunder service %1$s. Providers: %2$s.', 'refunder' ), $result['version'] ?? '?', implode( ', ', (array) ( $result['providers'] ?? array() ) ) ) ) );
	}

	private static function redirect_with( array $notice ) {
		set_transient( 'refunder_notice_' . get_current_user_id(), $notice, 60 );
		wp_safe_redirect( admin_url( 'options-general.php?page=' . self::PAGE ) );
		exit;
	}

	public static function notices() {
		$notice = get_transient( 'refunder_notice_' . get_current_user_id() );
		if ( $notice ) {
			delete_transient( 'refunder_notice_' . get_current_user_id() );
			printf( '<div class="notice notice-%1$s refunder-notice"><p>%2$s</p></div>', esc_attr( $notice[0] ), esc_html( $notice[1] ) );
		}
		$screen = function_exists( 'get_current_screen' ) ? get_current_screen() : null;
		if ( $screen && in_array( $screen->id, Refunder_Order_Panel::screens(), true ) && ! self::is_configured() && current_user_can( REFUNDER_CAPABILITY ) ) {
			printf(
				'<div class="notice notice-warning refunder-notice"><p>%s</p></div>',
				esc_html__( 'Refunder is not connected: set the service URL and shared secret in Settings → Refunder.', 'refunder' )
			);
		}
	}
}
