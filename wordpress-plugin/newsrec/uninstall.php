<?php
/**
 * Uninstall: removes every option, transient and scheduled event of the plugin. The service
 * keeps the articles it was sent: unpublish them there, or retrain, if the site leaves.
 *
 * @package Newsrec
 */

defined( 'WP_UNINSTALL_PLUGIN' ) || exit;

foreach ( array( 'newsrec_settings', 'newsrec_token', 'newsrec_queue', 'newsrec_sync_state', 'newsrec_log' ) as $newsrec_option ) {
	delete_option( $newsrec_option );
}
foreach ( array( 'newsrec_process_queue', 'newsrec_retry_once', 'newsrec_sync_batch' ) as $newsrec_hook ) {
	wp_clear_scheduled_hook( $newsrec_hook );
}
global $wpdb;
// Transients: cached lists (newsrec_list_*), notices, the "service down" flag.
$wpdb->query( "DELETE FROM {$wpdb->options} WHERE option_name LIKE '\\_transient\\_newsrec\\_%' OR option_name LIKE '\\_transient\\_timeout\\_newsrec\\_%'" ); // phpcs:ignore WordPress.DB.DirectDatabaseQuery
