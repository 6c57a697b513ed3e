<?php
/**
 * The settings page (Settings > newsrec): the service's URL and CMS token, the blocks, and
 * buttons to test the connection, send every published post, retry the queue and download
 * the articles file. Also the text for WordPress's privacy policy guide.
 *
 * @package Newsrec
 */

defined( 'ABSPATH' ) || exit;

/**
 * Settings page and admin actions.
 */
class Newsrec_Admin {

	const PAGE = 'newsrec';

	/**
	 * Hooks in.
	 */
	public static function init() {
		add_action( 'admin_menu', array( __CLASS__, 'menu' ) );
		add_action( 'admin_init', array( __CLASS__, 'register_settings' ) );
		add_action( 'admin_init', array( __CLASS__, 'privacy_policy' ) );
		foreach ( array( 'test', 'sync_all', 'retry', 'export' ) as $action ) {
			add_action( 'admin_post_newsrec_' . $action, array( __CLASS__, 'action_' . $action ) );
		}
		add_filter( 'plugin_action_links_' . plugin_basename( NEWSREC_FILE ), array( __CLASS__, 'action_links' ) );
	}

	/**
	 * The settings page's URL.
	 *
	 * @return string
	 */
	public static function page_url() {
		return admin_url( 'options-general.php?page=' . self::PAGE );
	}

	/**
	 * A "Settings" link on the plugins screen.
	 *
	 * @param array $links Links.
	 * @return array
	 */
	public static function action_links( $links ) {
		array_unshift( $links, '<a href="' . esc_url( self::page_url() ) . '">' . esc_html__( 'Settings', 'newsrec' ) . '</a>' );
		return $links;
	}

	/**
	 * Settings > newsrec.
	 */
	public static function menu() {
		add_options_page( __( 'newsrec', 'newsrec' ), __( 'newsrec', 'newsrec' ), 'manage_options', self::PAGE, array( __CLASS__, 'page' ) );
	}

	/**
	 * The option and its validation.
	 */
	public static function register_settings() {
		register_setting(
			'newsrec',
			Newsrec_Settings::OPTION,
			array(
				'type'              => 'array',
				'sanitize_callback' => array( __CLASS__, 'sanitize' ),
				'default'           => Newsrec_Settings::defaults(),
			)
		);
	}

	/**
	 * Validates the form; the token goes to its own option and is never shown again.
	 *
	 * @param mixed $input Submitted values.
	 * @return array
	 */
	public static function sanitize( $input ) {
		$input    = is_array( $input ) ? $input : array(); // options.php has unslashed it.
		$previous = get_option( Newsrec_Settings::OPTION, array() );
		list( $settings, $errors ) = Newsrec_Settings::validate( $input, is_array( $previous ) ? $previous : array() );
		foreach ( $errors as $error ) {
			/* translators: %s: the name of a setting. */
			add_settings_error( Newsrec_Settings::OPTION, 'newsrec_' . $error[0], sprintf( __( 'The value of "%s" was not valid; the previous value is kept.', 'newsrec' ), $error[0] ) );
		}
		$token = trim( (string) ( $input['token'] ?? '' ) );
		if ( ! empty( $input['token_clear'] ) ) {
			delete_option( Newsrec_Settings::TOKEN_OPTION );
		} elseif ( '' !== $token ) {
			update_option( Newsrec_Settings::TOKEN_OPTION, $token, false );
		}
		unset( $settings['token'], $settings['token_clear'] );
		return $settings;
	}

	/**
	 * Checks the capability and the nonce of an admin action.
	 *
	 * @param string $action Action name.
	 */
	private static function check( $action ) {
		if ( ! current_user_can( 'manage_options' ) ) {
			wp_die( esc_html__( 'You may not change newsrec\'s settings.', 'newsrec' ), 403 );
		}
		check_admin_referer( 'newsrec_' . $action );
	}

	/**
	 * Shows a notice on the next view of the settings page, then goes there.
	 *
	 * @param bool  $ok    Success or failure.
	 * @param array $lines Lines of text.
	 */
	private static function back( $ok, array $lines ) {
		set_transient(
			'newsrec_notice_' . get_current_user_id(),
			array(
				'ok'    => $ok,
				'lines' => $lines,
			),
			300
		);
		wp_safe_redirect( self::page_url() );
		exit;
	}

	/**
	 * Button "Test connection": /readyz, the token, CORS.
	 */
	public static function action_test() {
		self::check( 'test' );
		$result = ( new Newsrec_Client() )->check();
		if ( $result['lines'][0][0] ) {
			delete_transient( 'newsrec_down' );
		}
		self::back( $result['ok'], $result['lines'] );
	}

