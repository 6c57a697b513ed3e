<?php
/**
 * WP-CLI: `wp newsrec sync`, `wp newsrec export`, `wp newsrec retry`, `wp newsrec status`.
 *
 * @package Newsrec
 */

defined( 'ABSPATH' ) || exit;

/**
 * Sends posts to the newsrec service and exports the articles file.
 */
class Newsrec_CLI {

	/**
	 * Sends every published post to the service (PUT /v1/articles/{id}).
	 *
	 * ## EXAMPLES
	 *
	 *     wp newsrec sync
	 *
	 * @param array $args       Positional arguments.
	 * @param array $assoc_args Options.
	 */
	public function sync( $args, $assoc_args ) {
		delete_transient( 'newsrec_down' );
		$after  = 0;
		$sent   = 0;
		$queued = 0;
		do {
			$ids = Newsrec_Sync::published_ids( $after, Newsrec_Sync::BATCH );
			foreach ( $ids as $post_id ) {
				$outcome = Newsrec_Sync::send( $post_id, 'put' );
				Newsrec_Queue::DONE === $outcome ? ++$sent : ++$queued;
				$after = $post_id;
			}
			WP_CLI::log( sprintf( 'sent %d, queued %d (up to post %d)', $sent, $queued, $after ) );
		} while ( count( $ids ) === Newsrec_Sync::BATCH );
		if ( $queued > 0 ) {
			WP_CLI::warning( sprintf( '%d posts did not reach the service; they wait in the retry queue (wp newsrec retry).', $queued ) );
			return;
		}
		WP_CLI::success( sprintf( '%d posts sent.', $sent ) );
	}

	/**
	 * Writes the articles file `newsrec train --articles` reads (JSON Lines).
	 *
	 * ## OPTIONS
	 *
	 * <file>
	 * : Where to write it; - for standard output.
	 *
	 * ## EXAMPLES
	 *
	 *     wp newsrec export articles.jsonl
	 *
	 * @param array $args       Positional arguments.
	 * @param array $assoc_args Options.
	 */
	public function export( $args, $assoc_args ) {
		$path = $args[0];
		$out  = '-' === $path ? fopen( 'php://stdout', 'wb' ) : fopen( $path, 'wb' ); // phpcs:ignore WordPress.WP.AlternativeFunctions.file_system_operations_fopen
		if ( ! $out ) {
			WP_CLI::error( "cannot write $path" );
		}
		$written = Newsrec_Sync::export( $out );
		fclose( $out ); // phpcs:ignore WordPress.WP.AlternativeFunctions.file_system_operations_fclose
		if ( '-' !== $path ) {
			WP_CLI::success( sprintf( '%d articles written to %s.', $written, $path ) );
		}
	}

	/**
	 * Tries every change waiting in the retry queue now.
	 *
	 * @param array $args       Positional arguments.
	 * @param array $assoc_args Options.
	 */
	public function retry( $args, $assoc_args ) {
		delete_transient( 'newsrec_down' );
		$counts = Newsrec_Sync::process_queue( true );
		WP_CLI::log( sprintf( 'sent %d, failed %d, refused %d, left %d', $counts['sent'], $counts['failed'], $counts['dropped'], $counts['left'] ) );
	}

	/**
	 * Tests the connection (readiness, CMS token, CORS) and shows the retry queue.
	 *
	 * @param array $args       Positional arguments.
	 * @param array $assoc_args Options.
	 */
	public function status( $args, $assoc_args ) {
		$result = ( new Newsrec_Client() )->check();
		foreach ( $result['lines'] as $line ) {
			WP_CLI::log( ( $line[0] ? 'ok    ' : 'FAIL  ' ) . $line[1] );
		}
		WP_CLI::log( sprintf( '%d changes in the retry queue', count( Newsrec_Sync::queue() ) ) );
		if ( ! $result['ok'] ) {
			WP_CLI::halt( 1 );
		}
	}
}
