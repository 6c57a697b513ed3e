<?php
/**
 * Plugin Name:       newsrec
 * Plugin URI:        https://github.com/newsrec/newsrec
 * Description:       "You might also like" and "Most viewed" blocks from a newsrec service, which this plugin keeps in step with your posts and tells which articles readers open.
 * Version:           0.1.0
 * Requires at least: 6.0
 * Requires PHP:      7.4
 * Author:            newsrec
 * License:           MIT
 * Text Domain:       newsrec
 * Domain Path:       /languages
 *
 * @package Newsrec
 */

defined( 'ABSPATH' ) || exit;

define( 'NEWSREC_VERSION', '0.1.0' );
define( 'NEWSREC_FILE', __FILE__ );
define( 'NEWSREC_DIR', plugin_dir_path( __FILE__ ) );

require_once NEWSREC_DIR . 'includes/class-newsrec-payload.php';
require_once NEWSREC_DIR . 'includes/class-newsrec-policy.php';
require_once NEWSREC_DIR . 'includes/class-newsrec-queue.php';
require_once NEWSREC_DIR . 'includes/class-newsrec-renderer.php';
require_once NEWSREC_DIR . 'includes/class-newsrec-settings.php';
require_once NEWSREC_DIR . 'includes/class-newsrec-client.php';
require_once NEWSREC_DIR . 'includes/class-newsrec-sync.php';
require_once NEWSREC_DIR . 'includes/class-newsrec-frontend.php';
require_once NEWSREC_DIR . 'includes/class-newsrec-admin.php';

/**
 * Start-up, logging, activation.
 */
class Newsrec_Plugin {

	const LOG_OPTION = 'newsrec_log';
	const LOG_KEEP   = 20;

	/**
	 * Hooks everything in.
	 */
	public static function init() {
		add_action( 'init', array( __CLASS__, 'load_textdomain' ) );
		Newsrec_Sync::init();
		Newsrec_Frontend::init();
		if ( is_admin() ) {
			Newsrec_Admin::init();
		}
		if ( defined( 'WP_CLI' ) && WP_CLI ) {
			require_once NEWSREC_DIR . 'includes/class-newsrec-cli.php';
			WP_CLI::add_command( 'newsrec', 'Newsrec_CLI' );
		}
	}

	/**
	 * Translations from languages/ (or WordPress's language packs).
	 */
	public static function load_textdomain() {
		load_plugin_textdomain( 'newsrec', false, dirname( plugin_basename( NEWSREC_FILE ) ) . '/languages' );
	}

	/**
	 * Logs a problem: PHP's error log, and the last few on the settings page.
	 *
	 * @param string $message What happened.
	 */
	public static function log( $message ) {
		error_log( 'newsrec: ' . $message ); // phpcs:ignore WordPress.PHP.DevelopmentFunctions.error_log_error_log -- the site's log is where operators look.
		$log   = get_option( self::LOG_OPTION, array() );
		$log   = is_array( $log ) ? $log : array();
		$log[] = array( time(), (string) $message );
		update_option( self::LOG_OPTION, array_slice( $log, -self::LOG_KEEP ), false );
	}

	/**
	 * Activation: the retry queue's schedule.
	 */
	public static function activate() {
		if ( ! wp_next_scheduled( Newsrec_Sync::CRON_HOOK ) ) {
			wp_schedule_event( time() + 300, 'newsrec_five_minutes', Newsrec_Sync::CRON_HOOK );
		}
	}

	/**
	 * Deactivation: no more cron runs (the queue and settings stay for a reactivation).
	 */
	public static function deactivate() {
		foreach ( array( Newsrec_Sync::CRON_HOOK, Newsrec_Sync::RETRY_HOOK, Newsrec_Sync::SYNC_HOOK ) as $hook ) {
			wp_clear_scheduled_hook( $hook );
		}
	}
}

register_activation_hook( __FILE__, array( 'Newsrec_Plugin', 'activate' ) );
register_deactivation_hook( __FILE__, array( 'Newsrec_Plugin', 'deactivate' ) );
Newsrec_Plugin::init();