	/**
	 * Button "Sync all".
	 */
	public static function action_sync_all() {
		self::check( 'sync_all' );
		delete_transient( 'newsrec_down' );
		$state = Newsrec_Sync::start_sync_all();
		$lines = array(
			array(
				true,
				/* translators: 1: posts sent, 2: posts queued for retry. */
				sprintf( __( 'Sync all: %1$d posts sent, %2$d queued for retry.', 'newsrec' ), (int) ( $state['sent'] ?? 0 ), (int) ( $state['queued'] ?? 0 ) ),
			),
		);
		if ( empty( $state['finished'] ) ) {
			$lines[] = array( true, __( 'The remaining posts follow in the background (WP-Cron).', 'newsrec' ) );
		}
		self::back( 0 === (int) ( $state['queued'] ?? 0 ), $lines );
	}

	/**
	 * Button "Retry now".
	 */
	public static function action_retry() {
		self::check( 'retry' );
		delete_transient( 'newsrec_down' );
		$counts = Newsrec_Sync::process_queue( true );
		self::back(
			0 === $counts['left'],
			array(
				array(
					0 === $counts['left'],
					/* translators: 1: sent, 2: failed, 3: dropped, 4: left in the queue. */
					sprintf( __( 'Retry: %1$d sent, %2$d failed, %3$d refused by the service, %4$d left in the queue.', 'newsrec' ), $counts['sent'], $counts['failed'], $counts['dropped'], $counts['left'] ),
				),
			)
		);
	}

	/**
	 * Button "Download articles file": the JSON Lines `newsrec train --articles` reads.
	 */
	public static function action_export() {
		self::check( 'export' );
		nocache_headers();
		header( 'Content-Type: application/x-ndjson; charset=utf-8' );
		header( 'Content-Disposition: attachment; filename="articles-' . gmdate( 'Ymd-His' ) . '.jsonl"' );
		$out = fopen( 'php://output', 'wb' ); // phpcs:ignore WordPress.WP.AlternativeFunctions.file_system_operations_fopen
		Newsrec_Sync::export( $out );
		fclose( $out ); // phpcs:ignore WordPress.WP.AlternativeFunctions.file_system_operations_fclose
		exit;
	}

	/**
	 * A form posting one admin action.
	 *
	 * @param string $action Action name.
	 * @param string $label  Button text.
	 * @param string $class  Button classes.
	 */
	private static function button( $action, $label, $class = 'button' ) {
		echo '<form method="post" action="' . esc_url( admin_url( 'admin-post.php' ) ) . '" style="display:inline-block;margin:0 .5em .5em 0">';
		echo '<input type="hidden" name="action" value="' . esc_attr( 'newsrec_' . $action ) . '">';
		wp_nonce_field( 'newsrec_' . $action );
		echo '<button type="submit" class="' . esc_attr( $class ) . '" id="' . esc_attr( 'newsrec-' . str_replace( '_', '-', $action ) ) . '">' . esc_html( $label ) . '</button></form>';
	}

	/**
	 * One settings row.
	 *
	 * @param string $key   Setting.
	 * @param string $label Label.
	 * @param string $input The input's HTML (escaped by the caller).
	 * @param string $help  Help text.
	 */
	private static function row( $key, $label, $input, $help = '' ) {
		echo '<tr><th scope="row"><label for="' . esc_attr( 'newsrec-' . $key ) . '">' . esc_html( $label ) . '</label></th><td>';
		echo $input; // phpcs:ignore WordPress.Security.EscapeOutput.OutputNotEscaped -- built with esc_attr by the callers below.
		if ( '' !== $help ) {
			echo '<p class="description">' . esc_html( $help ) . '</p>';
		}
		echo '</td></tr>';
	}

	/**
	 * A text input.
	 *
	 * @param string $key   Setting.
	 * @param mixed  $value Value.
	 * @param string $type  Input type.
	 * @param string $extra Extra attributes (constant strings).
	 * @return string
	 */
	private static function input( $key, $value, $type = 'text', $extra = '' ) {
		return '<input type="' . esc_attr( $type ) . '" id="' . esc_attr( 'newsrec-' . $key ) . '" name="' . esc_attr( Newsrec_Settings::OPTION . '[' . $key . ']' ) . '" value="' . esc_attr( (string) $value ) . '" ' . $extra . '>';
	}

	/**
	 * A checkbox.
	 *
	 * @param string $key     Setting.
	 * @param mixed  $value   Value.
	 * @param string $caption Text beside it.
	 * @return string
	 */
	private static function checkbox( $key, $value, $caption ) {
		return '<label><input type="checkbox" id="' . esc_attr( 'newsrec-' . $key ) . '" name="' . esc_attr( Newsrec_Settings::OPTION . '[' . $key . ']' ) . '" value="1"' . checked( ! empty( $value ), true, false ) . '> ' . esc_html( $caption ) . '</label>';
	}

