<?php
/**
 * The retry queue: posts whose publish or unpublish did not reach the service, retried by
 * WP-Cron with a growing delay. Pure: functions of the queue's state (an array), the clock
 * given as an argument; Newsrec_Sync keeps the state in an option.
 *
 * State: post id => array( 'op' => 'put'|'delete', 'attempts' => int, 'next' => unix time,
 * 'error' => string ). One entry per post: the latest decision wins (a PUT is built from the
 * post as it is when it is sent, so a queued PUT always sends the current text).
 *
 * @package Newsrec
 */

defined( 'ABSPATH' ) || exit;

/**
 * Retry queue operations and the outcome of a service answer.
 */
class Newsrec_Queue {

	/** Answer outcome: the change reached the service (or has nothing left to do). */
	const DONE = 'done';
	/** Answer outcome: try again later (service down, busy, misconfigured). */
	const RETRY = 'retry';
	/** Answer outcome: the service refused the article itself; retrying cannot help. */
	const DROP = 'drop';

	/** First retry after this many seconds; each further one waits twice as long. */
	const BASE_DELAY = 60;
	/** Longest wait between two tries. */
	const MAX_DELAY = 3600;
	/** Tries before an entry is given up (about a day at the longest wait). */
	const MAX_ATTEMPTS = 30;

	/**
	 * Adds (or replaces) a post's pending change, due at once.
	 *
	 * @param array  $state   Queue state.
	 * @param int    $post_id Post ID.
	 * @param string $op      'put' or 'delete'.
	 * @param int    $now     Unix time.
	 * @param string $error   Why it is queued.
	 * @return array The new state.
	 */
	public static function add( array $state, $post_id, $op, $now, $error = '' ) {
		$state[ (int) $post_id ] = array(
			'op'       => 'delete' === $op ? 'delete' : 'put',
			'attempts' => 0,
			'next'     => (int) $now,
			'error'    => (string) $error,
		);
		return $state;
	}

	/**
	 * Post IDs due for a try, oldest due first, ties by post ID.
	 *
	 * @param array $state Queue state.
	 * @param int   $now   Unix time.
	 * @param int   $limit At most this many.
	 * @param bool  $all   Every entry, due or not (an administrator's "retry now").
	 * @return int[]
	 */
	public static function due( array $state, $now, $limit, $all = false ) {
		$due = array();
		foreach ( $state as $post_id => $entry ) {
			if ( $all || (int) $entry['next'] <= $now ) {
				$due[] = array( (int) $entry['next'], (int) $post_id );
			}
		}
		sort( $due );
		$ids = array();
		foreach ( array_slice( $due, 0, max( 0, (int) $limit ) ) as $pair ) {
			$ids[] = $pair[1];
		}
		return $ids;
	}

	/**
	 * Delay before the next try after `$attempts` failed ones.
	 *
	 * @param int $attempts Failed tries so far (1 or more).
	 * @param int $base     First delay in seconds.
	 * @return int Seconds.
	 */
	public static function delay( $attempts, $base = self::BASE_DELAY ) {
		$attempts = max( 1, (int) $attempts );
		return (int) min( self::MAX_DELAY, $base * ( 2 ** min( 20, $attempts - 1 ) ) );
	}

	/**
	 * Records a failed try: the entry waits longer, and is given up after MAX_ATTEMPTS.
	 *
	 * @param array  $state   Queue state.
	 * @param int    $post_id Post ID.
	 * @param int    $now     Unix time.
	 * @param string $error   What went wrong.
	 * @param int    $base    First delay in seconds.
	 * @return array array( new state, bool given up ).
	 */
	public static function failed( array $state, $post_id, $now, $error, $base = self::BASE_DELAY ) {
		$post_id = (int) $post_id;
		if ( ! isset( $state[ $post_id ] ) ) {
			return array( $state, false );
		}
		$attempts = (int) $state[ $post_id ]['attempts'] + 1;
		if ( $attempts >= self::MAX_ATTEMPTS ) {
			unset( $state[ $post_id ] );
			return array( $state, true );
		}
		$state[ $post_id ]['attempts'] = $attempts;
		$state[ $post_id ]['next']     = (int) $now + self::delay( $attempts, $base );
		$state[ $post_id ]['error']    = (string) $error;
		return array( $state, false );
	}

	/**
	 * Removes a post's entry (sent, or dropped).
	 *
	 * @param array $state   Queue state.
	 * @param int   $post_id Post ID.
	 * @return array
	 */
	public static function remove( array $state, $post_id ) {
		unset( $state[ (int) $post_id ] );
		return $state;
	}

	/**
	 * What an answer of the service means for a change.
	 *
	 * @param string $op     'put' or 'delete'.
	 * @param int    $status HTTP status; 0 when no answer came (refused, timeout, DNS).
	 * @param string $code   The error code of the JSON error body, '' when none.
	 * @return string DONE, RETRY or DROP.
	 */
	public static function outcome( $op, $status, $code = '' ) {
		$status = (int) $status;
		if ( $status >= 200 && $status < 300 ) {
			return self::DONE;
		}
		// Unpublishing an article the service does not know: nothing left to remove.
		if ( 'delete' === $op && 404 === $status && 'unknown_article' === $code ) {
			return self::DONE;
		}
		// The article itself was refused (a bad field, too large): the same body fails again.
		if ( in_array( $status, array( 400, 413, 415, 422 ), true ) ) {
			return self::DROP;
		}
		// 0 (down), 401 (token), 404 (CMS API off: no NEWSREC_CMS_TOKEN), 429, 5xx, 503 no_model:
		// a matter of configuration or time.
		return self::RETRY;
	}
}