	/**
	 * The settings page.
	 */
	public static function page() {
		if ( ! current_user_can( 'manage_options' ) ) {
			return;
		}
		$s      = Newsrec_Settings::get();
		$notice = get_transient( 'newsrec_notice_' . get_current_user_id() );
		delete_transient( 'newsrec_notice_' . get_current_user_id() );
		echo '<div class="wrap"><h1>' . esc_html__( 'newsrec: related articles and most viewed', 'newsrec' ) . '</h1>';
		if ( is_array( $notice ) ) {
			echo '<div id="newsrec-status" class="notice ' . ( $notice['ok'] ? 'notice-success' : 'notice-error' ) . '" data-ok="' . ( $notice['ok'] ? '1' : '0' ) . '">';
			foreach ( $notice['lines'] as $line ) {
				echo '<p><span class="dashicons ' . ( $line[0] ? 'dashicons-yes' : 'dashicons-warning' ) . '" aria-hidden="true"></span> ' . esc_html( $line[1] ) . '</p>';
			}
			echo '</div>';
		}
		settings_errors( Newsrec_Settings::OPTION );

		echo '<h2>' . esc_html__( 'Connection', 'newsrec' ) . '</h2><p>';
		self::button( 'test', __( 'Test connection', 'newsrec' ), 'button button-secondary' );
		self::button( 'sync_all', __( 'Sync all published posts', 'newsrec' ) );
		self::button( 'export', __( 'Download articles file (JSONL)', 'newsrec' ) );
		$queue = Newsrec_Sync::queue();
		if ( $queue ) {
			self::button( 'retry', __( 'Retry queued changes now', 'newsrec' ) );
		}
		echo '</p><p id="newsrec-queue">';
		/* translators: %d: number of posts. */
		echo esc_html( sprintf( _n( '%d change waits in the retry queue.', '%d changes wait in the retry queue.', count( $queue ), 'newsrec' ), count( $queue ) ) );
		$sync = get_option( Newsrec_Sync::SYNC_OPTION );
		if ( is_array( $sync ) && ! empty( $sync['started'] ) ) {
			echo ' ' . esc_html(
				sprintf(
					/* translators: 1: date, 2: sent, 3: queued, 4: done or running. */
					__( 'Last sync all: %1$s, %2$d sent, %3$d queued (%4$s).', 'newsrec' ),
					wp_date( get_option( 'date_format' ) . ' ' . get_option( 'time_format' ), (int) $sync['started'] ),
					(int) $sync['sent'],
					(int) $sync['queued'],
					empty( $sync['finished'] ) ? __( 'running', 'newsrec' ) : __( 'done', 'newsrec' )
				)
			);
		}
		echo '</p>';
		$log = get_option( 'newsrec_log', array() );
		if ( is_array( $log ) && $log ) {
			echo '<details><summary>' . esc_html__( 'Recent problems', 'newsrec' ) . '</summary><ul id="newsrec-log">';
			foreach ( array_reverse( $log ) as $entry ) {
				echo '<li><code>' . esc_html( wp_date( 'Y-m-d H:i:s', (int) $entry[0] ) ) . '</code> ' . esc_html( $entry[1] ) . '</li>';
			}
			echo '</ul></details>';
		}

		echo '<form method="post" action="options.php">';
		settings_fields( 'newsrec' );
		echo '<h2>' . esc_html__( 'Service', 'newsrec' ) . '</h2><table class="form-table" role="presentation">';
		self::row( 'service_url', __( 'Service URL', 'newsrec' ), self::input( 'service_url', $s['service_url'], 'url', 'class="regular-text" placeholder="https://newsrec.example.com"' ), __( 'How this server reaches the service.', 'newsrec' ) );
		self::row( 'public_url', __( 'Public URL', 'newsrec' ), self::input( 'public_url', $s['public_url'], 'url', 'class="regular-text"' ), __( 'How readers\' browsers reach it (widget, views); empty: the service URL.', 'newsrec' ) );
		$has_token = '' !== Newsrec_Settings::token();
		self::row(
			'token',
			__( 'CMS token', 'newsrec' ),
			// The token is never printed back: an empty field keeps the saved one.
			'<input type="password" id="newsrec-token" name="' . esc_attr( Newsrec_Settings::OPTION . '[token]' ) . '" value="" class="regular-text" autocomplete="new-password"> '
				. ( $has_token ? self::checkbox( 'token_clear', 0, __( 'Remove the saved token', 'newsrec' ) ) : '' ),
			$has_token ? __( 'A token is saved. Leave the field empty to keep it.', 'newsrec' ) : __( 'The service\'s NEWSREC_CMS_TOKEN: without it, posts are not sent.', 'newsrec' )
		);
		self::row( 'timeout', __( 'Timeout (seconds)', 'newsrec' ), self::input( 'timeout', $s['timeout'], 'number', 'min="1" max="10" class="small-text"' ) );
		self::row( 'cache_ttl', __( 'Cache (seconds)', 'newsrec' ), self::input( 'cache_ttl', $s['cache_ttl'], 'number', 'min="0" max="3600" class="small-text"' ), __( 'How long a rendered list is kept (transients); 0: not at all.', 'newsrec' ) );
		echo '</table><h2>' . esc_html__( 'Blocks', 'newsrec' ) . '</h2><table class="form-table" role="presentation">';
		self::row( 'related_enabled', __( 'You might also like', 'newsrec' ), self::checkbox( 'related_enabled', $s['related_enabled'], __( 'Show related articles', 'newsrec' ) ) );
		self::row( 'most_viewed_enabled', __( 'Most viewed', 'newsrec' ), self::checkbox( 'most_viewed_enabled', $s['most_viewed_enabled'], __( 'Show the most viewed articles', 'newsrec' ) ) );
		self::row( 'auto_place', __( 'Placement', 'newsrec' ), self::checkbox( 'auto_place', $s['auto_place'], __( 'After every single post (else place the blocks or shortcodes yourself)', 'newsrec' ) ) );
		self::row( 'n', __( 'Articles per block', 'newsrec' ), self::input( 'n', $s['n'], 'number', 'min="1" max="50" class="small-text"' ) );
		$options = '';
		foreach ( Newsrec_Settings::WINDOWS as $window ) {
			$options .= '<option value="' . esc_attr( $window ) . '"' . selected( $s['window'], $window, false ) . '>' . esc_html( $window ) . '</option>';
		}
		self::row( 'window', __( 'Most viewed over', 'newsrec' ), '<select id="newsrec-window" name="' . esc_attr( Newsrec_Settings::OPTION . '[window]' ) . '">' . $options . '</select>' );
		self::row( 'related_title', __( 'Heading of related', 'newsrec' ), self::input( 'related_title', $s['related_title'], 'text', 'class="regular-text" placeholder="' . esc_attr__( 'You might also like', 'newsrec' ) . '"' ) );
		self::row( 'most_viewed_title', __( 'Heading of most viewed', 'newsrec' ), self::input( 'most_viewed_title', $s['most_viewed_title'], 'text', 'class="regular-text" placeholder="' . esc_attr__( 'Most viewed', 'newsrec' ) . '"' ) );
		self::row( 'widget', __( 'Widget', 'newsrec' ), self::checkbox( 'widget', $s['widget'], __( 'Refresh the blocks in the browser with the service\'s widget.js', 'newsrec' ) ) );
		self::row( 'widget_css', __( 'Styles', 'newsrec' ), self::checkbox( 'widget_css', $s['widget_css'], __( 'Load the service\'s default styles (widget.css)', 'newsrec' ) ) );
		self::row( 'count_views', __( 'Views', 'newsrec' ), self::checkbox( 'count_views', $s['count_views'], __( 'Count readers\' views (never those of users who can edit posts)', 'newsrec' ) ) );
		echo '</table>';
		submit_button();
		echo '</form></div>';
	}

	/**
	 * The text for Settings > Privacy's policy guide.
	 */
	public static function privacy_policy() {
		if ( ! function_exists( 'wp_add_privacy_policy_content' ) ) {
			return;
		}
		$service = Newsrec_Settings::public_url();
		$content = '<p class="privacy-policy-tutorial">' . esc_html__( 'newsrec shows related and most viewed articles and counts article views with a recommendation service run by the site.', 'newsrec' ) . '</p>'
			. '<strong class="privacy-policy-tutorial">' . esc_html__( 'Suggested text:', 'newsrec' ) . ' </strong>'
			. '<p>' . esc_html(
				sprintf(
					/* translators: %s: the service's address. */
					__( 'When you read an article, your browser tells our recommendation service (%s) which article you opened, with a random visit identifier kept in your browser\'s local storage (key newsrec_session) that changes after 30 minutes without reading. The service keeps only a keyed hash of that identifier with the article and the time, to count views and learn which articles are read together; it does not store your IP address or browser details. It sets no cookies. Views of logged-in editors are not counted.', 'newsrec' ),
					'' !== $service ? $service : __( 'not configured yet', 'newsrec' )
				)
			) . '</p>';
		wp_add_privacy_policy_content( __( 'newsrec', 'newsrec' ), wp_kses_post( $content ) );
	}
}
